package sqlite

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// rawHours writes three meters' samples over 5 hours around t0 (7-minute
// polls, a counter in two of every three, one meter power only, one with a
// gap hour) and returns them.
func rawHours() []sample.Sample {
	var batch []sample.Sample
	start := t0.Add(-3 * time.Hour)
	for m, ser := range []sample.Series{pdu("pdu1", "total"), pdu("pdu1", "outlet/1"), pdu("pdu2", "total")} {
		kwh := 1000.0 * float64(m+1)
		for at := start; at.Before(t0.Add(2 * time.Hour)); at = at.Add(7 * time.Minute) {
			if m == 2 && at.Sub(start) >= time.Hour && at.Sub(start) < 2*time.Hour {
				continue // pdu2: no samples in the second hour
			}
			kwh += 0.0123456789
			fields := []sample.Field{sample.F("power_w", 100+float64(at.Minute())/3+float64(m))}
			if m != 1 && at.Minute()%3 != 0 {
				fields = append(fields, sample.F("energy_kwh", kwh))
			}
			batch = append(batch, pw(ser, at, fields...))
		}
	}
	return batch
}

// TestWriteHourlyMatchesRaw loads what Hourly aggregates from raw rows into
// a fresh store with WriteHourly and checks that Hourly and HourlyEach give
// back exactly the same, for the whole range and for windows.
func TestWriteHourlyMatchesRaw(t *testing.T) {
	ctx := context.Background()
	raw := openTest(t, Options{})
	write(t, raw, rawHours()...)
	want := hourly(t, raw, store.Query{})
	if len(want) != 3*5-1 {
		t.Fatalf("%d hourly rows from raw samples, want 14", len(want))
	}

	loaded := openTest(t, Options{})
	// In two calls, the second one first, to check that order does not matter.
	if err := loaded.WriteHourly(ctx, want[7:]); err != nil {
		t.Fatal(err)
	}
	if err := loaded.WriteHourly(ctx, want[:7]); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.Query{
		{},
		{Device: "pdu2"},
		{Meter: "outlet/1", From: t0.Add(-90 * time.Minute), To: t0.Add(30 * time.Minute)},
		{Site: "nowhere"},
	} {
		equal(t, "Hourly of loaded rollups", hourly(t, loaded, q), hourly(t, raw, q))
		var each []store.Hourly
		if err := loaded.HourlyEach(ctx, q, func(h store.Hourly) error { each = append(each, h); return nil }); err != nil {
			t.Fatal(err)
		}
		equal(t, "HourlyEach of loaded rollups", each, hourly(t, raw, q))
	}

	// Late raw rows of a loaded hour merge into it exactly as into one
	// that Compact rolled up.
	late := []sample.Sample{
		pw(pdu("pdu1", "total"), t0.Add(-3*time.Hour+30*time.Second), sample.F("power_w", 500), sample.F("energy_kwh", 999)),
		pw(pdu("pdu1", "total"), t0.Add(-2*time.Hour-30*time.Second), sample.F("power_w", 1), sample.F("energy_kwh", 2000)),
		pw(pdu("pdu2", "total"), t0.Add(-2*time.Hour+time.Minute), sample.F("power_w", 7)), // the gap hour
	}
	now := t0.Add(3 * time.Hour)
	compacted := openTest(t, Options{RawRetention: time.Hour, Now: func() time.Time { return now }})
	write(t, compacted, rawHours()...)
	if err := compacted.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	write(t, compacted, late...)
	write(t, loaded, late...)
	equal(t, "Hourly with late raw rows", hourly(t, loaded, store.Query{}), hourly(t, compacted, store.Query{}))
}

func TestWriteHourlyReplacesAndRejects(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	a := store.Hourly{Series: pdu("pdu1", "total"), Hour: t0, PowerSamples: 60, PowerMeanW: 250,
		CounterSamples: 60, CounterFirstKWh: 10, CounterLastKWh: 10.25, CounterFirstAt: t0, CounterLastAt: t0.Add(59 * time.Minute)}
	b := a
	b.PowerMeanW, b.CounterSamples, b.CounterLastKWh = 300, 0, 99 // counter fields dropped: none counted
	if err := s.WriteHourly(ctx, []store.Hourly{a}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteHourly(ctx, []store.Hourly{b}); err != nil {
		t.Fatal(err)
	}
	want := b
	want.CounterFirstKWh, want.CounterLastKWh, want.CounterFirstAt, want.CounterLastAt = 0, 0, time.Time{}, time.Time{}
	equal(t, "Hourly after a rewrite", hourly(t, s, store.Query{}), []store.Hourly{want})

	next := a
	next.Hour, next.CounterFirstAt, next.CounterLastAt = t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(time.Hour+time.Minute)
	for name, mod := range map[string]func(h *store.Hourly){
		"not a whole hour":     func(h *store.Hourly) { h.Hour = h.Hour.Add(time.Minute) },
		"ups":                  func(h *store.Hourly) { h.Series.Measurement = sample.UPS },
		"no device":            func(h *store.Hourly) { h.Series.Device = "" },
		"negative count":       func(h *store.Hourly) { h.PowerSamples = -1 },
		"NaN mean":             func(h *store.Hourly) { h.PowerMeanW = nanValue() },
		"counter outside hour": func(h *store.Hourly) { h.CounterLastAt = h.Hour.Add(time.Hour) },
		"last before first":    func(h *store.Hourly) { h.CounterFirstAt = h.CounterLastAt.Add(time.Second) },
	} {
		bad := next
		mod(&bad)
		err := s.WriteHourly(ctx, []store.Hourly{next, bad})
		var rej *store.RejectedError
		if !errors.As(err, &rej) {
			t.Errorf("%s: got %v, want a RejectedError", name, err)
		}
	}
	equal(t, "Hourly after rejected calls", hourly(t, s, store.Query{}), []store.Hourly{want})
}

func nanValue() float64 { return math.NaN() }

func TestHourlyEachStops(t *testing.T) {
	s := openTest(t, Options{})
	write(t, s, rawHours()...)
	stop := errors.New("stop")
	n := 0
	err := s.HourlyEach(context.Background(), store.Query{}, func(store.Hourly) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Fatalf("HourlyEach returned %v after %d rows, want the callback's error after 3", err, n)
	}
}
