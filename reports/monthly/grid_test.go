package monthly

import (
	"testing"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/models/grid"
)

// TestGridBuiltInSources: energy rated at ecometer's built-in Energinet
// data is listed by its source, counts as not measured for its hour, and
// makes the report credit Energinet (CC BY 4.0) like stored data does; an
// annual factor from the config alone does not.
func TestGridBuiltInSources(t *testing.T) {
	for _, tt := range []struct {
		name      string
		by        map[string]float64
		energinet bool
		sources   int
	}{
		{"built-in", map[string]float64{string(grid.BuiltInHourly): 30, string(grid.BuiltInAnnual): 70}, true, 5},
		{"factor only", map[string]float64{string(grid.AnnualFactor): 100}, false, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			sites := []accounting.Site{{Site: "s", Area: "DK1", EnergyKWh: 100, CoveragePct: 100, Location: accounting.Location{KgCO2e: 8, EnergyBySource: tt.by}}}
			g := gridOf(sites, accounting.Total(sites))
			if g.Energinet != tt.energinet || len(g.EnergyBySource) != tt.sources || g.FallbackSharePct != 100 {
				t.Errorf("energinet %v, sources %+v, fallback %v %%; want %v, %d sources, 100 %%", g.Energinet, g.EnergyBySource, g.FallbackSharePct, tt.energinet, tt.sources)
			}
		})
	}
}
