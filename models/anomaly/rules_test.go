package anomaly

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
)

// aggregates returns hourly aggregates of a meter polled every minute,
// drawing w(i) W in hour i, with an energy counter when counter is true.
func aggregates(ref energy.MeterRef, hours int, counter bool, w func(i int) float64) []energy.HourlyAggregate {
	out := make([]energy.HourlyAggregate, hours)
	kwh := 1000.0
	for i := range out {
		at := hourAt(i)
		p := w(i)
		out[i] = energy.HourlyAggregate{Meter: ref, Hour: at, PowerSamples: 60, PowerMeanW: p}
		if counter {
			out[i].CounterSamples = 60
			out[i].CounterFirstAt, out[i].CounterLastAt = at, at.Add(59*time.Minute)
			out[i].CounterFirstKWh = kwh + p/1000/60
			kwh += p / 1000
			out[i].CounterLastKWh = kwh
		}
	}
	return out
}

func noisy(seed uint64, base, sd float64) func(int) float64 {
	r := rand.New(rand.NewPCG(seed, 3))
	return func(int) float64 { return base * (1 + sd*r.NormFloat64()) }
}

func TestFlatlines(t *testing.T) {
	m := meterOf(t, "pdu-b", "outlet/3")
	const hours = 14 * 24
	from, to := hourAt(7*24), hourAt(hours)
	at := func(h int) time.Time { return from.Add(time.Duration(h) * time.Hour) }
	// freeze holds the power reading of hour first for n hours.
	freeze := func(rows []energy.HourlyAggregate, first, n int) {
		i0 := 7*24 + first
		for i := i0; i < i0+n; i++ {
			rows[i].PowerMeanW = rows[i0].PowerMeanW
		}
	}
	stick := func(rows []energy.HourlyAggregate, first, n int) {
		i0 := 7*24 + first
		v := rows[i0-1].CounterLastKWh
		for i := i0; i < len(rows); i++ {
			if i < i0+n {
				rows[i].CounterFirstKWh, rows[i].CounterLastKWh = v, v
			} else {
				rows[i].CounterFirstKWh -= rows[i0+n-1].CounterLastKWh - v
				rows[i].CounterLastKWh -= rows[i0+n-1].CounterLastKWh - v
			}
		}
	}
	tests := []struct {
		name      string
		rows      func() []energy.HourlyAggregate
		want      []string // detail@start-hour/end-hour
		wantOpen  bool
		wantWords string
	}{
		{"live meter", func() []energy.HourlyAggregate { return aggregates(m.Ref, hours, true, noisy(1, 400, 0.05)) }, nil, false, ""},
		{"power frozen 8 h", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, false, noisy(2, 400, 0.05))
			freeze(r, 30, 8)
			return r
		}, []string{"power_w@30/38"}, false, "exactly"},
		{"power frozen 5 h: too short", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, false, noisy(3, 400, 0.05))
			freeze(r, 30, 5)
			return r
		}, nil, false, ""},
		{"power frozen to the end", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, false, noisy(4, 400, 0.05))
			freeze(r, 7*24-10, 10)
			return r
		}, []string{"power_w@158/168"}, true, "end of the period"},
		{"steady small load in whole watts", func() []energy.HourlyAggregate {
			return aggregates(m.Ref, hours, false, func(int) float64 { return 45 })
		}, nil, false, ""},
		{"zero for days: an idle outlet", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, false, noisy(5, 400, 0.05))
			for i := 7*24 + 10; i < 7*24+60; i++ {
				r[i].PowerMeanW = 0
			}
			return r
		}, nil, false, ""},
		{"counter stuck while power flows", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, true, noisy(6, 400, 0.05))
			stick(r, 40, 12)
			return r
		}, []string{"energy_kwh@40/52"}, false, "kWh meanwhile"},
		{"counter still under a tiny load", func() []energy.HourlyAggregate {
			r := aggregates(m.Ref, hours, true, noisy(7, 20, 0.05))
			stick(r, 40, 12) // 12 h × 20 W = 0.24 kWh: a coarse counter would not move
			return r
		}, nil, false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Flatlines(m, tt.rows(), from, to, FlatOptions{})
			if len(got) != len(tt.want) {
				t.Fatalf("got %d, want %v:\n%s", len(got), tt.want, describe(got))
			}
			for i, w := range tt.want {
				g := got[i]
				detail, span, _ := strings.Cut(w, "@")
				var s, e int
				parseSpan(t, span, &s, &e)
				if g.Kind != Flatline || g.Detail != detail || !g.Start.Equal(at(s)) || !g.End.Equal(at(e)) || g.Open != tt.wantOpen {
					t.Errorf("got %s, want %s open=%v", describe(got[i:i+1]), w, tt.wantOpen)
				}
				if !strings.Contains(g.Explanation, tt.wantWords) {
					t.Errorf("explanation %q lacks %q", g.Explanation, tt.wantWords)
				}
			}
		})
	}
}

func parseSpan(t *testing.T, s string, a, b *int) {
	t.Helper()
	x, y, ok := strings.Cut(s, "/")
	if !ok {
		t.Fatalf("bad span %q", s)
	}
	*a, *b = atoi(t, x), atoi(t, y)
}

func atoi(t *testing.T, s string) int {
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			t.Fatalf("bad number %q", s)
		}
		n = 10*n + int(c-'0')
	}
	return n
}

func TestCounterResets(t *testing.T) {
	m := meterOf(t, "pdu-c", "total")
	rows := aggregates(m.Ref, 72, true, noisy(1, 2000, 0.02))
	// Hour 50: the device restarted its counter at 0 at minute 20.
	const reset = 50
	base := rows[reset].CounterFirstKWh
	for i := reset; i < len(rows); i++ {
		shift := base - 0.1
		if i == reset {
			rows[i].CounterFirstKWh -= 0 // the first reading is before the reset
			rows[i].CounterLastKWh -= shift
			continue
		}
		rows[i].CounterFirstKWh -= shift
		rows[i].CounterLastKWh -= shift
	}
	res, err := energy.HourlyFromAggregates(rows, time.Minute, 0)
	if err != nil {
		t.Fatal(err)
	}
	from, to := hourAt(24), hourAt(72)
	got := CounterResets(m, res.Events, from, to)
	if len(got) != 1 || got[0].Kind != CounterReset || !got[0].Start.Equal(hourAt(reset)) || got[0].Open {
		t.Fatalf("got:\n%s", describe(got))
	}
	if e := got[0].Evidence; e["from_kwh"] != rows[reset-1].CounterLastKWh || e["to_kwh"] != rows[reset].CounterLastKWh {
		t.Errorf("evidence %v", e)
	}
	if !strings.Contains(got[0].Explanation, "went backwards") {
		t.Errorf("explanation %q", got[0].Explanation)
	}
	// Outside the period: not reported. A wrap of a known width: not
	// reported either.
	if got := CounterResets(m, res.Events, hourAt(51), to); len(got) != 0 {
		t.Errorf("reset before the period: %s", describe(got))
	}
	wrap := []energy.HourEvent{{Hour: hourAt(30), Event: energy.Wrap, FromKWh: 999.9, ToKWh: 0.4}}
	if got := CounterResets(m, wrap, from, to); len(got) != 0 {
		t.Errorf("wrap reported: %s", describe(got))
	}
}

func TestPUESteps(t *testing.T) {
	loc := cph(t)
	const days = 70
	from, to := start.Add(42*24*time.Hour), start.Add(days*24*time.Hour)
	// hours returns site hours with IT at 100 kWh and PUE pue(day) ± noise.
	hours := func(seed uint64, pue func(d int) float64) []SiteHour {
		r := rand.New(rand.NewPCG(seed, 5))
		var out []SiteHour
		for i := 0; i < days*24; i++ {
			p := pue(i/24) + 0.02*r.NormFloat64()
			out = append(out, SiteHour{Hour: hourAt(i), ITKWh: 100, FacilityKWh: 100 * p})
		}
		return out
	}
	tests := []struct {
		name     string
		pue      func(d int) float64
		wantDay  int // -1: none
		wantDir  string
		wantOpen bool
	}{
		{"steady", func(int) float64 { return 1.45 }, -1, "", false},
		{"seasonal creep of 0.1 over 10 weeks", func(d int) float64 { return 1.4 + 0.1*float64(d)/days }, -1, "", false},
		{"step up", func(d int) float64 { return map[bool]float64{true: 1.62, false: 1.42}[d >= 50] }, 50, "up", true},
		{"step down for 4 days", func(d int) float64 {
			if d >= 55 && d < 59 {
				return 1.25
			}
			return 1.42
		}, 55, "down", false},
		{"two days off: too short", func(d int) float64 {
			if d >= 55 && d < 57 {
				return 1.7
			}
			return 1.42
		}, -1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PUESteps("dc1", hours(1, tt.pue), from, to, loc, PUEOptions{})
			if tt.wantDay < 0 {
				if len(got) != 0 {
					t.Fatalf("got:\n%s", describe(got))
				}
				return
			}
			wantStart := start.Add(time.Duration(tt.wantDay) * 24 * time.Hour)
			if len(got) != 1 || got[0].Kind != PUEStep || !got[0].Start.Equal(wantStart) || got[0].Direction != tt.wantDir || got[0].Open != tt.wantOpen {
				t.Fatalf("got:\n%s\nwant a %s step from %s open=%v", describe(got), tt.wantDir, wantStart, tt.wantOpen)
			}
			if got[0].Site != "dc1" || got[0].Device != "" || !strings.Contains(got[0].Explanation, "PUE of site dc1 stepped") {
				t.Errorf("got %s", describe(got))
			}
		})
	}
	// Hours missing from a day (a facility meter down) leave it out rather
	// than skewing it.
	h := hours(2, func(d int) float64 { return 1.42 })
	var thin []SiteHour
	for _, x := range h {
		if x.Hour.Sub(start) >= 60*24*time.Hour && x.Hour.Sub(start) < 61*24*time.Hour && x.Hour.Hour()%2 == 0 {
			continue
		}
		thin = append(thin, x)
	}
	if got := PUESteps("dc1", thin, from, to, loc, PUEOptions{}); len(got) != 0 {
		t.Errorf("thin day: %s", describe(got))
	}
}

// upsHours returns hourly UPS readings whose efficiency follows a typical
// curve (lower at low load) times factor(i), with noise.
func upsHours(seed uint64, n int, factor func(i int) float64) []UPSHour {
	r := rand.New(rand.NewPCG(seed, 9))
	var out []UPSHour
	for i := range n {
		in := 4000 + 3000*math.Sin(2*math.Pi*float64(i)/24) + 200*r.NormFloat64() // 1–7 kW
		eff := (0.96 - 0.08*math.Exp(-in/1500)) * factor(i) * (1 + 0.002*r.NormFloat64())
		out = append(out, UPSHour{Hour: hourAt(i), InputW: in, OutputW: in * eff, Samples: 60})
	}
	return out
}

func TestUPSEfficiencyDrops(t *testing.T) {
	m := meterOf(t, "ups-a", "total")
	m.Class = "ups"
	const n = 5 * 7 * 24
	from, to := hourAt(4*7*24), hourAt(n)
	tests := []struct {
		name      string
		factor    func(i int) float64
		wantStart int // -1: none
		wantOpen  bool
	}{
		{"same curve", func(int) float64 { return 1 }, -1, false},
		{"drop of 4 points from hour 700", func(i int) float64 {
			if i >= 700 {
				return 0.958
			}
			return 1
		}, 700, true},
		{"drop for 3 hours: too short", func(i int) float64 {
			if i >= 700 && i < 703 {
				return 0.95
			}
			return 1
		}, -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := UPSEfficiencyDrops(m, upsHours(1, n, tt.factor), from, to, UPSOptions{})
			if tt.wantStart < 0 {
				if len(got) != 0 {
					t.Fatalf("got:\n%s", describe(got))
				}
				return
			}
			if len(got) != 1 || !got[0].Start.Equal(hourAt(tt.wantStart)) || got[0].Open != tt.wantOpen || got[0].Kind != UPSEfficiency {
				t.Fatalf("got:\n%s", describe(got))
			}
			if d := got[0].Evidence["drop_pts"]; d < 3 || d > 5 {
				t.Errorf("drop %.2f points, want ≈ 4", d)
			}
		})
	}
	// The load falling to where the UPS is less efficient is not a drop:
	// each hour is compared at its own load.
	hs := upsHours(2, n, func(int) float64 { return 1 })
	for i := 700; i < n; i++ {
		in := 1200.0 + float64(i%7)*20
		hs[i].InputW, hs[i].OutputW = in, in*(0.96-0.08*math.Exp(-in/1500))
	}
	// … given history at that load.
	for i := 100; i < 160; i++ {
		in := 1200.0 + float64(i%7)*20
		hs[i].InputW, hs[i].OutputW = in, in*(0.96-0.08*math.Exp(-in/1500))
	}
	if got := UPSEfficiencyDrops(m, hs, from, to, UPSOptions{}); len(got) != 0 {
		t.Errorf("low load: %s", describe(got))
	}
}

func TestUPSHours(t *testing.T) {
	var u UPSHours
	t0 := hourAt(0)
	u.Add(t0, 1000, 950, true, false)
	u.Add(t0.Add(10*time.Minute), 1100, 1050, true, false)
	u.Add(t0.Add(20*time.Minute), 0, 900, true, true)      // on battery
	u.Add(t0.Add(30*time.Minute), 1000, 0, false, false)   // no output
	u.Add(t0.Add(70*time.Minute), 2000, 1900, true, false) // next hour
	got := u.Hours()
	if len(got) != 2 || got[0].Samples != 2 || got[0].InputW != 1050 || got[0].OutputW != 1000 || got[1].InputW != 2000 {
		t.Fatalf("got %+v", got)
	}
	if len(u.Hours()) != 0 {
		t.Error("Hours did not reset")
	}
}

func TestOffPeriods(t *testing.T) {
	t0 := hourAt(0)
	p := NewOffPeriods(3 * time.Minute)
	for i, st := range []string{"On", "Off", "Off", "Off", "PoweringOn", "On", "Off"} {
		p.Add(t0.Add(time.Duration(i)*time.Minute), st)
	}
	// A gap longer than the hold: the state is unknown after it.
	p.Add(t0.Add(20*time.Minute), "Off")
	got := p.Periods()
	want := []Interval{
		{t0.Add(time.Minute), t0.Add(4 * time.Minute)},
		{t0.Add(6 * time.Minute), t0.Add(9 * time.Minute)},
		{t0.Add(20 * time.Minute), t0.Add(23 * time.Minute)},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if !got[i].From.Equal(want[i].From) || !got[i].To.Equal(want[i].To) {
			t.Errorf("period %d: got %v, want %v", i, got[i], want[i])
		}
	}
}

func TestPowerWhileOff(t *testing.T) {
	m := meterOf(t, "srv-3", "total")
	m.Class = "server"
	const n = 48
	from, to := hourAt(0), hourAt(n)
	pts := func(w func(i int) float64) []baseline.Point {
		out := make([]baseline.Point, n)
		for i := range out {
			out[i] = baseline.Point{Hour: hourAt(i), W: w(i)}
		}
		return out
	}
	off := []Interval{{hourAt(10), hourAt(20).Add(30 * time.Minute)}}
	tests := []struct {
		name       string
		w          func(i int) float64
		off        []Interval
		offDevice  string
		wantSpan   [2]int // start, end hour; {0,0}: none
		wantDetail string
	}{
		{"standby draw while off", func(i int) float64 {
			if i >= 10 && i < 21 {
				return 12
			}
			return 250
		}, off, "", [2]int{}, ""},
		{"full draw while off", func(int) float64 { return 250 }, off, "", [2]int{10, 20}, ""},
		{"one hour above standby", func(i int) float64 {
			if i == 15 {
				return 200
			}
			return 12
		}, off, "", [2]int{}, ""},
		{"on: drawing is normal", func(int) float64 { return 250 }, nil, "", [2]int{}, ""},
		{"seen at the outlet feeding it", func(int) float64 { return 250 }, off, "srv-9", [2]int{10, 20}, "feeds srv-9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PowerWhileOffRuns(m, pts(tt.w), tt.off, tt.offDevice, from, to, OffOptions{})
			if tt.wantSpan == [2]int{} {
				if len(got) != 0 {
					t.Fatalf("got:\n%s", describe(got))
				}
				return
			}
			if len(got) != 1 || !got[0].Start.Equal(hourAt(tt.wantSpan[0])) || !got[0].End.Equal(hourAt(tt.wantSpan[1])) ||
				got[0].Detail != tt.wantDetail || !strings.Contains(got[0].Explanation, "PowerState Off") {
				t.Fatalf("got:\n%s", describe(got))
			}
		})
	}
}

func TestPhaseImbalances(t *testing.T) {
	m := meterOf(t, "pdu-3ph", "")
	const n = 72
	from, to := hourAt(0), hourAt(n)
	phase := func(name string, w func(i int) float64) Phase {
		p := Phase{Meter: name}
		for i := range n {
			p.Points = append(p.Points, baseline.Point{Hour: hourAt(i), W: w(i)})
		}
		return p
	}
	flat := func(w float64) func(int) float64 { return func(int) float64 { return w } }
	tests := []struct {
		name     string
		phases   []Phase
		wantSpan [2]int
		busiest  string
	}{
		{"balanced", []Phase{phase("phase/L1", flat(1500)), phase("phase/L2", flat(1400)), phase("phase/L3", flat(1600))}, [2]int{}, ""},
		{"L1 carries most", []Phase{phase("phase/L1", flat(3000)), phase("phase/L2", flat(1000)), phase("phase/L3", flat(1100))}, [2]int{0, 72}, "phase/L1"},
		{"lightly loaded", []Phase{phase("phase/L1", flat(300)), phase("phase/L2", flat(50)), phase("phase/L3", flat(60))}, [2]int{}, ""},
		{"unbalanced for 30 hours", []Phase{phase("phase/L1", flat(1500)), phase("phase/L2", func(i int) float64 {
			if i >= 20 && i < 50 {
				return 4000
			}
			return 1500
		}), phase("phase/L3", flat(1500))}, [2]int{20, 50}, "phase/L2"},
		{"unbalanced for 10 hours: too short", []Phase{phase("phase/L1", flat(1500)), phase("phase/L2", func(i int) float64 {
			if i >= 20 && i < 30 {
				return 4000
			}
			return 1500
		}), phase("phase/L3", flat(1500))}, [2]int{}, ""},
		{"single phase", []Phase{phase("phase/L1", flat(3000))}, [2]int{}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := PhaseImbalances(m, tt.phases, from, to, PhaseOptions{})
			if tt.wantSpan == [2]int{} {
				if len(got) != 0 {
					t.Fatalf("got:\n%s", describe(got))
				}
				return
			}
			if len(got) != 1 || !got[0].Start.Equal(hourAt(tt.wantSpan[0])) || !got[0].End.Equal(hourAt(tt.wantSpan[1])) || got[0].Detail != tt.busiest {
				t.Fatalf("got:\n%s", describe(got))
			}
		})
	}
	if u := Unbalance([]float64{3000, 1000, 1100}); math.Abs(u-(3000-5100.0/3)/(5100.0/3)) > 1e-12 {
		t.Errorf("Unbalance = %v", u)
	}
}

func TestReconcile(t *testing.T) {
	mk := func(k Kind, meter string, s, e int) Anomaly {
		return Anomaly{Kind: k, Site: "s", Device: "d", Meter: meter, Start: hourAt(s), End: hourAt(e)}
	}
	list := []Anomaly{
		mk(Flatline, "total", 10, 20),
		mk(Deviation, "total", 15, 18),    // inside the flatline: dropped
		mk(Drift, "total", 0, 11),         // overlaps it: dropped
		mk(Deviation, "total", 20, 25),    // after it: kept
		mk(Deviation, "outlet/1", 12, 14), // another meter: kept
	}
	got := Reconcile(list)
	if len(got) != 3 || got[0].Kind != Flatline || !got[1].Start.Equal(hourAt(20)) || got[2].Meter != "outlet/1" {
		t.Errorf("got:\n%s", describe(got))
	}
}
