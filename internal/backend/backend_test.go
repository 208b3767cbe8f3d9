package backend_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

func TestReadOnlyNeverCreates(t *testing.T) {
	cfg := config.DefaultConfig()
	cfg.Storage.DataDir = filepath.Join(t.TempDir(), "data")
	_, _, err := backend.Open(context.Background(), cfg, backend.ReadOnly)
	if !errors.Is(err, fs.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(cfg.Storage.DataDir, sqlite.FileName)) {
		t.Errorf("read-only open of a missing store: %v", err)
	}
	if _, err := os.Stat(cfg.Storage.DataDir); err == nil {
		t.Error("the data directory was created")
	}
	// Created by a writer, it opens read-only and refuses writes.
	st, desc, err := backend.Open(context.Background(), cfg, backend.ReadWrite)
	if err != nil || !strings.Contains(desc, "embedded SQLite in "+cfg.Storage.DataDir) {
		t.Fatalf("read-write: %v %q", err, desc)
	}
	st.Close()
	ro, _, err := backend.Open(context.Background(), cfg, backend.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	err = ro.Write(context.Background(), []sample.Sample{{Series: sample.Series{Measurement: sample.Device, Device: "d"},
		Time: sample.Sample{}.Time.AddDate(2026, 0, 0), Fields: []sample.Field{sample.B("reachable", true)}}})
	if !errors.Is(err, sqlite.ErrReadOnly) {
		t.Errorf("write to a read-only store: %v", err)
	}
}

// InfluxDB 1.8 without authentication needs no token; the bucket check
// names a missing database; an unreadable token secret is a SecretError.
func TestInflux(t *testing.T) {
	srv := testenv.Influx(t)
	cfg := config.DefaultConfig()
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = srv.URL, srv.Bucket
	st, desc, err := backend.Open(context.Background(), cfg, backend.ReadOnly)
	if err != nil || !strings.Contains(desc, "InfluxDB at "+srv.URL) {
		t.Fatalf("open: %v %q", err, desc)
	}
	defer st.Close()
	if err := backend.Check(context.Background(), st); err != nil {
		t.Errorf("check of an existing database without a token: %v", err)
	}
	cfg.Storage.InfluxDB.Bucket = "missing/autogen"
	st2, _, err := backend.Open(context.Background(), cfg, backend.ReadOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	if err := backend.Check(context.Background(), st2); err == nil || !strings.Contains(err.Error(), `bucket "missing/autogen" not found`) {
		t.Errorf("check of a missing database: %v", err)
	}
	tok, err := config.ParseSecret("env:ECOMETER_TEST_UNSET_TOKEN")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Storage.InfluxDB.Token = tok
	_, _, err = backend.Open(context.Background(), cfg, backend.ReadOnly)
	var se *backend.SecretError
	if !errors.As(err, &se) || se.Key != "storage.influxdb.token" || strings.Contains(err.Error(), "ECOMETER_TEST_UNSET_TOKEN=") {
		t.Errorf("unreadable token: %v", err)
	}
}
