package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// TestSamplesVersions: every write of power samples gives the UTC days it
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
	if v0.Store == "" || len(v0.Days) != 0 {
		t.Fatalf("a new store: %+v, want an identity and no days", v0)
	}
	oct31 := nov.Add(-24 * time.Hour)
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
		for _, d := range []time.Time{oct, oct31, nov} {
			want := false
			for _, c := range changed {
				want = want || c.Equal(d)
			}
			if got := after.Days[d] != before.Days[d]; got != want {
				t.Errorf("%s: version of %s changed %v, want %v", name, d.Format("2006-01-02"), got, want)
			}
			if want && after.Days[d] == "" {
				t.Errorf("%s: no version of %s", name, d.Format("2006-01-02"))
			}
		}
		return after
	}
	ser := pdu("pdu1", "total")
	step("power in October", func() error {
		return s.Write(ctx, []sample.Sample{pw(ser, oct.Add(time.Hour), sample.F("power_w", 1))})
	}, oct)
	step("the same sample again", func() error {
		return s.Write(ctx, []sample.Sample{pw(ser, oct.Add(time.Hour), sample.F("power_w", 1))})
	}, oct)
	step("a batch across two days", func() error {
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
	day := func(m time.Month, d int) time.Time { return time.Date(2025, m, d, 0, 0, 0, 0, time.UTC) }
	v := store.SampleVersions{Days: map[time.Time]string{day(10, 30): "a", day(10, 31): "b", day(11, 1): "c", day(12, 1): "d"}}
	cet := time.FixedZone("CET", 3600)
	// The Danish November and its hour before: from 31 October 22:00 UTC.
	got := v.Of(time.Date(2025, 11, 1, 0, 0, 0, 0, cet).Add(-time.Hour), time.Date(2025, 12, 1, 0, 0, 0, 0, cet))
	if want := "2025-10-31=b;2025-11-01=c;"; got != want {
		t.Errorf("Of = %q, want %q", got, want)
	}
	if got := v.Of(day(10, 30).Add(time.Hour), day(10, 31)); got != "2025-10-30=a;" {
		t.Errorf("Of within a day = %q", got)
	}
}
