package carbon

import (
	"math"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/units"
)

var h0 = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

func hour(i int) time.Time { return h0.Add(time.Duration(i) * time.Hour) }

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestLocationBased(t *testing.T) {
	intensity := []grid.Intensity{
		{Hour: hour(0), Value: 100, Source: grid.Measured},
		{Hour: hour(1), Value: 200, Source: grid.Measured},
		{Hour: hour(2), Value: 300, Source: grid.SameHourOfWeek},
	}
	use := []Use{{hour(0), 10}, {hour(1), 30}, {hour(2), 60}}
	got, err := LocationBased(use, intensity)
	if err != nil {
		t.Fatal(err)
	}
	// 10 × 100 + 30 × 200 + 60 × 300 = 1000 + 6000 + 18000 = 25000 g = 25 kg over 100 kWh.
	// Weighted 25000 / 100 = 250 g/kWh; plain (100 + 200 + 300) / 3 = 200 g/kWh.
	// Fallback: 60 of 100 kWh used the same hour of week: 0.6.
	if got.Emissions != 25 || got.Energy != 100 || got.Weighted != 250 || got.Plain != 200 || got.Hours != 3 ||
		got.EnergyBySource[grid.SameHourOfWeek] != 60 || !near(got.FallbackShare(), 0.6) {
		t.Errorf("got %+v (fallback share %v)", got, got.FallbackShare())
	}
	if _, err := LocationBased([]Use{{hour(5), 1}}, intensity); err == nil {
		t.Error("hour without intensity accepted")
	}
	if _, err := LocationBased([]Use{{hour(0), -1}}, intensity); err == nil {
		t.Error("negative energy accepted")
	}
}

func TestMarketBasedSideBySide(t *testing.T) {
	intensity := []grid.Intensity{{Hour: hour(0), Value: 100, Source: grid.Measured}}
	got, err := BothScope2([]Use{{hour(0), 1000}}, intensity, Instruments{GOShare: 0.75, Residual: 400, ResidualSource: "AIB residual mix DK 2024"})
	if err != nil {
		t.Fatal(err)
	}
	// Location: 1000 kWh × 100 g = 100 kg.
	// Market: 75 % of 1000 = 750 kWh at 0; 250 kWh × 400 g = 100000 g = 100 kg.
	if got.Location.Emissions != 100 || got.Market.CoveredByGO != 750 || got.Market.Residual != 250 || got.Market.Emissions != 100 {
		t.Errorf("got %+v", got)
	}
	if got.Market.Method == "" {
		t.Error("market-based result does not say how it was computed")
	}
	for _, bad := range []Instruments{{GOShare: 1.5}, {GOShare: -0.1}, {GOShare: math.NaN()}, {Residual: -1}} {
		if _, err := MarketBased(1, bad); err == nil {
			t.Errorf("instruments %+v accepted", bad)
		}
	}
}

// With the corpus: October 2025 (Danish month) in DK1. A flat 1 kW load gives
// exactly the plain mean intensity; a daytime-only load (08–18 Danish time)
// gives a consumption-weighted intensity that differs from it.
func TestCorpusFlatVersusDaytime(t *testing.T) {
	f := testenv.OpenCorpus(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	imp, err := grid.Parse(f.Name(), f, grid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	from, to := grid.DanishMonth(2025, time.October)
	intensity, err := grid.Resolve("DK1", imp.Hours, nil, from, to)
	if err != nil {
		t.Fatal(err)
	}
	stats, err := grid.PeriodStats("DK1", imp.Hours, from, to)
	if err != nil {
		t.Fatal(err)
	}
	var flat, day []Use
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		flat = append(flat, Use{h, units.Watts(1000).Over(time.Hour)})
		if lh := grid.Danish(h).Hour(); lh >= 8 && lh < 18 {
			day = append(day, Use{h, 1})
		}
	}
	fl, err := LocationBased(flat, intensity)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := LocationBased(day, intensity)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("DK1 October 2025: plain mean %.4f g/kWh (%d h); flat 1 kW: %.1f kWh, %.3f kg, %.4f g/kWh; daytime 08–18: %.1f kWh, %.3f kg, consumption-weighted %.4f g/kWh",
		stats.Mean, stats.Hours, fl.Energy, fl.Emissions, fl.Weighted, dl.Energy, dl.Emissions, dl.Weighted)
	if fl.Weighted != stats.Mean || fl.Weighted != fl.Plain {
		t.Errorf("flat load: weighted %v, want exactly the plain mean %v", fl.Weighted, stats.Mean)
	}
	if fl.FallbackShare() != 0 || fl.Energy != 745 {
		t.Errorf("October 2025 should be fully measured: %v kWh, fallback share %v", fl.Energy, fl.FallbackShare())
	}
	if dl.Weighted == fl.Weighted {
		t.Error("daytime-weighted intensity equals the plain mean")
	}
}
