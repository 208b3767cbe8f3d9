package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/target"
	"github.com/ecometer/ecometer/models/units"
)

func newCO2TargetCommand() *cli.Command {
	return &cli.Command{
		Name:      "target",
		Usage:     "position against the reduction target, forecast, and what changed in the last 12 months",
		UsageText: "ecometer co2 target --config FILE [--json]",
		Description: "The target is the config's target section (default −35 % by 2030 against 2020).\n" +
			"The baseline is the location-based emission of the baseline year, derived from\n" +
			"the store; when the store does not have the whole year, target.baseline_kg_co2e\n" +
			"(with target.baseline_source) is used and labelled as such; without either the\n" +
			"command says what is missing and exits 1.\n\n" +
			"The forecast fits the monthly energy and the monthly consumption-weighted grid\n" +
			"intensity separately (damped-trend Holt; seasonal Holt–Winters once 24 months\n" +
			"exist) on the complete months (≥ 90 % coverage) up to the last full month, and\n" +
			"combines them into kg CO2e. Each fit is judged by ASHRAE Guideline 14\n" +
			"(CV(RMSE) ≤ 15 %, |NMBE| ≤ 5 %); a forecast that fails is not shown.\n\n" +
			"The change between the last 12 full months and the 12 before is split exactly\n" +
			"into \"grid got cleaner\" and \"we used less\" (Shapley split; the parts sum to\n" +
			"the total).\n\n" +
			"Example:\n   ecometer co2 target --config site.yaml",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store, target)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runCO2Target(ctx, co2TargetOptions{Config: cmd.String("config"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
	}
}

type co2TargetOptions struct {
	Config string
	JSON   bool
	Now    time.Time // zero: time.Now
}

type monthFigure struct {
	Month       string  `json:"month"`
	EnergyKWh   float64 `json:"energy_kwh"`
	KgCO2e      float64 `json:"kg_co2e"`
	CoveragePct float64 `json:"coverage_pct"` // lowest of the sites
	PathKgCO2e  float64 `json:"path_kg_co2e,omitempty"`
}

// Where the baseline figure came from.
const (
	baselineFromStore  = "store"
	baselineFromConfig = "config"
)

type targetJSON struct {
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
	BaselineMonths   []monthFigure `json:"baseline_months"`
	Missing          []string      `json:"missing,omitempty"` // what the store lacks for the baseline year
	GoalKgCO2e       float64       `json:"goal_kg_co2e,omitempty"`
	Year             int           `json:"year"`
	YearToDate       []monthFigure `json:"year_to_date"`
	PathYearKgCO2e   float64       `json:"path_year_kg_co2e,omitempty"`
	Ahead            *bool         `json:"ahead_of_path,omitempty"`
	DeviationPct     *float64      `json:"deviation_from_path_pct,omitempty"`
	RequiredAnnualPc *float64      `json:"required_annual_reduction_pct,omitempty"`
	PositionNote     string        `json:"position_note,omitempty"` // why there is no position
	AnnualisedKgCO2e float64       `json:"annualised_kg_co2e,omitempty"`
	Forecast         forecastJSON  `json:"forecast"`
	Change           changeJSON    `json:"change"`
	Store            string        `json:"store"`
	Source           string        `json:"source"`
}

// forecastJSON is the forecast of energy and intensity, and their product.
type forecastJSON struct {
	// History is the run of complete months the models were fitted on,
	// ending with the last full month.
	HistoryFrom   string `json:"history_from,omitempty"`
	HistoryTo     string `json:"history_to,omitempty"`
	HistoryMonths int    `json:"history_months"`
	HorizonMonths int    `json:"horizon_months"`
	// Note says why there is no forecast at all (too little history).
	Note      string          `json:"note,omitempty"`
	Energy    *seriesForecast `json:"energy,omitempty"`
	Intensity *seriesForecast `json:"intensity,omitempty"`
	// Combined is energy × intensity, shown only when both are good enough.
	CombinedGoodEnough bool         `json:"combined_good_enough"`
	CombinedNote       string       `json:"combined_note,omitempty"`
	Combined           []monthValue `json:"combined_kg_co2e,omitempty"`
	// YearKgCO2e is the current year's actual months plus the combined
	// forecast for the rest of it, when the forecast reaches that far.
	YearKgCO2e *float64 `json:"year_kg_co2e,omitempty"`
}

// seriesForecast is one fitted series; Values only when GoodEnough.
type seriesForecast struct {
	Unit       string       `json:"unit"`
	Model      string       `json:"model"`
	Alpha      float64      `json:"alpha"`
	Beta       float64      `json:"beta"`
	Gamma      float64      `json:"gamma,omitempty"`
	Phi        float64      `json:"phi"`
	CVRMSEPct  float64      `json:"cv_rmse_pct"`
	NMBEPct    float64      `json:"nmbe_pct"`
	GoodEnough bool         `json:"good_enough"`
	Values     []monthValue `json:"values,omitempty"`
}

type monthValue struct {
	Month string  `json:"month"`
	Value float64 `json:"value"`
}

// changeJSON splits the change between two 12-month periods.
type changeJSON struct {
	Available   bool        `json:"available"`
	Missing     []string    `json:"missing,omitempty"`
	Before      *periodJSON `json:"before,omitempty"`
	After       *periodJSON `json:"after,omitempty"`
	TotalKgCO2e float64     `json:"total_kg_co2e"`
	// GridKgCO2e is "grid got cleaner" (negative) or dirtier; UsageKgCO2e
	// "we used less" (negative) or more. They sum to the total.
	GridKgCO2e  float64 `json:"grid_kg_co2e"`
	UsageKgCO2e float64 `json:"usage_kg_co2e"`
	Method      string  `json:"method,omitempty"`
}

type periodJSON struct {
	From             string  `json:"from"`
	To               string  `json:"to"`
	EnergyKWh        float64 `json:"energy_kwh"`
	IntensityGPerKWh float64 `json:"consumption_weighted_g_per_kwh"`
	KgCO2e           float64 `json:"kg_co2e"`
}

// minBaselineCoverage is the least energy coverage a baseline month needs;
// the forecast and the change use the same bar for a complete month.
const minBaselineCoverage = 90.0

// Forecast and change windows.
const (
	forecastHorizon = 12 // months after the last full month
	historyMonths   = 48 // months looked back for the forecast's history
	changeMonths    = 12 // each period of the change
)

const decomposeMethod = "Shapley split of E·I: usage = ΔE × (I before + I after)/2, grid = ΔI × (E before + E after)/2; location-based"

func runCO2Target(ctx context.Context, opts co2TargetOptions, s streams) error {
	if opts.Config == "" {
		return usageErrorf("co2 target: --config FILE is required: the sites, devices and target come from it")
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	st, where, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	acc, err := newAccounting(cfg, st)
	if err != nil {
		return err
	}
	t := cfg.Target
	out := targetJSON{BaselineYear: t.BaselineYear, TargetYear: t.TargetYear, ReductionPct: t.ReductionPct,
		Store: where, Source: gridSource}
	for _, site := range cfg.Sites {
		out.Sites = append(out.Sites, site.Name)
	}
	// month computes (once) the figures of all sites for one month, and
	// what keeps it from being complete.
	cache := map[string]targetMonth{}
	month := func(year int, m time.Month) targetMonth {
		key := fmt.Sprintf("%d-%02d", year, int(m))
		if r, ok := cache[key]; ok {
			return r
		}
		from, to := grid.DanishMonth(year, m)
		f := monthFigure{Month: key, CoveragePct: 100}
		var missing []string
		for _, site := range cfg.Sites {
			r, err := acc.month(ctx, site, from, to)
			if err != nil {
				missing = append(missing, fmt.Sprintf("%s %s: %v", f.Month, site.Name, err))
				f.CoveragePct = 0
				continue
			}
			f.EnergyKWh += float64(r.energy)
			f.KgCO2e += float64(r.emissions)
			f.CoveragePct = min(f.CoveragePct, r.json.CoveragePct)
			for _, p := range r.json.Problems {
				missing = append(missing, fmt.Sprintf("%s %s: %s", f.Month, site.Name, p))
			}
		}
		if f.CoveragePct < minBaselineCoverage {
			missing = append(missing, fmt.Sprintf("%s: metered energy covers %.1f %% of the month (need ≥ %.0f %% for every site)",
				f.Month, f.CoveragePct, minBaselineCoverage))
		}
		res := targetMonth{fig: f, missing: missing}
		cache[key] = res
		return res
	}
	// months computes the figures of the sites' months of year, Jan..upTo.
	months := func(year int, upTo time.Month) ([]monthFigure, []string) {
		var figs []monthFigure
		var missing []string
		for m := time.January; m <= upTo; m++ {
			r := month(year, m)
			figs = append(figs, r.fig)
			missing = append(missing, r.missing...)
		}
		return figs, missing
	}
	base, missing := months(t.BaselineYear, time.December)
	out.BaselineMonths = base
	out.Missing = missing
	dnow := grid.Danish(now)
	year := dnow.Year()
	lastFull := dnow.Month() - 1 // the last complete month of this year; 0 in January
	out.Year = year
	if lastFull >= time.January {
		out.YearToDate, _ = months(year, lastFull)
	}

	// The baseline: the store's whole year, else the config's figure.
	var baseline float64
	switch {
	case len(missing) == 0:
		for _, f := range base {
			baseline += f.KgCO2e
		}
		out.BaselineFrom = baselineFromStore
		if t.BaselineKgCO2e != nil {
			out.BaselineNote = fmt.Sprintf("the config's target.baseline_kg_co2e (%.1f kg CO2e, %s) is not used: the store has the whole of %d",
				*t.BaselineKgCO2e, t.BaselineSource, t.BaselineYear)
		}
	case t.BaselineKgCO2e != nil:
		baseline = *t.BaselineKgCO2e
		out.BaselineFrom, out.BaselineSource = baselineFromConfig, t.BaselineSource
		out.BaselineNote = fmt.Sprintf("the store does not have the whole of %d (%s missing)", t.BaselineYear, plural(len(missing), "item"))
	}
	if out.BaselineFrom != "" {
		out.BaselineKgCO2e = &baseline
		tgt := target.Target{BaselineYear: t.BaselineYear, Baseline: units.KgCO2e(baseline), TargetYear: t.TargetYear, Reduction: t.ReductionPct / 100}
		if err := tgt.Validate(); err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("co2 target: %w", err)}
		}
		out.GoalKgCO2e = float64(tgt.Goal())
		out.PathYearKgCO2e = float64(tgt.Annual(year))
		var incomplete []string
		for m := time.January; m <= lastFull; m++ {
			if !month(year, m).complete() {
				incomplete = append(incomplete, out.YearToDate[m-1].Month)
			}
		}
		if len(incomplete) > 0 {
			out.PositionNote = fmt.Sprintf("no position against the path: %s not complete (need metered energy with ≥ %.0f %% coverage for every site)",
				strings.Join(incomplete, ", "), minBaselineCoverage)
		} else if len(out.YearToDate) > 0 {
			monthly := make([]units.KgCO2e, len(out.YearToDate))
			var ytd float64
			for i := range out.YearToDate {
				monthly[i] = units.KgCO2e(out.YearToDate[i].KgCO2e)
				out.YearToDate[i].PathKgCO2e = float64(tgt.Monthly(year, time.Month(i+1)))
				ytd += out.YearToDate[i].KgCO2e
			}
			pos, err := tgt.PositionOf(year, monthly)
			if err != nil {
				return err
			}
			dev := 100 * pos.Deviation
			out.Ahead, out.DeviationPct = &pos.Ahead, &dev
			out.AnnualisedKgCO2e = ytd * 12 / float64(len(monthly))
			req, err := tgt.RequiredAnnualReduction(units.KgCO2e(out.AnnualisedKgCO2e), year)
			if err != nil {
				return err
			}
			req *= 100
			out.RequiredAnnualPc = &req
		}
	}

	// The last full months, oldest first: enough for the forecast's history
	// and both periods of the change.
	var recent []targetMonth
	for k := historyMonths; k >= 1; k-- {
		y, m := addMonths(year, dnow.Month(), -k)
		recent = append(recent, month(y, m))
	}
	out.Forecast = forecastOf(recent, year)
	out.Change = changeOf(recent)

	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := writeTargetText(s.Out, out); err != nil {
		return err
	}
	if out.BaselineKgCO2e == nil {
		return fmt.Errorf("co2 target: no baseline emissions for %d (%s missing, and no target.baseline_kg_co2e in the config; see the output)",
			t.BaselineYear, plural(len(missing), "item"))
	}
	return nil
}

// addMonths returns the month k months after (before, for k < 0) year-m.
func addMonths(year int, m time.Month, k int) (int, time.Month) {
	i := year*12 + int(m) - 1 + k
	return i / 12, time.Month(i%12 + 1)
}

// targetMonth is the sites' figures for one month and what keeps the month
// from being complete.
type targetMonth struct {
	fig     monthFigure
	missing []string
}

// complete reports whether a month can enter the baseline, the forecast or
// the change: every site metered (≥ 90 % coverage) and some energy.
func (m targetMonth) complete() bool {
	return len(m.missing) == 0 && m.fig.EnergyKWh > 0
}

// forecastOf fits the trailing run of complete months of recent (oldest
// first, ending with the last full month) and forecasts forecastHorizon
// months: energy and consumption-weighted intensity separately, then their
// product where both are good enough.
func forecastOf(recent []targetMonth, year int) forecastJSON {
	out := forecastJSON{HorizonMonths: forecastHorizon}
	start := len(recent)
	for start > 0 && recent[start-1].complete() {
		start--
	}
	hist := recent[start:]
	var energy, intensity []float64
	for _, r := range hist {
		energy = append(energy, r.fig.EnergyKWh)
		intensity = append(intensity, 1000*r.fig.KgCO2e/r.fig.EnergyKWh)
	}
	out.HistoryMonths = len(hist)
	if len(hist) > 0 {
		out.HistoryFrom, out.HistoryTo = hist[0].fig.Month, hist[len(hist)-1].fig.Month
	}
	if len(hist) < target.MinMonths {
		out.Note = fmt.Sprintf("not available: %d complete months (≥ %.0f %% coverage) end with the last full month; need at least %d",
			len(hist), minBaselineCoverage, target.MinMonths)
		out.CombinedNote = "not good enough to show: too little history"
		return out
	}
	ly, lm, _ := parseMonthKey(out.HistoryTo)
	label := func(i int) string {
		y, m := addMonths(ly, lm, i+1)
		return fmt.Sprintf("%d-%02d", y, int(m))
	}
	fit := func(values []float64, unit string) *seriesForecast {
		f, err := target.MonthlyForecast(values, forecastHorizon)
		if err != nil {
			return &seriesForecast{Unit: unit, Model: "none: " + err.Error()}
		}
		sf := &seriesForecast{Unit: unit, Model: string(f.Model), Alpha: f.Alpha, Beta: f.Beta, Gamma: f.Gamma, Phi: f.Phi,
			CVRMSEPct: f.CVRMSE, NMBEPct: f.NMBE, GoodEnough: f.GoodEnough}
		if f.GoodEnough {
			for i, v := range f.Values {
				sf.Values = append(sf.Values, monthValue{Month: label(i), Value: v})
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
	out.CombinedNote = "energy forecast × intensity forecast / 1000; shown because both pass ASHRAE Guideline 14"
	for i := range out.Energy.Values {
		out.Combined = append(out.Combined, monthValue{Month: out.Energy.Values[i].Month,
			Value: out.Energy.Values[i].Value * out.Intensity.Values[i].Value / 1000})
	}
	// This year: its full months as measured, the rest as forecast; only
	// when every full month of the year is in the history.
	prefix := fmt.Sprintf("%d-", year)
	var sum float64
	measured := 0
	for _, r := range hist {
		if strings.HasPrefix(r.fig.Month, prefix) {
			sum += r.fig.KgCO2e
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

// parseMonthKey reads "YYYY-MM".
func parseMonthKey(s string) (int, time.Month, error) {
	t, err := time.Parse("2006-01", s)
	return t.Year(), t.Month(), err
}

// changeOf splits the change between the last changeMonths full months and
// the changeMonths before them, when all of them are complete.
func changeOf(recent []targetMonth) changeJSON {
	out := changeJSON{}
	if len(recent) < 2*changeMonths {
		out.Missing = []string{fmt.Sprintf("%d full months of history, need %d", len(recent), 2*changeMonths)}
		return out
	}
	window := recent[len(recent)-2*changeMonths:]
	for _, r := range window {
		if !r.complete() {
			if len(r.missing) == 0 {
				out.Missing = append(out.Missing, r.fig.Month+": no metered energy")
			}
			out.Missing = append(out.Missing, r.missing...)
		}
	}
	period := func(ms []targetMonth) *periodJSON {
		p := &periodJSON{From: ms[0].fig.Month, To: ms[len(ms)-1].fig.Month}
		for _, m := range ms {
			p.EnergyKWh += m.fig.EnergyKWh
			p.KgCO2e += m.fig.KgCO2e
		}
		if p.EnergyKWh > 0 {
			p.IntensityGPerKWh = 1000 * p.KgCO2e / p.EnergyKWh
		}
		return p
	}
	out.Before, out.After = period(window[:changeMonths]), period(window[changeMonths:])
	if len(out.Missing) > 0 {
		return out
	}
	ch := target.Decompose(
		target.Period{Energy: units.KWh(out.Before.EnergyKWh), Intensity: units.GramsPerKWh(out.Before.IntensityGPerKWh)},
		target.Period{Energy: units.KWh(out.After.EnergyKWh), Intensity: units.GramsPerKWh(out.After.IntensityGPerKWh)})
	out.Available = true
	out.TotalKgCO2e, out.GridKgCO2e, out.UsageKgCO2e = float64(ch.Total), float64(ch.Grid), float64(ch.Usage)
	out.Method = decomposeMethod
	return out
}

func writeTargetText(w io.Writer, out targetJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Target: −%g %% by %d against %d (location-based Scope 2; sites: %s)\n",
		out.ReductionPct, out.TargetYear, out.BaselineYear, strings.Join(out.Sites, ", "))
	if out.BaselineKgCO2e == nil {
		fmt.Fprintf(tw, "\nBaseline emissions for %d: not available.\n", out.BaselineYear)
		fmt.Fprintf(tw, "  Needed: every month of %d with metered energy (≥ %.0f %% coverage) for every site,\n", out.BaselineYear, minBaselineCoverage)
		fmt.Fprintf(tw, "  and grid intensity for it (imported data or grid.annual_factors); or the year's\n")
		fmt.Fprintf(tw, "  emissions from other records in the config: target.baseline_kg_co2e with\n")
		fmt.Fprintf(tw, "  target.baseline_source. Missing from the store:\n")
		for _, m := range summariseMissing(out.Missing) {
			fmt.Fprintf(tw, "    %s\n", m)
		}
	} else {
		label := "derived from the store (location-based, every month of the year)"
		if out.BaselineFrom == baselineFromConfig {
			label = fmt.Sprintf("from the config (target.baseline_kg_co2e; source: %s)", out.BaselineSource)
		}
		fmt.Fprintf(tw, "\n  baseline %d\t%.1f kg CO2e\t%s\n", out.BaselineYear, *out.BaselineKgCO2e, label)
		if out.BaselineNote != "" {
			fmt.Fprintf(tw, "  \t\t%s\n", out.BaselineNote)
		}
		fmt.Fprintf(tw, "  goal %d\t%.1f kg CO2e\n", out.TargetYear, out.GoalKgCO2e)
		fmt.Fprintf(tw, "  path %d\t%.1f kg CO2e\tglide path allowance for the year\n", out.Year, out.PathYearKgCO2e)
	}
	if len(out.YearToDate) > 0 {
		fmt.Fprintf(tw, "\n%d to date:\n", out.Year)
		for _, f := range out.YearToDate {
			fmt.Fprintf(tw, "  %s\t%.3f kWh\t%.3f kg CO2e\tcoverage %.1f %%", f.Month, f.EnergyKWh, f.KgCO2e, f.CoveragePct)
			if f.PathKgCO2e > 0 {
				fmt.Fprintf(tw, "\tpath %.3f kg", f.PathKgCO2e)
			}
			fmt.Fprintln(tw)
		}
		if out.Ahead != nil {
			state := "behind"
			if *out.Ahead {
				state = "ahead of"
			}
			fmt.Fprintf(tw, "  position\t%s the path\t%+.1f %% against it\n", state, *out.DeviationPct)
			fmt.Fprintf(tw, "  required reduction\t%.1f %% a year\tfrom %.1f kg CO2e a year (annualised year to date) to the goal\n",
				*out.RequiredAnnualPc, out.AnnualisedKgCO2e)
		}
		if out.PositionNote != "" {
			fmt.Fprintf(tw, "  %s\n", out.PositionNote)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err := writeForecastText(w, out); err != nil {
		return err
	}
	if err := writeChangeText(w, out.Change); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n%s\n", out.Store, out.Source)
	return err
}

func writeForecastText(w io.Writer, out targetJSON) error {
	f := out.Forecast
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if f.Note != "" {
		fmt.Fprintf(tw, "\nForecast: %s\n", f.Note)
		return tw.Flush()
	}
	fmt.Fprintf(tw, "\nForecast, %d months after %s (fitted on %s – %s, %d complete months; ASHRAE Guideline 14: CV(RMSE) ≤ %.0f %%, |NMBE| ≤ %.0f %%):\n",
		f.HorizonMonths, f.HistoryTo, f.HistoryFrom, f.HistoryTo, f.HistoryMonths, target.MaxCVRMSE, target.MaxNMBE)
	for _, s := range []struct {
		name string
		sf   *seriesForecast
	}{{"energy", f.Energy}, {"intensity", f.Intensity}} {
		verdict := "good enough"
		if !s.sf.GoodEnough {
			verdict = "not good enough to show"
		}
		fmt.Fprintf(tw, "  %s (%s)\t%s\tCV(RMSE) %.1f %%\tNMBE %+.1f %%\t%s\n", s.name, s.sf.Unit, s.sf.Model, s.sf.CVRMSEPct, s.sf.NMBEPct, verdict)
	}
	fmt.Fprintf(tw, "  combined (kg CO2e)\t%s\n", f.CombinedNote)
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(f.Energy.Values) == 0 && len(f.Intensity.Values) == 0 {
		return nil
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "  month\tkWh\tg/kWh\tkg CO2e\t\n")
	for i := range f.HorizonMonths {
		cell := func(vs []monthValue, format string) string {
			if i < len(vs) {
				return fmt.Sprintf(format, vs[i].Value)
			}
			return "—"
		}
		var month string
		switch {
		case i < len(f.Energy.Values):
			month = f.Energy.Values[i].Month
		default:
			month = f.Intensity.Values[i].Month
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t\n", month, cell(f.Energy.Values, "%.1f"), cell(f.Intensity.Values, "%.2f"), cell(f.Combined, "%.1f"))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if f.YearKgCO2e != nil {
		fmt.Fprintf(w, "  %d: %.1f kg CO2e expected (its full months as measured, the rest as forecast)", out.Year, *f.YearKgCO2e)
		if out.PathYearKgCO2e > 0 {
			fmt.Fprintf(w, "; path %.1f kg CO2e", out.PathYearKgCO2e)
		}
		fmt.Fprintln(w)
	}
	return nil
}

func writeChangeText(w io.Writer, c changeJSON) error {
	if !c.Available {
		fmt.Fprintf(w, "\nChange, last %d full months against the %d before: not available (needs %d complete months):\n",
			changeMonths, changeMonths, 2*changeMonths)
		for _, m := range summariseMissing(c.Missing) {
			fmt.Fprintf(w, "  %s\n", m)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nChange, last %d full months against the %d before (location-based):\n", changeMonths, changeMonths)
	for _, p := range []struct {
		name string
		p    *periodJSON
	}{{"before", c.Before}, {"after", c.After}} {
		fmt.Fprintf(tw, "  %s\t%s – %s\t%.3f kWh\t%.4f g/kWh\t%.3f kg CO2e\n", p.name, p.p.From, p.p.To, p.p.EnergyKWh, p.p.IntensityGPerKWh, p.p.KgCO2e)
	}
	gridLabel, usageLabel := "grid got cleaner", "we used less"
	if c.GridKgCO2e > 0 {
		gridLabel = "grid got dirtier"
	}
	if c.UsageKgCO2e > 0 {
		usageLabel = "we used more"
	}
	fmt.Fprintf(tw, "  total change\t%+.3f kg CO2e\n", c.TotalKgCO2e)
	fmt.Fprintf(tw, "  %s\t%+.3f kg CO2e\tintensity %.4f → %.4f g/kWh at the mean energy of both periods\n",
		gridLabel, c.GridKgCO2e, c.Before.IntensityGPerKWh, c.After.IntensityGPerKWh)
	fmt.Fprintf(tw, "  %s\t%+.3f kg CO2e\tenergy %.3f → %.3f kWh at the mean intensity of both periods\n",
		usageLabel, c.UsageKgCO2e, c.Before.EnergyKWh, c.After.EnergyKWh)
	fmt.Fprintf(tw, "  \t\tthe two parts sum to the total (%s)\n", c.Method)
	return tw.Flush()
}

// summariseMissing keeps the list short: at most 12 lines.
func summariseMissing(m []string) []string {
	if len(m) <= 12 {
		return m
	}
	return append(m[:11:11], fmt.Sprintf("… and %d more", len(m)-11))
}
