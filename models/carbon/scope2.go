// Package carbon turns energy into emissions: Scope 2 location- and
// market-based (always both, never netted) and Scope 3 embodied emissions of
// the asset inventory (DESIGN.md, carbon rules).
package carbon

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/units"
)

// Use is a site's energy in one UTC hour.
type Use struct {
	Hour   time.Time
	Energy units.KWh
}

// Location is a location-based (GHG Protocol Scope 2) result: Σ hourly kWh ×
// the hour's grid intensity of the site's price area.
type Location struct {
	Energy    units.KWh
	Emissions units.KgCO2e
	// Weighted is the consumption-weighted intensity (Emissions / Energy);
	// Plain is the plain mean of the hourly intensities of the same hours.
	Weighted units.GramsPerKWh
	Plain    units.GramsPerKWh
	Hours    int
	// EnergyBySource is the energy whose intensity came from each source
	// (measured, same-hour-of-week, built-in-hourly, annual-factor,
	// built-in-annual): the fallback share.
	EnergyBySource map[grid.Source]units.KWh
}

// FallbackShare is the share (0..1) of energy whose intensity was not measured.
func (l Location) FallbackShare() float64 {
	if l.Energy == 0 {
		return 0
	}
	return 1 - float64(l.EnergyBySource[grid.Measured])/float64(l.Energy)
}

// LocationBased multiplies each hour's energy by that hour's intensity. Every
// hour of use needs an intensity (grid.Resolve gives one for every hour).
func LocationBased(use []Use, intensity []grid.Intensity) (Location, error) {
	byHour := make(map[time.Time]grid.Intensity, len(intensity))
	for _, in := range intensity {
		byHour[in.Hour.UTC()] = in
	}
	out := Location{EnergyBySource: map[grid.Source]units.KWh{}}
	// Sums in g (kWh × g/kWh) so that a flat load's weighted intensity equals
	// the plain mean exactly: the same sum, divided by the same count.
	var plain, grams float64
	for _, u := range use {
		if !(u.Energy >= 0) || math.IsInf(float64(u.Energy), 0) {
			return Location{}, fmt.Errorf("location-based: hour %s: invalid energy %v kWh", u.Hour.UTC().Format(time.RFC3339), u.Energy)
		}
		in, ok := byHour[u.Hour.UTC()]
		if !ok {
			return Location{}, fmt.Errorf("location-based: no grid intensity for hour %s", u.Hour.UTC().Format(time.RFC3339))
		}
		out.Energy += u.Energy
		grams += float64(u.Energy) * float64(in.Value)
		out.EnergyBySource[in.Source] += u.Energy
		plain += float64(in.Value)
		out.Hours++
	}
	if out.Hours > 0 {
		out.Plain = units.GramsPerKWh(plain / float64(out.Hours))
	}
	out.Emissions = units.KgCO2e(grams / 1000)
	if out.Energy > 0 {
		out.Weighted = units.GramsPerKWh(grams / float64(out.Energy))
	}
	return out, nil
}

// Instruments are a site's contractual instruments for market-based Scope 2.
type Instruments struct {
	// GOShare is the share (0..1) of consumption covered by guarantees of
	// origin for renewable electricity, counted at 0 g/kWh.
	GOShare float64
	// Residual is the residual mix factor applied to the rest, and
	// ResidualSource where it comes from.
	Residual       units.GramsPerKWh
	ResidualSource string
}

// Market is a market-based Scope 2 result.
type Market struct {
	Energy      units.KWh
	CoveredByGO units.KWh // at 0 g/kWh
	Residual    units.KWh // at the residual factor
	Emissions   units.KgCO2e
	Method      string // how it was computed, for the report
}

// MarketBased applies the site's instruments to its consumption: the GO share
// at 0 and the residual factor for the rest.
func MarketBased(energy units.KWh, in Instruments) (Market, error) {
	if !(in.GOShare >= 0 && in.GOShare <= 1) {
		return Market{}, fmt.Errorf("market-based: guarantees-of-origin share %v is not within 0..1", in.GOShare)
	}
	if !(in.Residual >= 0) || math.IsInf(float64(in.Residual), 0) {
		return Market{}, fmt.Errorf("market-based: invalid residual factor %v g/kWh", in.Residual)
	}
	if !(energy >= 0) {
		return Market{}, fmt.Errorf("market-based: invalid energy %v kWh", energy)
	}
	covered := units.KWh(float64(energy) * in.GOShare)
	rest := energy - covered
	return Market{
		Energy:      energy,
		CoveredByGO: covered,
		Residual:    rest,
		Emissions:   rest.Times(in.Residual),
		Method: fmt.Sprintf("market-based: %.1f %% of consumption covered by guarantees of origin at 0 g/kWh; the rest at the residual factor %.1f g/kWh (%s)",
			100*in.GOShare, float64(in.Residual), in.ResidualSource),
	}, nil
}

// Scope2 holds both Scope 2 results; they are reported side by side, never netted.
type Scope2 struct {
	Location Location
	Market   Market
}

// BothScope2 computes the location- and the market-based result for the same use.
func BothScope2(use []Use, intensity []grid.Intensity, in Instruments) (Scope2, error) {
	loc, err := LocationBased(use, intensity)
	if err != nil {
		return Scope2{}, err
	}
	mkt, err := MarketBased(loc.Energy, in)
	if err != nil {
		return Scope2{}, err
	}
	return Scope2{Location: loc, Market: mkt}, nil
}
