package sqlite

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// TestMaterialize: a store whose complete hours are materialized (and
// compacted) answers every hourly query exactly as one that never was,
// through late samples, overwrites, new series, rollups written into
// materialized hours and compaction; and it reads the materialized hours
// instead of the raw rows.
func TestMaterialize(t *testing.T) {
	dir := t.TempDir()
	now := t0
	subject := openTest(t, Options{Path: dir, RawRetention: 10 * 24 * time.Hour, Now: func() time.Time { return now }})
	oracle := openTest(t, Options{}) // never compacted or materialized
	both := func(batch ...sample.Sample) {
		t.Helper()
		write(t, subject, batch...)
		write(t, oracle, batch...)
	}
	rng := rand.New(rand.NewPCG(3, 5))
	start := t0.Add(-12 * 24 * time.Hour)
	var batch []sample.Sample
	for d := range 6 {
		ser := pdu(fmt.Sprint("pdu", d/3), fmt.Sprint("outlet/", d%3))
		kwh := 100.0
		for at := start; at.Before(t0); at = at.Add(time.Duration(40+rng.IntN(200)) * time.Second) {
			var fields []sample.Field
			if d != 2 {
				fields = append(fields, sample.F("power_w", float64(rng.IntN(5000))/7))
			}
			if d%2 == 0 {
				kwh += float64(rng.IntN(100)) / 1000
				fields = append(fields, sample.F("energy_kwh", kwh))
			}
			batch = append(batch, pw(ser, at, fields...))
		}
	}
	both(batch...)

	queries := []store.Query{
		{},
		{Device: "pdu1"},
		{From: t0.Add(-3*24*time.Hour + 17*time.Minute), To: t0.Add(-5 * time.Hour)},
		{From: start.Add(-time.Hour), To: t0.Add(time.Hour)},
		{Meter: "outlet/2", From: t0.Add(-11 * 24 * time.Hour)},
	}
	check := func(what string) {
		t.Helper()
		for _, q := range queries {
			got, want := hourly(t, subject, q), hourly(t, oracle, q)
			for i := range max(len(got), len(want)) {
				if i >= len(got) || i >= len(want) || got[i] != want[i] {
					var g, w any = "none", "none"
					if i < len(got) {
						g = got[i]
					}
					if i < len(want) {
						w = want[i]
					}
					t.Errorf("%s: Hourly(%+v): %d rows, want %d; row %d:\n got %+v\nwant %+v", what, q, len(got), len(want), i, g, w)
					break
				}
			}
		}
	}
	count := func(table string) int {
		t.Helper()
		var n int
		if err := rawDB(t, dir).QueryRow(`SELECT count(*) FROM ` + table).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	ctx := context.Background()
	materialize := func() {
		t.Helper()
		if err := subject.Materialize(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// Ten days are kept raw (RawRetention), all of them complete: 240
	// hours materialized.
	materialize()
	if n := count("hourly_raw_hours"); n != 240 {
		t.Fatalf("%d materialized hours, want 240", n)
	}
	check("materialized")

	// Samples that change materialized hours: a late reading, an
	// overwrite, a new series.
	late := t0.Add(-50 * time.Hour)
	both(pw(pdu("pdu0", "outlet/0"), late.Add(7*time.Second), sample.F("power_w", 1e4), sample.F("energy_kwh", 1e5)),
		pw(pdu("pdu9", "total"), late.Add(-2*time.Hour), sample.F("power_w", 3)))
	check("after late samples")
	over := rangeAll(t, oracle, store.Query{Measurement: sample.Power, Device: "pdu1", From: t0.Add(-30 * time.Hour)})[0]
	over.Fields = []sample.Field{sample.F("power_w", 12345)}
	both(over)
	check("after an overwrite")
	// Rollups written into a materialized hour.
	roll := benchHours(pdu("pdu1", "outlet/0"), 0, 1, 5)
	roll[0].Hour = t0.Add(-20 * time.Hour)
	roll[0].CounterFirstAt, roll[0].CounterLastAt = roll[0].Hour, roll[0].Hour.Add(time.Minute)
	for _, s := range []*Store{subject, oracle} {
		if err := s.WriteHourly(ctx, roll); err != nil {
			t.Fatal(err)
		}
	}
	check("after rollups of a materialized hour")
	materialize()
	check("materialized again")

	// Compaction rolls the oldest days up; the materialized hours go with
	// their raw rows.
	now = t0.Add(3*24*time.Hour + 30*time.Minute)
	if err := subject.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted")
	cutoff := now.Add(-10 * 24 * time.Hour).Truncate(time.Hour).UnixNano()
	var stale int
	if err := rawDB(t, dir).QueryRow(`SELECT (SELECT count(*) FROM hourly_raw WHERE hour_ts < ?1) + (SELECT count(*) FROM hourly_raw_hours WHERE hour_ts < ?1)`, cutoff).Scan(&stale); err != nil {
		t.Fatal(err)
	}
	if stale != 0 {
		t.Errorf("%d materialized rows and hours before the compaction cutoff remain", stale)
	}
	// A late sample for an hour already rolled up is merged, as before.
	both(pw(pdu("pdu0", "outlet/0"), start.Add(time.Minute+3*time.Second), sample.F("power_w", 7)))
	check("a late sample in a rolled-up hour")
	if err := subject.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	check("compacted again")

	// The materialized hours are what is read: with the raw rows of a
	// materialized hour gone behind the store's back (no new version),
	// the answer stays.
	h := t0.Add(-5 * time.Hour)
	res, err := rawDB(t, dir).Exec(`DELETE FROM power WHERE ts >= ? AND ts < ?`, h.UnixNano(), h.Add(time.Hour).UnixNano())
	if n, _ := res.RowsAffected(); err != nil || n == 0 {
		t.Fatalf("delete raw rows: %d, %v", n, err)
	}
	check("raw rows of a materialized hour deleted")
}

// BenchmarkHourlyEachMaterialized streams a day of 1,000 meters polled every
// minute, raw (aggregated on the fly) and materialized.
func BenchmarkHourlyEachMaterialized(b *testing.B) {
	now := t0.Add(time.Hour)
	s := openTest(b, Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	const meters = 1000
	for at := t0.Add(-24 * time.Hour); at.Before(t0); at = at.Add(time.Minute) {
		batch := make([]sample.Sample, 0, meters)
		for m := range meters {
			batch = append(batch, pw(pdu(fmt.Sprint("pdu", m/20), fmt.Sprint("outlet/", m%20)), at,
				sample.F("power_w", float64(m)), sample.F("energy_kwh", float64(at.Unix()-t0.Unix())/1e4)))
		}
		write(b, s, batch...)
	}
	q := store.Query{From: t0.Add(-24 * time.Hour), To: t0}
	run := func(b *testing.B) {
		n := 0
		for b.Loop() {
			if err := s.HourlyEach(ctx, q, func(store.Hourly) error { n++; return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "rows/s")
	}
	b.Run("raw", run)
	if err := s.Materialize(ctx); err != nil {
		b.Fatal(err)
	}
	b.Run("materialized", run)
}
