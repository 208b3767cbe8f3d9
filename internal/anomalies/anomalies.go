// Package anomalies runs the anomaly detectors and the idle-equipment
// finder (models/anomaly, models/idle) over what the store holds, one meter
// at a time, and returns typed results that the CLI, the monthly report,
// /metrics and the power controller's selector share.
package anomalies

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/sample"
)

// Options set what Detect checks and how. Zero fields of the detectors'
// options take their defaults.
type Options struct {
	// From and To are the period checked, [From, To); both are truncated
	// to the hour. The baseline is taken from the weeks before From.
	From, To time.Time
	Baseline baseline.Options
	Levels   anomaly.LevelOptions
	Flat     anomaly.FlatOptions
	PUE      anomaly.PUEOptions
	UPS      anomaly.UPSOptions
	Off      anomaly.OffOptions
	Phase    anomaly.PhaseOptions
	// Progress, when set, is called after each meter with the number of
	// meters read so far.
	Progress func(meters int)
}

// Report is what Detect found.
type Report struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Anomalies are sorted by start, then kind, site, device and meter.
	Anomalies []anomaly.Anomaly `json:"anomalies"`
	// BaselineWeeks is how many weeks before From the baselines are taken
	// from.
	BaselineWeeks int `json:"baseline_weeks"`
	// Meters is the number of power meters read; Scored those with a
	// baseline (enough history), the others are listed in Notes.
	Meters int `json:"meters"`
	Scored int `json:"meters_with_baseline"`
	// UPSs and PowerStates count the UPSs whose efficiency, and the devices
	// whose Redfish power state, was checked; PUESites the sites whose PUE
	// was.
	UPSs        int `json:"ups_checked"`
	PowerStates int `json:"devices_with_power_state"`
	PUESites    int `json:"sites_pue_checked"`
	// Notes say what could not be checked, and why.
	Notes []string `json:"notes,omitempty"`
}

// Open returns the anomalies still going at the end of the period.
func (r *Report) Open() []anomaly.Anomaly {
	var out []anomaly.Anomaly
	for _, a := range r.Anomalies {
		if a.Open {
			out = append(out, a)
		}
	}
	return out
}

// CountOpen returns the number of open anomalies per kind, every kind
// present (0 included): what /metrics exposes.
func (r *Report) CountOpen() map[anomaly.Kind]int {
	out := map[anomaly.Kind]int{}
	for _, k := range anomaly.Kinds {
		out[k] = 0
	}
	for _, a := range r.Anomalies {
		if a.Open {
			out[a.Kind]++
		}
	}
	return out
}

// Count returns the number of anomalies per kind, every kind present.
func (r *Report) Count() map[anomaly.Kind]int {
	out := map[anomaly.Kind]int{}
	for _, k := range anomaly.Kinds {
		out[k] = 0
	}
	for _, a := range r.Anomalies {
		out[a.Kind]++
	}
	return out
}

const week = 7 * 24 * time.Hour

// Detect checks [o.From, o.To) for anomalies: each power meter against its
// hour-of-week baseline (deviations, drift; hours its device reported Off
// are left out), flat lines and counter resets; each site's PUE for steps; each UPS's efficiency; each device with
// a Redfish power state for power drawn while Off (its own meters, and the
// outlet that feeds it); each device's phases for imbalance. It reads the
// power meters' hourly aggregates one series at a time (HourlyEach) and the
// ups and device samples as they stream (Range), so memory does not grow
// with the number of meters.
func Detect(ctx context.Context, rd store.Reader, cfg *config.Config, o Options) (*Report, error) {
	from, to := o.From.UTC().Truncate(time.Hour), o.To.UTC().Truncate(time.Hour)
	if !from.Before(to) {
		return nil, fmt.Errorf("anomalies: empty period %s – %s", o.From.Format(time.RFC3339), o.To.Format(time.RFC3339))
	}
	p, err := newPlant(cfg)
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	bo := o.Baseline.WithDefaults()
	pueOpts := o.PUE.WithDefaults()
	history := from.Add(-time.Duration(bo.Weeks) * week)
	if h := from.AddDate(0, 0, -pueOpts.RefDays); h.Before(history) {
		history = h
	}
	rep := &Report{From: from, To: to, BaselineWeeks: bo.Weeks}
	notes := map[string]bool{}
	note := func(format string, args ...any) { notes[fmt.Sprintf(format, args...)] = true }

	off, err := offPeriods(ctx, rd, p, from, to)
	if err != nil {
		return nil, err
	}
	rep.PowerStates = len(off)
	found, err := upsEfficiency(ctx, rd, p, history, from, to, o.UPS, rep, note)
	if err != nil {
		return nil, err
	}

	sites := map[string]*siteEnergy{}
	var (
		b   baseline.Builder
		res []baseline.Residual
		dev device
	)
	flushDevice := func() error {
		if dev.name == "" {
			return nil
		}
		loc, err := p.loc(dev.site)
		if err != nil {
			return err
		}
		m := anomaly.Meter{Ref: energy.MeterRef{Site: dev.site, Device: dev.name}, Class: dev.class, Loc: loc}
		if len(dev.phases) >= 2 {
			phases := make([]anomaly.Phase, len(dev.phases))
			for i, ph := range dev.phases {
				phases[i] = anomaly.Phase{Meter: ph.meter, Points: ph.points}
			}
			found = append(found, anomaly.PhaseImbalances(m, phases, from, to, o.Phase)...)
		}
		if iv, ok := off[deviceKey{dev.site, dev.name}]; ok {
			if pts, which := dev.power(); len(pts) > 0 {
				m.Ref.Meter = "total"
				if which != "total" {
					m.Ref.Meter = ""
				}
				found = append(found, anomaly.PowerWhileOffRuns(m, pts, iv, "", from, to, o.Off)...)
			}
		}
		return nil
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
		loc, err := p.loc(mh.Ref.Site)
		if err != nil {
			return err
		}
		m := anomaly.Meter{Ref: mh.Ref, Class: mh.Series.Class, Loc: loc}
		found = append(found, anomaly.Flatlines(m, mh.Rows, from, to, o.Flat)...)
		found = append(found, anomaly.CounterResets(m, mh.Energy.Events, from, to)...)
		sc, err := b.Score(mh.Points, from, to, loc, bo, res)
		if err != nil {
			return fmt.Errorf("meter %s: %w", mh.Ref, err)
		}
		res = sc.Residuals
		if sc.Short {
			note("%s: less than %d weeks of history before %s, no baseline", mh.Ref, bo.MinWeeks, from.Format("2006-01-02"))
		} else {
			rep.Scored++
			iv, hasOff := off[deviceKey{mh.Ref.Site, mh.Ref.Device}]
			if hasOff {
				sc.Residuals = withoutOff(sc.Residuals, iv)
			}
			found = append(found, anomaly.Levels(m, sc.Residuals, to, o.Levels)...)
		}
		_, hasOff := off[deviceKey{mh.Ref.Site, mh.Ref.Device}]
		dev.keep(mh, from, true, hasOff)
		// An outlet that feeds one device, whose power state is Off.
		if fed := p.fedBy(mh.Ref.Device, mh.Ref.Meter); isOutlet(mh.Ref.Meter) && len(fed) == 1 {
			if iv, ok := off[deviceKey{p.devices[fed[0]].Site, fed[0]}]; ok {
				found = append(found, anomaly.PowerWhileOffRuns(m, mh.Points, iv, fed[0], from, to, o.Off)...)
			}
		}
		addSiteEnergy(sites, p, mh, history, to, note)
		return nil
	})
	if err == nil {
		err = flushDevice()
	}
	if err != nil {
		return nil, fmt.Errorf("anomalies: %w", err)
	}
	for _, s := range sortedKeys(sites) {
		se := sites[s]
		loc, err := p.loc(s)
		if err != nil {
			return nil, err
		}
		hours := se.complete(p, s)
		if hours == nil {
			continue
		}
		rep.PUESites++
		found = append(found, anomaly.PUESteps(s, hours, from, to, loc, pueOpts)...)
	}
	for _, s := range cfg.Sites {
		if p.accounting[s.Name][config.RoleFacility] == 0 {
			note("site %s: no facility meter, so its PUE is assumed (%.2f) and not checked for steps", s.Name, s.AssumedPUE)
		}
	}
	found = anomaly.Reconcile(found)
	anomaly.Sort(found)
	rep.Anomalies = found
	for n := range notes {
		rep.Notes = append(rep.Notes, n)
	}
	slices.Sort(rep.Notes)
	return rep, nil
}

// withoutOff drops the hours a device spent mostly Off: a planned power-down
// is not a deviation from its usual load. It reuses res.
func withoutOff(res []baseline.Residual, off []anomaly.Interval) []baseline.Residual {
	out := res[:0]
	for _, r := range res {
		if anomaly.Covered(off, r.Hour, r.Hour.Add(time.Hour)) < time.Hour/2 {
			out = append(out, r)
		}
	}
	return out
}

// deviceKey names a device at a site.
type deviceKey struct{ site, device string }

// offPeriods reads the device measurement's power_state in [from, to) and
// returns the periods each device reported Off; a device with readings but
// no Off period is present with none.
func offPeriods(ctx context.Context, rd store.Reader, p *plant, from, to time.Time) (map[deviceKey][]anomaly.Interval, error) {
	out := map[deviceKey][]anomaly.Interval{}
	var (
		cur  sample.Series
		per  *anomaly.OffPeriods
		have bool
	)
	flush := func() {
		if per != nil && have {
			k := deviceKey{cur.Site, cur.Device}
			out[k] = append(out[k], per.Periods()...)
		}
		per, have = nil, false
	}
	err := rd.Range(ctx, store.Query{Measurement: sample.Device, From: from, To: to}, func(s sample.Sample) error {
		if s.Series != cur || per == nil {
			flush()
			cur = s.Series
			per = anomaly.NewOffPeriods(p.maxHold(s.Series))
		}
		f, ok := s.Get("power_state")
		if !ok || f.Kind != sample.Text {
			return nil
		}
		have = true
		per.Add(s.Time, f.Text)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("anomalies: power states: %w", err)
	}
	flush()
	for k, iv := range out {
		slices.SortFunc(iv, func(a, b anomaly.Interval) int { return a.From.Compare(b.From) })
		out[k] = iv
	}
	return out, nil
}

// upsEfficiency reads the ups measurement from history to to, one UPS at a
// time, and checks each one's efficiency in [from, to).
func upsEfficiency(ctx context.Context, rd store.Reader, p *plant, history, from, to time.Time, o anomaly.UPSOptions, rep *Report, note func(string, ...any)) ([]anomaly.Anomaly, error) {
	var (
		cur   sample.Series
		acc   anomaly.UPSHours
		seen  bool
		found []anomaly.Anomaly
	)
	flush := func() error {
		if !seen {
			return nil
		}
		hours := acc.Hours()
		seen = false
		if len(hours) == 0 {
			note("UPS %s: no samples with both input_w and output_w on mains, efficiency not checked", cur.Device)
			return nil
		}
		loc, err := p.loc(cur.Site)
		if err != nil {
			return err
		}
		rep.UPSs++
		m := anomaly.Meter{Ref: energy.MeterRef{Site: cur.Site, Device: cur.Device, Meter: cur.Meter}, Class: cur.Class, Loc: loc}
		found = append(found, anomaly.UPSEfficiencyDrops(m, hours, from, to, o)...)
		return nil
	}
	err := rd.Range(ctx, store.Query{Measurement: sample.UPS, From: history, To: to}, func(s sample.Sample) error {
		if s.Series != cur {
			if err := flush(); err != nil {
				return err
			}
			cur = s.Series
		}
		seen = true
		in, okIn := s.Get("input_w")
		out, okOut := s.Get("output_w")
		batt, _ := s.Get("on_battery")
		acc.Add(s.Time, in.Num, out.Num, okIn && okOut, batt.Num == 1)
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return nil, fmt.Errorf("anomalies: ups: %w", err)
	}
	return found, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
