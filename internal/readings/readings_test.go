package readings_test

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// The same samples read back from the embedded store and a real InfluxDB
// give the same rows.
func TestReadOnBothBackends(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	pdu := sample.Series{Measurement: sample.Power, Site: "lab", Rack: "R1", Device: "pdu-a", Class: "pdu", Meter: "total", Source: "snmp"}
	out3 := pdu
	out3.Meter = "outlet/3"
	ups := sample.Series{Measurement: sample.UPS, Site: "lab", Device: "ups-a", Class: "ups", Source: "snmp"}
	srv := sample.Series{Measurement: sample.Device, Site: "lab", Device: "srv-1", Class: "server", Source: "redfish"}
	var batch []sample.Sample
	for i, w := range []float64{400, 500, 600} {
		at := now.Add(time.Duration(i-3) * time.Minute)
		batch = append(batch,
			sample.Sample{Series: pdu, Time: at, Fields: []sample.Field{sample.F("power_w", w), sample.F("voltage_v", 230)}},
			sample.Sample{Series: out3, Time: at, Fields: []sample.Field{sample.F("power_w", w/10)}})
	}
	batch = append(batch,
		sample.Sample{Series: ups, Time: now.Add(-time.Minute), Fields: []sample.Field{sample.F("battery_charge_pct", 100), sample.B("on_battery", false)}},
		sample.Sample{Series: srv, Time: now.Add(-2 * time.Hour), Fields: []sample.Field{sample.B("reachable", true), sample.T("power_state", "Off")}})

	sq, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer sq.Close()
	is := testenv.Influx(t)
	cfg := config.DefaultConfig()
	cfg.Storage.InfluxDB.URL, cfg.Storage.InfluxDB.Bucket = is.URL, is.Bucket
	in, err := backend.OpenInflux(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	for name, st := range map[string]store.Store{"sqlite": sq, "influxdb": in} {
		t.Run(name, func(t *testing.T) {
			if err := st.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			rows, err := readings.Read(ctx, st, readings.Filter{}, time.Hour, now)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 4 {
				t.Fatalf("%d rows: %+v", len(rows), rows)
			}
			// pdu-a: total then outlet/3; srv-1 stale; ups-a.
			p, o, s, u := rows[0], rows[1], rows[2], rows[3]
			if p.Meter != "total" || p.Values["power_w"] != 600 || p.Values["voltage_v"] != 230 || p.Rack != "R1" ||
				p.Recent == nil || p.Recent.Samples != 3 || p.Recent.MeanW != 500 || p.Recent.MinW != 400 || p.Recent.MaxW != 600 {
				t.Errorf("pdu-a total: %+v %+v", p, p.Recent)
			}
			if o.Meter != "outlet/3" || o.Values["power_w"] != 60 || o.Recent == nil || o.Recent.MeanW != 50 {
				t.Errorf("pdu-a outlet/3: %+v", o)
			}
			if s.Device != "srv-1" || !s.Stale || s.Text["power_state"] != "Off" || s.Values["reachable"] != 1 {
				t.Errorf("srv-1: %+v", s)
			}
			if u.Device != "ups-a" || u.Values["battery_charge_pct"] != 100 || u.Values["on_battery"] != 0 || u.Stale {
				t.Errorf("ups-a: %+v", u)
			}
			only, err := readings.Read(ctx, st, readings.Filter{Device: "ups-a"}, time.Hour, now)
			if err != nil || len(only) != 1 {
				t.Errorf("--device ups-a: %v %+v", err, only)
			}
		})
	}
}
