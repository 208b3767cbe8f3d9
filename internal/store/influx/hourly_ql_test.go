package influx

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// testHourlyDialects: the InfluxQL read (1.x) and the Flux read (2.x) of
// the same data give the same hours, counter times included, for data that
// is anything but regular: readings at odd times down to the nanosecond,
// gaps of hours, counter resets, hours with power only or the counter only,
// a single reading, tag values that need quoting, missing tags, and ranges
// that start and end inside an hour. The mean may differ in the last bits
// (Flux sums with SIMD lanes, InfluxQL in time order).
func testHourlyDialects(t *testing.T, s *Store) {
	write(t, s, irregularPower()...)

	for _, q := range hourlyQueries {
		var ql, flux []store.Hourly
		if err := s.hourlyQL(tctx(t), q, func(h store.Hourly) error { ql = append(ql, h); return nil }); err != nil {
			t.Fatalf("%+v: InfluxQL: %v", q, err)
		}
		if err := s.hourlyFlux(tctx(t), q, func(h store.Hourly) error { flux = append(flux, h); return nil }); err != nil {
			t.Fatalf("%+v: Flux: %v", q, err)
		}
		slices.SortStableFunc(flux, cmpHourly)
		if !slices.IsSortedFunc(ql, cmpHourly) {
			t.Errorf("%+v: InfluxQL hours not in series, hour order", q)
		}
		if len(ql) != len(flux) {
			t.Fatalf("%+v: InfluxQL %d hours, Flux %d", q, len(ql), len(flux))
		}
		counters := 0
		for i := range ql {
			a, b := ql[i], flux[i]
			if math.Abs(a.PowerMeanW-b.PowerMeanW) > 1e-12*math.Max(1, math.Abs(b.PowerMeanW)) {
				t.Errorf("%+v: %s %s: mean %v (InfluxQL) vs %v (Flux)", q, a.Series.Key(), a.Hour, a.PowerMeanW, b.PowerMeanW)
			}
			a.PowerMeanW = b.PowerMeanW
			if a != b {
				t.Errorf("%+v: hour %d differs:\nInfluxQL %+v\nFlux     %+v", q, i, a, b)
			}
			if a.CounterSamples > 0 {
				counters++
			}
		}
		if q.Site == "" && counters == 0 {
			t.Errorf("%+v: no hour with counter readings: the test data do not test the times", q)
		}
	}
}

// hourlyQueries are ranges over irregularPower's data: open, whole hours,
// starting and ending inside an hour, by device, meter and site.
var hourlyQueries = []store.Query{
	{},
	{From: t0, To: t0.Add(6 * time.Hour)},
	{From: t0.Add(17*time.Minute + 3*time.Second), To: t0.Add(5*time.Hour + 59*time.Minute)},
	{Device: "ups a,b=c"},
	{Device: `it's "x"`, From: t0.Add(time.Hour)},
	{Meter: "total", To: t0.Add(4 * time.Hour)},
	{Site: "elsewhere"},
}

// irregularPower is power data that is anything but regular (see
// testHourlyDialects), around t0.
func irregularPower() []sample.Sample {
	rng := rand.New(rand.NewPCG(7, 11))
	type meter struct {
		device, meter, room string
		power, counter      bool
	}
	meters := []meter{
		{"pdu-1", "total", "r1", true, true},
		{"pdu-1", "outlet/1", "r1", true, false},
		{"ups a,b=c", "total", "", false, true}, // counter only, no room tag
		{`it's "x"`, "inlet/1", "r ø", true, true},
		{"srv-2", "psu/1", "r1", true, true},
	}
	var in []sample.Sample
	for _, m := range meters {
		at := t0.Add(-37 * time.Minute)
		kwh := 100.0
		for at.Before(t0.Add(9 * time.Hour)) {
			step := time.Duration(rng.IntN(300))*time.Second + time.Duration(rng.IntN(1000))*time.Millisecond
			if rng.IntN(40) == 0 {
				step += time.Duration(1+rng.IntN(3)) * time.Hour // a gap of hours
			}
			if rng.IntN(50) == 0 {
				step += time.Duration(rng.IntN(1e9)) // not on a millisecond
			}
			at = at.Add(step + time.Second)
			smp := sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "s1", Room: m.room, Rack: "a1",
				Device: m.device, Class: "pdu", Meter: m.meter, Source: "snmp"}, Time: at}
			mode := rng.IntN(10) // some readings have one field only
			if m.power && mode != 0 {
				smp.Fields = append(smp.Fields, sample.F("power_w", float64(rng.IntN(100000))/7))
			}
			if m.counter && mode != 1 {
				kwh += float64(rng.IntN(1000)) / 997
				if rng.IntN(60) == 0 {
					kwh = float64(rng.IntN(5)) // reset
				}
				smp.Fields = append(smp.Fields, sample.F("energy_kwh", kwh))
			}
			if len(smp.Fields) == 0 {
				smp.Fields = []sample.Field{sample.F("voltage_v", 230)} // neither: no hour
			}
			in = append(in, smp)
		}
	}
	return in
}

func TestParseSeriesKey(t *testing.T) {
	for _, c := range []struct {
		key  string
		want sample.Series
	}{
		{`power,class=pdu,device=pdu-1,meter=total,rack=a1,room=r1,site=s1,source=snmp`,
			sample.Series{Measurement: "power", Class: "pdu", Device: "pdu-1", Meter: "total", Rack: "a1", Room: "r1", Site: "s1", Source: "snmp"}},
		{`power,class=pdu,device=ups\ a\,b\=c,extra=x,meter=poe/Gi1/0/5,site=s\ 1`,
			sample.Series{Measurement: "power", Class: "pdu", Device: "ups a,b=c", Meter: "poe/Gi1/0/5", Site: "s 1"}},
		{`power`, sample.Series{Measurement: "power"}},
	} {
		got, err := parseSeriesKey(c.key)
		if err != nil || got != c.want {
			t.Errorf("parseSeriesKey(%q) = %+v, %v; want %+v", c.key, got, err, c.want)
		}
	}
	if _, err := parseSeriesKey(`power,device`); err == nil {
		t.Error("a tag without = was accepted")
	}
}

func TestQLQuoting(t *testing.T) {
	for _, c := range []struct{ in, str, ident string }{
		{`plain`, `'plain'`, `"plain"`},
		{`it's`, `'it\'s'`, `"it's"`},
		{`a"b\c`, `'a"b\\c'`, `"a\"b\\c"`},
	} {
		if got := qlString(c.in); got != c.str {
			t.Errorf("qlString(%q) = %s, want %s", c.in, got, c.str)
		}
		if got := qlIdent(c.in); got != c.ident {
			t.Errorf("qlIdent(%q) = %s, want %s", c.in, got, c.ident)
		}
	}
	for _, c := range []struct{ bucket, db, rp string }{
		{"ecometer/autogen", "ecometer", "autogen"},
		{"ecometer", "ecometer", ""},
		{"db/rp/x", "db", "rp/x"},
	} {
		if db, rp := dbRP(c.bucket); db != c.db || rp != c.rp {
			t.Errorf("dbRP(%q) = %q, %q", c.bucket, db, rp)
		}
	}
}

// testSpanDialects: PowerSpan through Flux (2.x) bounds the same samples
// as through InfluxQL.
func testSpanDialects(t *testing.T, s *Store) {
	write(t, s, power("d1", "total", t0.Add(-3*time.Hour+7), 1, 2), power("d2", "total", t0.Add(5*time.Hour), 1, 2))
	ql, ok1, err1 := s.PowerSpan(tctx(t))
	s.influxQL = false
	defer func() { s.influxQL = true }()
	flux, ok2, err2 := s.PowerSpan(tctx(t))
	if err1 != nil || err2 != nil || !ok1 || !ok2 || ql != flux || !ql.First.Equal(t0.Add(-3*time.Hour+7)) || !ql.Last.Equal(t0.Add(5*time.Hour)) {
		t.Errorf("InfluxQL %+v %v %v, Flux %+v %v %v", ql, ok1, err1, flux, ok2, err2)
	}
}
