// Package storetest is the backend-neutral conformance suite for store.Store:
// every backend runs exactly the same assertions against a real server or file.
package storetest

import (
	"context"
	"errors"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Base is the first hour of the suite's data (UTC, whole hour).
var Base = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

func pdu(meter string) sample.Series {
	return sample.Series{Measurement: sample.Power, Site: "odense-dc1", Room: "r1", Rack: "a01",
		Device: "pdu-a01", Class: "pdu", Meter: meter, Source: "snmp"}
}

// Samples returns the suite's data: two hours of one-minute samples for two
// meters (a counter meter and a power-only meter), plus a UPS and a device point.
func Samples() []sample.Sample {
	var out []sample.Sample
	for i := 0; i < 120; i++ {
		at := Base.Add(time.Duration(i) * time.Minute)
		out = append(out, sample.Sample{Series: pdu("total"), Time: at, Fields: []sample.Field{
			sample.F("power_w", 1000+float64(i)), // 1000..1119 W
			sample.F("energy_kwh", 500+float64(i)/60),
			sample.F("voltage_v", 230.5),
			sample.F("frequency_hz", 49.98), // the last column of the power table (schema v5)
		}})
		out = append(out, sample.Sample{Series: pdu("outlet/1"), Time: at, Fields: []sample.Field{
			sample.F("power_w", 100),
		}})
	}
	out = append(out,
		sample.Sample{Series: sample.Series{Measurement: sample.UPS, Site: "odense-dc1", Device: "ups-1", Class: "ups", Meter: "total", Source: "snmp"},
			Time: Base, Fields: []sample.Field{sample.F("battery_charge_pct", 97), sample.B("on_battery", true), sample.F("runtime_min", 42.5)}},
		sample.Sample{Series: sample.Series{Measurement: sample.Device, Site: "odense-dc1", Device: "srv-1", Class: "server", Source: "redfish"},
			Time: Base, Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", 12), sample.T("power_state", "On")}},
	)
	return out
}

// Run runs the conformance suite. open must return a fresh, empty store.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	t.Run("RoundTrip", func(t *testing.T) { roundTrip(t, open(t)) })
	t.Run("Overwrite", func(t *testing.T) { overwrite(t, open(t)) })
	t.Run("InvalidBatchIsAtomic", func(t *testing.T) { invalidBatch(t, open(t)) })
	t.Run("HourlyEach", func(t *testing.T) { hourlyEach(t, open(t)) })
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func write(t *testing.T, s store.Store, batch []sample.Sample) {
	t.Helper()
	if err := s.Write(ctx(t), batch); err != nil {
		t.Fatalf("write %d samples: %v", len(batch), err)
	}
}

func num(t *testing.T, smp sample.Sample, name string) float64 {
	t.Helper()
	f, ok := smp.Get(name)
	if !ok {
		t.Fatalf("%s %s at %s: field %s missing (have %+v)", smp.Device, smp.Meter, smp.Time, name, smp.Fields)
	}
	return f.Num
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func roundTrip(t *testing.T, s store.Store) {
	in := Samples()
	write(t, s, in[:100])
	write(t, s, in[100:])

	// Range over the whole power measurement returns every power sample, in
	// series-then-time order, with exact values.
	var got []sample.Sample
	q := store.Query{Measurement: sample.Power, From: Base, To: Base.Add(2 * time.Hour)}
	if err := s.Range(ctx(t), q, func(x sample.Sample) error { got = append(got, x); return nil }); err != nil {
		t.Fatalf("range: %v", err)
	}
	if len(got) != 240 {
		t.Fatalf("range returned %d power samples, want 240", len(got))
	}
	var sum float64
	for i, x := range got {
		if i > 0 && x.Series == got[i-1].Series && !x.Time.After(got[i-1].Time) {
			t.Fatalf("range not ordered by time within a series at %d: %s after %s", i, x.Time, got[i-1].Time)
		}
		if x.Site != "odense-dc1" || x.Rack != "a01" || x.Class != "pdu" || x.Source != "snmp" {
			t.Fatalf("tags lost: %+v", x.Series)
		}
		sum += num(t, x, "power_w")
	}
	// Σ power: total meter 120×1000 + (0+…+119) = 127140, outlet 120×100 = 12000.
	if !near(sum, 127140+12000) {
		t.Errorf("Σ power_w = %v, want 139140", sum)
	}

	// Half-open range and a meter filter.
	var n int
	q = store.Query{Measurement: sample.Power, Meter: "total", From: Base.Add(10 * time.Minute), To: Base.Add(20 * time.Minute)}
	if err := s.Range(ctx(t), q, func(x sample.Sample) error {
		n++
		if x.Meter != "total" || x.Time.Before(q.From) || !x.Time.Before(q.To) {
			t.Errorf("range returned %s at %s outside the query", x.Meter, x.Time)
		}
		return nil
	}); err != nil {
		t.Fatalf("range: %v", err)
	}
	if n != 10 {
		t.Errorf("range [10m,20m) for meter total returned %d samples, want 10", n)
	}

	// Latest: one sample per series, the newest.
	latest, err := s.Latest(ctx(t), store.Query{Measurement: sample.Power, Device: "pdu-a01"})
	if err != nil {
		t.Fatalf("latest: %v", err)
	}
	if len(latest) != 2 {
		t.Fatalf("latest returned %d samples, want 2 (one per meter): %+v", len(latest), latest)
	}
	for _, x := range latest {
		if !x.Time.Equal(Base.Add(119 * time.Minute)) {
			t.Errorf("latest %s at %s, want %s", x.Meter, x.Time, Base.Add(119*time.Minute))
		}
		if x.Meter == "total" && !near(num(t, x, "power_w"), 1119) {
			t.Errorf("latest total power_w = %v, want 1119", num(t, x, "power_w"))
		}
	}

	// Bool and text fields survive.
	ups, err := s.Latest(ctx(t), store.Query{Measurement: sample.UPS})
	if err != nil || len(ups) != 1 {
		t.Fatalf("latest ups: %v, %d samples", err, len(ups))
	}
	if f, _ := ups[0].Get("on_battery"); f.Kind != sample.Bool || f.Num != 1 {
		t.Errorf("on_battery = %+v, want Bool 1", f)
	}
	if !near(num(t, ups[0], "runtime_min"), 42.5) {
		t.Errorf("runtime_min = %v, want 42.5", num(t, ups[0], "runtime_min"))
	}
	dev, err := s.Latest(ctx(t), store.Query{Measurement: sample.Device, Device: "srv-1"})
	if err != nil || len(dev) != 1 {
		t.Fatalf("latest device: %v, %d samples", err, len(dev))
	}
	if f, _ := dev[0].Get("power_state"); f.Kind != sample.Text || f.Text != "On" {
		t.Errorf("power_state = %+v, want Text On", f)
	}

	// Hourly aggregates, computed by the backend.
	hours, err := s.Hourly(ctx(t), store.Query{Device: "pdu-a01", From: Base, To: Base.Add(2 * time.Hour)})
	if err != nil {
		t.Fatalf("hourly: %v", err)
	}
	if len(hours) != 4 {
		t.Fatalf("hourly returned %d rows, want 4 (2 meters × 2 hours): %+v", len(hours), hours)
	}
	for _, h := range hours {
		idx := int(h.Hour.Sub(Base) / time.Hour)
		if h.Hour.Sub(Base)%time.Hour != 0 || idx < 0 || idx > 1 {
			t.Fatalf("hourly row at %s is not one of the two hours", h.Hour)
		}
		if h.PowerSamples != 60 {
			t.Errorf("%s hour %d: %d power samples, want 60", h.Series.Meter, idx, h.PowerSamples)
		}
		switch h.Series.Meter {
		case "total":
			// Mean of 1000+60·idx … 1059+60·idx = 1029.5 + 60·idx.
			if want := 1029.5 + 60*float64(idx); !near(h.PowerMeanW, want) {
				t.Errorf("total hour %d: mean %v W, want %v", idx, h.PowerMeanW, want)
			}
			if h.CounterSamples != 60 {
				t.Errorf("total hour %d: %d counter samples, want 60", idx, h.CounterSamples)
			}
			first, last := 500+float64(60*idx)/60, 500+float64(60*idx+59)/60
			if !near(h.CounterFirstKWh, first) || !near(h.CounterLastKWh, last) {
				t.Errorf("total hour %d: counter %v..%v, want %v..%v", idx, h.CounterFirstKWh, h.CounterLastKWh, first, last)
			}
			if !h.CounterFirstAt.Equal(h.Hour) || !h.CounterLastAt.Equal(h.Hour.Add(59*time.Minute)) {
				t.Errorf("total hour %d: counter times %s..%s", idx, h.CounterFirstAt, h.CounterLastAt)
			}
		case "outlet/1":
			if !near(h.PowerMeanW, 100) || h.CounterSamples != 0 {
				t.Errorf("outlet hour %d: mean %v W, %d counter samples; want 100 W, 0", idx, h.PowerMeanW, h.CounterSamples)
			}
		default:
			t.Errorf("unexpected meter %q", h.Series.Meter)
		}
	}
}

func overwrite(t *testing.T, s store.Store) {
	smp := Samples()[0]
	write(t, s, []sample.Sample{smp})
	again := smp
	again.Fields = []sample.Field{sample.F("power_w", 2000)}
	write(t, s, []sample.Sample{again})

	var got []sample.Sample
	q := store.Query{Measurement: sample.Power, From: Base, To: Base.Add(time.Hour)}
	if err := s.Range(ctx(t), q, func(x sample.Sample) error { got = append(got, x); return nil }); err != nil {
		t.Fatalf("range: %v", err)
	}
	if len(got) != 1 {
		t.Fatalf("a sample written twice is stored %d times, want once", len(got))
	}
	if !near(num(t, got[0], "power_w"), 2000) {
		t.Errorf("power_w = %v after overwrite, want 2000", num(t, got[0], "power_w"))
	}
	// A later write with fewer fields keeps the fields it does not name.
	if !near(num(t, got[0], "energy_kwh"), 500) {
		t.Errorf("energy_kwh = %v after partial overwrite, want 500", num(t, got[0], "energy_kwh"))
	}
}

func invalidBatch(t *testing.T, s store.Store) {
	batch := Samples()[:10]
	bad := batch[5]
	bad.Fields = []sample.Field{sample.F("no_such_field", 1)}
	batch[5] = bad
	if err := s.Write(ctx(t), batch); err == nil {
		t.Fatal("a batch with an invalid sample was accepted")
	}
	var n int
	q := store.Query{Measurement: sample.Power, From: Base, To: Base.Add(time.Hour)}
	if err := s.Range(ctx(t), q, func(sample.Sample) error { n++; return nil }); err != nil {
		t.Fatalf("range: %v", err)
	}
	if n != 0 {
		t.Errorf("%d samples of a rejected batch were stored, want 0", n)
	}
}

// hourlyEach checks that HourlyEach streams exactly what Hourly returns, in
// the same order, and stops at the callback's error.
func hourlyEach(t *testing.T, s store.Store) {
	write(t, s, Samples())
	// A third meter on another device, and a second site.
	var more []sample.Sample
	for i := 0; i < 90; i++ {
		at := Base.Add(time.Duration(i) * time.Minute)
		ser := pdu("total")
		ser.Site, ser.Device = "vejle-dc2", "pdu-b07"
		more = append(more, sample.Sample{Series: ser, Time: at, Fields: []sample.Field{
			sample.F("power_w", 50+float64(i%4)), sample.F("energy_kwh", 10+float64(i)/100)}})
	}
	write(t, s, more)
	for _, c := range []struct {
		q    store.Query
		rows int // meters × hours
	}{
		{store.Query{From: Base, To: Base.Add(2 * time.Hour)}, 3 * 2},
		{store.Query{Site: "vejle-dc2", From: Base, To: Base.Add(2 * time.Hour)}, 1 * 2},
		{store.Query{Meter: "total", From: Base.Add(30 * time.Minute), To: Base.Add(90 * time.Minute)}, 2 * 2},
		{store.Query{Site: "nowhere", From: Base, To: Base.Add(2 * time.Hour)}, 0},
	} {
		q := c.q
		want, err := s.Hourly(ctx(t), q)
		if err != nil {
			t.Fatalf("hourly %+v: %v", q, err)
		}
		var got []store.Hourly
		if err := s.HourlyEach(ctx(t), q, func(h store.Hourly) error { got = append(got, h); return nil }); err != nil {
			t.Fatalf("hourly each %+v: %v", q, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("HourlyEach(%+v) differs from Hourly:\n got %+v\nwant %+v", q, got, want)
		}
		if len(got) != c.rows {
			t.Errorf("HourlyEach(%+v): %d rows, want %d", q, len(got), c.rows)
		}
	}
	stop := errors.New("stop")
	n := 0
	err := s.HourlyEach(ctx(t), store.Query{From: Base, To: Base.Add(2 * time.Hour)}, func(store.Hourly) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	if err != stop || n != 2 {
		t.Errorf("HourlyEach returned %v after %d rows, want the callback's error after 2", err, n)
	}
}
