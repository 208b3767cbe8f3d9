// Package targetview is the position of the configured sites against the
// reduction target: the baseline year's emissions (from the store, else the
// configuration), the glide path and this year to date, the yearly actuals
// since the baseline, a forecast of energy and intensity with its fit
// quality, and the last 12 months against the 12 before split into "grid got
// cleaner" and "we used less". The figures come from the accounting; the
// arithmetic from models/target.
package targetview

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/target"
	"github.com/ecometer/ecometer/models/units"
)

// MonthFigure is the sites' figures for one month.
type MonthFigure struct {
	Month       string  `json:"month"`
	EnergyKWh   float64 `json:"energy_kwh"`
	KgCO2e      float64 `json:"kg_co2e"`
	CoveragePct float64 `json:"coverage_pct"` // lowest of the sites
	PathKgCO2e  float64 `json:"path_kg_co2e,omitempty"`
}

// Where the baseline figure came from.
const (
	BaselineFromStore  = "store"
	BaselineFromConfig = "config"
)

// View is the whole picture; its JSON is `co2 target --json`.
type View struct {
	BaselineYear int      `json:"baseline_year"`
	TargetYear   int      `json:"target_year"`
	ReductionPct float64  `json:"reduction_pct"`
	Sites        []string `json:"sites"`

	BaselineKgCO2e *float64 `json:"baseline_kg_co2e"` // null when not available
	// BaselineFrom is "store" (derived from the baseline year's data) or
	// "config" (target.baseline_kg_co2e, with BaselineSource).
	BaselineFrom     string        `json:"baseline_from,omitempty"`
	BaselineSource   string        `json:"baseline_source,omitempty"`
	BaselineNote     string        `json:"baseline_note,omitempty"`
	BaselineMonths   []MonthFigure `json:"baseline_months"`
	Missing          []string      `json:"missing,omitempty"` // what the store lacks for the baseline year
	GoalKgCO2e       float64       `json:"goal_kg_co2e,omitempty"`
	Year             int           `json:"year"`
	YearToDate       []MonthFigure `json:"year_to_date"`
	PathYearKgCO2e   float64       `json:"path_year_kg_co2e,omitempty"`
	Ahead            *bool         `json:"ahead_of_path,omitempty"`
	DeviationPct     *float64      `json:"deviation_from_path_pct,omitempty"`
	RequiredAnnualPc *float64      `json:"required_annual_reduction_pct,omitempty"`
	PositionNote     string        `json:"position_note,omitempty"` // why there is no position
	AnnualisedKgCO2e float64       `json:"annualised_kg_co2e,omitempty"`
	// Path is the glide path, one point per year from the baseline year to
	// the target year (empty without a baseline).
	Path []YearValue `json:"path,omitempty"`
	// Actuals are the years since the baseline year with metered data.
	Actuals  []YearActual `json:"actuals,omitempty"`
	Forecast Forecast     `json:"forecast"`
	Change   Change       `json:"change"`
}

// YearValue is one year's figure.
type YearValue struct {
	Year   int     `json:"year"`
	KgCO2e float64 `json:"kg_co2e"`
}

// YearActual is one year's metered emissions.
type YearActual struct {
	Year   int     `json:"year"`
	KgCO2e float64 `json:"kg_co2e"`
	// Months is how many of its months are complete (every site with
	// ≥ 90 % coverage); Complete when all twelve are.
	Months   int  `json:"complete_months"`
	Complete bool `json:"complete"`
}

// Forecast is the forecast of energy and intensity, and their product.
type Forecast struct {
	// History is the run of complete months the models were fitted on,
	// ending with the last full month.
	HistoryFrom   string `json:"history_from,omitempty"`
	HistoryTo     string `json:"history_to,omitempty"`
	HistoryMonths int    `json:"history_months"`
	HorizonMonths int    `json:"horizon_months"`
	// Note says why there is no forecast at all (too little history).
	Note      string  `json:"note,omitempty"`
	Energy    *Series `json:"energy,omitempty"`
	Intensity *Series `json:"intensity,omitempty"`
	// Combined is energy × intensity, shown only when both are good enough,
	// with an approximate 95 % band.
	CombinedGoodEnough bool         `json:"combined_good_enough"`
	CombinedNote       string       `json:"combined_note,omitempty"`
	Combined           []MonthValue `json:"combined_kg_co2e,omitempty"`
	// YearKgCO2e is the current year's actual months plus the combined
	// forecast for the rest of it, when the forecast reaches that far.
	YearKgCO2e *float64 `json:"year_kg_co2e,omitempty"`
}

// Series is one fitted series; Values only when GoodEnough.
type Series struct {
	Unit       string       `json:"unit"`
	Model      string       `json:"model"`
	Alpha      float64      `json:"alpha"`
	Beta       float64      `json:"beta"`
	Gamma      float64      `json:"gamma,omitempty"`
	Phi        float64      `json:"phi"`
	CVRMSEPct  float64      `json:"cv_rmse_pct"`
	NMBEPct    float64      `json:"nmbe_pct"`
	GoodEnough bool         `json:"good_enough"`
	Values     []MonthValue `json:"values,omitempty"`
}

// MonthValue is one forecast month; Low and High bound the combined
// forecast's approximate 95 % band.
type MonthValue struct {
	Month string   `json:"month"`
	Value float64  `json:"value"`
	Low   *float64 `json:"low,omitempty"`
	High  *float64 `json:"high,omitempty"`
}

// Change splits the change between two 12-month periods.
type Change struct {
	Available   bool     `json:"available"`
	Missing     []string `json:"missing,omitempty"`
	Before      *Period  `json:"before,omitempty"`
	After       *Period  `json:"after,omitempty"`
	TotalKgCO2e float64  `json:"total_kg_co2e"`
	// GridKgCO2e is "grid got cleaner" (negative) or dirtier; UsageKgCO2e
	// "we used less" (negative) or more. They sum to the total.
	GridKgCO2e  float64 `json:"grid_kg_co2e"`
	UsageKgCO2e float64 `json:"usage_kg_co2e"`
	Method      string  `json:"method,omitempty"`
}

// Period is one side of a change.
type Period struct {
	From             string  `json:"from"`
	To               string  `json:"to"`
	EnergyKWh        float64 `json:"energy_kwh"`
	IntensityGPerKWh float64 `json:"consumption_weighted_g_per_kwh"`
	KgCO2e           float64 `json:"kg_co2e"`
}

// MinCoverage is the least energy coverage a month needs to count as
// complete, for the baseline, the forecast and the change.
const MinCoverage = 90.0

// Forecast and change windows.
const (
	Horizon        = 12 // months after the last full month
	HistoryMonths  = 48 // months looked back for the forecast's history
	ChangeMonths   = 12 // each period of the change
	DecomposeNote  = "Shapley split of E·I: usage = ΔE × (I before + I after)/2, grid = ΔI × (E before + E after)/2; location-based"
	combinedMethod = "energy forecast × intensity forecast / 1000; shown because both pass ASHRAE Guideline 14"
)

// Months computes, and remembers, the sites' figures per month.
type Months struct {
	acc   *accounting.Accounting
	sites []config.Site
	cache map[string]Month
	kept  Kept // between runs, when set
}

// Kept keeps months' figures between runs (internal/monthcache): Load
// returns a month's sites, in the order of the Months' sites, when they are
// known to be what accounting them again would give (without their Hours);
// Store offers a month accounted without a problem.
type Kept interface {
	Load(p accounting.Period) ([]accounting.Site, bool)
	Store(p accounting.Period, sites []accounting.Site)
}

// Keep makes ms use k for the months it accounts with Get.
func (ms *Months) Keep(k Kept) { ms.kept = k }

// Month is the sites' figures for one month and what keeps it from being
// complete.
type Month struct {
	Figure  MonthFigure
	Missing []string
	// Sites are the accounting of each site that could be accounted, in
	// the order of the sites; a report reads a month's per-site figures
	// from here instead of accounting it again.
	Sites []accounting.Site
}

// Complete reports whether a month can enter the baseline, the forecast or
// the change: every site metered (≥ 90 % coverage) and some energy.
func (m Month) Complete() bool { return len(m.Missing) == 0 && m.Figure.EnergyKWh > 0 }

// NewMonths computes months of all the configuration's sites over acc.
func NewMonths(acc *accounting.Accounting) *Months {
	return NewMonthsOf(acc, acc.Config().Sites)
}

// NewMonthsOf computes months of the given sites only (a report for one
// site): the target view then is that of those sites.
func NewMonthsOf(acc *accounting.Accounting, sites []config.Site) *Months {
	return &Months{acc: acc, sites: sites, cache: map[string]Month{}}
}

// Get returns the figures of all sites for one month. A site whose month
// cannot be accounted (e.g. no grid data) makes the month incomplete and
// says why; the store failing is an error.
func (ms *Months) Get(ctx context.Context, year int, m time.Month) (Month, error) {
	p := accounting.MonthOf(year, m)
	key := p.Label()
	if r, ok := ms.cache[key]; ok {
		return r, nil
	}
	if err := ctx.Err(); err != nil {
		return Month{}, err
	}
	if ms.kept != nil {
		if sites, ok := ms.kept.Load(p); ok && len(sites) == len(ms.sites) {
			return ms.Add(year, m, sites, nil), nil
		}
	}
	// One read of the store for all the sites.
	sites, errs, err := ms.acc.Sites(ctx, ms.sites, p.From, p.To)
	if err == nil && ms.kept != nil && !slices.ContainsFunc(errs, func(e error) bool { return e != nil }) {
		ms.kept.Store(p, sites)
	}
	if err != nil {
		if ctx.Err() != nil {
			return Month{}, err
		}
		// The store failing for the month makes it incomplete, as before
		// for a site.
		sites, errs = make([]accounting.Site, len(ms.sites)), make([]error, len(ms.sites))
		for i := range errs {
			errs[i] = err
		}
	}
	return ms.Add(year, m, sites, errs), nil
}

// Add puts a month whose sites were accounted elsewhere (a report reads
// its month once for the sites and the meters) into the cache: sites and
// errs are per site of the Months, in their order. It returns the month.
func (ms *Months) Add(year int, m time.Month, sites []accounting.Site, errs []error) Month {
	key := accounting.MonthOf(year, m).Label()
	f := MonthFigure{Month: key, CoveragePct: 100}
	var missing []string
	var kept []accounting.Site
	for i, site := range ms.sites {
		if i < len(errs) && errs[i] != nil {
			missing = append(missing, fmt.Sprintf("%s %s: %v", key, site.Name, errs[i]))
			f.CoveragePct = 0
			continue
		}
		r := sites[i]
		kept = append(kept, r)
		f.EnergyKWh += r.EnergyKWh
		f.KgCO2e += r.Location.KgCO2e
		f.CoveragePct = min(f.CoveragePct, r.CoveragePct)
		for _, pr := range r.Problems {
			missing = append(missing, fmt.Sprintf("%s %s: %s", key, site.Name, pr))
		}
	}
	if f.CoveragePct < MinCoverage {
		missing = append(missing, fmt.Sprintf("%s: metered energy covers %.1f %% of the month (need ≥ %.0f %% for every site)",
			key, f.CoveragePct, MinCoverage))
	}
	res := Month{Figure: f, Missing: missing, Sites: kept}
	ms.cache[key] = res
	return res
}

// Sites are the sites the months are of.
func (ms *Months) Sites() []config.Site { return ms.sites }

// year returns the months Jan..upTo of year.
func (ms *Months) year(ctx context.Context, year int, upTo time.Month) ([]Month, error) {
	var out []Month
	for m := time.January; m <= upTo; m++ {
		r, err := ms.Get(ctx, year, m)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Compute builds the view at now. Without a baseline (neither a complete
// baseline year in the store nor target.baseline_kg_co2e) the view says what
// is missing and BaselineKgCO2e is nil; callers decide whether that fails.
func Compute(ctx context.Context, ms *Months, now time.Time) (View, error) {
	dnow := grid.Danish(now)
	return ComputeThrough(ctx, ms, dnow.Year(), dnow.Month()-1)
}

// ComputeThrough builds the view as it stands once month lastFull of year
// has ended: the year to date runs through lastFull (none of the year when
// it is 0), and the forecast and the change end with it. A monthly report
// for December thus shows the whole year, where Compute at the report's
// end (January) would show none of it.
func ComputeThrough(ctx context.Context, ms *Months, year int, lastFull time.Month) (View, error) {
	if lastFull < 0 || lastFull > time.December {
		return View{}, fmt.Errorf("target view through month %d: want 0..12", lastFull)
	}
	t := ms.acc.Config().Target
	out := View{BaselineYear: t.BaselineYear, TargetYear: t.TargetYear, ReductionPct: t.ReductionPct}
	for _, site := range ms.sites {
		out.Sites = append(out.Sites, site.Name)
	}
	baseMonths, err := ms.year(ctx, t.BaselineYear, time.December)
	if err != nil {
		return View{}, err
	}
	for _, m := range baseMonths {
		out.BaselineMonths = append(out.BaselineMonths, m.Figure)
		out.Missing = append(out.Missing, m.Missing...)
	}
	out.Year = year
	var ytd []Month
	if lastFull >= time.January {
		if ytd, err = ms.year(ctx, year, lastFull); err != nil {
			return View{}, err
		}
		for _, m := range ytd {
			out.YearToDate = append(out.YearToDate, m.Figure)
		}
	}

	// The baseline: the store's whole year, else the config's figure.
	var baseline float64
	switch {
	case len(out.Missing) == 0:
		for _, f := range out.BaselineMonths {
			baseline += f.KgCO2e
		}
		out.BaselineFrom = BaselineFromStore
		if t.BaselineKgCO2e != nil {
			out.BaselineNote = fmt.Sprintf("the config's target.baseline_kg_co2e (%.1f kg CO2e, %s) is not used: the store has the whole of %d",
				*t.BaselineKgCO2e, t.BaselineSource, t.BaselineYear)
		}
	case t.BaselineKgCO2e != nil && len(ms.sites) < len(ms.acc.Config().Sites):
		// The config's figure is the whole region's: measuring some of the
		// sites against it would put them far ahead of a path that is not
		// theirs.
		out.BaselineNote = fmt.Sprintf("the config's target.baseline_kg_co2e is for all %d sites, not for %d of them; the store does not have the whole of %d for these",
			len(ms.acc.Config().Sites), len(ms.sites), t.BaselineYear)
	case t.BaselineKgCO2e != nil:
		baseline = *t.BaselineKgCO2e
		out.BaselineFrom, out.BaselineSource = BaselineFromConfig, t.BaselineSource
		out.BaselineNote = fmt.Sprintf("the store does not have the whole of %d (%d items missing)", t.BaselineYear, len(out.Missing))
	}
	if out.BaselineFrom != "" {
		out.BaselineKgCO2e = &baseline
		tgt := target.Target{BaselineYear: t.BaselineYear, Baseline: units.KgCO2e(baseline), TargetYear: t.TargetYear, Reduction: t.ReductionPct / 100}
		if err := tgt.Validate(); err != nil {
			return View{}, &TargetError{Err: err}
		}
		out.GoalKgCO2e = float64(tgt.Goal())
		out.PathYearKgCO2e = float64(tgt.Annual(year))
		for y := t.BaselineYear; y <= t.TargetYear; y++ {
			out.Path = append(out.Path, YearValue{Year: y, KgCO2e: float64(tgt.Annual(y))})
		}
		if err := position(&out, tgt, ytd, year); err != nil {
			return View{}, err
		}
	}
	if out.Actuals, err = actuals(ctx, ms, t.BaselineYear, year, lastFull); err != nil {
		return View{}, err
	}

	// The last full months, oldest first: enough for the forecast's history
	// and both periods of the change.
	var recent []Month
	for k := HistoryMonths; k >= 1; k-- {
		y, m := accounting.AddMonths(year, lastFull+1, -k)
		r, err := ms.Get(ctx, y, m)
		if err != nil {
			return View{}, err
		}
		recent = append(recent, r)
	}
	out.Forecast = forecastOf(recent, year)
	out.Change = changeOf(recent)
	return out, nil
}

// TargetError is a target section that cannot make a path: a configuration
// problem.
type TargetError struct{ Err error }

func (e *TargetError) Error() string { return "target: " + e.Err.Error() }
func (e *TargetError) Unwrap() error { return e.Err }

// position fills this year's position against the path.
func position(out *View, tgt target.Target, ytd []Month, year int) error {
	var incomplete []string
	for _, m := range ytd {
		if !m.Complete() {
			incomplete = append(incomplete, m.Figure.Month)
		}
	}
	if len(incomplete) > 0 {
		out.PositionNote = fmt.Sprintf("no position against the path: %s not complete (need metered energy with ≥ %.0f %% coverage for every site)",
			strings.Join(incomplete, ", "), MinCoverage)
		return nil
	}
	if len(out.YearToDate) == 0 {
		return nil
	}
	monthly := make([]units.KgCO2e, len(out.YearToDate))
	var sum float64
	for i := range out.YearToDate {
		monthly[i] = units.KgCO2e(out.YearToDate[i].KgCO2e)
		out.YearToDate[i].PathKgCO2e = float64(tgt.Monthly(year, time.Month(i+1)))
		sum += out.YearToDate[i].KgCO2e
	}
	pos, err := tgt.PositionOf(year, monthly)
	if err != nil {
		return err
	}
	dev := 100 * pos.Deviation
	out.Ahead, out.DeviationPct = &pos.Ahead, &dev
	out.AnnualisedKgCO2e = sum * 12 / float64(len(monthly))
	req, err := tgt.RequiredAnnualReduction(units.KgCO2e(out.AnnualisedKgCO2e), year)
	if err != nil {
		return err
	}
	req *= 100
	out.RequiredAnnualPc = &req
	return nil
}

// actuals are the metered emissions of every year from the baseline year to
// this one (its full months), for the years with any metered energy.
func actuals(ctx context.Context, ms *Months, from, year int, lastFull time.Month) ([]YearActual, error) {
	var out []YearActual
	for y := from; y <= year; y++ {
		upTo := time.December
		if y == year {
			upTo = lastFull
		}
		months, err := ms.year(ctx, y, upTo)
		if err != nil {
			return nil, err
		}
		a := YearActual{Year: y}
		var energy float64
		for _, m := range months {
			a.KgCO2e += m.Figure.KgCO2e
			energy += m.Figure.EnergyKWh
			if m.Complete() {
				a.Months++
			}
		}
		a.Complete = a.Months == 12
		if energy > 0 {
			out = append(out, a)
		}
	}
	return out, nil
}

// forecastOf fits the trailing run of complete months of recent (oldest
// first, ending with the last full month) and forecasts Horizon months:
// energy and consumption-weighted intensity separately, then their product
// where both are good enough.
func forecastOf(recent []Month, year int) Forecast {
	out := Forecast{HorizonMonths: Horizon}
	start := len(recent)
	for start > 0 && recent[start-1].Complete() {
		start--
	}
	hist := recent[start:]
	var energy, intensity []float64
	for _, r := range hist {
		energy = append(energy, r.Figure.EnergyKWh)
		intensity = append(intensity, 1000*r.Figure.KgCO2e/r.Figure.EnergyKWh)
	}
	out.HistoryMonths = len(hist)
	if len(hist) > 0 {
		out.HistoryFrom, out.HistoryTo = hist[0].Figure.Month, hist[len(hist)-1].Figure.Month
	}
	if len(hist) < target.MinMonths {
		out.Note = fmt.Sprintf("not available: %d complete months (≥ %.0f %% coverage) end with the last full month; need at least %d",
			len(hist), MinCoverage, target.MinMonths)
		out.CombinedNote = "not good enough to show: too little history"
		return out
	}
	last, _ := time.Parse("2006-01", out.HistoryTo)
	ly, lm := last.Year(), last.Month()
	label := func(i int) string {
		y, m := accounting.AddMonths(ly, lm, i+1)
		return fmt.Sprintf("%d-%02d", y, int(m))
	}
	fit := func(values []float64, unit string) *Series {
		f, err := target.MonthlyForecast(values, Horizon)
		if err != nil {
			return &Series{Unit: unit, Model: "none: " + err.Error()}
		}
		sf := &Series{Unit: unit, Model: string(f.Model), Alpha: f.Alpha, Beta: f.Beta, Gamma: f.Gamma, Phi: f.Phi,
			CVRMSEPct: f.CVRMSE, NMBEPct: f.NMBE, GoodEnough: f.GoodEnough}
		if f.GoodEnough {
			for i, v := range f.Values {
				sf.Values = append(sf.Values, MonthValue{Month: label(i), Value: v})
			}
		}
		return sf
	}
	out.Energy = fit(energy, "kWh")
	out.Intensity = fit(intensity, "g/kWh")
	switch {
	case !out.Energy.GoodEnough && !out.Intensity.GoodEnough:
		out.CombinedNote = "not good enough to show: neither the energy nor the intensity forecast passes ASHRAE Guideline 14"
		return out
	case !out.Energy.GoodEnough:
		out.CombinedNote = "not good enough to show: the energy forecast fails ASHRAE Guideline 14"
		return out
	case !out.Intensity.GoodEnough:
		out.CombinedNote = "not good enough to show: the intensity forecast fails ASHRAE Guideline 14"
		return out
	}
	out.CombinedGoodEnough = true
	out.CombinedNote = combinedMethod
	values := make([]float64, len(out.Energy.Values))
	for i := range out.Energy.Values {
		values[i] = out.Energy.Values[i].Value * out.Intensity.Values[i].Value / 1000
	}
	// The relative errors of the two factors add in quadrature.
	cv := math.Hypot(out.Energy.CVRMSEPct, out.Intensity.CVRMSEPct)
	low, high := target.Band(values, cv)
	for i, v := range values {
		out.Combined = append(out.Combined, MonthValue{Month: out.Energy.Values[i].Month, Value: v, Low: &low[i], High: &high[i]})
	}
	// This year: its full months as measured, the rest as forecast; only
	// when every full month of the year is in the history.
	prefix := fmt.Sprintf("%d-", year)
	var sum float64
	measured := 0
	for _, r := range hist {
		if strings.HasPrefix(r.Figure.Month, prefix) {
			sum += r.Figure.KgCO2e
			measured++
		}
	}
	wantMeasured := 0
	if ly == year {
		wantMeasured = int(lm)
	} else if ly != year-1 || lm != time.December {
		return out // the history does not end just before this year
	}
	if measured == wantMeasured {
		for _, c := range out.Combined {
			if strings.HasPrefix(c.Month, prefix) {
				sum += c.Value
			}
		}
		out.YearKgCO2e = &sum
	}
	return out
}

// changeOf splits the change between the last ChangeMonths full months and
// the ChangeMonths before them, when all of them are complete.
func changeOf(recent []Month) Change {
	out := Change{}
	if len(recent) < 2*ChangeMonths {
		out.Missing = []string{fmt.Sprintf("%d full months of history, need %d", len(recent), 2*ChangeMonths)}
		return out
	}
	window := recent[len(recent)-2*ChangeMonths:]
	for _, r := range window {
		if !r.Complete() {
			if len(r.Missing) == 0 {
				out.Missing = append(out.Missing, r.Figure.Month+": no metered energy")
			}
			out.Missing = append(out.Missing, r.Missing...)
		}
	}
	period := func(ms []Month) *Period {
		p := &Period{From: ms[0].Figure.Month, To: ms[len(ms)-1].Figure.Month}
		for _, m := range ms {
			p.EnergyKWh += m.Figure.EnergyKWh
			p.KgCO2e += m.Figure.KgCO2e
		}
		if p.EnergyKWh > 0 {
			p.IntensityGPerKWh = 1000 * p.KgCO2e / p.EnergyKWh
		}
		return p
	}
	out.Before, out.After = period(window[:ChangeMonths]), period(window[ChangeMonths:])
	if len(out.Missing) > 0 {
		return out
	}
	ch := target.Decompose(
		target.Period{Energy: units.KWh(out.Before.EnergyKWh), Intensity: units.GramsPerKWh(out.Before.IntensityGPerKWh)},
		target.Period{Energy: units.KWh(out.After.EnergyKWh), Intensity: units.GramsPerKWh(out.After.IntensityGPerKWh)})
	out.Available = true
	out.TotalKgCO2e, out.GridKgCO2e, out.UsageKgCO2e = float64(ch.Total), float64(ch.Grid), float64(ch.Usage)
	out.Method = DecomposeNote
	return out
}
