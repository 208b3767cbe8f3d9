package accounting

import (
	"time"

	"github.com/ecometer/ecometer/models/grid"
)

// Totals are several sites' figures of one period added up, for a report's
// summary. Location- and market-based stay side by side, never netted.
type Totals struct {
	Sites       int     `json:"sites"`
	EnergyKWh   float64 `json:"energy_kwh"`
	CoveragePct float64 `json:"coverage_pct"` // the lowest of the sites
	// LocationKgCO2e is Scope 2 location-based; WeightedGPerKWh the
	// consumption-weighted intensity behind it (0 without energy).
	LocationKgCO2e  float64 `json:"location_based_kg_co2e"`
	WeightedGPerKWh float64 `json:"consumption_weighted_g_per_kwh"`
	// MarketKgCO2e sums the sites with contractual instruments (MarketSites
	// of them); nil when no site has any.
	MarketKgCO2e *float64 `json:"market_based_kg_co2e,omitempty"`
	MarketSites  int      `json:"market_based_sites"`
	// PUE is facility / IT energy over all sites when every site measures
	// both; nil otherwise (the sites' own PUE is then the figure to read).
	PUE *float64 `json:"pue,omitempty"`
	// ITKWh and FacilityKWh are the metered totals of both levels.
	ITKWh       float64 `json:"it_kwh"`
	FacilityKWh float64 `json:"facility_kwh"`
	// WholeSiteKWh is the energy of the whole sites (facility level): the
	// facility meters where they exist, else IT energy × the assumed PUE
	// (then WholeSiteEstimated). Nil when a site has neither.
	WholeSiteKWh       *float64 `json:"whole_site_kwh,omitempty"`
	WholeSiteEstimated bool     `json:"whole_site_estimated"`
	// GOCoveredKWh is the energy covered by guarantees of origin at the
	// sites with contractual instruments; nil when none has any.
	GOCoveredKWh *float64 `json:"go_covered_kwh,omitempty"`
	// EnergyBySource is the energy by where its hour's intensity came
	// from; FallbackSharePct the share not measured for its hour.
	EnergyBySource   map[string]float64 `json:"energy_kwh_by_intensity_source"`
	FallbackSharePct float64            `json:"fallback_share_pct"`
}

// Total adds up sites' figures of one period.
func Total(sites []Site) Totals {
	t := Totals{Sites: len(sites), EnergyBySource: map[string]float64{}}
	if len(sites) == 0 {
		return t
	}
	t.CoveragePct = 100
	measured, wholeKnown := true, true
	var it, fac, mkt, whole, goKWh float64
	for _, s := range sites {
		switch {
		case s.PUE != nil && !s.PUE.Assumed:
			whole += s.FacilityKWh
		case s.FacilityEstimate != nil:
			whole += s.FacilityEstimate.EnergyKWh
			t.WholeSiteEstimated = true
		case s.Level == "facility" && s.PUE != nil && s.PUE.Assumed:
			// A facility-level site without a facility meter: its energy is
			// already IT × assumed PUE.
			whole += s.EnergyKWh
			t.WholeSiteEstimated = true
		case s.EnergyKWh == 0:
		default:
			wholeKnown = false
		}
		for k, v := range s.Location.EnergyBySource {
			t.EnergyBySource[k] += v
		}
		if s.Market.Instruments != nil {
			goKWh += s.Market.Instruments.CoveredByGOKWh
		}
		t.EnergyKWh += s.EnergyKWh
		t.LocationKgCO2e += s.Location.KgCO2e
		t.CoveragePct = min(t.CoveragePct, s.CoveragePct)
		if s.Market.KgCO2e != nil {
			mkt += *s.Market.KgCO2e
			t.MarketSites++
		}
		if s.PUE == nil || s.PUE.Assumed {
			measured = false
		}
		it += s.ITKWh
		fac += s.FacilityKWh
	}
	if t.EnergyKWh > 0 {
		t.WeightedGPerKWh = 1000 * t.LocationKgCO2e / t.EnergyKWh
		// Everything not measured for its own hour: the nearest week's
		// same hour, the built-in data, annual factors and means.
		var fallback float64
		for _, k := range grid.SourceOrder {
			if k != grid.Measured {
				fallback += t.EnergyBySource[string(k)]
			}
		}
		t.FallbackSharePct = 100 * fallback / t.EnergyKWh
	}
	if t.MarketSites > 0 {
		t.MarketKgCO2e = &mkt
	}
	if measured && it > 0 {
		p := fac / it
		t.PUE = &p
	}
	t.ITKWh, t.FacilityKWh = it, fac
	if wholeKnown {
		t.WholeSiteKWh = &whole
	}
	if t.MarketSites > 0 {
		t.GOCoveredKWh = &goKWh
	}
	return t
}

// Change is the change of a figure from one period to another.
type Change struct {
	Before     float64 `json:"before"`
	After      float64 `json:"after"`
	Difference float64 `json:"difference"`
	// Pct is the difference relative to Before; nil when Before is 0
	// (there is no relative change from nothing).
	Pct *float64 `json:"pct,omitempty"`
}

// ChangeOf is the change from before to after.
func ChangeOf(before, after float64) Change {
	c := Change{Before: before, After: after, Difference: after - before}
	if before != 0 {
		p := 100 * c.Difference / before
		c.Pct = &p
	}
	return c
}

// HourOfDay is the use and grid intensity of one hour of the day (local
// time) over a period.
type HourOfDay struct {
	Hour int `json:"hour"` // 0..23, local time
	// MeanKWh is the mean energy of this hour of the day over the Hours with
	// energy.
	MeanKWh float64 `json:"mean_kwh"`
	// WeightedGPerKWh is the consumption-weighted intensity of the hour's
	// energy; PlainGPerKWh the plain mean of its intensities (what a flat
	// load would see at that hour).
	WeightedGPerKWh float64 `json:"consumption_weighted_g_per_kwh"`
	PlainGPerKWh    float64 `json:"plain_average_g_per_kwh"`
	Hours           int     `json:"hours"`
}

// HourOfDayProfile folds hourly use (of one or more sites, each hour's
// energy added) into the 24 hours of the day in loc: when the energy is
// used and how clean the grid is then. Hours without a resolved intensity
// count for energy only.
func HourOfDayProfile(hours []Hour, loc *time.Location) []HourOfDay {
	type acc struct {
		kwh, kgE, kwhI, g float64
		n, nI             int
		seen              map[time.Time]bool
	}
	var per [24]acc
	for _, h := range hours {
		a := &per[h.Hour.In(loc).Hour()]
		if a.seen == nil {
			a.seen = map[time.Time]bool{}
		}
		a.kwh += h.KWh
		if !a.seen[h.Hour] {
			// One hour of several sites is one hour of the day.
			a.seen[h.Hour] = true
			a.n++
		}
		if h.Intensity {
			a.g += h.GPerKWh
			a.nI++
			a.kgE += h.KWh * h.GPerKWh
			a.kwhI += h.KWh
		}
	}
	out := make([]HourOfDay, 24)
	for i, a := range per {
		o := HourOfDay{Hour: i, Hours: a.n}
		if a.n > 0 {
			o.MeanKWh = a.kwh / float64(a.n)
		}
		if a.nI > 0 {
			o.PlainGPerKWh = a.g / float64(a.nI)
		}
		if a.kwhI > 0 {
			o.WeightedGPerKWh = a.kgE / a.kwhI
		} else {
			o.WeightedGPerKWh = o.PlainGPerKWh
		}
		out[i] = o
	}
	return out
}
