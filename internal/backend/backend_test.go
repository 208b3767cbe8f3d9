package backend_test

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// Rollups: the service's job aggregates every complete hour from the first
// sample to RollupSettle before now, once; a late sample makes its hour
// due again. Without InfluxDB 1.x there is nothing to do.
func TestRollups(t *testing.T) {
	cfg := config.DefaultConfig()
	if backend.RollupsDue(cfg) {
		t.Fatal("rollups due for the embedded store")
	}
	srv := testenv.Influx(t)
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = srv.URL, srv.Bucket
	if !backend.RollupsDue(cfg) {
		t.Fatal("rollups not due for InfluxDB 1.x")
	}
	ctx := context.Background()
	now := time.Date(2026, 3, 2, 10, 3, 0, 0, time.UTC) // 3 min into the hour: 09:00 has not settled
	if res, err := backend.Rollups(ctx, cfg, now, nil); err != nil || res.Hours != 0 {
		t.Fatalf("rollups of an empty store: %+v, %v", res, err)
	}
	st, err := backend.OpenInflux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	smp := func(at time.Time) sample.Sample {
		return sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "s", Device: "d", Meter: "total", Source: "snmp"},
			Time: at, Fields: []sample.Field{sample.F("power_w", 100)}}
	}
	var in []sample.Sample
	for at := now.Add(-5 * time.Hour); at.Before(now); at = at.Add(10 * time.Minute) {
		in = append(in, smp(at)) // from 05:03 to 10:03
	}
	if err := st.Write(ctx, in); err != nil {
		t.Fatal(err)
	}
	// Hours 05:00 to 08:00; 09:00 ended less than RollupSettle ago.
	if res, err := backend.Rollups(ctx, cfg, now, nil); err != nil || res.Hours != 4 || res.Meters != 4 {
		t.Fatalf("first run: %+v, %v; want 4 hours of 1 meter", res, err)
	}
	if res, err := backend.Rollups(ctx, cfg, now.Add(time.Minute), nil); err != nil || res.Hours != 0 {
		t.Fatalf("second run: %+v, %v; want nothing to do", res, err)
	}
	if err := st.Write(ctx, []sample.Sample{smp(now.Add(-4*time.Hour + time.Minute))}); err != nil {
		t.Fatal(err)
	}
	if res, err := backend.Rollups(ctx, cfg, now.Add(10*time.Minute), nil); err != nil || res.Hours != 2 {
		t.Fatalf("after a late sample and an hour settling: %+v, %v; want 2 hours (06:00 again, 09:00)", res, err)
	}
}
