package influx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/storetest"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// TestInflux runs everything that needs a server against one influxd (it
// takes seconds to start), each subtest in its own database.
func TestInflux(t *testing.T) {
	srv := testenv.Influx(t)
	testServer = srv
	var dbs int
	open := func(t *testing.T) *Store {
		t.Helper()
		dbs++
		db := fmt.Sprintf("test%d", dbs)
		databases[srv.URL+"|"+db+"/autogen"] = db
		if _, err := srv.Query("CREATE DATABASE " + db); err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{URL: srv.URL, Bucket: db + "/autogen", Timeout: 30 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}

	t.Run("Conformance", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) store.Store { return open(t) })
	})
	t.Run("SpanConformance", func(t *testing.T) {
		storetest.RunSpan(t, func(t *testing.T) storetest.SpanStore { return open(t) })
	})
	t.Run("GridConformance", func(t *testing.T) {
		storetest.RunGrid(t, func(t *testing.T) store.GridStore { return open(t) })
	})
	t.Run("RoundTrip", func(t *testing.T) { testRoundTrip(t, open(t)) })
	t.Run("HourlyBounds", func(t *testing.T) { testHourlyBounds(t, open(t)) })
	t.Run("HourlyDialects", func(t *testing.T) { testHourlyDialects(t, open(t)) })
	t.Run("Rollups", func(t *testing.T) { testRollups(t, open(t)) })
	t.Run("MarkWrites", func(t *testing.T) { testMarkWrites(t, open(t)) })
	t.Run("SpanDialects", func(t *testing.T) { testSpanDialects(t, open(t)) })
	t.Run("Overwrite", func(t *testing.T) { testOverwrite(t, open(t)) })
	t.Run("BoolText", func(t *testing.T) { testBoolText(t, open(t)) })
	t.Run("Escaping", func(t *testing.T) { testEscaping(t, open(t)) })
	t.Run("SubSecond", func(t *testing.T) { testSubSecond(t, open(t)) })
	t.Run("ManyBatches", func(t *testing.T) { testManyBatches(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, open(t)) })
	t.Run("CallbackError", func(t *testing.T) { testCallbackError(t, open(t)) })
	// A missing database is wrong configuration, not a bad batch: retryable,
	// with InfluxDB's reason in the error.
	t.Run("NoDatabaseIsRetryable", func(t *testing.T) {
		s, err := New(Options{URL: srv.URL, Bucket: "nosuchdb/autogen"})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		err = s.Write(tctx(t), []sample.Sample{power("d1", "total", t0, 1, 2)})
		var rej *store.RejectedError
		if err == nil || errors.As(err, &rej) || !strings.Contains(err.Error(), "database not found") {
			t.Fatalf("write to a missing database: got %v (%T), want a retryable error saying so", err, err)
		}
		t.Logf("error: %v", err)
	})
	// Last: stops the server.
	t.Run("ServerDownIsRetryable", func(t *testing.T) {
		s := open(t)
		srv.Stop()
		err := s.Write(tctx(t), []sample.Sample{power("d1", "total", t0, 1, 2)})
		var rej *store.RejectedError
		if err == nil || errors.As(err, &rej) {
			t.Fatalf("write to a stopped server: got %v, want a retryable (non-rejected) error", err)
		}
		t.Logf("error: %v", err)
		if _, err := s.Latest(tctx(t), store.Query{Measurement: sample.Power}); err == nil {
			t.Fatal("latest from a stopped server succeeded")
		}
	})
}

// testServer and databases let the subtests reach the server.
var (
	testServer *testenv.InfluxServer
	databases  = map[string]string{}
)

func srvOf(t *testing.T) *testenv.InfluxServer { t.Helper(); return testServer }
func dbOf(s *Store) string                     { return databases[s.url+"|"+s.bucket] }

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func tctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

func power(device, meter string, at time.Time, w, kwh float64) sample.Sample {
	return sample.Sample{
		Series: sample.Series{Measurement: sample.Power, Site: "s1", Room: "r1", Rack: "a1", Device: device,
			Class: "pdu", Meter: meter, Source: "snmp"},
		Time:   at,
		Fields: []sample.Field{sample.F("power_w", w), sample.F("energy_kwh", kwh)},
	}
}
