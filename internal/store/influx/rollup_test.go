package influx

import (
	"math"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// hourlyOf reads q's hours through InfluxQL, from the rollups where valid
// (raw false) or from the raw points only (raw true).
func hourlyOf(t *testing.T, s *Store, q store.Query, raw bool) []store.Hourly {
	t.Helper()
	defer func(was bool) { s.rawHourly = was }(s.rawHourly)
	s.rawHourly = raw
	var out []store.Hourly
	if err := s.hourlyQL(tctx(t), q, func(h store.Hourly) error { out = append(out, h); return nil }); err != nil {
		t.Fatalf("%+v (raw %v): %v", q, raw, err)
	}
	return out
}

// sameHours compares rollup reads with raw reads: equal but for the last
// bits of the mean (the rollup sums an hour at a time, the raw read a range).
func sameHours(t *testing.T, what string, got, want []store.Hourly) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d hours, raw read %d", what, len(got), len(want))
	}
	for i := range got {
		a, b := got[i], want[i]
		if math.Abs(a.PowerMeanW-b.PowerMeanW) > 1e-12*math.Max(1, math.Abs(b.PowerMeanW)) {
			t.Errorf("%s: %s %s: mean %v, raw %v", what, a.Series.Key(), a.Hour, a.PowerMeanW, b.PowerMeanW)
		}
		a.PowerMeanW = b.PowerMeanW
		if a != b {
			t.Errorf("%s: hour %d differs:\nrollups %+v\nraw     %+v", what, i, a, b)
		}
	}
}

// validHours is the number of hours of [from, to) that reads take from the
// rollups.
func validHours(t *testing.T, s *Store, from, to time.Time) int {
	t.Helper()
	p, err := s.planRollups(tctx(t), from, to)
	if err != nil {
		t.Fatal(err)
	}
	return len(p.valid)
}

// testRollups: after Materialize, hourly reads come from the rollups and
// give what the raw points give, for irregular data and every kind of
// range; a late sample makes its hour raw again until the next run, a
// changed token while an hour is aggregated records nothing, and a run
// with nothing to do writes nothing.
func testRollups(t *testing.T, s *Store) {
	in := irregularPower()
	write(t, s, in...)
	from, to := t0.Add(-2*time.Hour), t0.Add(12*time.Hour)
	if n := validHours(t, s, from, to); n != 0 {
		t.Fatalf("%d valid hours before Materialize", n)
	}

	var calls, last int
	res, err := s.Materialize(tctx(t), from.Add(time.Minute), to, func(done, total int) {
		calls++
		if done <= last || done > total || total != 13 {
			t.Errorf("progress(%d, %d) after %d, want up to 13 of 13", done, total, last)
		}
		last = done
	})
	if err != nil {
		t.Fatal(err)
	}
	// from + 1 min: the hour [from, from+1h) is not complete in the range;
	// the 13 hours are of one day: one progress call.
	if res.Hours != 13 || res.Changed != 0 || res.Meters == 0 || calls != 1 || last != 13 {
		t.Fatalf("Materialize = %+v after %d progress calls (last %d), want 13 hours in 1", res, calls, last)
	}
	if n := validHours(t, s, from, to); n != 13 {
		t.Fatalf("%d valid hours after Materialize, want 13", n)
	}
	for _, q := range hourlyQueries {
		sameHours(t, "after Materialize "+strconv.Quote(q.Device)+q.From.String()+"–"+q.To.String(), hourlyOf(t, s, q, false), hourlyOf(t, s, q, true))
	}
	// A short stretch without rollups and without samples is not read.
	if p, err := s.planRollups(tctx(t), t0.Add(-5*time.Hour), t0.Add(3*time.Hour)); err != nil || len(p.raw) != 0 || len(p.valid) != 4 {
		t.Fatalf("plan of 4 empty hours and 4 rolled up: %d raw stretches %v, %d valid hours, %v; want none and 4", len(p.raw), p.raw, len(p.valid), err)
	}
	if p, err := s.planRollups(tctx(t), t0.Add(-5*time.Hour), t0.Add(2*time.Hour+30*time.Minute)); err != nil || len(p.raw) != 1 {
		t.Fatalf("plan ending inside an hour with samples: %d raw stretches %v, %v; want 1", len(p.raw), p.raw, err)
	}
	if again, err := s.Materialize(tctx(t), from.Add(time.Minute), to, nil); err != nil || again != (MaterializeResult{}) {
		t.Fatalf("second Materialize = %+v, %v; want nothing to do", again, err)
	}

	// Reads do come from the rollups: a rollup changed behind ecometer's
	// back shows (and nothing else would make it show).
	q := store.Query{Device: "pdu-1", Meter: "total", From: t0, To: t0.Add(3 * time.Hour)}
	before := hourlyOf(t, s, q, false)
	if len(before) == 0 {
		t.Fatal("no hours of pdu-1 in the range")
	}
	h := before[0]
	day := dayOf(h.Hour.UnixNano())
	res0, err := s.qlQuery(tctx(t), "test", "SELECT v FROM "+s.qlFrom(rollupMeasurement)+" WHERE "+qlSeriesCond(h.Series)+
		" AND time = "+strconv.FormatInt(day, 10))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := qlRows(res0, 0)
	if err != nil || len(rows) != 1 || len(rows[0].Values) != 1 {
		t.Fatalf("the day's rollup point of %s: %+v, %v", h.Series.Key(), rows, err)
	}
	hours, err := splitDay(string(rows[0].Values[0][1]))
	if err != nil {
		t.Fatal(err)
	}
	hod := int((h.Hour.UnixNano() - day) / int64(time.Hour))
	if _, ok := hours[hod]; !ok || len(hours) < 2 {
		t.Fatalf("the day's rollup point of %s holds %v, want hour %d and others", h.Series.Key(), hours, hod)
	}
	hours[hod] = "1 123456 0"
	if err := s.send(tctx(t), appendDay(nil, h.Series, day, hours), true, "forge a rollup"); err != nil {
		t.Fatal(err)
	}
	forged := hourlyOf(t, s, q, false)
	if forged[0].PowerMeanW != 123456 || forged[0].PowerSamples != 1 {
		t.Fatalf("a forged rollup did not show: %+v (reads do not come from the rollups)", forged[0])
	}

	// A late sample in that hour: the hour is read raw again (so the
	// forged rollup is gone from the answer, and the sample is in it),
	// the other hours stay rolled up.
	late := power("pdu-1", "total", h.Hour.Add(59*time.Minute+59*time.Second), 5000, 0)
	late.Fields = late.Fields[:1]
	write(t, s, late)
	if n := validHours(t, s, from, to); n != 12 {
		t.Fatalf("%d valid hours after a late sample, want 12", n)
	}
	for _, q := range hourlyQueries {
		sameHours(t, "after a late sample", hourlyOf(t, s, q, false), hourlyOf(t, s, q, true))
	}
	raw := hourlyOf(t, s, q, true)
	if raw[0].PowerSamples != h.PowerSamples+1 {
		t.Fatalf("the late sample is not in its hour: %d samples, had %d", raw[0].PowerSamples, h.PowerSamples)
	}

	// A write during the aggregation (the token read before differs from
	// the one after): nothing recorded.
	if r, err := s.materializeDay(tctx(t), []int64{h.Hour.UnixNano()}, map[int64]string{h.Hour.UnixNano(): "stale"}); err != nil || r.Changed != 1 || r.Hours != 0 {
		t.Fatalf("materializeDay with a changed token: %+v, %v; want the hour not recorded", r, err)
	}
	if n := validHours(t, s, from, to); n != 12 {
		t.Fatalf("%d valid hours after an aggregation that saw a write, want 12", n)
	}
	res, err = s.Materialize(tctx(t), from.Add(time.Minute), to, nil)
	if err != nil || res.Hours != 1 || res.Changed != 0 {
		t.Fatalf("Materialize after a late sample = %+v, %v; want 1 hour", res, err)
	}
	for _, q := range hourlyQueries {
		sameHours(t, "materialized again", hourlyOf(t, s, q, false), hourlyOf(t, s, q, true))
	}
	if got := hourlyOf(t, s, q, false); got[0].PowerSamples != h.PowerSamples+1 {
		t.Fatalf("materialized again: %+v, want the late sample counted", got[0])
	}

	// Hours separated by more stretches without rollups than maxRawRuns:
	// one raw stretch between the outer rollups, same answer.
	for k := 0; k < 2*maxRawRuns; k += 2 {
		write(t, s, power("srv-2", "psu/1", t0.Add(time.Duration(k)*time.Hour+time.Minute), 10, 0))
	}
	if n := validHours(t, s, from, to); n >= 12 {
		t.Fatalf("%d valid hours after writes to %d hours", n, maxRawRuns)
	}
	for _, q := range hourlyQueries {
		sameHours(t, "many stretches", hourlyOf(t, s, q, false), hourlyOf(t, s, q, true))
	}
}

// testMarkWrites: every Write leaves a new token on each hour of its power
// samples, and none for other measurements.
func testMarkWrites(t *testing.T, s *Store) {
	h0 := t0.Truncate(time.Hour)
	write(t, s, power("d1", "total", h0.Add(10*time.Minute), 1, 2), power("d2", "total", h0.Add(2*time.Hour+time.Second), 1, 2),
		power("d1", "total", h0.Add(20*time.Minute), 1, 2))
	first, _, err := s.rollupTokens(tctx(t), h0, h0.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(first) != 2 || first[h0.UnixNano()] == "" || first[h0.UnixNano()] != first[h0.Add(2*time.Hour).UnixNano()] {
		t.Fatalf("tokens after one write: %v, want the same one on hours 0 and 2", first)
	}
	write(t, s, power("d1", "total", h0.Add(30*time.Minute), 1, 2))
	ups := sample.Sample{Series: sample.Series{Measurement: sample.UPS, Site: "s1", Device: "u1", Meter: "total", Source: "snmp"},
		Time: h0.Add(2*time.Hour + 5*time.Minute), Fields: []sample.Field{sample.F("battery_charge_pct", 10)}}
	write(t, s, ups)
	second, _, err := s.rollupTokens(tctx(t), h0, h0.Add(5*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if second[h0.UnixNano()] == first[h0.UnixNano()] || second[h0.Add(2*time.Hour).UnixNano()] != first[h0.Add(2*time.Hour).UnixNano()] {
		t.Fatalf("tokens after a second write to hour 0 and a UPS sample in hour 2: %v (before %v)", second, first)
	}
	if !strings.ContainsAny(second[h0.UnixNano()], "0123456789abcdefghijklmnopqrstuvwxyz") {
		t.Fatalf("token %q", second[h0.UnixNano()])
	}
}
