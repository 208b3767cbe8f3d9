package target

import "github.com/ecometer/ecometer/models/units"

// Period is a period's energy and (consumption-weighted) grid intensity.
type Period struct {
	Energy    units.KWh
	Intensity units.GramsPerKWh
}

// Change splits the change in emissions between two periods.
type Change struct {
	Total units.KgCO2e // emissions(to) − emissions(from)
	Usage units.KgCO2e // "we used less" (negative) or more
	Grid  units.KgCO2e // "the grid got cleaner" (negative) or dirtier
}

// Decompose splits the change with the symmetric Shapley split, exact for two
// factors: Usage = ΔE × (I0 + I1)/2, Grid = ΔI × (E0 + E1)/2, which sum to
// E1·I1 − E0·I0. Grid is computed as Total − Usage, equal to that formula in
// exact arithmetic, so that the parts add up to the total in floating point
// too (to within one rounding of the total).
func Decompose(from, to Period) Change {
	e0, e1 := float64(from.Energy), float64(to.Energy)
	i0, i1 := float64(from.Intensity), float64(to.Intensity)
	total := (e1*i1 - e0*i0) / 1000
	usage := (e1 - e0) * (i0 + i1) / 2 / 1000
	return Change{Total: units.KgCO2e(total), Usage: units.KgCO2e(usage), Grid: units.KgCO2e(total - usage)}
}
