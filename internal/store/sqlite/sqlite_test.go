package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

var t0 = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func openTest(t testing.TB, opts Options) *Store {
	t.Helper()
	if opts.Path == "" {
		opts.Path = t.TempDir()
	}
	s, err := Open(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// rawDB opens the store's file directly, for inspecting or tampering.
func rawDB(t testing.TB, dir string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", dsn(filepath.Join(dir, FileName)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func pdu(device, meter string) sample.Series {
	return sample.Series{Measurement: sample.Power, Site: "odense", Room: "r1", Rack: "a01",
		Device: device, Class: "pdu", Meter: meter, Source: "snmp"}
}

func pw(ser sample.Series, at time.Time, fields ...sample.Field) sample.Sample {
	return sample.Sample{Series: ser, Time: at, Fields: fields}
}

func write(t testing.TB, s *Store, batch ...sample.Sample) {
	t.Helper()
	if err := s.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func rangeAll(t testing.TB, s *Store, q store.Query) []sample.Sample {
	t.Helper()
	var out []sample.Sample
	if err := s.Range(context.Background(), q, func(smp sample.Sample) error {
		out = append(out, smp)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return out
}

func hourly(t testing.TB, s *Store, q store.Query) []store.Hourly {
	t.Helper()
	h, err := s.Hourly(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func latest(t testing.TB, s *Store, q store.Query) []sample.Sample {
	t.Helper()
	l, err := s.Latest(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func equal(t testing.TB, what string, got, want any) {
	t.Helper()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func TestRoundTrip(t *testing.T) {
	ups := sample.Series{Measurement: sample.UPS, Site: "odense", Room: "r1", Device: "ups1", Class: "ups", Meter: "total", Source: "snmp"}
	srv := sample.Series{Measurement: sample.Device, Site: "vejle", Device: "srv1", Class: "server", Source: "redfish"}
	in := []sample.Sample{
		pw(pdu("pdu1", "total"), t0, sample.F("power_w", 1234.5), sample.F("energy_kwh", 98765.4321),
			sample.F("voltage_v", 230.1), sample.F("current_a", 5.37)),
		pw(pdu("pdu1", "total"), t0.Add(time.Minute), sample.F("power_w", 1200), sample.F("energy_kwh", 98765.45)),
		pw(pdu("pdu1", "outlet/12"), t0, sample.F("apparent_va", 99.5), sample.F("load_pct", 12)),
		{Series: ups, Time: t0, Fields: []sample.Field{sample.F("battery_charge_pct", 100), sample.F("runtime_min", 42.5),
			sample.B("on_battery", true), sample.F("input_w", 3000), sample.F("output_w", 2900)}},
		{Series: ups, Time: t0.Add(time.Minute), Fields: []sample.Field{sample.B("on_battery", false)}},
		{Series: srv, Time: t0, Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", 12.25),
			sample.T("power_state", "On")}},
		{Series: srv, Time: t0.Add(time.Minute), Fields: []sample.Field{sample.T("power_state", "")}},
	}
	s := openTest(t, Options{})
	write(t, s, in...)

	for _, tc := range []struct {
		m          string
		wantRange  []sample.Sample
		wantLatest []sample.Sample
	}{
		// Series order: measurement, site, room, rack, device, class, meter, source.
		{sample.Power, []sample.Sample{in[2], in[0], in[1]}, []sample.Sample{in[2], in[1]}},
		{sample.UPS, []sample.Sample{in[3], in[4]}, []sample.Sample{in[4]}},
		{sample.Device, []sample.Sample{in[5], in[6]}, []sample.Sample{in[6]}},
	} {
		t.Run(tc.m, func(t *testing.T) {
			q := store.Query{Measurement: tc.m}
			equal(t, "Range", rangeAll(t, s, q), tc.wantRange)
			equal(t, "Latest", latest(t, s, q), tc.wantLatest)
		})
	}

	h := hourly(t, s, store.Query{})
	want := []store.Hourly{
		{Series: pdu("pdu1", "total"), Hour: t0, PowerSamples: 2, PowerMeanW: (1234.5 + 1200) / 2,
			CounterSamples: 2, CounterFirstKWh: 98765.4321, CounterLastKWh: 98765.45,
			CounterFirstAt: t0, CounterLastAt: t0.Add(time.Minute)},
	}
	equal(t, "Hourly", h, want)
}

func TestOverwrite(t *testing.T) {
	ser := pdu("pdu1", "total")
	tests := []struct {
		name    string
		batches [][]sample.Sample
		want    []sample.Sample
	}{
		{
			name: "same fields replace",
			batches: [][]sample.Sample{
				{pw(ser, t0, sample.F("power_w", 1), sample.F("energy_kwh", 2))},
				{pw(ser, t0, sample.F("power_w", 3), sample.F("energy_kwh", 4))},
			},
			want: []sample.Sample{pw(ser, t0, sample.F("power_w", 3), sample.F("energy_kwh", 4))},
		},
		{
			name: "partial write keeps other fields",
			batches: [][]sample.Sample{
				{pw(ser, t0, sample.F("power_w", 1), sample.F("energy_kwh", 2))},
				{pw(ser, t0, sample.F("voltage_v", 230))},
				{pw(ser, t0, sample.F("power_w", 5))},
			},
			want: []sample.Sample{pw(ser, t0, sample.F("power_w", 5), sample.F("energy_kwh", 2), sample.F("voltage_v", 230))},
		},
		{
			name: "duplicate within a batch: last wins",
			batches: [][]sample.Sample{
				{pw(ser, t0, sample.F("power_w", 1)), pw(ser, t0, sample.F("power_w", 2), sample.F("load_pct", 7))},
			},
			want: []sample.Sample{pw(ser, t0, sample.F("power_w", 2), sample.F("load_pct", 7))},
		},
		{
			name: "duplicate within a multi-row insert",
			batches: func() [][]sample.Sample {
				var b []sample.Sample
				for i := range rowsPerInsert * 2 {
					b = append(b, pw(ser, t0, sample.F("power_w", float64(i))))
				}
				return [][]sample.Sample{b}
			}(),
			want: []sample.Sample{pw(ser, t0, sample.F("power_w", rowsPerInsert*2-1))},
		},
		{
			name: "different times do not overwrite",
			batches: [][]sample.Sample{
				{pw(ser, t0, sample.F("power_w", 1))},
				{pw(ser, t0.Add(time.Nanosecond), sample.F("power_w", 2))},
			},
			want: []sample.Sample{pw(ser, t0, sample.F("power_w", 1)), pw(ser, t0.Add(time.Nanosecond), sample.F("power_w", 2))},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			for _, b := range tc.batches {
				write(t, s, b...)
			}
			equal(t, "Range", rangeAll(t, s, store.Query{Measurement: sample.Power}), tc.want)
			// Overwrites never count twice.
			h := hourly(t, s, store.Query{})
			if len(h) != 1 || h[0].PowerSamples != len(tc.want) {
				t.Errorf("Hourly counts %+v, want %d power samples", h, len(tc.want))
			}
		})
	}
}

func TestInvalidBatchIsAtomic(t *testing.T) {
	good := pw(pdu("pdu1", "total"), t0, sample.F("power_w", 1))
	tests := []struct {
		name string
		bad  sample.Sample
		msg  string
	}{
		{"unknown measurement", sample.Sample{Series: sample.Series{Measurement: "temp", Device: "x"}, Time: t0,
			Fields: []sample.Field{sample.F("c", 1)}}, `unknown measurement "temp"`},
		{"empty device", pw(pdu("", "total"), t0, sample.F("power_w", 1)), "empty device"},
		{"zero time", pw(pdu("pdu2", "total"), time.Time{}, sample.F("power_w", 1)), "zero time"},
		{"no fields", pw(pdu("pdu2", "total"), t0), "no fields"},
		{"unknown field", pw(pdu("pdu2", "total"), t0, sample.F("power_kw", 1)), `"power_kw"`},
		{"wrong kind", pw(pdu("pdu2", "total"), t0, sample.T("power_w", "1")), "wrong kind"},
		{"NaN", pw(pdu("pdu2", "total"), t0, sample.F("power_w", math.NaN())), "is NaN"},
		{"Inf", pw(pdu("pdu2", "total"), t0, sample.F("energy_kwh", math.Inf(1))), "is +Inf"},
		{"time out of range", pw(pdu("pdu2", "total"), time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC),
			sample.F("power_w", 1)), "outside"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := openTest(t, Options{})
			other := pw(pdu("pdu3", "total"), t0, sample.F("power_w", 2))
			err := s.Write(context.Background(), []sample.Sample{good, other, tc.bad, good})
			if err == nil {
				t.Fatal("no error")
			}
			var rej *store.RejectedError
			if !errors.As(err, &rej) {
				t.Errorf("error %v is not a RejectedError", err)
			}
			if !strings.Contains(err.Error(), "sample 2 of 4") || !strings.Contains(err.Error(), tc.msg) ||
				!strings.Contains(err.Error(), "write batch") {
				t.Errorf("error %q does not name sample 2 and %q", err, tc.msg)
			}
			if got := rangeAll(t, s, store.Query{Measurement: sample.Power}); len(got) != 0 {
				t.Errorf("rejected batch wrote %v", got)
			}
		})
	}
}

// A batch that fails inside the database is rolled back whole, and the series
// it created are not remembered.
func TestFailedBatchRollsBack(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Path: dir})
	db := rawDB(t, dir)
	if _, err := db.Exec(`CREATE TRIGGER boom BEFORE INSERT ON power WHEN NEW.power_w = -999
		BEGIN SELECT RAISE(ABORT, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	var batch []sample.Sample
	for i := range 250 { // crosses multi-row inserts
		batch = append(batch, pw(pdu(fmt.Sprint("pdu", i), "total"), t0, sample.F("power_w", float64(i))))
	}
	batch = append(batch, pw(pdu("pdu1", "total"), t0.Add(time.Minute), sample.F("power_w", -999)))
	if err := s.Write(context.Background(), batch); err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("error %v, want boom", err)
	}
	var n int
	if err := db.QueryRow(`SELECT (SELECT count(*) FROM series) + (SELECT count(*) FROM power)`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("%d rows left after a failed batch", n)
	}
	if _, err := db.Exec(`DROP TRIGGER boom`); err != nil {
		t.Fatal(err)
	}
	// Other series take the ids the failed batch had used.
	write(t, s, pw(pdu("other", "total"), t0, sample.F("power_w", 1)))
	write(t, s, batch[:250]...)
	got := latest(t, s, store.Query{Measurement: sample.Power, Device: "pdu7"})
	equal(t, "Latest pdu7", got, []sample.Sample{batch[7]})
	if len(rangeAll(t, s, store.Query{Measurement: sample.Power})) != 251 {
		t.Error("wrong number of samples")
	}
}

func TestQueryFilters(t *testing.T) {
	s := openTest(t, Options{})
	var all []sample.Sample
	for _, site := range []string{"odense", "vejle"} {
		for _, dev := range []string{"pdu1", "pdu2"} {
			for _, meter := range []string{"inlet/1", "total"} {
				ser := pdu(dev, meter)
				ser.Site = site
				for i := range 4 {
					all = append(all, pw(ser, t0.Add(time.Duration(i)*time.Minute), sample.F("power_w", float64(i))))
				}
			}
		}
	}
	write(t, s, all...)
	pick := func(keep func(sample.Sample) bool) []sample.Sample {
		var out []sample.Sample
		for _, smp := range all { // all is in series order already
			if keep(smp) {
				out = append(out, smp)
			}
		}
		return out
	}
	tests := []struct {
		name string
		q    store.Query
		want []sample.Sample
	}{
		{"all", store.Query{}, all},
		{"site", store.Query{Site: "vejle"}, pick(func(s sample.Sample) bool { return s.Site == "vejle" })},
		{"device", store.Query{Device: "pdu2"}, pick(func(s sample.Sample) bool { return s.Device == "pdu2" })},
		{"meter", store.Query{Meter: "total"}, pick(func(s sample.Sample) bool { return s.Meter == "total" })},
		{"site device meter", store.Query{Site: "odense", Device: "pdu1", Meter: "inlet/1"},
			pick(func(s sample.Sample) bool { return s.Site == "odense" && s.Device == "pdu1" && s.Meter == "inlet/1" })},
		{"no match", store.Query{Site: "aarhus"}, nil},
		{"from inclusive", store.Query{Device: "pdu1", Meter: "total", Site: "vejle", From: t0.Add(2 * time.Minute)},
			pick(func(s sample.Sample) bool {
				return s.Site == "vejle" && s.Device == "pdu1" && s.Meter == "total" && !s.Time.Before(t0.Add(2*time.Minute))
			})},
		{"to exclusive", store.Query{To: t0.Add(time.Minute)}, pick(func(s sample.Sample) bool { return s.Time.Equal(t0) })},
		{"half-open window", store.Query{From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)},
			pick(func(s sample.Sample) bool { return s.Time.After(t0) && s.Time.Before(t0.Add(3*time.Minute)) })},
		{"empty window", store.Query{From: t0.Add(time.Minute), To: t0.Add(time.Minute)}, nil},
		{"far bounds", store.Query{From: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), To: time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)}, all},
		{"non-UTC bounds", store.Query{From: t0.Add(3 * time.Minute).In(time.FixedZone("CET", 3600))},
			pick(func(s sample.Sample) bool { return s.Time.Equal(t0.Add(3 * time.Minute)) })},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q := tc.q
			q.Measurement = sample.Power
			equal(t, "Range", rangeAll(t, s, q), tc.want)

			var wantLatest []sample.Sample // Latest ignores From and To
			for _, smp := range pick(func(s sample.Sample) bool {
				return (q.Site == "" || s.Site == q.Site) && (q.Device == "" || s.Device == q.Device) &&
					(q.Meter == "" || s.Meter == q.Meter)
			}) {
				if smp.Time.Equal(t0.Add(3 * time.Minute)) {
					wantLatest = append(wantLatest, smp)
				}
			}
			equal(t, "Latest", latest(t, s, q), wantLatest)
		})
	}
}

func TestQueryErrors(t *testing.T) {
	s := openTest(t, Options{})
	for _, m := range []string{"", "temperature"} {
		if _, err := s.Latest(context.Background(), store.Query{Measurement: m}); err == nil {
			t.Errorf("Latest(%q): no error", m)
		}
		if err := s.Range(context.Background(), store.Query{Measurement: m}, func(sample.Sample) error { return nil }); err == nil {
			t.Errorf("Range(%q): no error", m)
		}
	}
}

func TestRangeStopsOnCallbackError(t *testing.T) {
	s := openTest(t, Options{})
	for i := range 10 {
		write(t, s, pw(pdu("pdu1", "total"), t0.Add(time.Duration(i)*time.Minute), sample.F("power_w", 1)))
	}
	stop := errors.New("stop")
	n := 0
	err := s.Range(context.Background(), store.Query{Measurement: sample.Power}, func(sample.Sample) error {
		n++
		if n == 3 {
			return stop
		}
		return nil
	})
	if err != stop || n != 3 {
		t.Errorf("Range returned %v after %d calls, want stop after 3", err, n)
	}
	// The callback may use the store, writes included.
	err = s.Range(context.Background(), store.Query{Measurement: sample.Power}, func(smp sample.Sample) error {
		if _, err := s.Latest(context.Background(), store.Query{Measurement: sample.Power}); err != nil {
			return err
		}
		return s.Write(context.Background(), []sample.Sample{pw(pdu("pdu2", "total"), smp.Time, sample.F("power_w", 2))})
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestHourly(t *testing.T) {
	s := openTest(t, Options{})
	a, b := pdu("pdu1", "total"), pdu("pdu2", "total")
	at := func(m int) time.Time { return t0.Add(time.Duration(m) * time.Minute) }
	write(t, s,
		// a, hour 12: four power samples, counter in three of them.
		pw(a, at(0), sample.F("power_w", 100), sample.F("energy_kwh", 10)),
		pw(a, at(15), sample.F("power_w", 110)),
		pw(a, at(30), sample.F("power_w", 120), sample.F("energy_kwh", 10.05)),
		pw(a, at(45), sample.F("power_w", 131), sample.F("energy_kwh", 10.08)),
		pw(a, at(50), sample.F("voltage_v", 230)), // neither power nor counter: not counted
		// a, hour 13: counter only.
		pw(a, at(60), sample.F("energy_kwh", 10.1)),
		// a, hour 15 (14 missing).
		pw(a, at(179), sample.F("power_w", 90)),
		// b, hour 11 and hour 12 (written out of order).
		pw(b, at(-1), sample.F("power_w", 5)),
		pw(b, at(59), sample.F("energy_kwh", 3)),
		pw(b, at(1), sample.F("energy_kwh", 2)),
		// ups samples are not power.
		sample.Sample{Series: sample.Series{Measurement: sample.UPS, Device: "pdu1", Meter: "total"}, Time: t0,
			Fields: []sample.Field{sample.F("input_w", 1)}},
	)
	h := func(ser sample.Series, hour time.Time, pn int, pm float64, cn int, fv, lv float64, fa, la time.Time) store.Hourly {
		return store.Hourly{Series: ser, Hour: hour, PowerSamples: pn, PowerMeanW: pm, CounterSamples: cn,
			CounterFirstKWh: fv, CounterLastKWh: lv, CounterFirstAt: fa, CounterLastAt: la}
	}
	var zero time.Time
	a12 := h(a, t0, 4, (100+110+120+131)/4.0, 3, 10, 10.08, at(0), at(45))
	a13 := h(a, at(60), 0, 0, 1, 10.1, 10.1, at(60), at(60))
	a15 := h(a, at(120), 1, 90, 0, 0, 0, zero, zero)
	b11 := h(b, at(-60), 1, 5, 0, 0, 0, zero, zero)
	b12 := h(b, t0, 0, 0, 2, 2, 3, at(1), at(59))

	tests := []struct {
		name string
		q    store.Query
		want []store.Hourly
	}{
		{"all", store.Query{}, []store.Hourly{a12, a13, a15, b11, b12}},
		{"measurement ignored", store.Query{Measurement: sample.UPS}, []store.Hourly{a12, a13, a15, b11, b12}},
		{"device", store.Query{Device: "pdu2"}, []store.Hourly{b11, b12}},
		{"site", store.Query{Site: "vejle"}, nil},
		{"aligned window", store.Query{From: t0, To: at(120)}, []store.Hourly{a12, a13, b12}},
		{"overlapping hours are whole", store.Query{From: at(59), To: at(61)}, []store.Hourly{a12, a13, b12}},
		{"to exclusive", store.Query{To: t0}, []store.Hourly{b11}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			equal(t, "Hourly", hourly(t, s, tc.q), tc.want)
		})
	}
}

// TestCompact checks that Hourly answers the same before and after raw rows
// are rolled up, that old raw rows are gone and recent ones stay.
func TestCompact(t *testing.T) {
	dir := t.TempDir()
	now := t0
	s := openTest(t, Options{Path: dir, RawRetention: 48 * time.Hour, Now: func() time.Time { return now }})
	start := t0.Add(-20 * 24 * time.Hour) // longer than compactSpan: several chunks
	var batch []sample.Sample
	for _, ser := range []sample.Series{pdu("pdu1", "total"), pdu("pdu1", "outlet/1"), pdu("pdu2", "total")} {
		kwh := 1000.0
		for at := start; at.Before(t0); at = at.Add(7 * time.Minute) {
			kwh += 0.0123456789
			fields := []sample.Field{sample.F("power_w", 100+float64(at.Minute())/3), sample.F("voltage_v", 230)}
			if at.Minute()%3 != 0 {
				fields = append(fields, sample.F("energy_kwh", kwh))
			}
			batch = append(batch, pw(ser, at, fields...))
		}
	}
	ups := sample.Series{Measurement: sample.UPS, Device: "ups1", Meter: "total"}
	for at := start; at.Before(t0); at = at.Add(time.Hour) {
		batch = append(batch, sample.Sample{Series: ups, Time: at, Fields: []sample.Field{sample.F("input_w", 1)}})
	}
	write(t, s, batch...)

	before := hourly(t, s, store.Query{})
	if len(before) != 3*20*24 {
		t.Fatalf("%d hourly rows before compaction", len(before))
	}
	windows := []store.Query{{}, {Device: "pdu2"}, {From: start.Add(36 * time.Hour), To: t0.Add(-24 * time.Hour)}}
	var beforeQ [][]store.Hourly
	for _, q := range windows {
		beforeQ = append(beforeQ, hourly(t, s, q))
	}

	compact := func() {
		t.Helper()
		if err := s.Compact(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	now = t0.Add(30 * time.Minute) // cutoff: t0-48h (the hour t0-48h30m.. is incomplete)
	compact()
	cutoff := t0.Add(-48 * time.Hour)
	equal(t, "Hourly after compaction", hourly(t, s, store.Query{}), before)
	for i, q := range windows {
		equal(t, fmt.Sprintf("Hourly(%+v) after compaction", q), hourly(t, s, q), beforeQ[i])
	}
	raw := rangeAll(t, s, store.Query{Measurement: sample.Power})
	if len(raw) == 0 || raw[0].Time.Before(cutoff) {
		t.Errorf("raw rows before the cutoff remain: first %v", raw[0].Time)
	}
	if got := rangeAll(t, s, store.Query{Measurement: sample.Power, From: cutoff}); len(got) != len(raw) {
		t.Errorf("raw rows after the cutoff lost")
	}
	ur := rangeAll(t, s, store.Query{Measurement: sample.UPS})
	if len(ur) != 48 || !ur[0].Time.Equal(cutoff) {
		t.Errorf("ups rows after compaction: %d from %v", len(ur), ur[0].Time)
	}
	var rollups int
	if err := rawDB(t, dir).QueryRow(`SELECT count(*) FROM hourly_power`).Scan(&rollups); err != nil {
		t.Fatal(err)
	}
	if rollups != 3*18*24 {
		t.Errorf("%d rollup rows, want %d", rollups, 3*18*24)
	}

	// Idempotent.
	compact()
	equal(t, "Hourly after a second compaction", hourly(t, s, store.Query{}), before)

	// Late raw rows for an hour already rolled up are merged, before and
	// after the next compaction.
	late := []sample.Sample{
		pw(pdu("pdu1", "total"), start.Add(3*time.Minute), sample.F("power_w", 500), sample.F("energy_kwh", 999)),
		pw(pdu("pdu1", "total"), start.Add(59*time.Minute), sample.F("energy_kwh", 1001)),
		pw(pdu("pdu3", "total"), start, sample.F("power_w", 1)),
	}
	write(t, s, late...)
	merged := hourly(t, s, store.Query{})
	if len(merged) != len(before)+1 {
		t.Fatalf("%d hourly rows after late write", len(merged))
	}
	i := slices.IndexFunc(before, func(h store.Hourly) bool { return h.Series == pdu("pdu1", "total") })
	h0, b0 := merged[i], before[i]
	if !h0.Hour.Equal(start) || h0.PowerSamples != b0.PowerSamples+1 || h0.CounterSamples != b0.CounterSamples+2 ||
		h0.CounterFirstKWh != 999 || h0.CounterLastKWh != 1001 || !h0.CounterLastAt.Equal(start.Add(59*time.Minute)) ||
		h0.PowerMeanW <= b0.PowerMeanW {
		t.Errorf("merged hour %+v, from %+v", h0, b0)
	}
	compact()
	equal(t, "Hourly after compacting late rows", hourly(t, s, store.Query{}), merged)

	// Everything is rolled up eventually.
	now = t0.Add(100 * 24 * time.Hour)
	compact()
	equal(t, "Hourly after full compaction", hourly(t, s, store.Query{}), merged)
	if got := rangeAll(t, s, store.Query{Measurement: sample.Power}); len(got) != 0 {
		t.Errorf("%d raw rows left", len(got))
	}
}

func TestConcurrentReadersWhileWriting(t *testing.T) {
	s := openTest(t, Options{})
	ctx := context.Background()
	const batches, perBatch = 40, 200
	done := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(done)
		for i := range batches {
			var b []sample.Sample
			for j := range perBatch {
				at := t0.Add(time.Duration(i*perBatch+j) * time.Second)
				b = append(b, pw(pdu(fmt.Sprint("pdu", j%5), "total"), at, sample.F("power_w", float64(j)),
					sample.F("energy_kwh", float64(i*perBatch+j))))
			}
			if err := s.Write(ctx, b); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-done:
					return
				default:
				}
				if _, err := s.Latest(ctx, store.Query{Measurement: sample.Power}); err != nil {
					errs <- err
					return
				}
				if _, err := s.Hourly(ctx, store.Query{Device: "pdu1"}); err != nil {
					errs <- err
					return
				}
				var prev sample.Sample
				n := 0
				err := s.Range(ctx, store.Query{Measurement: sample.Power}, func(smp sample.Sample) error {
					if n > 0 && smp.Series == prev.Series && !smp.Time.After(prev.Time) {
						return fmt.Errorf("range out of order: %v after %v", smp.Time, prev.Time)
					}
					prev = smp
					n++
					return nil
				})
				if err != nil {
					errs <- err
					return
				}
				if n%perBatch != 0 {
					errs <- fmt.Errorf("range saw %d samples: a partial batch", n)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if n := len(rangeAll(t, s, store.Query{Measurement: sample.Power})); n != batches*perBatch {
		t.Errorf("%d samples, want %d", n, batches*perBatch)
	}
}

func TestClose(t *testing.T) {
	s, err := Open(context.Background(), Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Write(context.Background(), []sample.Sample{pw(pdu("p", "total"), t0, sample.F("power_w", 1))}); err == nil {
		t.Error("Write after Close: no error")
	}
	if _, err := s.Latest(context.Background(), store.Query{Measurement: sample.Power}); err == nil {
		t.Error("Latest after Close: no error")
	}
}

func TestOpenErrors(t *testing.T) {
	if _, err := Open(context.Background(), Options{}); err == nil {
		t.Error("empty path: no error")
	}
	if _, err := Open(context.Background(), Options{Path: t.TempDir(), RawRetention: -time.Hour}); err == nil {
		t.Error("negative retention: no error")
	}
}
