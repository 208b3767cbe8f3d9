package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/bench"
)

// defaultBenchInfluxd is where `make tools` builds influxd.
const defaultBenchInfluxd = ".tools/bin/influxd"

func newBenchServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "run the real serve path against N simulated SNMP agents and M BMCs and measure its cost",
		UsageText: "ecometer bench serve [--devices N] [--bmcs M] [--cycles K] [--interval D] [--dead-pct P]\n" +
			"                     [--recording FILE]... [--mockup DIR] [--store sqlite|influxdb]... [--influxd BIN]\n" +
			"                     [--cpuprofile FILE] [--json]",
		Description: "Starts N simulated SNMP agents (the recordings mixed round-robin, one UDP port each)\n" +
			"and M simulated BMCs (HTTPS) on 127.0.0.1 in a child process, so that this process's\n" +
			"CPU time and peak RSS are ecometer's own. Then runs the real serve path (config file,\n" +
			"collectors, gocron runner, store, /metrics and /healthz server) with every device\n" +
			"polled each --interval: one unmeasured cycle (profile detection, BMC discovery), then\n" +
			"K measured cycles. Once per store: the embedded SQLite store, and InfluxDB 1.8 through\n" +
			"the outbox when an influxd binary is found (--influxd, default " + defaultBenchInfluxd + ");\n" +
			"then again with --dead-pct of the SNMP devices dead (their requests unanswered), to\n" +
			"show whether the live devices' latency moves.\n\n" +
			"Prints per run: device-polls/s, CPU-seconds per 1000 device-polls (getrusage, this\n" +
			"process only), cores used, peak RSS (VmHWM, reset per run), points written/s, the\n" +
			"outbox's largest queue, p50/p99 poll latency of live and dead devices, and the\n" +
			"load average (the machine may be shared: compare CPU-seconds, not wall time);\n" +
			"then where the memory goes: the Go runtime's own, the heap live after a GC and the\n" +
			"size the GC lets it reach. The serve path runs with serve's GC settings: GOGC 50\n" +
			"unless the environment sets GOGC, and --memory-limit.\n" +
			"The recordings default to " + fmt.Sprint(bench.DefaultServeRecordings) + ",\n" +
			"the mockup to " + defaultBenchMockup + ".\n\n" +
			"Examples:\n" +
			"   ecometer bench serve --devices 1000 --interval 10s --cycles 3\n" +
			"   ecometer bench serve --devices 10000 --bmcs 100 --interval 60s --cycles 3 --json > serve.json\n" +
			"   ecometer bench serve --devices 1000 --interval 10s --cpuprofile serve.pprof   # go tool pprof",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "devices", Usage: "simulated SNMP agents `N`", Value: 1000},
			&cli.IntFlag{Name: "bmcs", Usage: "simulated Redfish BMCs `M`", Value: 10},
			&cli.IntFlag{Name: "cycles", Usage: "measured poll cycles `K`", Value: 3},
			&cli.DurationFlag{Name: "interval", Usage: "every device's poll `INTERVAL`", Value: 60 * time.Second},
			&cli.FloatFlag{Name: "dead-pct", Usage: "share `P` of SNMP devices dead in the second run (0: no second run)", Value: 10},
			&cli.StringSliceFlag{Name: "recording", Usage: "an .snmprec `FILE` the agents serve (repeatable)"},
			&cli.StringFlag{Name: "mockup", Usage: "the Redfish mockup `DIR` the BMCs serve"},
			&cli.StringSliceFlag{Name: "store", Usage: "sqlite or influxdb (repeatable; default sqlite, and influxdb when influxd is found)"},
			&cli.StringFlag{Name: "influxd", Usage: "an influxd 1.8 `BINARY` for the InfluxDB runs (default " + defaultBenchInfluxd + " if present)"},
			&cli.DurationFlag{Name: "timeout", Usage: "SNMP timeout per request", Value: 2 * time.Second},
			&cli.IntFlag{Name: "retries", Usage: "SNMP retries", Value: 1},
			&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the first run's measured cycles to `FILE`"},
			&cli.StringFlag{Name: "memory-limit", Usage: "run serve with this soft heap limit `SIZE` (as serve --memory-limit)"},
			&cli.StringFlag{Name: "memprofile", Usage: "write a heap profile at the end of the first run's measured cycles to `FILE`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			// The child process.
			&cli.BoolFlag{Name: "simulate", Hidden: true},
			&cli.IntFlag{Name: "dead", Hidden: true},
			&cli.StringFlag{Name: "ca-file", Hidden: true},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			s := streamsOf(cmd)
			if cmd.Bool("simulate") {
				return benchError(bench.ServeSimulators(ctx, bench.SimulateOptions{Devices: cmd.Int("devices"),
					Dead: cmd.Int("dead"), BMCs: cmd.Int("bmcs"), Recordings: cmd.StringSlice("recording"),
					Mockup: cmd.String("mockup"), CAFile: cmd.String("ca-file")}, os.Stdin, s.Out))
			}
			influxd := cmd.String("influxd")
			if influxd == "" {
				if _, err := os.Stat(defaultBenchInfluxd); err == nil {
					influxd = defaultBenchInfluxd
				}
			}
			// The serve path runs in this process: its GC as serve's.
			if err := tuneGC("bench serve", cmd.String("memory-limit")); err != nil {
				return err
			}
			var progress io.Writer
			if isTerminal(os.Stderr) && s.ErrOut == io.Writer(os.Stderr) {
				progress = s.ErrOut
			}
			return runBenchServe(ctx, benchServeOptions{ServeOptions: bench.ServeOptions{
				Devices: cmd.Int("devices"), BMCs: cmd.Int("bmcs"), Cycles: cmd.Int("cycles"),
				Interval: cmd.Duration("interval"), DeadPct: cmd.Float("dead-pct"),
				Recordings: cmd.StringSlice("recording"), Mockup: cmd.String("mockup"), Stores: cmd.StringSlice("store"),
				Influxd: influxd, Timeout: cmd.Duration("timeout"), Retries: cmd.Int("retries"),
				CPUProfile: cmd.String("cpuprofile"), MemProfile: cmd.String("memprofile"), Progress: progress,
			}, JSON: cmd.Bool("json")}, s)
		},
	}
}

type benchServeOptions struct {
	bench.ServeOptions
	JSON bool
}

func runBenchServe(ctx context.Context, opts benchServeOptions, s streams) error {
	res, err := bench.Serve(ctx, opts.ServeOptions)
	if err != nil {
		return benchError(err)
	}
	if opts.JSON {
		return writeJSON(s.Out, res)
	}
	return writeBenchServe(s.Out, res)
}

func writeBenchServe(w io.Writer, r bench.ServeResult) error {
	if len(r.Runs) == 0 {
		return nil
	}
	f := r.Runs[0]
	fmt.Fprintf(w, "ecometer bench serve: %d SNMP agents (%d recordings mixed) and %d BMCs on 127.0.0.1, in a child process\n",
		f.SNMPDevices, len(r.Recordings), f.BMCs)
	fmt.Fprintf(w, "every device polled each %s; %d measured cycles after one unmeasured; GOMAXPROCS %d; load average before: %s\n\n",
		fmtInterval(time.Duration(f.IntervalSeconds*float64(time.Second))), f.Cycles, r.GOMAXPROCS, r.LoadAvgBefore)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "store\tdead\tpolls/s\tCPU-s/1000 polls\tcores\tpeak RSS MiB\tpoints/s\tlive p50 ms\tlive p99 ms\tdead p99 ms\toutbox peak\tstop s\tload after\t")
	for _, run := range r.Runs {
		outbox := "-"
		if run.Store == "influxdb" {
			outbox = fmt.Sprintf("%d batches", run.OutboxPeakBatches)
		}
		dead := "-"
		if run.DeadDevices > 0 {
			dead = fmt.Sprintf("%.0f", run.DeadP99ms)
		}
		fmt.Fprintf(tw, "%s\t%d\t%.0f\t%.3f\t%.3f\t%.0f\t%.0f\t%.1f\t%.1f\t%s\t%s\t%.1f\t%s\t\n", run.Store, run.DeadDevices,
			run.PollsPerSec, run.CPUPer1000, run.Cores, run.PeakRSSMiB, run.PointsPerSec, run.LiveP50ms, run.LiveP99ms,
			dead, outbox, run.StopSeconds, run.LoadAvg)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nCPU and RSS are this process's: the serve path (collectors, scheduler, store, outbox,")
	fmt.Fprintln(w, "HTTP server); the simulators run in a child process and are not counted.")
	for _, run := range r.Runs {
		per10k := run.CPUPer1000 * 10 / 60
		fmt.Fprintf(w, "%s, %d dead: 10,000 devices per 60 s would take %.3f cores (goal < 0.3)\n", run.Store, run.DeadDevices, per10k)
		if run.LiveErrors > 0 {
			fmt.Fprintf(w, "warning: %s, %d dead: %d live polls failed, first: %s\n", run.Store, run.DeadDevices, run.LiveErrors, run.FirstError)
		}
	}
	fmt.Fprintln(w, "\nMemory (largest seen): Go's own (heap, stacks, runtime), of which the heap live after a GC")
	fmt.Fprintln(w, "and the size the GC lets it reach (GOGC, --memory-limit); the rest of RSS is outside Go.")
	for _, run := range r.Runs {
		fmt.Fprintf(w, "%s, %d dead: peak RSS %.0f MiB; Go %.0f MiB (heap live %.0f, goal %.0f); %d goroutines\n", run.Store, run.DeadDevices,
			run.PeakRSSMiB, run.GoRuntimeMiB, run.HeapLiveMiB, run.HeapGoalMiB, run.Goroutines)
	}
	return nil
}
