// Package target holds the reduction target: the monthly glide path from the
// baseline to the target year, the position against it, the reduction still
// needed, a forecast with its fit quality, and the split of a change into
// "grid got cleaner" and "we used less" (DESIGN.md, carbon rules).
package target

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// Target is a reduction target against a baseline year's annual emissions.
type Target struct {
	BaselineYear int
	Baseline     units.KgCO2e // annual emissions in the baseline year
	TargetYear   int
	Reduction    float64 // e.g. 0.35 for −35 %
}

// Default is the region's target: −35 % by 2030 against 2020.
func Default(baseline units.KgCO2e) Target {
	return Target{BaselineYear: 2020, Baseline: baseline, TargetYear: 2030, Reduction: 0.35}
}

// Validate checks that the target describes a reduction over time.
func (t Target) Validate() error {
	if t.TargetYear <= t.BaselineYear {
		return fmt.Errorf("target: target year %d is not after baseline year %d", t.TargetYear, t.BaselineYear)
	}
	if !(t.Reduction > 0 && t.Reduction < 1) {
		return fmt.Errorf("target: reduction %v is not within (0, 1)", t.Reduction)
	}
	if !(t.Baseline > 0) || math.IsInf(float64(t.Baseline), 0) {
		return fmt.Errorf("target: baseline emissions %v kg CO2e must be positive", t.Baseline)
	}
	return nil
}

// Goal is the annual emission the target year is allowed.
func (t Target) Goal() units.KgCO2e { return t.Baseline * units.KgCO2e(1-t.Reduction) }

// Annual is the path's annual emission for year y: linear from the baseline
// (at the baseline year) to the goal (at the target year), flat outside.
func (t Target) Annual(year int) units.KgCO2e {
	return t.at(float64(year - t.BaselineYear))
}

// at is the annual rate at f years after the middle of the baseline year.
func (t Target) at(f float64) units.KgCO2e {
	span := float64(t.TargetYear - t.BaselineYear)
	f = math.Max(0, math.Min(span, f))
	return t.Baseline + (t.Goal()-t.Baseline)*units.KgCO2e(f/span)
}

// Monthly is the path's allowance for one month: the linear annual rate at the
// middle of the month, divided by 12. Because the rate is linear and the
// month middles are symmetric around the middle of the year, a year's twelve
// allowances sum to Annual(year) (within the target years).
func (t Target) Monthly(year int, month time.Month) units.KgCO2e {
	f := float64(year-t.BaselineYear) + (float64(month)-0.5)/12 - 0.5
	return t.at(f) / 12
}

// Position is year-to-date emissions against the path.
type Position struct {
	Year   int
	Months int          // months compared (January onwards)
	Actual units.KgCO2e // year to date
	Path   units.KgCO2e // the path's allowance for the same months
	Ahead  bool         // actual ≤ path
	// Deviation is (actual − path) / path: negative is below the path.
	Deviation float64
}

// PositionOf compares a year's monthly emissions (January first) with the path.
func (t Target) PositionOf(year int, monthly []units.KgCO2e) (Position, error) {
	if len(monthly) == 0 || len(monthly) > 12 {
		return Position{}, fmt.Errorf("target position %d: want 1 to 12 months, got %d", year, len(monthly))
	}
	p := Position{Year: year, Months: len(monthly)}
	for i, m := range monthly {
		p.Actual += m
		p.Path += t.Monthly(year, time.Month(i+1))
	}
	p.Ahead = p.Actual <= p.Path
	p.Deviation = float64(p.Actual-p.Path) / float64(p.Path)
	return p, nil
}

// RequiredAnnualReduction is the compound yearly reduction that takes current
// annual emissions (of year now) to the goal by the target year:
// 1 − (goal / current)^(1 / (target year − now)). It is 0 when already at or
// below the goal; from the target year on, the whole gap is due at once.
func (t Target) RequiredAnnualReduction(current units.KgCO2e, now int) (float64, error) {
	if !(current > 0) || math.IsInf(float64(current), 0) {
		return 0, fmt.Errorf("required reduction: current emissions %v kg CO2e must be positive", current)
	}
	goal := t.Goal()
	if current <= goal {
		return 0, nil
	}
	years := t.TargetYear - now
	if years <= 0 {
		return 1 - float64(goal/current), nil
	}
	return 1 - math.Pow(float64(goal/current), 1/float64(years)), nil
}
