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

	"github.com/ecometer/ecometer/internal/monthcache"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/models/target"
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
			"Months whose figures cannot have changed since an earlier run (same configuration,\n" +
			"program, grid data and samples) come from the month cache in\n" +
			"<storage.data_dir>/cache/months (embedded store only); --no-cache reads every month.\n\n" +
			"Example:\n   ecometer co2 target --config site.yaml",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store, target)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "no-cache", Usage: "account every month from the store, not from the month cache"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runCO2Target(ctx, co2TargetOptions{Config: cmd.String("config"), JSON: cmd.Bool("json"), NoCache: cmd.Bool("no-cache")}, streamsOf(cmd))
		},
	}
}

type co2TargetOptions struct {
	Config  string
	JSON    bool
	NoCache bool
	Now     time.Time // zero: time.Now
}

// targetJSON is the --json output: the view and where its data came from.
type targetJSON struct {
	targetview.View
	Store  string `json:"store"`
	Source string `json:"source"`
}

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
	v, err := openAccounting(ctx, cfg)
	if err != nil {
		return err
	}
	defer v.Close()
	acc, where := v.acc, v.where
	ms := targetview.NewMonths(acc)
	if !opts.NoCache {
		// Opened before anything is read (see monthcache); without it
		// every month is read.
		if c, err := monthcache.OpenDefault(ctx, cfg, cfg.Sites, v.st, time.Now()); err == nil {
			ms.Keep(c)
		} else if !monthcache.Skippable(err) {
			fmt.Fprintf(s.ErrOut, "co2 target: month cache not used: %v\n", err)
		}
	}
	view, err := targetview.Compute(ctx, ms, now)
	if err != nil {
		return fmt.Errorf("co2 target: %w", err)
	}
	out := targetJSON{View: view, Store: where, Source: gridSource}
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
			cfg.Target.BaselineYear, plural(len(out.Missing), "item"))
	}
	return nil
}

func writeTargetText(w io.Writer, out targetJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Target: −%g %% by %d against %d (location-based Scope 2; sites: %s)\n",
		out.ReductionPct, out.TargetYear, out.BaselineYear, strings.Join(out.Sites, ", "))
	if out.BaselineKgCO2e == nil {
		fmt.Fprintf(tw, "\nBaseline emissions for %d: not available.\n", out.BaselineYear)
		fmt.Fprintf(tw, "  Needed: every month of %d with metered energy (≥ %.0f %% coverage) for every site,\n", out.BaselineYear, targetview.MinCoverage)
		fmt.Fprintf(tw, "  and grid intensity for it (imported data, or grid.annual_factors with its source:\n")
		fmt.Fprintf(tw, "  ecometer's built-in Energinet data covers DK1 from 2022 only); or the year's\n")
		fmt.Fprintf(tw, "  emissions from other records in the config: target.baseline_kg_co2e with\n")
		fmt.Fprintf(tw, "  target.baseline_source. Missing from the store:\n")
		for _, m := range summariseMissing(out.Missing) {
			fmt.Fprintf(tw, "    %s\n", m)
		}
	} else {
		label := "derived from the store (location-based, every month of the year)"
		if out.BaselineFrom == targetview.BaselineFromConfig {
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
		sf   *targetview.Series
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
		cell := func(vs []targetview.MonthValue, format string) string {
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

func writeChangeText(w io.Writer, c targetview.Change) error {
	if !c.Available {
		fmt.Fprintf(w, "\nChange, last %d full months against the %d before: not available (needs %d complete months):\n",
			targetview.ChangeMonths, targetview.ChangeMonths, 2*targetview.ChangeMonths)
		for _, m := range summariseMissing(c.Missing) {
			fmt.Fprintf(w, "  %s\n", m)
		}
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nChange, last %d full months against the %d before (location-based):\n", targetview.ChangeMonths, targetview.ChangeMonths)
	for _, p := range []struct {
		name string
		p    *targetview.Period
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
