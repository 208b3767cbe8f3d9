package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/bench"
)

func newBenchModelCommand() *cli.Command {
	return &cli.Command{
		Name:      "model",
		Usage:     "time a year of hourly data for N meters through the energy model, from the embedded store",
		UsageText: "ecometer bench model [--meters N] [--days D] [--data-dir DIR [--reuse]] [--cpuprofile FILE] [--json]",
		Description: "Loads D days of hourly rollups for N meters into an embedded SQLite store, as\n" +
			"Compact leaves a year of collection behind (set-up, timed apart), then measures what\n" +
			"the accounting does with it: read every meter-hour back (HourlyEach, streamed),\n" +
			"run each meter's hours through energy.HourlyFromAggregates, one meter at a time,\n" +
			"and total the energy per site and hour. Reports elapsed time, CPU, peak RSS\n" +
			"(getrusage; the whole process, so the load is included unless --reuse) and heap.\n" +
			"Three of four meters report a counter and power, the fourth power only; about\n" +
			"one hour in 1,000 is missing and one in 97 has half its samples.\n" +
			"Without --data-dir the store goes to a temporary directory that is removed at the\n" +
			"end; a --data-dir is kept, and --reuse measures a store an earlier run loaded there.\n\n" +
			"Examples:\n" +
			"   ecometer bench model --meters 5000 --days 365 --data-dir /tmp/bench-model\n" +
			"   ecometer bench model --meters 5000 --days 365 --data-dir /tmp/bench-model --reuse --json",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "meters", Usage: "number of meters `N`", Value: 5000},
			&cli.IntFlag{Name: "days", Usage: "days `D` of hourly data per meter", Value: 365},
			&cli.StringFlag{Name: "data-dir", Usage: "`DIR` for the store, kept afterwards (default: a temporary directory, removed)"},
			&cli.BoolFlag{Name: "reuse", Usage: "measure the store an earlier run loaded into --data-dir (same --meters and --days)"},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the measurement to `FILE`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			s := streamsOf(cmd)
			return runBenchModel(ctx, benchModelOptions{ModelOptions: bench.ModelOptions{
				Meters: cmd.Int("meters"), Days: cmd.Int("days"), DataDir: cmd.String("data-dir"),
				Reuse: cmd.Bool("reuse"), CPUProfile: cmd.String("cpuprofile"),
				Progress: progressTo(s.ErrOut),
			}, JSON: cmd.Bool("json")}, s)
		},
	}
}

type benchModelOptions struct {
	bench.ModelOptions
	JSON bool
}

type benchModelResult = bench.ModelResult

// runBenchModel runs the model bench and prints its result.
func runBenchModel(ctx context.Context, opts benchModelOptions, s streams) error {
	res, err := bench.Model(ctx, opts.ModelOptions)
	if err != nil {
		return benchError(err)
	}
	if opts.JSON {
		return writeJSON(s.Out, res)
	}
	return writeBenchModel(s.Out, res)
}

func writeBenchModel(w io.Writer, r benchModelResult) error {
	fmt.Fprintf(w, "ecometer bench model: %d meters × %d days of hourly rollups, %d sites, embedded SQLite in %s (%.2f GiB)\n",
		r.Meters, r.Days, r.Sites, r.DataDir, float64(r.DBBytes)/(1<<30))
	if r.Load != nil {
		fmt.Fprintf(w, "load (set-up, not the figure): %d rows in %.1f s (%.0f rows/s, WriteHourly)\n",
			r.Load.Rows, r.Load.Seconds, r.Load.RowsPerSecond)
	} else {
		fmt.Fprintf(w, "load: reused the store an earlier run loaded\n")
	}
	fmt.Fprintf(w, "\nmeasured: every meter-hour read back (HourlyEach), each meter through energy.HourlyFromAggregates,\nenergy totalled per site and hour; GOMAXPROCS %d\n\n", r.GOMAXPROCS)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "  meter-hours read\t%d\n", r.MeterHours)
	fmt.Fprintf(tw, "  hourly energies\t%d (counter %d, integrated %d)\n", r.EnergyHours, r.CounterHours, r.IntegratedHrs)
	fmt.Fprintf(tw, "  site-hours\t%d with energy, %.1f MWh in all\n", r.SiteHours, r.EnergyKWh/1000)
	fmt.Fprintf(tw, "  elapsed\t%.1f s  (%.2f M meter-hours/s; goal ≤ %.0f s)\n", r.ElapsedSeconds, r.RowsPerSecond/1e6, r.GoalSeconds)
	fmt.Fprintf(tw, "  CPU\t%.1f s user+sys\n", r.CPUSeconds)
	rss := fmt.Sprintf("%.0f MiB  (goal ≤ %.0f MiB)", r.PeakRSSMiB, r.GoalRSSMiB)
	if r.Load != nil {
		rss += fmt.Sprintf("; process high-water mark, the load included (%.0f MiB after it)", r.LoadRSSMiB)
	}
	fmt.Fprintf(tw, "  peak RSS\t%s\n", rss)
	fmt.Fprintf(tw, "  heap\t%.0f MiB peak in use, %.2f GiB allocated, %d GC cycles\n", r.PeakHeapMiB, r.AllocatedGiB, r.GCCycles)
	if err := tw.Flush(); err != nil {
		return err
	}
	verdict := "met"
	if !r.GoalMet {
		verdict = "NOT met"
	}
	fmt.Fprintf(w, "\ngoal (≤ %.0f s, ≤ %.0f MiB): %s\n", r.GoalSeconds, r.GoalRSSMiB, verdict)
	if r.CPUProfileFile != "" {
		fmt.Fprintf(w, "CPU profile of the measurement: %s\n", r.CPUProfileFile)
	}
	return nil
}
