package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// TestSamplesVersions: every write of power samples gives the UTC hours it
// writes in a new version and leaves the others; other measurements,
// refused batches and compaction change none; the database keeps its
// identity when opened read-only and another database has another.
func TestSamplesVersions(t *testing.T) {
	dir := t.TempDir()
	now := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
	s := openTest(t, Options{Path: dir, RawRetention: 24 * time.Hour, Now: func() time.Time { return now }})
	ctx := context.Background()
	oct, nov := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC), time.Date(2025, 11, 1, 0, 0, 0, 0, time.UTC)
	versions := func() store.SampleVersions {
		t.Helper()
		v, err := s.SamplesVersions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	v0 := versions()
	if v0.Store == "" || len(v0.Hours) != 0 {
		t.Fatalf("a new store: %+v, want an identity and no hours", v0)
	}
	oct1, oct31 := oct.Add(time.Hour), nov.Add(-time.Hour)
	step := func(name string, do func() error, changed ...time.Time) store.SampleVersions {
		t.Helper()
		before := versions()
		if err := do(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		after := versions()
		if after.Store != before.Store {
			t.Errorf("%s: identity changed", name)
		}
		for _, d := range []time.Time{oct1, oct31, nov} {
			want := false
			for _, c := range changed {
				want = want || c.Equal(d)
			}
			if got := after.Hours[d] != before.Hours[d]; got != want {
				t.Errorf("%s: version of %s changed %v, want %v", name, d.Format(time.RFC3339), got, want)
			}
			if want && after.Hours[d] == "" {
				t.Errorf("%s: no version of %s", name, d.Format(time.RFC3339))
			}
		}
		return after
	}
	ser := pdu("pdu1", "total")
	step("power in October", func() error {
		return s.Write(ctx, []sample.Sample{pw(ser, oct1.Add(time.Minute), sample.F("power_w", 1))})
	}, oct1)
	step("the same sample again", func() error {
		return s.Write(ctx, []sample.Sample{pw(ser, oct1.Add(time.Minute), sample.F("power_w", 1))})
	}, oct1)
	step("a batch across two hours", func() error {
		return s.Write(ctx, []sample.Sample{pw(ser, nov.Add(-time.Minute), sample.F("energy_kwh", 1)), pw(ser, nov, sample.F("energy_kwh", 2))})
	}, oct31, nov)
	step("ups and device samples", func() error {
		return s.Write(ctx, []sample.Sample{
			{Series: sample.Series{Measurement: sample.UPS, Device: "ups1"}, Time: oct, Fields: []sample.Field{sample.F("input_w", 1)}},
			{Series: sample.Series{Measurement: sample.Device, Device: "d"}, Time: nov, Fields: []sample.Field{sample.B("reachable", true)}}})
	})
	step("a refused batch", func() error {
		if err := s.Write(ctx, []sample.Sample{pw(ser, oct, sample.F("power_w", 1)), pw(ser, nov, sample.F("nope", 1))}); err == nil {
			t.Error("a batch with an unknown field was accepted")
		}
		return nil
	})
	step("rollups of March", func() error { return s.WriteHourly(ctx, benchHours(pdu("pdu2", "total"), 0, 1, 0)) })
	step("rollups of November", func() error {
		h := benchHours(pdu("pdu2", "total"), 0, 1, 0)
		h[0].Hour, h[0].CounterFirstAt, h[0].CounterLastAt = nov, nov, nov.Add(time.Minute)
		return s.WriteHourly(ctx, h)
	}, nov)
	last := step("compaction", func() error { return s.Compact(ctx) })
	if n := rangeAll(t, s, store.Query{Measurement: sample.Power, To: nov}); len(n) != 0 {
		t.Fatalf("compaction left %d raw rows of October", len(n))
	}

	ro, err := Open(ctx, Options{Path: dir, ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	if v, err := ro.SamplesVersions(ctx); err != nil || v.Store != last.Store || v.Of(oct, nov.AddDate(0, 1, 0)) != last.Of(oct, nov.AddDate(0, 1, 0)) {
		t.Errorf("read-only: %+v, %v; want %+v", v, err, last)
	}
	other := openTest(t, Options{})
	if v, err := other.SamplesVersions(ctx); err != nil || v.Store == last.Store {
		t.Errorf("another database: %+v, %v; want another identity than %s", v, err, last.Store)
	}
}

func TestSampleVersionsOf(t *testing.T) {
	hour := func(d, h int) time.Time { return time.Date(2025, 10, d, h, 0, 0, 0, time.UTC) }
	v := store.SampleVersions{Hours: map[time.Time]string{hour(30, 5): "a", hour(31, 22): "b", hour(31, 23): "c"}}
	cet := time.FixedZone("CET", 3600)
	// The Danish November and its hour before: from 31 October 22:00 UTC.
	nov := v.Of(time.Date(2025, 11, 1, 0, 0, 0, 0, cet).Add(-time.Hour), time.Date(2025, 12, 1, 0, 0, 0, 0, cet))
	w := v
	w.Hours = map[time.Time]string{hour(30, 5): "x", hour(31, 22): "b", hour(31, 23): "c", hour(31, 21): "y"}
	if got := w.Of(time.Date(2025, 11, 1, 0, 0, 0, 0, cet).Add(-time.Hour), time.Date(2025, 12, 1, 0, 0, 0, 0, cet)); got != nov {
		t.Errorf("versions outside November changed its Of: %s, %s", got, nov)
	}
	w.Hours[hour(31, 22)] = "z"
	if got := w.Of(time.Date(2025, 11, 1, 0, 0, 0, 0, cet).Add(-time.Hour), time.Date(2025, 12, 1, 0, 0, 0, 0, cet)); got == nov {
		t.Error("a new version of the hour before November left its Of")
	}
}
