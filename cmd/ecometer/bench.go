package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/bench"
)

// defaultBenchRecording is the recording bench snmp polls by default.
const defaultBenchRecording = bench.DefaultRecording

func newBenchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure collection cost against simulated devices",
		UsageText: "ecometer bench <snmp|redfish> [options]",
		Description: "Benchmarks run real collectors against simulators on loopback (SNMP: in this\n" +
			"process; Redfish: in a child process).\n\n" +
			"Examples:\n   ecometer bench snmp --devices 100 --rounds 5\n   ecometer bench redfish --bmcs 500 --rounds 2",
		Commands: []*cli.Command{
			{
				Name:      "snmp",
				Usage:     "poll N simulated SNMP agents and compare the collector's CPU with bare gosnmp",
				UsageText: "ecometer bench snmp [--devices N] [--rounds K] [--recording FILE] [--max-repetitions R] [--workers W] [--json]",
				Description: "Starts N simulated agents on 127.0.0.1 (one UDP port each) serving one recording,\n" +
					"then polls every device K rounds in three passes, after an unmeasured warm-up round\n" +
					"each (profile detection for the collector); the passes take turns round by round:\n" +
					"  replay     the same request packets, pre-encoded, sent and read back raw:\n" +
					"             the simulators' and the kernel's share (client work next to none)\n" +
					"  floor      a bare gosnmp loop doing exactly the collector's requests (the\n" +
					"             same GETs and side-by-side GETBULK walks, same max-repetitions)\n" +
					"  collector  the collectors/snmp Collector, profile detected, samples built\n" +
					"CPU is the whole process's (getrusage user+sys), so every pass includes the\n" +
					"simulators; \"client only\" subtracts the replay pass. Peak RSS is the process's\n" +
					"high-water mark (simulators included).\n" +
					"The recording defaults to " + defaultBenchRecording + ".\n\n" +
					"Examples:\n" +
					"   ecometer bench snmp --devices 100 --rounds 5\n" +
					"   ecometer bench snmp --devices 500 --rounds 3 --json > bench.json",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "devices", Usage: "number of simulated agents `N`", Value: 100},
					&cli.IntFlag{Name: "rounds", Usage: "measured rounds `K` (every device polled once per round)", Value: 5},
					&cli.StringFlag{Name: "recording", Usage: "the .snmprec `FILE` every agent serves (default " + defaultBenchRecording + ")"},
					&cli.IntFlag{Name: "max-repetitions", Usage: "GETBULK max-repetitions", Value: 10},
					&cli.IntFlag{Name: "workers", Usage: "concurrent polls (default 4 × GOMAXPROCS)"},
					&cli.DurationFlag{Name: "timeout", Usage: "SNMP timeout per request", Value: 2 * time.Second},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					s := streamsOf(cmd)
					var progress io.Writer
					if isTerminal(os.Stderr) && s.ErrOut == io.Writer(os.Stderr) {
						progress = s.ErrOut
					}
					return runBenchSNMP(ctx, benchOptions{SNMPOptions: bench.SNMPOptions{
						Devices:        cmd.Int("devices"),
						Rounds:         cmd.Int("rounds"),
						Recording:      cmd.String("recording"),
						MaxRepetitions: cmd.Int("max-repetitions"),
						Workers:        cmd.Int("workers"),
						Timeout:        cmd.Duration("timeout"),
						Progress:       progress,
					}, JSON: cmd.Bool("json")}, s)
				},
			},
			newBenchRedfishCommand(),
			newBenchModelCommand(),
			newBenchServeCommand(),
		},
	}
}

// isTerminal reports whether f is a terminal (a character device).
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

type (
	benchOptions struct {
		bench.SNMPOptions
		JSON bool
	}
	benchPass   = bench.Pass
	benchResult = bench.SNMPResult
)

// runBenchSNMP runs the SNMP bench and prints its result.
func runBenchSNMP(ctx context.Context, opts benchOptions, s streams) error {
	res, err := bench.SNMP(ctx, opts.SNMPOptions)
	if err != nil {
		return benchError(err)
	}
	if opts.JSON {
		return writeJSON(s.Out, res)
	}
	return writeBench(s.Out, res)
}

// benchError makes the bench's usage errors exit 2.
func benchError(err error) error {
	var ue *bench.UsageError
	if errors.As(err, &ue) {
		return &exitError{code: exitBadUse, err: err}
	}
	return err
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func writeBench(w io.Writer, r benchResult) error {
	fmt.Fprintf(w, "ecometer bench snmp: %d simulated agents on 127.0.0.1 serving %s (profile %s)\n",
		r.Devices, filepath.Base(r.Recording), r.Profile)
	fmt.Fprintf(w, "%d measured rounds per pass, interleaved; %d concurrent polls; GOMAXPROCS %d\n",
		r.Rounds, r.Workers, r.GOMAXPROCS)
	fmt.Fprintf(w, "one poll: %d requests, %d varbinds, max-repetitions %d\n\n", r.RequestsPerPoll, r.VarbindsPerPoll, r.MaxRepetitions)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\tpolls\terrors\tpolls/s\tCPU-s per 1000 polls\tminus replay (client only)\t")
	for _, p := range []benchPass{r.Replay, r.Floor, r.Collector} {
		client := "-"
		if p.Name != "replay" {
			client = fmt.Sprintf("%.3f", p.ClientPer1000)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.0f\t%.3f\t%s\t\n", p.Name, p.Polls, p.Errors, p.PollsPerSec, p.CPUPer1000, client)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncollector − floor:  %+.3f CPU-s per 1000 polls (the collector's own cost above bare gosnmp)\n", r.DiffPer1000)
	fmt.Fprintf(w, "collector / floor:  %.2f with the simulators in both, %.2f client only (goal ≤ 1.3)\n", r.Ratio, r.ClientRatio)
	fmt.Fprintf(w, "10,000 devices per 60 s: %.3f cores for the collector, client only (goal < 0.3)\n", r.CoresFor10k)
	fmt.Fprintf(w, "peak RSS: %.0f MiB with the agents started, %.0f MiB at the end (all passes' sessions open)\n", r.SimRSSMiB, r.PeakRSSMiB)
	fmt.Fprintln(w, "\nCPU is the process's user+sys time. The simulators run in this process, so every")
	fmt.Fprintln(w, "pass includes their work; the replay pass (same packets, pre-encoded, answers not")
	fmt.Fprintln(w, "decoded) is mostly theirs and the kernel's, and \"client only\" subtracts it.")
	fmt.Fprintln(w, "RSS includes the simulators too.")
	for _, p := range []benchPass{r.Replay, r.Floor, r.Collector} {
		if p.Errors > 0 {
			fmt.Fprintf(w, "warning: %s pass: %d failed polls, first: %s\n", p.Name, p.Errors, p.FirstError)
		}
	}
	return nil
}
