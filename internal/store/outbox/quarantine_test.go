package outbox

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// TestQuarantine makes a real InfluxDB reject one batch: its retention policy
// keeps one hour, and the batch is from 2020 ("points beyond retention
// policy", HTTP 4xx). That batch is quarantined with InfluxDB's reason; the
// batches before and after it are forwarded.
func TestQuarantine(t *testing.T) {
	srv := testenv.Influx(t)
	if _, err := srv.Query(`CREATE DATABASE short WITH DURATION 1h REPLICATION 1 NAME h1`); err != nil {
		t.Fatal(err)
	}
	down, err := influx.New(influx.Options{URL: srv.URL, Bucket: "short/h1"})
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()
	var logs bytes.Buffer
	ctx := context.Background()
	ob, err := Open(ctx, down, Options{Dir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()

	now := time.Now().UTC().Truncate(time.Minute)
	mk := func(device string, at time.Time) []sample.Sample {
		return []sample.Sample{{Series: sample.Series{Measurement: sample.Power, Device: device, Meter: "total"},
			Time: at, Fields: []sample.Field{sample.F("power_w", 100)}}}
	}
	for _, b := range [][]sample.Sample{mk("before", now), mk("old", time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)), mk("after", now)} {
		if err := ob.Write(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.Flush(ctx); err != nil {
		t.Fatalf("flush: %v", err)
	}
	st := ob.Stats()
	if st.Batches != 0 || st.Quarantined != 1 || st.Forwarded != 2 {
		t.Fatalf("stats %+v, want 0 queued, 1 quarantined, 2 forwarded", st)
	}
	rej, err := ob.Quarantined(ctx)
	if err != nil || len(rej) != 1 {
		t.Fatalf("quarantine: %v %+v", err, rej)
	}
	if !strings.Contains(rej[0].Error, "retention") {
		t.Errorf("quarantine reason %q does not carry InfluxDB's message", rej[0].Error)
	}
	if !strings.Contains(logs.String(), "rejected a batch") {
		t.Errorf("quarantine was not logged:\n%s", logs.String())
	}
	body, err := srv.Query(`SELECT count(power_w) FROM short.h1.power GROUP BY device`)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"before", "after"} {
		if !strings.Contains(string(body), `"device":"`+d+`"`) {
			t.Errorf("device %s not in InfluxDB: %s", d, body)
		}
	}
}
