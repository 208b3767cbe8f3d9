// Package savings measures what the power controller saved: for every hour
// a policy kept a target off (from the audit log: a verified off, until the
// verified on), the metered energy of the target's meter is compared with
// the same local clock hour on the (up to) four most recent comparable
// earlier days (same kind of day, working or closed, within 26 weeks) on
// which the target was not switched off: a policy that has run every night
// for months is measured against the nights before it began. Energy comes
// from internal/accounting, so the monthly report and `ecometer power
// savings` print the same numbers; CO2e is the saved energy times the
// hour's grid intensity, with the same fallbacks as every location-based
// figure.
package savings

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/target"
	"github.com/ecometer/ecometer/models/energy"
)

// Method says how savings are measured, for reports.
const Method = "metered energy of each target's meter in the hours a policy kept it off, against the mean of the same Danish clock hour " +
	"on the up to 4 most recent comparable days (working or closed day alike) in the 26 weeks before on which it was not switched off; " +
	"CO2e = saved kWh × the hour's grid intensity (location-based)"

const (
	lookbackDays   = 26 * 7
	comparableDays = 4
)

// Window is one applied off-window of one target in the month.
type Window struct {
	Target string    `json:"target"`
	Policy string    `json:"policy"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	// Hours are the whole hours of the window in the month; Compared those
	// with both a metered value and a baseline.
	Hours    int `json:"hours"`
	Compared int `json:"hours_compared"`
	// Unmetered are the hours without a metered value (a server whose
	// outlet is off too has no BMC to report: its saving is the outlet's).
	Unmetered   int     `json:"hours_unmetered"`
	MeteredKWh  float64 `json:"metered_kwh"`
	BaselineKWh float64 `json:"baseline_kwh"`
	SavedKWh    float64 `json:"saved_kwh"`
	KgCO2e      float64 `json:"kg_co2e"`
}

// Report is the savings of one month.
type Report struct {
	Month    string    `json:"month"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	SavedKWh float64   `json:"saved_kwh"`
	KgCO2e   float64   `json:"kg_co2e"`
	// Hours and Compared add up the windows'.
	Hours    int      `json:"hours_off"`
	Compared int      `json:"hours_compared"`
	Windows  []Window `json:"windows"`
	Method   string   `json:"method"`
	Notes    []string `json:"notes,omitempty"`
}

// interval is one target's off time.
type interval struct {
	target, policy string
	from, to       time.Time
}

// applied returns the off-windows policies applied, per target, from the
// audit log: from a verified (or already-off) off by a policy to the next
// verified on, or to end when it is still off.
func applied(entries []audit.Entry, end time.Time) []interval {
	open := map[string]audit.Entry{}
	var out []interval
	for _, e := range entries {
		if (e.Event != audit.EventVerified && e.Event != audit.EventNoop) || e.Target == "" {
			continue
		}
		switch e.Action {
		case "off":
			if _, ok := open[e.Target]; !ok && e.Policy != "" {
				open[e.Target] = e
			}
		case "on":
			if o, ok := open[e.Target]; ok {
				out = append(out, interval{e.Target, o.Policy, o.Time, e.Time})
				delete(open, e.Target)
			}
		}
	}
	for t, o := range open {
		out = append(out, interval{t, o.Policy, o.Time, end})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].from.Equal(out[j].from) {
			return out[i].from.Before(out[j].from)
		}
		return out[i].target < out[j].target
	})
	return out
}

// Month measures the savings in a Danish calendar month: the savings
// section of the monthly report calls this, as `ecometer power savings
// --month` does.
func Month(ctx context.Context, acc *accounting.Accounting, log *audit.Log, period accounting.Period) (Report, error) {
	cfg := acc.Config()
	r := Report{Month: period.Label(), From: period.From, To: period.To, Method: Method, Windows: []Window{}}
	entries, err := log.Read()
	if err != nil {
		return r, err
	}
	cal, err := calendar.New(cfg.Control)
	if err != nil {
		return r, err
	}
	devices := map[string]config.Device{}
	for _, d := range cfg.Devices {
		devices[d.Name] = d
	}
	sites := map[string]config.Site{}
	for _, s := range cfg.Sites {
		sites[s.Name] = s
	}
	all := applied(entries, period.To)
	byTarget := map[string][]interval{}
	for _, iv := range all {
		byTarget[iv.target] = append(byTarget[iv.target], iv)
	}
	// Each target's meter is read once for the month and the lookback.
	metered := map[energy.MeterRef]map[time.Time]float64{}
	unmetered := 0
	for _, iv := range all {
		if !iv.from.Before(period.To) || !iv.to.After(period.From) {
			continue
		}
		t, err := target.Parse(iv.target, cfg)
		if err != nil {
			r.Notes = append(r.Notes, fmt.Sprintf("%s: %v (not in the config any more)", iv.target, err))
			continue
		}
		dev := devices[t.Device]
		ref := energy.MeterRef{Site: dev.Site, Device: t.Device, Meter: t.Meter()}
		kwh, ok := metered[ref]
		if !ok {
			if kwh, err = meterKWh(ctx, acc, ref, period); err != nil {
				return r, fmt.Errorf("savings %s: %w", iv.target, err)
			}
			metered[ref] = kwh
		}
		w, err := measure(ctx, acc, cal, byTarget[iv.target], iv, kwh, dev, sites[dev.Site], period)
		if err != nil {
			return r, err
		}
		r.Windows = append(r.Windows, w)
		r.SavedKWh += w.SavedKWh
		r.KgCO2e += w.KgCO2e
		r.Hours += w.Hours
		r.Compared += w.Compared
		unmetered += w.Unmetered
	}
	if unmetered > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d hours off had no metered value: not counted "+
			"(e.g. a server switched off together with its outlet: no BMC is left to report, its saving is measured at the outlet)", unmetered, r.Hours))
	}
	if n := r.Hours - r.Compared - unmetered; n > 0 {
		r.Notes = append(r.Notes, fmt.Sprintf("%d of %d hours off had no comparable day in the %d weeks before: not counted", n, r.Hours, lookbackDays/7))
	}
	return r, nil
}

// meterKWh is the metered energy of ref's hours with data, from the
// lookback before the month to its end.
func meterKWh(ctx context.Context, acc *accounting.Accounting, ref energy.MeterRef, period accounting.Period) (map[time.Time]float64, error) {
	hours, err := acc.MeterHours(ctx, ref, period.From.AddDate(0, 0, -lookbackDays), period.To)
	if err != nil {
		return nil, err
	}
	kwh := make(map[time.Time]float64, len(hours))
	for _, h := range hours {
		if h.CoveragePct > 0 {
			kwh[h.Hour.UTC()] = float64(h.Energy)
		}
	}
	return kwh, nil
}

func measure(ctx context.Context, acc *accounting.Accounting, cal *calendar.Calendar, offs []interval, iv interval,
	kwh map[time.Time]float64, dev config.Device, site config.Site, period accounting.Period) (Window, error) {
	w := Window{Target: iv.target, Policy: iv.policy, From: iv.from, To: iv.to}
	// Whole hours of the window inside the month.
	from := iv.from.Truncate(time.Hour)
	if from.Before(iv.from) {
		from = from.Add(time.Hour)
	}
	if from.Before(period.From) {
		from = period.From
	}
	to := iv.to.Truncate(time.Hour)
	if to.After(period.To) {
		to = period.To
	}
	if !from.Before(to) {
		return w, nil
	}
	isOff := func(h time.Time) bool {
		for _, o := range offs {
			if h.Add(time.Hour).After(o.from) && h.Before(o.to) {
				return true
			}
		}
		return false
	}
	var saved []float64
	var savedHours []time.Time
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		w.Hours++
		actual, ok := kwh[h.UTC()]
		if !ok {
			w.Unmetered++
			continue
		}
		_, closed := cal.Closed(h, dev.Site)
		local := h.In(cal.Location())
		var base []float64
		for d := 1; d <= lookbackDays && len(base) < comparableDays; d++ {
			c := time.Date(local.Year(), local.Month(), local.Day()-d, local.Hour(), 0, 0, 0, cal.Location())
			if c.Hour() != local.Hour() { // a clock-change day lacks this hour
				continue
			}
			_, cClosed := cal.Closed(c, dev.Site)
			if cClosed != closed || isOff(c) {
				continue
			}
			if v, ok := kwh[c.UTC()]; ok {
				base = append(base, v)
			}
		}
		if len(base) == 0 {
			continue
		}
		var mean float64
		for _, v := range base {
			mean += v / float64(len(base))
		}
		w.Compared++
		w.MeteredKWh += actual
		w.BaselineKWh += mean
		saved = append(saved, mean-actual)
		savedHours = append(savedHours, h.UTC())
	}
	in, err := acc.Intensities(ctx, string(site.PriceArea), savedHours)
	if err != nil {
		return w, fmt.Errorf("savings %s: %w", iv.target, err)
	}
	for i, s := range saved {
		w.SavedKWh += s
		if i < len(in) {
			w.KgCO2e += s * float64(in[i].Value) / 1000
		}
	}
	return w, nil
}
