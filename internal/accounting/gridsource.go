package accounting

import (
	"errors"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/grid"
)

// resolve finds the intensity of each hour of area: imported data, the same
// hour of the nearest imported week, the built-in hourly data, the config's
// annual factor, the built-in annual mean (grid.Sources.Resolve). An hour
// none of them covers is an error that says what to configure.
func (a *Accounting) resolve(area string, values []grid.HourValue, hours []time.Time) ([]grid.Intensity, error) {
	in, err := grid.Sources{Imported: values, Factors: a.factors(area), BuiltIn: a.builtIn}.Resolve(area, hours)
	var ne *grid.NoIntensityError
	if !errors.As(err, &ne) {
		return in, err
	}
	factors := "grid.annual_factors (year, g_per_kwh, source) in the config"
	if string(a.cfg.Grid.Area) != area {
		factors = fmt.Sprintf("grid.annual_factors (year, g_per_kwh, source) in the config, with grid.area: %s (the factors apply to grid.area, now %s)", area, a.cfg.Grid.Area)
	}
	fetch := fmt.Sprintf("`ecometer grid fetch --area %s --from %d-01-01 --to %d-01-01` (or `grid import` of an Energinet export)", area, ne.Year, ne.Year+1)
	if len(ne.BuiltInYears) == 0 {
		return nil, fmt.Errorf("%w: ecometer ships no %s data, so a %s site without imported data gets its factors from the config: import %s data with %s, or give %s",
			err, area, area, area, fetch, factors)
	}
	advice := fmt.Sprintf("%d is not derivable from ecometer's built-in data; import it with %s, or give the %d factor and where it comes from as %s",
		ne.Year, fetch, ne.Year, factors)
	if ne.Year == a.cfg.Target.BaselineYear {
		advice += "; for the target alone, the baseline year's emissions can be given as target.baseline_kg_co2e with target.baseline_source"
	}
	return nil, fmt.Errorf("%w: %s", err, advice)
}

// fallbackBases lists, once each, what the hours not measured used, other
// than the same hour of another week (which the hourly figures show): the
// built-in data by its label, and annual factors and means by year.
func fallbackBases(intensity []grid.Intensity) []string {
	var out []string
	seen := map[string]bool{}
	for _, in := range intensity {
		var b string
		switch in.Source {
		case grid.AnnualFactor:
			b = "annual factor " + in.Basis
		case grid.BuiltInHourly, grid.BuiltInAnnual:
			b = in.Basis
		default:
			continue
		}
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

// UsesEnerginet reports whether any of the energy's intensity came from
// Energinet's data (imported or built in), whose licence asks for the credit
// line wherever it is used.
func (l Location) UsesEnerginet() bool {
	for _, s := range []grid.Source{grid.Measured, grid.SameHourOfWeek, grid.BuiltInHourly, grid.BuiltInAnnual} {
		if l.EnergyBySource[string(s)] > 0 {
			return true
		}
	}
	return false
}
