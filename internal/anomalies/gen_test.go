package anomalies

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/sample"
)

// label is one planted anomaly.
type label struct {
	kind                anomaly.Kind
	site, device, meter string
	start, end          time.Time
	what                string // the planted change, for messages
	matched             bool
}

// load is a generated meter's normal behaviour: a level, a weekly shape and
// noise (white, and AR(1) with φ = 0.6, both as shares of the level).
type load struct {
	base      float64
	shape     int // 0 flat, 1 office hours (+40 % working days 08–17), 2 daily wave (±15 %)
	white, ar float64
	counter   bool
	samples   int // power samples an hour
}

// gen generates meters hour by hour, deterministically from its seed.
type gen struct {
	r     *rand.Rand
	loc   *time.Location
	start time.Time // first hour
	hours int
}

func newGen(t testing.TB, seed uint64, start time.Time, hours int) *gen {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	return &gen{r: rand.New(rand.NewPCG(seed, seed^0x5eed)), loc: loc, start: start, hours: hours}
}

func (g *gen) hour(i int) time.Time { return g.start.Add(time.Duration(i) * time.Hour) }

func (g *gen) uniform(a, b float64) float64 { return a + (b-a)*g.r.Float64() }

// randomLoad draws a meter's behaviour.
func (g *gen) randomLoad() load {
	return load{base: math.Exp(g.uniform(math.Log(50), math.Log(8000))), shape: g.r.IntN(3),
		white: g.uniform(0.005, 0.06), ar: g.uniform(0.005, 0.05), counter: g.r.IntN(2) == 0, samples: 60}
}

// watts returns the meter's hourly power.
func (g *gen) watts(l load) []float64 {
	const phi = 0.6
	ar := g.r.NormFloat64()
	w := make([]float64, g.hours)
	for i := range w {
		lt := g.hour(i).In(g.loc)
		level := l.base
		switch l.shape {
		case 1:
			if lt.Weekday() != time.Saturday && lt.Weekday() != time.Sunday && lt.Hour() >= 8 && lt.Hour() < 17 {
				level *= 1.4
			}
		case 2:
			level *= 1 + 0.15*math.Sin(2*math.Pi*float64(lt.Hour()-9)/24)
		}
		ar = phi*ar + math.Sqrt(1-phi*phi)*g.r.NormFloat64()
		w[i] = math.Max(0, level*(1+l.white*g.r.NormFloat64()+l.ar*ar))
	}
	return w
}

// hourly turns hourly power into the aggregates a store returns: power
// from l.samples samples, and a counter when l.counter, reset to 0.1 kWh
// in hour reset (−1: never); frozen hours report power frozen[i] instead.
func (g *gen) hourly(s sample.Series, l load, w []float64, reset int, frozen map[int]float64) []store.Hourly {
	out := make([]store.Hourly, len(w))
	kwh := g.uniform(100, 100000)
	for i := range w {
		at := g.hour(i)
		h := store.Hourly{Series: s, Hour: at, PowerSamples: l.samples, PowerMeanW: w[i]}
		if f, ok := frozen[i]; ok {
			h.PowerMeanW = f
		}
		if l.counter {
			step := w[i] / 1000 / float64(l.samples)
			first := kwh + step
			if i == reset {
				kwh, first = 0.1-w[i]/1000/2, kwh+step
			}
			kwh += w[i] / 1000
			h.CounterSamples = l.samples
			h.CounterFirstKWh, h.CounterLastKWh = first, kwh
			h.CounterFirstAt, h.CounterLastAt = at, at.Add(time.Hour-time.Hour/time.Duration(l.samples))
		}
		out[i] = h
	}
	return out
}

// labelledSet is a generated population of meters with planted anomalies.
type labelledSet struct {
	cfg       *config.Config
	from, to  time.Time
	labels    []label
	meters    int
	negatives int // meters with a planted non-anomaly (one or two odd hours, an Off period at standby, …)
}

// Sizes of the labelled set.
type setSize struct {
	power, pdus, upss, servers, sites int
}

// powerSeries names generated meter i.
func powerSeries(site, device, class, meter string) sample.Series {
	return sample.Series{Measurement: sample.Power, Site: site, Room: "r1", Rack: "a1", Device: device, Class: class, Meter: meter, Source: "snmp"}
}

// genLabelled writes a labelled set into st: history weeks of history, then
// checkDays checked, and returns the labels.
func genLabelled(t testing.TB, st *sqlite.Store, seed uint64, n setSize, checkDays int) *labelledSet {
	t.Helper()
	ctx := context.Background()
	to := time.Date(2025, 3, 3, 0, 0, 0, 0, time.UTC) // a Monday
	from := to.AddDate(0, 0, -checkDays)
	start := from.Add(-8*week - 24*time.Hour)
	hours := int(to.Sub(start) / time.Hour)
	g := newGen(t, seed, start, hours)
	set := &labelledSet{cfg: config.DefaultConfig(), from: from, to: to}
	first := int(from.Sub(start) / time.Hour) // first hour checked
	checked := hours - first
	set.cfg.Sites = append(set.cfg.Sites, config.Site{Name: "gen", Timezone: "Europe/Copenhagen", PriceArea: config.DK1,
		AssumedPUE: 1.5, Accounting: config.AccountIT})
	var buf []store.Hourly
	flush := func(force bool) {
		if len(buf) > 0 && (force || len(buf) > 100_000) {
			if err := st.WriteHourly(ctx, buf); err != nil {
				t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	add := func(rows []store.Hourly) {
		buf = append(buf, rows...)
		flush(false)
	}
	plant := func(k anomaly.Kind, site, device, meter string, s, e int, what string, args ...any) {
		set.labels = append(set.labels, label{kind: k, site: site, device: device, meter: meter, start: g.hour(s), end: g.hour(e),
			what: fmt.Sprintf(what, args...)})
	}

	// Power meters.
	classes := []string{"pdu", "server", "pdu"}
	for m := range n.power {
		set.meters++
		class := classes[m%len(classes)]
		dev, meter := fmt.Sprintf("m%04d", m), "total"
		if m%3 == 2 {
			dev, meter = fmt.Sprintf("m%04d", m-m%3), fmt.Sprintf("outlet/%d", m)
		}
		s := powerSeries("gen", dev, class, meter)
		l := g.randomLoad()
		w := g.watts(l)
		reset := -1
		var frozen map[int]float64
		switch p := g.r.Float64(); {
		case p < 0.12: // a step of 8–60 %, up or down, to the end or for 6–72 h
			at := first + 24 + g.r.IntN(checked-72)
			f := math.Exp(g.uniform(math.Log(0.08), math.Log(0.6)))
			if g.r.IntN(2) == 0 {
				f = -f * 0.8
			}
			end := hours
			if g.r.IntN(10) < 3 {
				end = min(hours, at+6+g.r.IntN(66))
			}
			for i := at; i < end; i++ {
				w[i] *= 1 + f
			}
			plant(anomaly.Deviation, "gen", dev, meter, at, end, "step %+.0f %% (noise %.1f %% + AR %.1f %%)", 100*f, 100*l.white, 100*l.ar)
		case p < 0.20: // a slow drift to ±8–40 % by the end
			at := first + g.r.IntN(checked/3)
			total := g.uniform(0.08, 0.4)
			if g.r.IntN(2) == 0 {
				total = -total * 0.8
			}
			for i := at; i < hours; i++ {
				w[i] *= 1 + total*float64(i-at)/float64(hours-at)
			}
			plant(anomaly.Drift, "gen", dev, meter, at, hours, "drift to %+.0f %% (noise %.1f %% + AR %.1f %%)", 100*total, 100*l.white, 100*l.ar)
		case p < 0.25: // frozen reading for 6–36 h
			at := first + g.r.IntN(checked-40)
			n := 6 + g.r.IntN(31)
			frozen = map[int]float64{}
			for i := at; i < at+n; i++ {
				frozen[i] = w[at]
			}
			plant(anomaly.Flatline, "gen", dev, meter, at, at+n, "frozen %d h", n)
		case p < 0.30 && l.counter: // counter reset
			reset = first + g.r.IntN(checked)
			plant(anomaly.CounterReset, "gen", dev, meter, reset, reset+1, "reset")
		case p < 0.36: // one or two odd hours: not anomalies
			at := first + g.r.IntN(checked-2)
			w[at] *= g.uniform(2, 4)
			if g.r.IntN(2) == 0 {
				w[at+1] *= g.uniform(2, 4)
			}
			set.negatives++
		case p < 0.40: // a small steady load read in whole watts: repeats, but is no flat line
			l = load{base: g.uniform(20, 60), shape: 0, white: 0.004, ar: 0.004, counter: l.counter, samples: 60}
			w = g.watts(l)
			for i := range w {
				w[i] = math.Round(w[i])
			}
			set.negatives++
		}
		add(g.hourly(s, l, w, reset, frozen))
	}

	// Three-phase PDUs.
	for d := range n.pdus {
		set.meters += 3
		dev := fmt.Sprintf("p%03d", d)
		base := g.uniform(600, 3000)
		shares := []float64{1, g.uniform(0.92, 1.08), g.uniform(0.92, 1.08)}
		at, end := -1, -1
		busy, factor := 0, 1.0
		if g.r.Float64() < 0.35 {
			at = first + g.r.IntN(checked-48)
			end = min(hours, at+36+g.r.IntN(checked))
			busy = g.r.IntN(3)
			factor = g.uniform(1.5, 2.2) // unbalance 29–44 %, ≥ 20 % with the shares (flagged above 20 %)
			plant(anomaly.PhaseImbalance, "gen", dev, "", at, end, "phase %d × %.2f", busy+1, factor)
			// The phase that takes the load deviates from its usual too.
			plant(anomaly.Deviation, "gen", dev, fmt.Sprintf("phase/L%d", busy+1), at, end, "phase × %.2f", factor)
		}
		if at < 0 && g.r.IntN(5) == 0 {
			// Lightly loaded and unbalanced: harmless, not flagged.
			base, shares = g.uniform(40, 120), []float64{2, 1, 1}
			set.negatives++
		}
		l := load{base: base, shape: 1, white: 0.02, ar: 0.02, samples: 60}
		for k, ph := range []string{"phase/L1", "phase/L2", "phase/L3"} {
			l.base = base * shares[k]
			w := g.watts(l)
			if k == busy && at >= 0 {
				for i := at; i < end; i++ {
					w[i] *= factor
				}
			}
			add(g.hourly(powerSeries("gen", dev, "pdu", ph), l, w, -1, nil))
		}
	}
	flush(true)

	// UPSs: 15-minute samples of input and output.
	var samples []sample.Sample
	for u := range n.upss {
		set.meters++
		dev := fmt.Sprintf("u%03d", u)
		s := sample.Series{Measurement: sample.UPS, Site: "gen", Room: "r1", Rack: "a1", Device: dev, Class: "ups", Meter: "total", Source: "snmp"}
		base := g.uniform(2000, 30000)
		at, end, drop := -1, -1, 0.0
		if g.r.Float64() < 0.35 {
			at = first + g.r.IntN(checked-24)
			end = hours
			if g.r.IntN(2) == 0 {
				end = min(hours, at+12+g.r.IntN(84))
			}
			drop = g.uniform(0.025, 0.06)
			plant(anomaly.UPSEfficiency, "gen", dev, "total", at, end, "drop %.1f points", 100*drop)
		}
		l := load{base: base, shape: g.r.IntN(3), white: 0.01, ar: 0.02}
		w := g.watts(l)
		if at < 0 && g.r.IntN(3) == 0 {
			// The load halves for 2–5 days, where the UPS is a little less
			// efficient, as it was at such loads before: not a drop.
			s0 := first + g.r.IntN(checked-5*24)
			for i := s0; i < s0+48+g.r.IntN(72); i++ {
				w[i] *= 0.5
			}
			for i := first - 10*24; i < first-7*24; i++ {
				w[i] *= 0.5
			}
			set.negatives++
		}
		for i := range w {
			for q := range 4 {
				in := w[i] * (1 + 0.01*g.r.NormFloat64())
				eff := (0.965 - 0.08*math.Exp(-in/(0.15*base))) * (1 + 0.002*g.r.NormFloat64())
				if i >= at && i < end {
					eff -= drop
				}
				samples = append(samples, sample.Sample{Series: s, Time: g.hour(i).Add(time.Duration(q) * 15 * time.Minute),
					Fields: []sample.Field{sample.F("input_w", in), sample.F("output_w", in*eff), sample.B("on_battery", false)}})
			}
		}
		if len(samples) > 50_000 {
			if err := st.Write(ctx, samples); err != nil {
				t.Fatal(err)
			}
			samples = samples[:0]
		}
	}

	// Servers with a Redfish power state polled every 15 minutes, each Off
	// two or three times; some keep drawing while Off.
	for v := range n.servers {
		set.meters++
		dev := fmt.Sprintf("s%03d", v)
		set.cfg.Devices = append(set.cfg.Devices, config.Device{Name: dev, Site: "gen", Class: config.ClassServer,
			Protocol: config.ProtocolRedfish, AccountingRole: config.RoleNone, Interval: config.Duration(15 * time.Minute)})
		l := load{base: g.uniform(150, 600), shape: 2, white: 0.02, ar: 0.02, samples: 60}
		w := g.watts(l)
		offs := 2 + g.r.IntN(2)
		draws := g.r.Float64() < 0.3
		var periods [][2]int
		for k := range offs {
			seg := checked / offs
			at := first + k*seg + g.r.IntN(seg-14)
			periods = append(periods, [2]int{at, at + 3 + g.r.IntN(10)})
		}
		for k, p := range periods {
			if draws && k == 0 {
				plant(anomaly.PowerWhileOff, "gen", dev, "total", p[0], p[1], "draws while Off")
				if g.r.IntN(3) == 0 { // a part of its load only: 35–80 W
					for i := p[0]; i < p[1]; i++ {
						w[i] = g.uniform(35, 80)
					}
				}
				continue
			}
			for i := p[0]; i < p[1]; i++ {
				w[i] = g.uniform(8, 25) // standby
			}
		}
		if !draws {
			set.negatives++
		}
		add(g.hourly(powerSeries("gen", dev, "server", "total"), l, w, -1, nil))
		ds := sample.Series{Measurement: sample.Device, Site: "gen", Room: "r1", Rack: "a1", Device: dev, Class: "server", Source: "redfish"}
		for i := first; i < hours; i++ {
			state := "On"
			for _, p := range periods {
				if i >= p[0] && i < p[1] {
					state = "Off"
				}
			}
			for q := range 4 {
				samples = append(samples, sample.Sample{Series: ds, Time: g.hour(i).Add(time.Duration(q) * 15 * time.Minute),
					Fields: []sample.Field{sample.B("reachable", true), sample.T("power_state", state)}})
			}
		}
	}
	flush(true)
	if len(samples) > 0 {
		if err := st.Write(ctx, samples); err != nil {
			t.Fatal(err)
		}
	}

	// Sites with a facility meter over an IT meter; some PUEs step.
	for k := range n.sites {
		set.meters += 2
		site := fmt.Sprintf("site%02d", k)
		set.cfg.Sites = append(set.cfg.Sites, config.Site{Name: site, Timezone: "Europe/Copenhagen", PriceArea: config.DK1,
			AssumedPUE: 1.5, Accounting: config.AccountFacility})
		iv := config.Duration(time.Minute)
		set.cfg.Devices = append(set.cfg.Devices,
			config.Device{Name: "fac-" + site, Site: site, Class: config.ClassFacility, AccountingRole: config.RoleFacility, Interval: iv},
			config.Device{Name: "ups-" + site, Site: site, Class: config.ClassUPS, AccountingRole: config.RoleIT, Interval: iv,
				Feeds: "fac-" + site + "/total"})
		l := load{base: g.uniform(5000, 50000), shape: 1, white: 0.01, ar: 0.01, samples: 60, counter: true}
		it := g.watts(l)
		pue := g.uniform(1.3, 1.8)
		creep := g.uniform(-0.1, 0.1) // over the ten weeks: seasons, not a step
		fac := make([]float64, hours)
		at := -1
		var step float64
		if g.r.Float64() < 0.4 {
			// From a local midnight, 2–10 days into the period.
			lf := from.In(g.loc)
			day := time.Date(lf.Year(), lf.Month(), lf.Day()+2+g.r.IntN(9), 0, 0, 0, 0, g.loc)
			at = int(day.Sub(start) / time.Hour)
			step = g.uniform(0.12, 0.3)
			if g.r.IntN(2) == 0 {
				step = -step
			}
			plant(anomaly.PUEStep, site, "", "", at, hours, "PUE %.2f %+.2f", pue, step)
			plant(anomaly.Deviation, site, "fac-"+site, "total", at, hours, "facility %+.0f %%", 100*step/pue)
		}
		for i := range fac {
			p := pue + creep*float64(i)/float64(hours)
			if at >= 0 && i >= at {
				p += step
			}
			fac[i] = it[i] * p * (1 + 0.01*g.r.NormFloat64())
		}
		add(g.hourly(powerSeries(site, "ups-"+site, "ups", "total"), l, it, -1, nil))
		add(g.hourly(powerSeries(site, "fac-"+site, "facility", "total"), l, fac, -1, nil))
	}
	flush(true)
	return set
}
