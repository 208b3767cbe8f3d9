package anomalies

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/models/units"
)

// IdleOptions set what FindIdle looks at. Zero fields take the defaults.
type IdleOptions struct {
	// Now ends the period (truncated to the hour); required.
	Now time.Time
	// Days is the period judged, the Days before Now (default 30).
	Days int
	// LearnDays is the history before the period that a server's idle
	// level is learned from, with the period (default 60).
	LearnDays int
	// Intensities give each site's grid intensity for the CO2e a year;
	// a site without one gets no CO2e (SiteIntensities builds them).
	Intensities map[string]Intensity
	Server      idle.ServerOptions
	Outlet      idle.OutletOptions
	PoE         idle.PoEOptions
	// Progress, when set, is called after each meter with the number of
	// meters read so far.
	Progress func(meters int)
}

// Defaults of IdleOptions.
const (
	DefaultIdleDays  = 30
	DefaultLearnDays = 60
)

// IdleReport is what FindIdle found.
type IdleReport struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Candidates are ranked by energy saved a year, largest first.
	Candidates []idle.Candidate `json:"candidates"`
	// Meters counts the power meters read; Servers, Outlets and PoEPorts
	// those judged.
	Meters   int `json:"meters"`
	Servers  int `json:"servers"`
	Outlets  int `json:"outlets"`
	PoEPorts int `json:"poe_ports"`
	// The totals of the candidates not protected (what could be acted on).
	SavedKWhPerYear    float64  `json:"saved_kwh_per_year"`
	SavedKgCO2ePerYear float64  `json:"saved_kg_co2e_per_year"`
	Notes              []string `json:"notes,omitempty"`
}

// Selected is a candidate as a power-controller selector hands it over:
// the device to act on and, for an outlet or a PoE port, which one.
type Selected struct {
	Site   string `json:"site"`
	Device string `json:"device"`
	// Meter is the outlet (outlet/12) or PoE port (poe/Gi1/0/5) to switch;
	// empty for a whole server.
	Meter      string          `json:"meter,omitempty"`
	Kind       idle.Kind       `json:"kind"`
	Action     string          `json:"action"`
	Confidence idle.Confidence `json:"confidence"`
	// SavedKWhPerYear is what the action saves a year; Evidence says why.
	SavedKWhPerYear float64 `json:"saved_kwh_per_year"`
	Evidence        string  `json:"evidence"`
}

// Selection returns the candidates the power controller may act on (not
// protected), of at least confidence min (Low takes all), in rank order.
func (r *IdleReport) Selection(min idle.Confidence) []Selected {
	rank := map[idle.Confidence]int{idle.Low: 0, idle.Medium: 1, idle.High: 2}
	var out []Selected
	for _, c := range r.Candidates {
		if c.Protected || rank[c.Confidence] < rank[min] {
			continue
		}
		s := Selected{Site: c.Site, Device: c.Device, Kind: c.Kind, Action: c.Action, Confidence: c.Confidence,
			SavedKWhPerYear: c.SavedKWhPerYear, Evidence: c.Evidence}
		if c.Kind == idle.Outlet || c.Kind == idle.PoENight {
			s.Meter = c.Meter
		}
		out = append(out, s)
	}
	return out
}

// Selector returns what a policy's `select: {idle_candidates: true}`
// selects at a time: the idle candidates of the Days before now.
type Selector func(ctx context.Context, now time.Time) ([]Selected, error)

// IdleSelector returns a Selector that runs FindIdle on rd and cfg with o
// (its Now replaced by the time asked for) and keeps the candidates of at
// least confidence min.
func IdleSelector(rd store.Reader, cfg *config.Config, o IdleOptions, min idle.Confidence) Selector {
	return func(ctx context.Context, now time.Time) ([]Selected, error) {
		o := o
		o.Now = now
		r, err := FindIdle(ctx, rd, cfg, o)
		if err != nil {
			return nil, err
		}
		return r.Selection(min), nil
	}
}

// FindIdle looks for idle equipment over the Days before Now: servers near
// their idle level all the time (idle.ServerIdle) or every night
// (idle.ServerNightIdle), outlets drawing a few watts (idle.OutletLow), PoE
// ports drawing at night (idle.PoENightDraw). A server's power is its total
// meter, else the sum of its PSU meters, else the outlet that feeds only it.
// Each candidate's saving a year is rated at its site's intensity and the
// candidates are ranked. It reads one meter at a time (HourlyEach).
func FindIdle(ctx context.Context, rd store.Reader, cfg *config.Config, o IdleOptions) (*IdleReport, error) {
	if o.Now.IsZero() {
		return nil, fmt.Errorf("idle: no end time (IdleOptions.Now)")
	}
	if o.Days <= 0 {
		o.Days = DefaultIdleDays
	}
	if o.LearnDays <= 0 {
		o.LearnDays = DefaultLearnDays
	}
	p, err := newPlant(cfg)
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	to := o.Now.UTC().Truncate(time.Hour)
	from := to.AddDate(0, 0, -o.Days)
	history := from.AddDate(0, 0, -o.LearnDays)
	rep := &IdleReport{From: from, To: to}
	notes := map[string]bool{}
	note := func(format string, args ...any) { notes[fmt.Sprintf(format, args...)] = true }

	servers := map[deviceKey]bool{}          // servers judged from their own meters
	viaOutlet := map[deviceKey]outletPower{} // servers' power seen at the outlet feeding only them
	var dev device
	judgeServer := func(ref energy.MeterRef, pts []baseline.Point, measured string) error {
		loc, err := p.loc(ref.Site)
		if err != nil {
			return err
		}
		w, err := p.idleW(ref.Device)
		if err != nil {
			note("%v; its idle level is learned instead", err)
		}
		rep.Servers++
		c, ok := idle.ServerIdle(ref, pts, from, to, w, o.Server)
		if !ok {
			c, ok = idle.ServerNightIdle(ref, pts, from, to, loc, w, o.Server)
		}
		if ok {
			if measured != "" {
				c.Evidence = measured + " " + c.Evidence
			}
			rep.Candidates = append(rep.Candidates, c)
		}
		return nil
	}
	flushDevice := func() error {
		if dev.name == "" || dev.class != string(config.ClassServer) {
			return nil
		}
		pts, which := dev.power()
		if len(pts) == 0 {
			return nil
		}
		servers[deviceKey{dev.site, dev.name}] = true
		ref := energy.MeterRef{Site: dev.site, Device: dev.name, Meter: "total"}
		measured := ""
		if which != "total" {
			ref.Meter = ""
			measured = "Power is " + which + "."
		}
		return judgeServer(ref, pts, measured)
	}
	err = scan(ctx, rd, p, history.Add(-time.Hour), to, func(mh *meterHours) error {
		rep.Meters++
		if o.Progress != nil {
			defer o.Progress(rep.Meters)
		}
		if mh.Ref.Site != dev.site || mh.Ref.Device != dev.name {
			if err := flushDevice(); err != nil {
				return err
			}
			dev.reset(mh.Ref.Site, mh.Ref.Device, mh.Series.Class)
		}
		dev.keep(mh, history, false, mh.Series.Class == string(config.ClassServer))
		switch {
		case isOutlet(mh.Ref.Meter):
			rep.Outlets++
			fed := p.fedBy(mh.Ref.Device, mh.Ref.Meter)
			load := ""
			if len(fed) == 1 {
				load = fed[0]
				if d, ok := p.devices[load]; ok && d.Class == config.ClassServer {
					viaOutlet[deviceKey{d.Site, load}] = outletPower{outlet: mh.Ref, points: slices.Clone(mh.Points)}
				}
			}
			if c, ok := idle.OutletLow(mh.Ref, mh.Points, from, to, load, o.Outlet); ok {
				rep.Candidates = append(rep.Candidates, c)
			}
		case isPoE(mh.Ref.Meter):
			rep.PoEPorts++
			loc, err := p.loc(mh.Ref.Site)
			if err != nil {
				return err
			}
			if c, ok := idle.PoENightDraw(mh.Ref, mh.Points, from, to, loc, o.PoE); ok {
				rep.Candidates = append(rep.Candidates, c)
			}
		}
		return nil
	})
	if err == nil {
		err = flushDevice()
	}
	if err != nil {
		return nil, fmt.Errorf("idle: %w", err)
	}
	// Servers without a power meter of their own, by the outlet feeding them.
	keys := make([]deviceKey, 0, len(viaOutlet))
	for k := range viaOutlet {
		if !servers[k] {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(a, b deviceKey) int { return cmp.Or(cmp.Compare(a.site, b.site), cmp.Compare(a.device, b.device)) })
	for _, k := range keys {
		op := viaOutlet[k]
		if len(op.points) == 0 {
			continue
		}
		ref := energy.MeterRef{Site: k.site, Device: k.device}
		if err := judgeServer(ref, op.points, fmt.Sprintf("Measured at %s/%s, which feeds only it.", op.outlet.Device, op.outlet.Meter)); err != nil {
			return nil, fmt.Errorf("idle: %w", err)
		}
	}
	rateAndProtect(rep, p, o.Intensities, note)
	idle.Rank(rep.Candidates)
	for n := range notes {
		rep.Notes = append(rep.Notes, n)
	}
	slices.Sort(rep.Notes)
	return rep, nil
}

type outletPower struct {
	outlet energy.MeterRef
	points []baseline.Point
}

// rateAndProtect rates every candidate's saving at its site's intensity,
// marks those the controller may not touch, and totals the rest.
func rateAndProtect(rep *IdleReport, p *plant, in map[string]Intensity, note func(string, ...any)) {
	for i := range rep.Candidates {
		c := &rep.Candidates[i]
		if it, ok := in[c.Site]; ok && it.GPerKWh > 0 {
			c.Rate(units.GramsPerKWh(it.GPerKWh), it.Source)
		} else {
			c.Rate(0, "no grid intensity for site "+c.Site+": CO2e not computed")
			note("site %s: no grid intensity (grid data or grid.annual_factors), so no CO2e for its candidates", c.Site)
		}
		who := []string{c.Device}
		if c.Load != "" {
			who = append(who, c.Load) // switching an outlet off cuts what it feeds
		}
		for _, d := range who {
			if prot, why := p.protected(d); prot {
				c.Protected = true
				c.Evidence += " Protected: " + why + ", so the power controller will never act on it."
				break
			}
		}
		if !c.Protected {
			rep.SavedKWhPerYear += c.SavedKWhPerYear
			rep.SavedKgCO2ePerYear += c.SavedKgCO2ePerYear
		}
	}
}
