package demo

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// History is what the demo wrote into the store before the live readings.
type History struct {
	// From is the first hour; hourly aggregates run to Hour, raw samples
	// from Hour to To (the live collection's start).
	From, Hour, To time.Time
	Months         int
	Series         int
	Hourly         int // hourly aggregates written
	Raw            int // raw samples written (ups measurement, the hour before the live readings)
	// RawUPSFrom is where the UPS measurement's raw samples begin.
	RawUPSFrom time.Time
	// Policy is the power-down policy the history applied from PolicyFrom
	// (its file in the output directory); Windows how many off-windows,
	// AuditEntries the audit log lines they left.
	Policy       string
	PolicyFile   string
	PolicyFrom   time.Time
	Targets      []string
	Windows      int
	AuditEntries int
	Planted      []Planted
	Took         time.Duration
}

// interval is [from, to).
type interval struct{ from, to time.Time }

func (iv interval) overlap(from, to time.Time) time.Duration {
	a, b := max(iv.from.UnixNano(), from.UnixNano()), min(iv.to.UnixNano(), to.UnixNano())
	if b <= a {
		return 0
	}
	return time.Duration(b - a)
}

// scenario is the story the history tells, around the report month.
type scenario struct {
	period accounting.Period
	loc    *time.Location
	from   time.Time // first hour
	// off holds, per device, when it had no power (its outlet switched off
	// by the policy), and per outlet meter (DEVICE/outlet/N) when it was
	// switched off.
	off map[string][]interval
	// legacyIdle is when srv-legacy07's application moved away.
	legacyIdle time.Time
	// The planted anomalies; frozen are the readings the flat line keeps.
	flat, step, eff interval
	frozen          map[*meter]float64
}

// Devices of the demo site with a story of their own; any other device
// follows its class's pattern.
const (
	vdiServer    = "srv-vdi-host11"
	legacyServer = "srv-legacy07"
	backupServer = "srv-backup12"
	stepPDU      = "pdu-r01-b"
	flatPDU      = "pdu-r11-b"
	upsDevice    = "ups-a"
)

// day returns local midnight of the d-th day (1-based) of the period.
func (s *scenario) day(d int) time.Time {
	y, m, _ := s.period.From.In(s.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, s.loc)
}

func (s *scenario) at(d, hour int) time.Time { return s.day(d).Add(time.Duration(hour) * time.Hour) }

// newScenario places the story in time: the planted anomalies in the
// report month, the idle server's application gone 75 days before its end.
func newScenario(p accounting.Period, from, to time.Time, loc *time.Location) *scenario {
	s := &scenario{period: p, loc: loc, from: from, off: map[string][]interval{}}
	s.legacyIdle = p.To.Add(-75 * 24 * time.Hour)
	s.flat = interval{s.at(9, 2), s.at(9, 20)}
	// The step lasts into the next month (still going when the month
	// ends) and is gone by the live readings.
	s.step = interval{s.at(17, 9), p.To.Add(36 * time.Hour)}
	if s.step.to.After(to) {
		s.step.to = to
	}
	s.eff = interval{s.at(11, 6), s.at(14, 18)}
	return s
}

// serverLoad is a server's power at local hour t (its mean over the hour),
// base its live reading.
func (s *scenario) serverLoad(name string, base float64, t time.Time) float64 {
	l := t.In(s.loc)
	n := noise(name, t)
	switch name {
	case vdiServer:
		// Virtual desktops: busy in working hours, idle at night (22-06),
		// between in the evening and at weekends.
		switch {
		case night(l):
			return base * 0.58 * (1 + 0.008*n)
		case working(l):
			return base * seasonal(t) * (1 + 0.04*n)
		case weekend(l):
			return base * 0.66 * (1 + 0.03*n)
		}
		return base * 0.74 * (1 + 0.03*n)
	case legacyServer:
		// Its application moved away: since then it idles flat.
		if !t.Before(s.legacyIdle) {
			return base * (1 + 0.006*n)
		}
		if working(l) {
			return base * 1.45 * (1 + 0.04*n)
		}
		return base * 1.12 * (1 + 0.03*n)
	case backupServer:
		// Backups run 01:00-05:00.
		if h := l.Hour(); h >= 1 && h < 5 {
			return base * 1.3 * (1 + 0.03*n)
		}
		return base * 0.96 * (1 + 0.02*n)
	}
	// Any other server, the test server included: busier in working hours.
	switch {
	case working(l):
		return base * seasonal(t) * (1 + 0.03*n)
	case weekend(l):
		return base * 0.86 * (1 + 0.02*n)
	}
	return base * 0.88 * (1 + 0.02*n)
}

// classLoad is the pattern of a device or meter without a story: racks of
// unmetered servers behind a PDU, PoE phones and access points.
func (s *scenario) classLoad(key, class string, base float64, t time.Time) float64 {
	l := t.In(s.loc)
	n := noise(key, t)
	switch class {
	case string(config.ClassSwitch):
		if working(l) {
			return base * (1 + 0.02*n)
		}
		return base * 0.82 * (1 + 0.02*n)
	case string(config.ClassPDU), string(config.ClassUPS):
		switch {
		case working(l):
			return base * seasonal(t) * (1 + 0.015*n)
		case weekend(l):
			return base * 0.95 * seasonal(t) * (1 + 0.015*n)
		}
		return base * 0.93 * seasonal(t) * (1 + 0.015*n)
	}
	// Something plugged into an outlet that no config names.
	return base * (1 + 0.01*n)
}

// upsEfficiency is output ÷ input of a UPS at hour t with the load ratio
// x (load ÷ its usual load): a little better at higher load, lower in the
// planted efficiency drop.
func (s *scenario) upsEfficiency(name string, eff0, x float64, t time.Time) float64 {
	e := eff0 + 0.01*(x-1) + 0.0015*noise(name+"/eff", t)
	if name == upsDevice && s.eff.overlap(t, t.Add(time.Hour)) > 0 {
		e -= 0.045
	}
	return min(e, 0.99)
}

// onFraction is the share of [t, t+1h) in which key had power.
func (s *scenario) onFraction(key string, t time.Time) float64 {
	var off time.Duration
	for _, iv := range s.off[key] {
		off += iv.overlap(t, t.Add(time.Hour))
	}
	return 1 - float64(off)/float64(time.Hour)
}

// hour computes every meter's mean power over [t, t+1h) (W, with the
// share of the hour its device had power), and each UPS's input and
// output.
type hourValues struct {
	w    map[*meter]float64
	on   map[*meter]float64
	draw map[string]float64 // device → its draw (tops, else parts)
	ups  map[string][2]float64
}

func (s *scenario) hour(devs map[string]*device, order []string, t time.Time, v *hourValues) {
	clear(v.w)
	clear(v.on)
	clear(v.draw)
	clear(v.ups)
	for _, name := range order {
		d := devs[name]
		on := s.onFraction(name, t)
		isServer := d.cfg.Class == config.ClassServer
		var load float64
		if isServer {
			load = s.serverLoad(name, d.topBase(), t)
		}
		// Parts first: outlets follow what they feed.
		var parts float64
		for _, p := range d.parts {
			var w float64
			switch {
			case p.of != "" && devs[p.of] != nil:
				fed := devs[p.of]
				w = max(0, p.base-drawBase(fed)+v.draw[p.of])
				w *= s.onFraction(name+"/"+p.ser.Meter, t)
			case isServer:
				w = load * p.base / d.partBase()
			default:
				w = s.classLoad(name+"/"+p.ser.Meter, string(d.cfg.Class), p.base, t)
			}
			v.w[p], v.on[p] = w, 1
			if isServer {
				v.on[p] = on
			}
			parts += w
		}
		var top float64
		switch {
		case isServer:
			top = load
		case len(d.parts) > 0:
			top = parts + max(0, d.topBase()-d.partBase())*(1+0.01*noise(name+"/rest", t))
		case len(d.children) > 0:
			var kids, kidsBase float64
			for _, c := range d.children {
				kids += v.draw[c]
				kidsBase += drawBase(devs[c])
			}
			top = kids + max(0, d.topBase()-kidsBase)*(1+0.01*noise(name+"/rest", t))
		default:
			top = s.classLoad(name, string(d.cfg.Class), d.topBase(), t)
		}
		if name == stepPDU && s.step.overlap(t, t.Add(time.Hour)) > 0 {
			top *= 1 + 0.35*float64(s.step.overlap(t, t.Add(time.Hour)))/float64(time.Hour)
		}
		for _, m := range d.tops {
			v.w[m], v.on[m] = top*m.base/d.topBase(), on
		}
		if len(d.tops) > 0 {
			v.draw[name] = top
		} else {
			v.draw[name] = parts
		}
		// Shares of the top, the input, a PSU.
		var phaseBase, inputBase float64
		for _, m := range d.shares {
			switch m.kind {
			case kindPhase:
				phaseBase += m.base
			case kindInput:
				inputBase += m.base
			}
		}
		input := top
		if inputBase > 0 || d.upsSeries != nil {
			eff0 := 0.92
			if inputBase > 0 && d.topBase() > 0 {
				eff0 = d.topBase() / inputBase
			}
			input = top / s.upsEfficiency(name, eff0, top/d.topBase(), t)
			v.ups[name] = [2]float64{input, top}
		}
		for _, m := range d.shares {
			var w float64
			switch m.kind {
			case kindPhase:
				w = top * m.base / phaseBase
			case kindInput:
				w = input * m.base / inputBase
			case kindOutput:
				for _, p := range d.parts {
					if p.ser.Meter == m.of && p.base > 0 {
						w = v.w[p] * m.base / p.base
					}
				}
			}
			v.w[m], v.on[m] = w, on
		}
	}
	// The planted flat line: the inlet's reading stuck at the value of the
	// hour it froze in.
	if s.flat.overlap(t, t.Add(time.Hour)) == time.Hour {
		for m, w := range s.frozen {
			v.w[m] = w
		}
	}
}

func newHourValues() *hourValues {
	return &hourValues{w: map[*meter]float64{}, on: map[*meter]float64{}, draw: map[string]float64{}, ups: map[string][2]float64{}}
}

// drawBase is a device's live draw: its tops, else its parts.
func drawBase(d *device) float64 {
	if len(d.tops) > 0 {
		return d.topBase()
	}
	return d.partBase()
}

// historyStore is what the history is written to: the embedded store.
type historyStore interface {
	store.Writer
	WriteHourly(ctx context.Context, rows []store.Hourly) error
}

var _ historyStore = (*sqlite.Store)(nil)

// fillHistory writes months of history ending with the report month p
// (and on to the live readings at liveFrom), applying the power-down
// policy in policyFile from 10 weeks before p, and records the planted
// anomalies.
func fillHistory(ctx context.Context, st historyStore, cfg *config.Config, rows []readings.Row, p accounting.Period,
	months int, liveFrom time.Time, policyFile string, progress func(string)) (History, error) {
	began := time.Now()
	loc, err := time.LoadLocation(calendar.Zone)
	if err != nil {
		return History{}, err
	}
	fy, fm := accounting.AddMonths(p.Year, p.Month, -(months - 1))
	from := accounting.MonthOf(fy, fm).From
	h0 := liveFrom.Truncate(time.Hour)
	h := History{From: from, Hour: h0, To: liveFrom, Months: months}
	s := newScenario(p, from, h0, loc)

	devs, order := plantModel(cfg, rows, func(d config.Device) time.Duration { return collection.Interval(cfg, d) })
	if devs[flatPDU] != nil {
		// The stuck reading is the one of the hour before it stuck.
		v := newHourValues()
		s.hour(devs, order, s.flat.from.Add(-time.Hour), v)
		s.frozen = map[*meter]float64{}
		for _, m := range devs[flatPDU].tops {
			s.frozen[m] = math.Round(v.w[m])
		}
	}
	if err := s.applyPolicy(cfg, policyFile, p.From.AddDate(0, 0, -70), h0, &h); err != nil {
		return h, err
	}
	var meters []*meter
	for _, name := range order {
		d := devs[name]
		meters = append(meters, d.tops...)
		meters = append(meters, d.parts...)
		meters = append(meters, d.shares...)
	}
	h.Series = len(meters)

	// Hourly aggregates, a month of hours per write.
	v := newHourValues()
	var batch []store.Hourly
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		if err := st.WriteHourly(ctx, batch); err != nil {
			return fmt.Errorf("demo: history: %w", err)
		}
		h.Hourly += len(batch)
		batch = batch[:0]
		return ctx.Err()
	}
	perHour := func(m *meter) float64 {
		return float64(time.Hour / devs[m.ser.Device].interval)
	}
	for t := from; t.Before(h0); t = t.Add(time.Hour) {
		s.hour(devs, order, t, v)
		for _, m := range meters {
			n := int(math.Round(perHour(m) * v.on[m]))
			if n == 0 {
				continue
			}
			batch = append(batch, store.Hourly{Series: m.ser, Hour: t, PowerSamples: n, PowerMeanW: round2(v.w[m])})
		}
		if len(batch) >= 30*24*len(meters) {
			if progress != nil {
				progress(fmt.Sprintf("history: %s", t.In(loc).Format("2006-01")))
			}
			if err := flush(); err != nil {
				return h, err
			}
		}
	}
	if err := flush(); err != nil {
		return h, err
	}

	// Raw samples: the UPS measurement (the efficiency rule reads it), from
	// 10 weeks before the report month, every 10 minutes; and every meter
	// in the hour before the live readings, at its interval.
	var raw []sample.Sample
	upsFrom := p.From.AddDate(0, 0, -70)
	if upsFrom.Before(from) {
		upsFrom = from
	}
	h.RawUPSFrom = upsFrom
	for t := upsFrom; t.Before(liveFrom); t = t.Add(10 * time.Minute) {
		hr := t.Truncate(time.Hour)
		if t.Equal(hr) || t.Equal(upsFrom) {
			s.hour(devs, order, hr, v)
		}
		for _, name := range order {
			d := devs[name]
			io, ok := v.ups[name]
			if d.upsSeries == nil || !ok {
				continue
			}
			n := 1 + 0.002*noise(name+"/ups", t)
			raw = append(raw, sample.Sample{Series: *d.upsSeries, Time: t, Fields: []sample.Field{
				sample.F("input_w", math.Round(io[0]*n)), sample.F("output_w", math.Round(io[1]*n)),
				sample.B("on_battery", false), sample.F("battery_charge_pct", 100), sample.F("runtime_min", 38)}})
		}
	}
	s.hour(devs, order, h0, v)
	for _, m := range meters {
		iv := devs[m.ser.Device].interval
		for t := h0; t.Before(liveFrom); t = t.Add(iv) {
			if v.on[m] < 1 {
				continue
			}
			raw = append(raw, sample.Sample{Series: m.ser, Time: t, Fields: []sample.Field{sample.F("power_w", round2(v.w[m]))}})
		}
	}
	for len(raw) > 0 {
		n := min(len(raw), 5000)
		if err := st.Write(ctx, raw[:n]); err != nil {
			return h, fmt.Errorf("demo: history: %w", err)
		}
		h.Raw += n
		raw = raw[n:]
	}
	h.Planted = s.planted()
	h.Took = time.Since(began)
	return h, nil
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// applyPolicy turns the policy of policyFile into the history's off
// periods from start on (every off-window that ended before end), as the
// controller would have applied it: the server shut down at the window's
// start, its outlet off once it is off, the outlet on at power_on_lead
// before the end, the server on after it. It writes what the controller
// would have audited, so that `power savings` and the report's savings
// section measure it.
func (s *scenario) applyPolicy(cfg *config.Config, policyFile string, start, end time.Time, h *History) error {
	pols, err := policy.Load(cfg, []string{policyFile})
	if err != nil {
		return fmt.Errorf("demo: %s: %w", policyFile, err)
	}
	cal, err := calendar.New(cfg.Control)
	if err != nil {
		return err
	}
	start = time.Date(start.In(s.loc).Year(), start.In(s.loc).Month(), start.In(s.loc).Day(), 0, 0, 0, 0, s.loc)
	h.PolicyFile, h.PolicyFrom = policyFile, start
	log := audit.Open(apply.AuditPath(cfg))
	type event struct {
		at                       time.Time
		target, action, why, pol string
	}
	var events []event
	for _, pol := range pols {
		h.Policy = pol.Name
		sels, _ := policy.Targets(pol.Policy, cfg, nil, nil)
		lead := pol.PowerOnLead.Std()
		if lead <= 0 {
			lead = 15 * time.Minute
		}
		site := ""
		for _, sel := range sels {
			site = sel.Device.Site
			h.Targets = append(h.Targets, sel.Target.String())
			if sel.Outlet != nil {
				h.Targets = append(h.Targets, sel.Outlet.String())
			}
		}
		wins, err := cal.Windows(pol.Schedule, site, start, end)
		if err != nil {
			return err
		}
		for _, w := range wins {
			onAt := w.To.Add(-lead)
			if w.From.Before(start) || onAt.After(end) {
				continue
			}
			h.Windows++
			why := fmt.Sprintf("policy %s: off-window %s to %s (%s)", pol.Name, w.From.In(s.loc).Format("2006-01-02 15:04"),
				w.To.In(s.loc).Format("2006-01-02 15:04"), w.Why)
			for _, sel := range sels {
				server := sel.Target.String()
				// Shut down in 2 minutes; the outlet off a minute later; on
				// again at the lead, the server booted 2 minutes after.
				down, up := w.From.Add(2*time.Minute), onAt.Add(2*time.Minute)
				s.off[sel.Powers] = append(s.off[sel.Powers], interval{down, up})
				events = append(events, event{down, server, "off", why, pol.Name})
				if o := sel.Outlet; o != nil {
					outletOff := w.From.Add(3 * time.Minute)
					s.off[o.String()] = append(s.off[o.String()], interval{outletOff, onAt})
					events = append(events, event{outletOff, o.String(), "off", why, pol.Name}, event{onAt, o.String(), "on", why, pol.Name})
				}
				events = append(events, event{up, server, "on", why, pol.Name})
			}
		}
	}
	// In time order, as the applier wrote them.
	slices.SortStableFunc(events, func(a, b event) int { return a.at.Compare(b.at) })
	var entries []audit.Entry
	for _, e := range events {
		before, after := "On", "Off"
		if e.action == "on" {
			before, after = "Off", "On"
		}
		entries = append(entries, audit.Entry{Time: e.at.UTC(), Who: "ecometer demo (simulated history)", Event: audit.EventVerified,
			Target: e.target, Action: e.action, Policy: e.pol, Why: e.why, Before: before, After: after, Outcome: apply.OK,
			Detail: "written by ecometer demo for its simulated history"})
	}
	if err := os.MkdirAll(filepath.Dir(log.Path()), 0o750); err != nil {
		return err
	}
	n, err := audit.AppendAll(log, entries)
	h.AuditEntries = n
	return err
}
