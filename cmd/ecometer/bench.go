package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/bench"
	"github.com/ecometer/ecometer/internal/snmpbench"
)

// defaultBenchRecording is the rPDU2 PDU the reference figures
// were measured with, relative to the working directory (a checkout beside
// ../shared).
const defaultBenchRecording = "../shared/corpus/snmp/apc_ap8959eu3.snmprec"

func newBenchCommand() *cli.Command {
	return &cli.Command{
		Name:      "bench",
		Usage:     "measure collection cost against simulated devices",
		UsageText: "ecometer bench <snmp|redfish|model|serve> [options]",
		Description: "Benchmarks run real collectors against simulators on loopback (SNMP: in this\n" +
			"process; Redfish: in a child process).\n\n" +
			"Examples:\n   ecometer bench snmp --devices 100 --rounds 5\n   ecometer bench redfish --bmcs 500 --rounds 2\n" +
			"   ecometer bench serve --devices 1000 --bmcs 10 --interval 10s --cycles 3",
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
					&cli.IntFlag{Name: "workers", Usage: "concurrent polls (default 4 × GOMAXPROCS)", HideDefault: true},
					&cli.DurationFlag{Name: "timeout", Usage: "SNMP timeout per request", Value: 2 * time.Second},
					&cli.StringFlag{Name: "cpuprofile", Usage: "write a CPU profile of the measured rounds to `FILE` (go tool pprof)"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					s := streamsOf(cmd)
					var progress io.Writer
					if isTerminal(os.Stderr) && s.ErrOut == io.Writer(os.Stderr) {
						progress = s.ErrOut
					}
					return runBenchSNMP(ctx, benchOptions{
						Devices:        cmd.Int("devices"),
						Rounds:         cmd.Int("rounds"),
						Recording:      cmd.String("recording"),
						MaxRepetitions: cmd.Int("max-repetitions"),
						Workers:        cmd.Int("workers"),
						Timeout:        cmd.Duration("timeout"),
						CPUProfile:     cmd.String("cpuprofile"),
						JSON:           cmd.Bool("json"),
						Progress:       progress,
					}, s)
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

type benchOptions struct {
	Devices        int
	Rounds         int
	Recording      string // default defaultBenchRecording
	MaxRepetitions int
	Workers        int // default 4 × GOMAXPROCS
	Timeout        time.Duration
	CPUProfile     string // file for a CPU profile of the measured rounds
	JSON           bool
	// Progress receives a one-line status, rewritten in place; nil: quiet.
	Progress io.Writer
}

// benchResult and benchPass are the package's result types.
type (
	benchResult = snmpbench.Result
	benchPass   = snmpbench.Pass
)

func runBenchSNMP(ctx context.Context, opts benchOptions, s streams) error {
	if opts.Devices < 1 || opts.Rounds < 1 {
		return usageErrorf("bench snmp: --devices and --rounds must be at least 1")
	}
	if opts.MaxRepetitions < 1 || opts.MaxRepetitions > 1000 {
		return usageErrorf("bench snmp: --max-repetitions %d: want 1-1000", opts.MaxRepetitions)
	}
	file := opts.Recording
	if file == "" {
		file = defaultBenchRecording
		if _, err := os.Stat(file); err != nil {
			abs, _ := filepath.Abs(file)
			return usageErrorf("bench snmp: no recording at %s (the default, relative to the working directory): pass --recording FILE", abs)
		}
	}
	rec, err := loadRecording(file)
	if err != nil {
		return err
	}
	bo := snmpbench.Options{Devices: opts.Devices, Rounds: opts.Rounds, Recording: rec, RecordingPath: file,
		MaxRepetitions: opts.MaxRepetitions, Workers: opts.Workers, Timeout: opts.Timeout, Progress: opts.Progress}
	if opts.CPUProfile != "" {
		bo.Measuring = func(measure func() error) error {
			f, err := os.Create(opts.CPUProfile)
			if err != nil {
				return fmt.Errorf("bench snmp: --cpuprofile: %w", err)
			}
			defer f.Close()
			if err := pprof.StartCPUProfile(f); err != nil {
				return fmt.Errorf("bench snmp: --cpuprofile: %w", err)
			}
			defer pprof.StopCPUProfile()
			return measure()
		}
	}
	res, err := snmpbench.Run(ctx, bo)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	return snmpbench.WriteText(s.Out, res)
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
