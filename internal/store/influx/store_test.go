package influx

import (
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

func rangeAll(t *testing.T, s *Store, q store.Query) []sample.Sample {
	t.Helper()
	var got []sample.Sample
	if err := s.Range(tctx(t), q, func(x sample.Sample) error { got = append(got, x); return nil }); err != nil {
		t.Fatalf("range %+v: %v", q, err)
	}
	return got
}

func write(t *testing.T, s *Store, batch ...sample.Sample) {
	t.Helper()
	if err := s.Write(tctx(t), batch); err != nil {
		t.Fatalf("write %d samples: %v", len(batch), err)
	}
}

// testRoundTrip writes 2 hours of 30-second samples for several meters and
// checks Range, Latest and Hourly to the exact value.
func testRoundTrip(t *testing.T, s *Store) {
	devices := []string{"pdu-b", "pdu-a", "pdu-ab", "pdu a"}
	meters := []string{"total", "outlet/2", "outlet/10"}
	var in []sample.Sample
	for di, d := range devices {
		for mi, m := range meters {
			for i := 0; i < 240; i++ {
				w := 100*float64(di+1) + float64(mi) + float64(i%7)/8 // exact in binary
				kwh := 1e4 + float64(i)/128
				in = append(in, power(d, m, t0.Add(time.Duration(i)*30*time.Second), w, kwh))
			}
		}
	}
	// Write in shuffled order: the store must not depend on it.
	shuffled := slices.Clone(in)
	for i := range shuffled {
		j := (i * 7919) % len(shuffled)
		shuffled[i], shuffled[j] = shuffled[j], shuffled[i]
	}
	write(t, s, shuffled...)

	want := map[string]sample.Sample{}
	for _, x := range in {
		want[x.Key()+x.Time.String()] = x
	}
	got := rangeAll(t, s, store.Query{Measurement: sample.Power, From: t0, To: t0.Add(2 * time.Hour)})
	if len(got) != len(in) {
		t.Fatalf("range: %d samples, want %d", len(got), len(in))
	}
	seen := map[string]bool{}
	for i, x := range got {
		w, ok := want[x.Key()+x.Time.String()]
		if !ok {
			t.Fatalf("range: unexpected sample %+v", x)
		}
		if x.Time.Location() != time.UTC || !slices.Equal(x.Fields, w.Fields) || x.Series != w.Series {
			t.Fatalf("range: got %+v, want %+v", x, w)
		}
		if i > 0 && x.Series == got[i-1].Series {
			if !x.Time.After(got[i-1].Time) {
				t.Fatalf("range: %s not in time order", x.Key())
			}
		} else {
			if seen[x.Key()] {
				t.Fatalf("range: series %s not contiguous", x.Key())
			}
			seen[x.Key()] = true
			if i > 0 && compareSeries(got[i-1].Series, x.Series) >= 0 {
				t.Errorf("range: series %s after %s", x.Key(), got[i-1].Key())
			}
		}
	}

	// Filters and the half-open range.
	q := store.Query{Measurement: sample.Power, Site: "s1", Device: "pdu a", Meter: "outlet/10",
		From: t0.Add(time.Minute), To: t0.Add(3 * time.Minute)}
	got = rangeAll(t, s, q)
	if len(got) != 4 || !got[0].Time.Equal(q.From) || !got[3].Time.Equal(q.To.Add(-30*time.Second)) {
		t.Fatalf("range %+v: got %d samples %v", q, len(got), got)
	}
	for _, x := range got {
		if x.Device != "pdu a" || x.Meter != "outlet/10" {
			t.Fatalf("range %+v: got series %s", q, x.Key())
		}
	}
	if got := rangeAll(t, s, store.Query{Measurement: sample.Power, Site: "elsewhere"}); len(got) != 0 {
		t.Fatalf("range for another site: %d samples", len(got))
	}
	if got := rangeAll(t, s, store.Query{Measurement: sample.UPS}); len(got) != 0 {
		t.Fatalf("range for ups: %d samples", len(got))
	}

	// Latest: the newest sample of each of the 12 series, sorted.
	latest, err := s.Latest(tctx(t), store.Query{Measurement: sample.Power})
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != len(devices)*len(meters) {
		t.Fatalf("latest: %d samples, want %d", len(latest), len(devices)*len(meters))
	}
	for i, x := range latest {
		w := want[x.Key()+t0.Add(239*30*time.Second).String()]
		if !x.Time.Equal(w.Time) || !slices.Equal(x.Fields, w.Fields) {
			t.Errorf("latest: got %+v, want %+v", x, w)
		}
		if i > 0 && compareSeries(latest[i-1].Series, x.Series) >= 0 {
			t.Errorf("latest: not sorted at %d", i)
		}
	}
	latest, err = s.Latest(tctx(t), store.Query{Measurement: sample.Power, Device: "pdu-ab", Meter: "total"})
	if err != nil || len(latest) != 1 || latest[0].Device != "pdu-ab" || latest[0].Meter != "total" {
		t.Fatalf("latest with filter: %v, %+v", err, latest)
	}

	// Hourly: the range starts at 00:30 into the first hour, so that hour
	// covers 30 minutes.
	hours, err := s.Hourly(tctx(t), store.Query{Device: "pdu-b", From: t0.Add(30 * time.Minute), To: t0.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if len(hours) != 2*len(meters) {
		t.Fatalf("hourly: %d rows, want %d: %+v", len(hours), 2*len(meters), hours)
	}
	for i, h := range hours {
		if i > 0 && cmpHourly(hours[i-1], h) >= 0 {
			t.Errorf("hourly: not sorted at %d", i)
		}
		from := h.Hour
		if from.Equal(t0) {
			from = t0.Add(30 * time.Minute)
		}
		var exp store.Hourly
		var sum float64
		for _, x := range in {
			if x.Series != h.Series || x.Time.Before(from) || !x.Time.Before(h.Hour.Add(time.Hour)) {
				continue
			}
			w, _ := x.Get("power_w")
			e, _ := x.Get("energy_kwh")
			sum += w.Num
			if exp.PowerSamples == 0 {
				exp.CounterFirstKWh, exp.CounterFirstAt = e.Num, x.Time
			}
			exp.PowerSamples++
			exp.CounterSamples++
			exp.CounterLastKWh, exp.CounterLastAt = e.Num, x.Time
		}
		exp.Series, exp.Hour, exp.PowerMeanW = h.Series, h.Hour, sum/float64(exp.PowerSamples)
		if math.Abs(h.PowerMeanW-exp.PowerMeanW) > 1e-9 {
			t.Errorf("hourly %s %s: mean %v, want %v", h.Series.Meter, h.Hour, h.PowerMeanW, exp.PowerMeanW)
		}
		h.PowerMeanW = exp.PowerMeanW
		if h != exp {
			t.Errorf("hourly:\n got %+v\nwant %+v", h, exp)
		}
	}
}

// testHourlyBounds: the range's end excludes samples at To, whether or not
// To is on a whole hour.
func testHourlyBounds(t *testing.T, s *Store) {
	var in []sample.Sample
	for i := 0; i <= 240; i++ { // 00:00 … 02:00 inclusive, every 30 s
		in = append(in, power("d1", "total", t0.Add(time.Duration(i)*30*time.Second), float64(i), float64(i)))
	}
	write(t, s, in...)
	for _, c := range []struct {
		to       time.Duration
		hours    int
		lastN    int
		lastTime time.Duration
	}{
		{to: time.Hour, hours: 1, lastN: 120, lastTime: 59*time.Minute + 30*time.Second},
		{to: 2 * time.Hour, hours: 2, lastN: 120, lastTime: 119*time.Minute + 30*time.Second},
		{to: 90 * time.Minute, hours: 2, lastN: 60, lastTime: 89*time.Minute + 30*time.Second},
		{to: 0, hours: 3, lastN: 1, lastTime: 2 * time.Hour}, // open: up to the last sample
	} {
		q := store.Query{From: t0, To: t0.Add(c.to)}
		if c.to == 0 {
			q = store.Query{}
		}
		hours, err := s.Hourly(tctx(t), q)
		if err != nil {
			t.Fatal(err)
		}
		if len(hours) != c.hours {
			t.Fatalf("To=+%s: %d hours, want %d: %+v", c.to, len(hours), c.hours, hours)
		}
		if !hours[0].Hour.Equal(t0) || hours[0].PowerSamples != 120 || !hours[0].CounterFirstAt.Equal(t0) {
			t.Errorf("To=+%s: first hour %+v", c.to, hours[0])
		}
		last := hours[len(hours)-1]
		if last.PowerSamples != c.lastN || last.CounterSamples != c.lastN || !last.CounterLastAt.Equal(t0.Add(c.lastTime)) {
			t.Errorf("To=+%s: last hour %+v, want %d samples, last at +%s", c.to, last, c.lastN, c.lastTime)
		}
	}
}

func cmpHourly(a, b store.Hourly) int {
	if c := compareSeries(a.Series, b.Series); c != 0 {
		return c
	}
	return a.Hour.Compare(b.Hour)
}

func testOverwrite(t *testing.T, s *Store) {
	write(t, s, power("d1", "total", t0, 10, 1))
	write(t, s, power("d1", "total", t0, 20, 2), power("d1", "total", t0.Add(time.Minute), 30, 3))
	got := rangeAll(t, s, store.Query{Measurement: sample.Power})
	if len(got) != 2 {
		t.Fatalf("got %d samples, want 2: %+v", len(got), got)
	}
	if f, _ := got[0].Get("power_w"); f.Num != 20 {
		t.Errorf("power_w after overwrite = %v, want 20", f.Num)
	}
	out, err := srvOf(t).Query(`SELECT count(power_w) FROM ` + dbOf(s) + `.autogen.power`)
	if err != nil || !strings.Contains(string(out), `,2]`) {
		t.Errorf("InfluxQL count: %s, %v", out, err)
	}
}

func testBoolText(t *testing.T, s *Store) {
	ups := sample.Sample{
		Series: sample.Series{Measurement: sample.UPS, Site: "s1", Device: "ups-1", Class: "ups", Meter: "total", Source: "snmp"},
		Time:   t0,
		Fields: []sample.Field{sample.F("battery_charge_pct", 97.5), sample.F("runtime_min", 42), sample.B("on_battery", false)},
	}
	ups2 := ups
	ups2.Time = t0.Add(time.Minute)
	ups2.Fields = []sample.Field{sample.B("on_battery", true), sample.F("input_w", 0)}
	text := "On \"quoted\" \\ back\\slash, comma=eq ${x} ü\ttab\nnewline"
	dev := sample.Sample{
		Series: sample.Series{Measurement: sample.Device, Site: "s1", Device: "srv-1", Class: "server", Source: "redfish"},
		Time:   t0,
		Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", 12.25), sample.T("power_state", text)},
	}
	write(t, s, ups, ups2, dev)

	got := rangeAll(t, s, store.Query{Measurement: sample.UPS})
	if len(got) != 2 || !slices.Equal(got[0].Fields, ups.Fields) || !slices.Equal(got[1].Fields, ups2.Fields) {
		t.Fatalf("ups range: %+v", got)
	}
	latest, err := s.Latest(tctx(t), store.Query{Measurement: sample.UPS})
	if err != nil || len(latest) != 1 || !slices.Equal(latest[0].Fields, ups2.Fields) {
		t.Fatalf("ups latest (its newest point has only 2 fields): %v %+v", err, latest)
	}
	latest, err = s.Latest(tctx(t), store.Query{Measurement: sample.Device, Device: "srv-1"})
	if err != nil || len(latest) != 1 || !slices.Equal(latest[0].Fields, dev.Fields) || latest[0].Series != dev.Series {
		t.Fatalf("device latest: %v\n got %+v\nwant %+v", err, latest, dev)
	}
}

// testEscaping: tag values with line protocol and Flux specials survive and
// can be filtered on; a filter value cannot inject Flux.
func testEscaping(t *testing.T, s *Store) {
	names := []string{`a b`, `a,b`, `a=b`, `a"b`, `${"x"}`, `$`, `a$`, `ø ü €`, `x" or r.device != "`}
	var in []sample.Sample
	for i, n := range names {
		x := power(n, "m="+n, t0, float64(i), 1)
		x.Site = n
		in = append(in, x)
	}
	write(t, s, in...)
	for i, n := range names {
		got, err := s.Latest(tctx(t), store.Query{Measurement: sample.Power, Site: n, Device: n, Meter: "m=" + n})
		if err != nil {
			t.Fatalf("latest device %q: %v", n, err)
		}
		if len(got) != 1 || got[0].Series != in[i].Series {
			t.Fatalf("latest device %q: %+v", n, got)
		}
	}
	for _, n := range []string{`" or true or "`, `\`, `x\" or r.device != \"`, "${r._measurement}"} {
		got, err := s.Latest(tctx(t), store.Query{Measurement: sample.Power, Device: n})
		if err != nil || len(got) != 0 {
			t.Fatalf("latest device %q: %v, %d samples, want none", n, err, len(got))
		}
	}
}

func testSubSecond(t *testing.T, s *Store) {
	a := power("d1", "total", t0.Add(123456789), 1, 1)
	b := power("d1", "total", t0.Add(time.Second+1), 2, 2)
	c := power("d1", "total", time.Date(1969, 12, 31, 23, 59, 59, 500, time.UTC), 3, 3)
	write(t, s, a, b)
	write(t, s, c)
	got := rangeAll(t, s, store.Query{Measurement: sample.Power, From: c.Time})
	if len(got) != 3 || !got[0].Time.Equal(c.Time) || !got[1].Time.Equal(a.Time) || !got[2].Time.Equal(b.Time) {
		t.Fatalf("got %+v", got)
	}
}

func testManyBatches(t *testing.T, s *Store) {
	s.batchSize = 100
	var in []sample.Sample
	for i := 0; i < 1050; i++ {
		in = append(in, power("d1", "total", t0.Add(time.Duration(i)*time.Second), float64(i), 1))
	}
	write(t, s, in...)
	if got := rangeAll(t, s, store.Query{Measurement: sample.Power}); len(got) != len(in) {
		t.Fatalf("got %d samples, want %d", len(got), len(in))
	}
}

func testInvalid(t *testing.T, s *Store) {
	good := power("d1", "total", t0, 1, 1)
	for name, mod := range map[string]func(*sample.Sample){
		"unknown field":  func(x *sample.Sample) { x.Fields = append(x.Fields, sample.F("volts", 1)) },
		"wrong kind":     func(x *sample.Sample) { x.Fields = []sample.Field{sample.B("power_w", true)} },
		"no device":      func(x *sample.Sample) { x.Device = "" },
		"zero time":      func(x *sample.Sample) { x.Time = time.Time{} },
		"NaN":            func(x *sample.Sample) { x.Fields = []sample.Field{sample.F("power_w", math.NaN())} },
		"Inf":            func(x *sample.Sample) { x.Fields = []sample.Field{sample.F("power_w", math.Inf(-1))} },
		"backslash tag":  func(x *sample.Sample) { x.Rack = `a\` },
		"newline tag":    func(x *sample.Sample) { x.Meter = "a\nb" },
		"year 2300":      func(x *sample.Sample) { x.Time = time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC) },
		"unknown series": func(x *sample.Sample) { x.Measurement = "temperature" },
	} {
		bad := good
		bad.Fields = slices.Clone(good.Fields)
		mod(&bad)
		err := s.Write(tctx(t), []sample.Sample{good, bad})
		var rej *store.RejectedError
		if !errors.As(err, &rej) {
			t.Errorf("%s: got %v, want *store.RejectedError", name, err)
		}
	}
	if got := rangeAll(t, s, store.Query{Measurement: sample.Power}); len(got) != 0 {
		t.Fatalf("%d samples stored from rejected batches", len(got))
	}
	if _, err := s.Latest(tctx(t), store.Query{}); err == nil {
		t.Error("latest without measurement: no error")
	}
}

func testCallbackError(t *testing.T, s *Store) {
	write(t, s, power("d1", "total", t0, 1, 1), power("d1", "total", t0.Add(time.Second), 1, 1))
	stop := errors.New("stop")
	n := 0
	err := s.Range(tctx(t), store.Query{Measurement: sample.Power}, func(sample.Sample) error { n++; return stop })
	if err != stop || n != 1 {
		t.Fatalf("got %v after %d calls, want the callback's error after 1", err, n)
	}
}
