package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/bench"
)

// defaultBenchMockup is the mockup bench redfish serves by default.
const defaultBenchMockup = bench.DefaultMockup

func newBenchRedfishCommand() *cli.Command {
	return &cli.Command{
		Name:      "redfish",
		Usage:     "poll N simulated BMCs with the Redfish collector and measure its CPU, RSS and requests",
		UsageText: "ecometer bench redfish [--bmcs N] [--rounds K] [--mockup DIR] [--workers W] [--json]",
		Description: "Starts N simulated BMCs on 127.0.0.1 (one HTTP port each, one mockup loaded once and\n" +
			"shared) in a child process, so that this process's CPU time and peak RSS are the\n" +
			"collector's alone. Runs one collectors/redfish Collector per BMC, as the scheduler\n" +
			"would (session login, default per-BMC limits: 2 requests in flight, 20 ms apart):\n" +
			"discovery first, not measured, then K measured rounds polling every BMC once, with\n" +
			"at most W polls in flight. Requests are counted by the simulators.\n" +
			"Prints polls/s, collector CPU-seconds per 1000 polls, the CPU share implied for N BMCs\n" +
			"polled every 60 s, the collector's peak RSS and the requests per poll per BMC.\n" +
			"The mockup defaults to " + defaultBenchMockup + ".\n\n" +
			"Examples:\n" +
			"   ecometer bench redfish --bmcs 100 --rounds 3\n" +
			"   ecometer bench redfish --bmcs 500 --rounds 2 --json > bench.json",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "bmcs", Usage: "number of simulated BMCs `N`", Value: 100},
			&cli.IntFlag{Name: "rounds", Usage: "measured rounds `K` (every BMC polled once per round)", Value: 3},
			&cli.StringFlag{Name: "mockup", Usage: "the mockup `DIR` every BMC serves (default " + defaultBenchMockup + ")"},
			&cli.IntFlag{Name: "workers", Usage: "at most `W` polls in flight (default 4 × GOMAXPROCS)", HideDefault: true},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			// The child process: serve N BMCs, print their URLs, answer
			// "stats" lines on stdin until stdin closes.
			&cli.IntFlag{Name: "serve", Hidden: true},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			s := streamsOf(cmd)
			if n := cmd.Int("serve"); n > 0 {
				return benchError(bench.ServeBMCs(ctx, n, cmd.String("mockup"), os.Stdin, s.Out))
			}
			var progress io.Writer
			if isTerminal(os.Stderr) && s.ErrOut == io.Writer(os.Stderr) {
				progress = s.ErrOut
			}
			return runBenchRedfish(ctx, benchRedfishOptions{RedfishOptions: bench.RedfishOptions{
				BMCs:     cmd.Int("bmcs"),
				Rounds:   cmd.Int("rounds"),
				Mockup:   cmd.String("mockup"),
				Workers:  cmd.Int("workers"),
				Progress: progress,
			}, JSON: cmd.Bool("json")}, s)
		},
	}
}

type (
	benchRedfishOptions struct {
		bench.RedfishOptions
		JSON bool
	}
	benchRedfishResult = bench.RedfishResult
)

// runBenchRedfish runs the Redfish bench and prints its result.
func runBenchRedfish(ctx context.Context, opts benchRedfishOptions, s streams) error {
	res, err := bench.Redfish(ctx, opts.RedfishOptions)
	if err != nil {
		return benchError(err)
	}
	if opts.JSON {
		return writeJSON(s.Out, res)
	}
	return writeBenchRedfish(s.Out, res)
}

func writeBenchRedfish(w io.Writer, r benchRedfishResult) error {
	fmt.Fprintf(w, "ecometer bench redfish: %d simulated BMCs on 127.0.0.1 serving %s (%d resources), in a child process\n",
		r.BMCs, filepath.Base(r.Mockup), r.Resources)
	fmt.Fprintf(w, "%d measured rounds after discovery; %d concurrent polls; GOMAXPROCS %d\n\n", r.Rounds, r.Workers, r.GOMAXPROCS)
	interval := time.Duration(r.IntervalSeconds * float64(time.Second))
	lines := [][2]string{
		{"discovery", fmt.Sprintf("%.1f requests per BMC (%d in all, login included), %.3f CPU-s in all: not counted below",
			r.DiscoveryRequestsPerBMC, r.DiscoveryRequests, r.DiscoveryCPUSeconds)},
		{"polls", fmt.Sprintf("%d, %d errors, %.0f polls/s", r.Polls, r.Errors, r.PollsPerSec)},
		{"requests per poll", fmt.Sprintf("%.2f per BMC after discovery (goal ≤ 3)", r.RequestsPerPoll)},
		{"collector CPU", fmt.Sprintf("%.3f CPU-s per 1000 polls", r.CPUPer1000)},
		{"CPU share", fmt.Sprintf("%.4f cores (%.2f %% of one core) for %d BMCs polled every %s", r.Cores, r.CorePercent, r.BMCs, fmtInterval(interval))},
		{"collector peak RSS", fmt.Sprintf("%.0f MiB", r.PeakRSSMiB)},
		{"simulators", fmt.Sprintf("%.3f CPU-s per 1000 polls, peak RSS %.0f MiB (the child; not counted above)", r.SimCPUPer1000, r.SimPeakRSSMiB)},
	}
	for _, l := range lines {
		fmt.Fprintf(w, "%-20s %s\n", l[0]+":", l[1])
	}
	fmt.Fprintln(w, "\nCPU and RSS are this process's (getrusage user+sys, ru_maxrss): the collectors and")
	fmt.Fprintln(w, "the bench loop, the simulators run in a child process. Requests are counted by the")
	fmt.Fprintln(w, "simulators; polls/s is bounded by the per-BMC request spacing, not by CPU.")
	if r.ClientRequestsPerPoll != r.RequestsPerPoll {
		fmt.Fprintf(w, "warning: the collectors counted %.2f requests per poll, the simulators %.2f\n", r.ClientRequestsPerPoll, r.RequestsPerPoll)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "warning: %d failed polls, first: %s\n", r.Errors, r.FirstError)
	}
	return nil
}

// fmtInterval renders 60 s as "60 s", not "1m0s".
func fmtInterval(d time.Duration) string {
	return strconv.FormatFloat(d.Seconds(), 'f', -1, 64) + " s"
}
