package accounting

import (
	"math"
	"testing"
	"time"
)

func ptr(v float64) *float64 { return &v }

func TestTotal(t *testing.T) {
	for _, c := range []struct {
		name    string
		sites   []Site
		energy  float64
		loc     float64
		market  *float64
		msites  int
		cover   float64
		pue     *float64
		weighed float64
	}{
		{name: "none"},
		{
			// Two sites, both measuring facility and IT: PUE over both is
			// (300 + 130) / (200 + 100) = 1.4333…, not the mean of 1.5 and 1.3.
			name: "measured",
			sites: []Site{
				{EnergyKWh: 300, CoveragePct: 99, Location: Location{KgCO2e: 30, EnergyBySource: map[string]float64{"measured": 250, "annual-factor": 50}}, Market: Market{KgCO2e: ptr(12)},
					PUE: &PUE{Value: 1.5}, ITKWh: 200, FacilityKWh: 300},
				{EnergyKWh: 130, CoveragePct: 80, Location: Location{KgCO2e: 13, EnergyBySource: map[string]float64{"measured": 100, "same-hour-of-week": 30}},
					PUE: &PUE{Value: 1.3}, ITKWh: 100, FacilityKWh: 130},
			},
			energy: 430, loc: 43, market: ptr(12), msites: 1, cover: 80, pue: ptr(430.0 / 300), weighed: 100,
		},
		{
			// One assumed PUE: no overall PUE.
			name: "assumed",
			sites: []Site{
				{EnergyKWh: 100, CoveragePct: 100, Location: Location{KgCO2e: 5}, PUE: &PUE{Value: 1.5, Assumed: true}, ITKWh: 100,
					FacilityEstimate: &Estimate{EnergyKWh: 150}},
				{EnergyKWh: 100, CoveragePct: 100, Location: Location{KgCO2e: 15}, PUE: &PUE{Value: 1.2}, ITKWh: 80, FacilityKWh: 100},
			},
			energy: 200, loc: 20, cover: 100, weighed: 100,
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Total(c.sites)
			// Fallback: (50 + 30) of 430 kWh.
			if c.name == "measured" && (math.Abs(got.FallbackSharePct-100*80.0/430) > 1e-9 || got.EnergyBySource["measured"] != 350) {
				t.Errorf("fallback share %v, by source %v", got.FallbackSharePct, got.EnergyBySource)
			}
			if c.name == "measured" && (got.ITKWh != 300 || got.FacilityKWh != 430 || got.WholeSiteKWh == nil || *got.WholeSiteKWh != 430 || got.WholeSiteEstimated) {
				t.Errorf("levels: %+v", got)
			}
			if got.Sites != len(c.sites) || got.EnergyKWh != c.energy || got.LocationKgCO2e != c.loc || got.CoveragePct != c.cover ||
				got.MarketSites != c.msites || math.Abs(got.WeightedGPerKWh-c.weighed) > 1e-9 {
				t.Errorf("got %+v", got)
			}
			if (got.MarketKgCO2e == nil) != (c.market == nil) || c.market != nil && *got.MarketKgCO2e != *c.market {
				t.Errorf("market %v, want %v", got.MarketKgCO2e, c.market)
			}
			if (got.PUE == nil) != (c.pue == nil) || c.pue != nil && math.Abs(*got.PUE-*c.pue) > 1e-12 {
				t.Errorf("PUE %v, want %v", got.PUE, c.pue)
			}
		})
	}
}

// TestTotalBuiltInIsAFallback: energy rated at ecometer's built-in data
// is not measured for its hour.
func TestTotalBuiltInIsAFallback(t *testing.T) {
	got := Total([]Site{{EnergyKWh: 100, CoveragePct: 100, Location: Location{KgCO2e: 8,
		EnergyBySource: map[string]float64{"measured": 20, "built-in-hourly": 30, "built-in-annual": 50}}}})
	if math.Abs(got.FallbackSharePct-80) > 1e-9 {
		t.Errorf("fallback share %v %%, want 80 (built-in hourly and annual)", got.FallbackSharePct)
	}
}

func TestChangeOf(t *testing.T) {
	for _, c := range []struct {
		before, after, diff float64
		pct                 *float64
	}{
		{100, 90, -10, ptr(-10)},
		{80, 100, 20, ptr(25)},
		{0, 5, 5, nil},
		{5, 0, -5, ptr(-100)},
	} {
		got := ChangeOf(c.before, c.after)
		if got.Difference != c.diff || (got.Pct == nil) != (c.pct == nil) || c.pct != nil && math.Abs(*got.Pct-*c.pct) > 1e-12 {
			t.Errorf("ChangeOf(%v, %v) = %+v", c.before, c.after, got)
		}
	}
}

func TestHourOfDayProfile(t *testing.T) {
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	// Two days in June (UTC+2): 06:00 UTC is 08:00 in Copenhagen. Two sites
	// share the hours: their energy adds up, the hour counts once.
	d0 := time.Date(2025, 6, 1, 6, 0, 0, 0, time.UTC)
	d1 := d0.AddDate(0, 0, 1)
	hours := []Hour{
		{Hour: d0, KWh: 2, GPerKWh: 100, Intensity: true},
		{Hour: d0, KWh: 1, GPerKWh: 100, Intensity: true}, // second site
		{Hour: d1, KWh: 1, GPerKWh: 400, Intensity: true},
		{Hour: d1.Add(time.Hour), KWh: 5}, // 09:00, no intensity
	}
	p := HourOfDayProfile(hours, cph)
	if len(p) != 24 {
		t.Fatalf("%d hours", len(p))
	}
	h8 := p[8]
	// 08:00: (3 + 1) kWh over 2 days = 2 kWh; weighted (3·100 + 1·400) / 4 =
	// 175 g/kWh; plain (100 + 100 + 400) / 3 = 200.
	if h8.Hours != 2 || h8.MeanKWh != 2 || h8.WeightedGPerKWh != 175 || h8.PlainGPerKWh != 200 {
		t.Errorf("08:00: %+v", h8)
	}
	if h9 := p[9]; h9.Hours != 1 || h9.MeanKWh != 5 || h9.WeightedGPerKWh != 0 {
		t.Errorf("09:00: %+v", h9)
	}
	if p[6].Hours != 0 || p[6].MeanKWh != 0 {
		t.Errorf("06:00 (UTC hour, not local) has data: %+v", p[6])
	}
}

// The whole-site energy: measured where a facility meter exists, the
// estimate elsewhere (and then labelled), unknown when a site has neither.
func TestTotalWholeSite(t *testing.T) {
	measured := Site{EnergyKWh: 100, PUE: &PUE{Value: 1.2}, ITKWh: 100, FacilityKWh: 120}
	estimate := Site{EnergyKWh: 100, PUE: &PUE{Value: 1.5, Assumed: true}, ITKWh: 100, FacilityEstimate: &Estimate{EnergyKWh: 150}}
	scaled := Site{Level: "facility", EnergyNote: "facility energy = IT energy × assumed PUE 1.50", EnergyKWh: 150, PUE: &PUE{Value: 1.5, Assumed: true}, ITKWh: 100}
	unknown := Site{EnergyKWh: 100, ITKWh: 100}
	for _, c := range []struct {
		sites     []Site
		whole     *float64
		estimated bool
	}{
		{[]Site{measured}, ptr(120), false},
		{[]Site{measured, estimate}, ptr(270), true},
		{[]Site{measured, scaled}, ptr(270), true},
		{[]Site{measured, unknown}, nil, false},
	} {
		got := Total(c.sites)
		if (got.WholeSiteKWh == nil) != (c.whole == nil) || c.whole != nil && *got.WholeSiteKWh != *c.whole || got.WholeSiteEstimated != c.estimated {
			t.Errorf("%d sites: whole %v estimated %v, want %v %v", len(c.sites), got.WholeSiteKWh, got.WholeSiteEstimated, c.whole, c.estimated)
		}
	}
	goSite := Site{EnergyKWh: 10, Market: Market{KgCO2e: ptr(1), Instruments: &Instruments{CoveredByGOKWh: 6}}}
	if got := Total([]Site{goSite, goSite, unknown}); got.GOCoveredKWh == nil || *got.GOCoveredKWh != 12 {
		t.Errorf("GO covered %v, want 12", got.GOCoveredKWh)
	}
}
