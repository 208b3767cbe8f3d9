package embodied_test

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/embodied"
	"github.com/ecometer/ecometer/models/carbon"
)

func TestMonth(t *testing.T) {
	day := func(s string) time.Time { d, _ := time.Parse("2006-01-02", s); return d }
	assets := []carbon.Asset{
		{ID: "srv-1", Class: "Server", InService: day("2024-01-15"), LifetimeYears: 5, Footprint: 1200, HasFootprint: true},
		{ID: "lap-1", Class: "laptop", InService: day("2025-03-01"), LifetimeYears: 4},
		{ID: "lap-old", Class: "Laptop", InService: day("2015-01-01"), LifetimeYears: 4, Footprint: 300, HasFootprint: true},
		{ID: "ph-1", Class: "Phone", InService: day("2025-01-01"), LifetimeYears: 3},
	}
	defaults := map[string]carbon.ClassDefault{"laptop": {Class: "Laptop", Footprint: 240, Products: 10, Source: carbon.BoaviztaSource}}
	v, err := embodied.Month(assets, 2025, time.October, embodied.Options{Defaults: defaults, DefaultsFile: "b.csv",
		Scenarios: []embodied.Scenario{{Class: "laptop", FromYears: 4, Years: 6}}})
	if err != nil {
		t.Fatal(err)
	}
	// srv-1 1200/60 = 20, lap-1 240/48 = 5; lap-old retired; ph-1 missing.
	if math.Abs(v.KgCO2e-25) > 1e-9 || v.Amortising != 3 || len(v.Missing) != 1 || v.Missing[0].ID != "ph-1" {
		t.Errorf("view %+v", v)
	}
	if len(v.ByClass) != 3 || v.ByClass[0].Class != "laptop" || v.ByClass[0].ClassDefault != 1 {
		t.Errorf("by class %+v", v.ByClass)
	}
	x := v.Extensions[0]
	// 240/4 − 240/6 = 20 kg a year per device; lap-1 is the fleet.
	if x.PerDeviceKgCO2ePerYr == nil || math.Abs(*x.PerDeviceKgCO2ePerYr-20) > 1e-9 || x.Assets != 1 || math.Abs(x.AssetsKgCO2ePerYr-20) > 1e-9 {
		t.Errorf("extension %+v", x)
	}
	if len(v.Defaults) != 1 || v.Defaults[0].Note != "" {
		t.Errorf("defaults %+v", v.Defaults)
	}
	_, err = embodied.Month(assets, 2025, time.October, embodied.Options{Defaults: defaults,
		Scenarios: []embodied.Scenario{{Class: "laptop", FromYears: 6, Years: 4}}})
	var se *embodied.ScenarioError
	if !errors.As(err, &se) {
		t.Errorf("a shorter lifetime: %v", err)
	}
}
