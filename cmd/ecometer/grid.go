package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/grid"
)

func configFlag() cli.Flag {
	return &cli.StringFlag{Name: "config", Usage: "config `FILE` naming the store (default: embedded store in ./ecometer-data)"}
}

func newGridCommand() *cli.Command {
	return &cli.Command{
		Name:      "grid",
		Usage:     "import, fetch and summarise grid carbon intensity (Energinet)",
		UsageText: "ecometer grid <import|fetch|stats> [options]",
		Description: "Hourly grid intensity per price area, from Energinet's CO2Emis, CO2EmisProg and\n" +
			"DeclarationGridEmission datasets. " + gridSource + "\n\n" +
			"Examples:\n   ecometer grid import --config site.yaml CO2Emis_2025.csv\n" +
			"   ecometer grid fetch --config site.yaml --area DK1 --from 2026-10-01 --to 2026-11-01\n" +
			"   ecometer grid stats --config site.yaml --month 2025-10 --area DK1",
		Commands: []*cli.Command{
			{
				Name:      "import",
				Usage:     "store Energinet CSV or JSON exports; a bad file stores nothing",
				UsageText: "ecometer grid import [--config FILE] [--dataset NAME] FILE...",
				Description: "Every file is parsed before anything is stored; a bad file is reported as\n" +
					"FILE:LINE:COLUMN and nothing is imported (exit 2). Importing a period again\n" +
					"replaces it. UTC columns are preferred; for files with only Danish local time\n" +
					"the repeated October hour is resolved by row order, and the output says so.\n\n" +
					"The dataset is told by the file, never by its name: DeclarationGridEmission by its\n" +
					"columns, CO2Emis (realised) and CO2EmisProg (forecast) by the \"dataset\" field of\n" +
					"an Energi Data Service JSON response. A CSV of five-minute data says neither, so\n" +
					"--dataset must name it.\n\n" +
					"Examples:\n   ecometer grid import --config site.yaml --dataset CO2EmisProg CO2EmisProg_DK1_2024-2025.csv\n" +
					"   ecometer grid import --config site.yaml DeclarationGridEmission_DK1_2022-2023.csv",
				Flags: []cli.Flag{configFlag(),
					&cli.StringFlag{Name: "dataset", Usage: "what the files hold, where they cannot say: `NAME` CO2Emis, CO2EmisProg or DeclarationGridEmission"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if cmd.Args().Len() == 0 {
						return usageErrorf("%s: want at least one FILE (usage: %s)", commandPath(cmd), cmd.UsageText)
					}
					return runGridImport(ctx, gridImportOptions{Config: cmd.String("config"), Dataset: cmd.String("dataset"),
						Files: cmd.Args().Slice()}, streamsOf(cmd))
				},
			},
			newGridFetchCommand(),
			{
				Name:      "stats",
				Usage:     "mean, min and max intensity and coverage of one month",
				UsageText: "ecometer grid stats [--config FILE] --month YYYY-MM [--area DK1|DK2] [--json]",
				Description: "The month is the Danish calendar month. The mean is the plain mean of the\n" +
					"hourly values (not weighted by consumption).\n\n" +
					"Example:\n   ecometer grid stats --config site.yaml --month 2025-10 --area DK1",
				Flags: []cli.Flag{
					configFlag(),
					&cli.StringFlag{Name: "month", Usage: "Danish calendar `MONTH`, YYYY-MM", Required: true},
					&cli.StringFlag{Name: "area", Usage: "price `AREA` (default: grid.area of the config, DK1)"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					if cmd.Args().Present() {
						return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
					}
					return runGridStats(ctx, gridStatsOptions{Config: cmd.String("config"), Month: cmd.String("month"),
						Area: cmd.String("area"), JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
		},
	}
}

type gridImportOptions struct {
	Config  string
	Dataset string // what the files hold, where they cannot say
	Files   []string
}

// parsedFile is one parsed export.
type parsedFile struct {
	name    string
	dataset string
	imp     grid.Import
}

func runGridImport(ctx context.Context, opts gridImportOptions, s streams) error {
	cfg, note, err := loadConfigOrDefault(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	progress := progressTo(s.ErrOut)
	// Parse everything first: one bad file and nothing is stored.
	var files []parsedFile
	for _, name := range opts.Files {
		fmt.Fprintf(progress, "parsing %s…\n", name)
		f, err := os.Open(name)
		if err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("grid import: %w (nothing imported)", err)}
		}
		imp, err := grid.Parse(name, f, grid.Options{})
		f.Close()
		if err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("grid import: %w (nothing imported)", err)}
		}
		dataset, err := imp.DatasetName(opts.Dataset)
		if err != nil {
			return usageErrorf("grid import: %s: %v (nothing imported)", name, err)
		}
		files = append(files, parsedFile{name: name, dataset: dataset, imp: imp})
	}
	st, where, err := openStore(ctx, cfg, backend.ReadWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	var all []store.GridHour
	for _, f := range files {
		all = append(all, store.GridHoursOf(f.imp.Hours, f.dataset)...)
	}
	fmt.Fprintf(progress, "storing %d hours…\n", len(all))
	if err := st.WriteGrid(ctx, all); err != nil {
		return err
	}
	for _, f := range files {
		if err := writeImportSummary(s.Out, f.name, f.dataset, f.imp); err != nil {
			return err
		}
	}
	_, err = fmt.Fprintf(s.Out, "Stored %s in %s%s.\n%s\n", plural(len(all), "hour"), where, note, gridSource)
	return err
}

// areaSpan describes one area's hours in an import.
type areaSpan struct {
	Area        string
	Hours       int
	First, Last time.Time
	GapHours    int // hours between first and last without a value
	Partial     int // 5-minute data: hours with fewer than 12 intervals
}

func spans(values []grid.HourValue, dataset grid.Dataset) []areaSpan {
	var out []areaSpan
	for _, v := range values {
		if len(out) == 0 || out[len(out)-1].Area != v.Area {
			out = append(out, areaSpan{Area: v.Area, First: v.Hour})
		}
		a := &out[len(out)-1]
		a.Hours++
		a.Last = v.Hour
		if dataset == grid.FiveMinute && v.Intervals < 12 {
			a.Partial++
		}
	}
	for i := range out {
		a := &out[i]
		a.GapHours = int(a.Last.Sub(a.First)/time.Hour) + 1 - a.Hours
	}
	return out
}

const hourFormat = "2006-01-02T15:04Z"

func writeImportSummary(w io.Writer, name, dataset string, imp grid.Import) error {
	for _, a := range spans(imp.Hours, imp.Dataset) {
		fmt.Fprintf(w, "%s: %s, %s, %s %s … %s", name, dataset, a.Area, plural(a.Hours, "hour"),
			a.First.UTC().Format(hourFormat), a.Last.UTC().Format(hourFormat))
		gaps := fmt.Sprintf("%s without data", plural(a.GapHours, "hour"))
		if imp.Dataset == grid.FiveMinute {
			gaps += fmt.Sprintf(", %d partial (fewer than 12 five-minute values)", a.Partial)
		}
		fmt.Fprintf(w, "; gaps: %s\n", gaps)
	}
	fmt.Fprintf(w, "  %s records used", fmt.Sprint(imp.Records))
	if imp.Missing > 0 {
		fmt.Fprintf(w, ", %d without a value", imp.Missing)
	}
	if imp.Skipped > 0 {
		fmt.Fprintf(w, ", %d of another fuel allocation method skipped", imp.Skipped)
	}
	_, err := fmt.Fprintf(w, "; %s\n", imp.TimeNote())
	return err
}

type gridStatsOptions struct {
	Config string
	Month  string
	Area   string
	JSON   bool
}

// parseMonth parses YYYY-MM as a Danish calendar month that has begun at
// now (time.Now when zero): a bad or future month is a usage error.
func parseMonth(flag, s string, now time.Time) (accounting.Period, error) {
	if now.IsZero() {
		now = time.Now()
	}
	p, err := accounting.ParseMonth(s, now)
	if err != nil {
		return p, usageErrorf("--%s: %v", flag, err)
	}
	return p, nil
}

// gridStatsJSON is the --json output of grid stats.
type gridStatsJSON struct {
	Area          string    `json:"area"`
	Month         string    `json:"month"`
	From          time.Time `json:"from"`
	To            time.Time `json:"to"`
	MeanGPerKWh   float64   `json:"mean_g_per_kwh"`
	MinGPerKWh    float64   `json:"min_g_per_kwh"`
	MaxGPerKWh    float64   `json:"max_g_per_kwh"`
	Hours         int       `json:"hours"`
	HoursInPeriod int       `json:"hours_in_period"`
	Intervals     int       `json:"intervals"`
	Datasets      []string  `json:"datasets"`
	Store         string    `json:"store"`
	Source        string    `json:"source"`
}

func runGridStats(ctx context.Context, opts gridStatsOptions, s streams) error {
	// Forecast data may reach into a month that has not begun.
	period, err := accounting.ParseMonth(opts.Month, time.Time{})
	if err != nil {
		return usageErrorf("--month: %v", err)
	}
	cfg, note, err := loadConfigOrDefault(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	area := opts.Area
	if area == "" {
		area = string(cfg.Grid.Area)
	}
	if area != "DK1" && area != "DK2" {
		return usageErrorf("--area %q: want DK1 or DK2", area)
	}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	from, to := period.From, period.To
	hours, err := st.GridHours(ctx, area, from, to)
	if err != nil {
		return err
	}
	if len(hours) == 0 {
		return fmt.Errorf("grid stats: no %s intensity for %s in %s%s; add it with `ecometer grid import` or `ecometer grid fetch`",
			area, opts.Month, where, note)
	}
	stats, err := grid.PeriodStats(area, store.HourValues(hours), from, to)
	if err != nil {
		return err
	}
	var datasets []string
	for _, h := range hours {
		if !slices.Contains(datasets, h.Dataset) {
			datasets = append(datasets, h.Dataset)
		}
	}
	slices.Sort(datasets)
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(gridStatsJSON{
			Area: area, Month: opts.Month, From: from, To: to,
			MeanGPerKWh: float64(stats.Mean), MinGPerKWh: float64(stats.Min), MaxGPerKWh: float64(stats.Max),
			Hours: stats.Hours, HoursInPeriod: stats.HoursInPeriod, Intervals: stats.Intervals,
			Datasets: datasets, Store: where + note, Source: gridSource,
		})
	}
	tw := tabwriter.NewWriter(s.Out, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "Grid intensity %s, %s (Danish calendar month: %s – %s)\n", area, opts.Month,
		from.Format(hourFormat), to.Format(hourFormat))
	fmt.Fprintf(tw, "  mean\t%.4f g CO2/kWh\t(plain mean of the hourly values)\n", float64(stats.Mean))
	fmt.Fprintf(tw, "  min\t%.4f g CO2/kWh\n", float64(stats.Min))
	fmt.Fprintf(tw, "  max\t%.4f g CO2/kWh\n", float64(stats.Max))
	fmt.Fprintf(tw, "  hours covered\t%d of %d\t(%.1f %%)\n", stats.Hours, stats.HoursInPeriod,
		100*float64(stats.Hours)/float64(stats.HoursInPeriod))
	fmt.Fprintf(tw, "  intervals covered\t%d\t(five-minute values, or hourly records)\n", stats.Intervals)
	fmt.Fprintf(tw, "  datasets\t%s\n", strings.Join(datasets, ", "))
	fmt.Fprintf(tw, "  store\t%s%s\n", where, note)
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err = fmt.Fprintln(s.Out, gridSource)
	return err
}
