package plan

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/policy"
)

// carbonWindows plans a carbon-aware policy: in its span (from–to) the
// targets are on for on_hours, as one block at the hours of the lowest
// mean forecast intensity, and off for the rest of the span. The forecast
// is the grid intensity stored for the site's price area (Energinet
// CO2EmisProg, imported or fetched); without a value for every hour of the
// span the fixed block (the first on_hours) is used, and the plan says so.
func (m *maker) carbonWindows(ctx context.Context, pol policy.Policy, site string, sels []policy.Selected, ca config.CarbonAware) ([]Window, error) {
	cal := m.in.Calendar
	from, _ := config.ParseClock(ca.From)
	to, _ := config.ParseClock(ca.To)
	if to <= from {
		to += 24 * 60
	}
	at := m.in.At
	var s, e time.Time
	found := false
	for d := -1; d <= 1 && !found; d++ {
		day := at.In(cal.Location()).AddDate(0, 0, d)
		s, e = cal.At(day, from), cal.At(day, to)
		if e.After(at) && s.Before(at.Add(m.in.Horizon)) {
			found = true
		}
	}
	if !found {
		return nil, nil
	}
	n := ca.OnHours
	slots := int(e.Sub(s) / time.Hour)
	c := &Carbon{Note: ""}
	var g []float64
	datasets := map[string]bool{}
	if m.in.Store != nil {
		area := string(m.sites[site].PriceArea)
		hours, err := m.in.Store.GridHours(ctx, area, s.Truncate(time.Hour), e)
		if err != nil {
			return nil, err
		}
		byHour := map[time.Time]float64{}
		for _, h := range hours {
			byHour[h.Hour.UTC()] = h.GramsPerKWh
			datasets[h.Dataset] = true
		}
		for i := range slots {
			v, ok := byHour[s.Add(time.Duration(i)*time.Hour).Truncate(time.Hour).UTC()]
			if !ok {
				g = nil
				break
			}
			g = append(g, v)
		}
	}
	best := 0
	if len(g) == slots && slots >= n {
		c.Forecast = true
		bestMean := math.Inf(1)
		for k := 0; k+n <= slots; k++ {
			var sum float64
			for _, v := range g[k : k+n] {
				sum += v
			}
			if mean := sum / float64(n); mean < bestMean-1e-9 {
				best, bestMean = k, mean
			}
		}
		var names []string
		for d := range datasets {
			names = append(names, d)
		}
		c.Note = fmt.Sprintf("the %d h of lowest mean forecast intensity between %s and %s (grid data: %v)", n, ca.From, ca.To, names)
	} else {
		c.Note = fmt.Sprintf("no forecast for every hour between %s and %s in the store (import or fetch CO2EmisProg): the fixed block %s + %d h is used",
			ca.From, ca.To, ca.From, n)
	}
	c.OnFrom, c.OnTo = s.Add(time.Duration(best)*time.Hour), s.Add(time.Duration(best+n)*time.Hour)
	c.FixedFrom, c.FixedTo = s, s.Add(time.Duration(n)*time.Hour)
	// Expected energy in the block: the targets' mean power over a week.
	var watts float64
	for _, sel := range sels {
		mw, err := m.meanW(ctx, sel, at.AddDate(0, 0, -meanDays), at)
		if err != nil {
			return nil, err
		}
		if mw != nil {
			watts += *mw
		}
	}
	c.KWh = watts / 1000 * float64(n)
	if c.Forecast {
		for i := range n {
			c.KgCO2e += watts / 1000 * g[best+i] / 1000
			c.FixedKgCO2e += watts / 1000 * g[i] / 1000
			c.MeanGPerKWh += g[best+i] / float64(n)
			c.FixedMean += g[i] / float64(n)
		}
	}
	why := fmt.Sprintf("carbon-aware: on %s–%s, off for the rest of %s–%s",
		c.OnFrom.In(cal.Location()).Format("15:04"), c.OnTo.In(cal.Location()).Format("15:04"), ca.From, ca.To)
	var out []Window
	if c.OnFrom.After(s) {
		out = append(out, Window{Policy: pol.Name, Site: site, From: s, To: c.OnFrom, Why: why, Carbon: c})
	}
	if e.After(c.OnTo) {
		out = append(out, Window{Policy: pol.Name, Site: site, From: c.OnTo, To: e, Why: why, Carbon: c})
	}
	kept := out[:0]
	for _, w := range out {
		if w.To.After(at) {
			kept = append(kept, w)
		}
	}
	return kept, nil
}
