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
		Usage:     "position against the reduction target (glide path from the baseline year)",
		UsageText: "ecometer co2 target --config FILE [--json]",
		Description: "The target is the config's target section (default −35 % by 2030 against 2020).\n" +
			"The baseline is the location-based emission of the baseline year, derived from\n" +
			"the store; when the store cannot give it, the command says what is missing and\n" +
			"exits 1.\n\n" +
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

type targetJSON struct {
	BaselineYear int      `json:"baseline_year"`
	TargetYear   int      `json:"target_year"`
	ReductionPct float64  `json:"reduction_pct"`
	Sites        []string `json:"sites"`

	BaselineKgCO2e   *float64      `json:"baseline_kg_co2e"` // null when not derivable
	BaselineMonths   []monthFigure `json:"baseline_months"`
	Missing          []string      `json:"missing,omitempty"`
	GoalKgCO2e       float64       `json:"goal_kg_co2e,omitempty"`
	Year             int           `json:"year"`
	YearToDate       []monthFigure `json:"year_to_date"`
	PathYearKgCO2e   float64       `json:"path_year_kg_co2e,omitempty"`
	Ahead            *bool         `json:"ahead_of_path,omitempty"`
	DeviationPct     *float64      `json:"deviation_from_path_pct,omitempty"`
	RequiredAnnualPc *float64      `json:"required_annual_reduction_pct,omitempty"`
	AnnualisedKgCO2e float64       `json:"annualised_kg_co2e,omitempty"`
	Store            string        `json:"store"`
	Source           string        `json:"source"`
}

// minBaselineCoverage is the least energy coverage a baseline month needs.
const minBaselineCoverage = 90.0

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
	// months computes the figures of the sites' months of year, Jan..upTo.
	months := func(year int, upTo time.Month) ([]monthFigure, []string, error) {
		var figs []monthFigure
		var missing []string
		for m := time.January; m <= upTo; m++ {
			from, to := grid.DanishMonth(year, m)
			f := monthFigure{Month: fmt.Sprintf("%d-%02d", year, int(m)), CoveragePct: 100}
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
			figs = append(figs, f)
		}
		return figs, missing, nil
	}
	base, missing, err := months(t.BaselineYear, time.December)
	if err != nil {
		return err
	}
	out.BaselineMonths = base
	out.Missing = missing
	year := grid.Danish(now).Year()
	lastFull := grid.Danish(now).Month() - 1 // the last complete month
	out.Year = year
	if lastFull >= time.January {
		out.YearToDate, _, err = months(year, lastFull)
		if err != nil {
			return err
		}
	}
	if len(missing) == 0 {
		var sum float64
		for _, f := range base {
			sum += f.KgCO2e
		}
		out.BaselineKgCO2e = &sum
		tgt := target.Target{BaselineYear: t.BaselineYear, Baseline: units.KgCO2e(sum), TargetYear: t.TargetYear, Reduction: t.ReductionPct / 100}
		if err := tgt.Validate(); err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("co2 target: %w", err)}
		}
		out.GoalKgCO2e = float64(tgt.Goal())
		out.PathYearKgCO2e = float64(tgt.Annual(year))
		if len(out.YearToDate) > 0 {
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
		return fmt.Errorf("co2 target: no baseline emissions for %d (%s missing; see the output)", t.BaselineYear, plural(len(missing), "item"))
	}
	return nil
}

func writeTargetText(w io.Writer, out targetJSON) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Target: −%g %% by %d against %d (location-based Scope 2; sites: %s)\n",
		out.ReductionPct, out.TargetYear, out.BaselineYear, strings.Join(out.Sites, ", "))
	if out.BaselineKgCO2e == nil {
		fmt.Fprintf(tw, "\nBaseline emissions for %d: not available.\n", out.BaselineYear)
		fmt.Fprintf(tw, "  Needed: every month of %d with metered energy (≥ %.0f %% coverage) for every site,\n", out.BaselineYear, minBaselineCoverage)
		fmt.Fprintf(tw, "  and grid intensity for it (imported data or grid.annual_factors). The config has no\n")
		fmt.Fprintf(tw, "  key for a baseline emission figure, so the store must supply it. Missing:\n")
		for _, m := range summariseMissing(out.Missing) {
			fmt.Fprintf(tw, "    %s\n", m)
		}
	} else {
		fmt.Fprintf(tw, "\n  baseline %d\t%.1f kg CO2e\tderived from the store\n", out.BaselineYear, *out.BaselineKgCO2e)
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
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n%s\n", out.Store, out.Source)
	return err
}

// summariseMissing keeps the list short: at most 12 lines.
func summariseMissing(m []string) []string {
	if len(m) <= 12 {
		return m
	}
	return append(m[:11:11], fmt.Sprintf("… and %d more", len(m)-11))
}
