package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/daemon"
	"github.com/ecometer/ecometer/internal/server"
	"github.com/ecometer/ecometer/internal/shard"
	"github.com/ecometer/ecometer/reports/monthly"
)

// serveGCPercent is serve's GOGC when the environment does not set one.
// The daemon's heap is mostly long-lived (per device: its schedule, meter
// names, latest readings), which Go's default of 100 lets grow to twice
// its size before collecting. At 50, 10,000 devices peak at about 270 MiB
// RSS instead of 330, for about a tenth more CPU (README, "Measuring it").
// Prometheus lowers its GOGC for the same reason (to 75 since 2.53).
const serveGCPercent = 50

// tuneGC sets serve's garbage collector: GOGC 50 unless the environment
// sets GOGC, and the soft memory limit of --memory-limit (if given).
func tuneGC(command, memoryLimit string) error {
	if _, set := os.LookupEnv("GOGC"); !set {
		debug.SetGCPercent(serveGCPercent)
	}
	if memoryLimit == "" {
		return nil
	}
	limit, err := config.ParseByteSize(memoryLimit)
	if err != nil || limit <= 0 {
		return usageErrorf("%s: --memory-limit %q: want a size such as 256MiB", command, memoryLimit)
	}
	debug.SetMemoryLimit(int64(limit))
	return nil
}

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:  "serve",
		Usage: "poll every configured device on its schedule and store the samples (the production job)",
		UsageText: "ecometer serve --config FILE [--listen ADDR] [--shard i/n] [--pid-file FILE] [--log-format text|json]\n" +
			"               [--flush-timeout D] [--stop-timeout D] [--pprof] [--memory-limit SIZE]",
		Description: "Runs until SIGINT or SIGTERM. Polls each device of the config over SNMP or Redfish\n" +
			"at its interval (devices spread over the interval, one poll per device at a time,\n" +
			"unreachable devices backed off) and writes the samples to the embedded SQLite\n" +
			"store in storage.data_dir, or, when storage.influxdb.url is set, to InfluxDB\n" +
			"through the durable outbox (committed locally first, forwarded in the background).\n" +
			"The embedded store is compacted hourly (raw retention and hourly rollups).\n\n" +
			"Serves on --listen (loopback by default) /metrics (Prometheus: the poller's own\n" +
			"metrics and the latest power and UPS readings per meter), /healthz (JSON with each\n" +
			"device's last success and error; 503 when the store does not take samples,\n" +
			"forwarding to InfluxDB has failed for 5 minutes, or every device's latest poll\n" +
			"failed) and /readyz (503 while starting, stopping or without a store); with --pprof\n" +
			"also Go's profiler under /debug/pprof/. Logs go to stderr.\n\n" +
			"Memory: about 12 KB per SNMP device. The garbage collector runs at GOGC 50 unless\n" +
			"the environment sets GOGC (the heap is mostly long-lived); --memory-limit adds a soft\n" +
			"limit, paid for in CPU.\n\n" +
			"SIGHUP (or `ecometer reload`) re-reads the config: added, removed and changed devices\n" +
			"take effect without losing or repeating a sample; a config with problems is rejected\n" +
			"(they are logged) and the running one stays. Storage and coordination changes take\n" +
			"effect at the next start.\n\n" +
			"SIGTERM stops scheduling, lets the polls in flight finish (cancelled after\n" +
			"--stop-timeout), forwards what the outbox can within --flush-timeout and closes\n" +
			"everything; what is still queued stays on disk and is sent on the next start.\n\n" +
			"Scale-out: with --shard i/n this instance polls only its share of the devices\n" +
			"(rendezvous hashing of device names: every instance runs the same config; when n\n" +
			"changes about 1/n of the devices move); the instances share InfluxDB. Singleton jobs\n" +
			"(monthly report, controller) run on the leader elected through coordination.redis,\n" +
			"or on this instance when no coordination is configured.\n\n" +
			"Exits 2 when the config is invalid, a secret cannot be read or --shard is malformed\n" +
			"(nothing is polled); 0 after a clean shutdown.\n\n" +
			"Examples:\n" +
			"   ecometer serve --config /etc/ecometer/site.yaml\n" +
			"   ecometer serve --config site.yaml --listen 127.0.0.1:9641 --log-format json\n" +
			"   ecometer serve --config site.yaml --shard 1/3 --pid-file /run/ecometer/serve-1.pid",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE`", Required: true},
			&cli.StringFlag{Name: "listen", Usage: "TCP `ADDRESS` for /metrics and /healthz", Value: server.DefaultListen},
			&cli.StringFlag{Name: "shard", Usage: "poll only share `i/n` of the devices (instance i of n, 0-based)"},
			&cli.StringFlag{Name: "pid-file", Usage: "write the process id to `FILE` (for `ecometer reload`; default <data_dir>/serve.pid)"},
			&cli.StringFlag{Name: "log-format", Usage: "log format on stderr: text or json", Value: "text"},
			&cli.DurationFlag{Name: "flush-timeout", Usage: "at shutdown, forward the outbox for at most `DURATION`", Value: 10 * time.Second},
			&cli.DurationFlag{Name: "stop-timeout", Usage: "at shutdown, let the polls in flight finish for at most `DURATION`", Value: 30 * time.Second},
			&cli.BoolFlag{Name: "pprof", Usage: "serve Go's profiler on the listen address under /debug/pprof/"},
			&cli.StringFlag{Name: "memory-limit", Usage: "soft limit of the Go heap, e.g. `SIZE` 256MiB: the garbage collector works harder near it (default: none, or GOMEMLIMIT; GOGC is 50 unless set)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("serve: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			sh, err := shard.Parse(cmd.String("shard"))
			if err != nil {
				return usageErrorf("serve: --shard: %v", err)
			}
			if err := tuneGC("serve", cmd.String("memory-limit")); err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			// After the first signal a second one ends the process at once.
			context.AfterFunc(ctx, stop)
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			reload := make(chan struct{}, 1)
			go func() {
				for range hup {
					select {
					case reload <- struct{}{}:
					default: // one reload pending is enough
					}
				}
			}()
			return runServe(ctx, serveOptions{
				ConfigFile:   cmd.String("config"),
				Listen:       cmd.String("listen"),
				LogFormat:    cmd.String("log-format"),
				FlushTimeout: cmd.Duration("flush-timeout"),
				StopTimeout:  cmd.Duration("stop-timeout"),
				Shard:        sh,
				PidFile:      cmd.String("pid-file"),
				Pprof:        cmd.Bool("pprof"),
				Reload:       reload,
			}, streamsOf(cmd))
		},
	}
}

type serveOptions struct {
	ConfigFile   string
	Listen       string // default server.DefaultListen
	LogFormat    string // text (default) or json
	FlushTimeout time.Duration
	StopTimeout  time.Duration
	// CompactEvery is the period of the embedded store's compaction
	// (default 1 h).
	CompactEvery time.Duration
	Shard        shard.Shard
	PidFile      string // default <data_dir>/serve.pid
	Pprof        bool
	Reload       <-chan struct{}
	Singletons   []daemon.SingletonJob
	// started, when set, is called with the HTTP address once everything
	// runs (tests).
	started func(net.Addr)
}

// runServe runs the service until ctx ends. It returns nil after a clean
// shutdown.
func runServe(ctx context.Context, opts serveOptions, s streams) error {
	log, err := serveLogger(s.ErrOut, opts.LogFormat)
	if err != nil {
		return err
	}
	cfg, err := collection.Load(opts.ConfigFile)
	if err != nil {
		return configError(opts.ConfigFile, err, s.ErrOut)
	}
	profiles, err := collection.Profiles(cfg)
	if err != nil {
		return configError(opts.ConfigFile, err, s.ErrOut)
	}
	pidFile := opts.PidFile
	if pidFile == "" {
		pidFile = defaultPidFile(cfg.Storage.DataDir)
	}
	if err := writePidFile(pidFile); err != nil {
		return err
	}
	defer os.Remove(pidFile)
	singletons, metrics, err := serviceJobs(cfg, log)
	if err != nil {
		return err
	}
	return daemon.Run(ctx, daemon.Options{Config: cfg, Profiles: profiles, ConfigFile: opts.ConfigFile,
		Listen: opts.Listen, FlushTimeout: opts.FlushTimeout, StopTimeout: opts.StopTimeout,
		CompactEvery: opts.CompactEvery, Logger: log, Shard: opts.Shard, Pprof: opts.Pprof,
		Reload: opts.Reload, Singletons: append(singletons, opts.Singletons...), Metrics: metrics, Started: opts.started})
}

// AnomalyCheck is when the service counts the open anomalies for /metrics
// (hourly, five minutes past, Europe/Copenhagen).
const anomalyCheck = "5 * * * *"

// rollupSchedule is when the service brings InfluxDB 1.x's hourly rollups
// up to date (every ten minutes).
const rollupSchedule = "*/10 * * * *"

// serviceJobs are the jobs the leader runs: the monthly report on the 1st
// (report.schedule), InfluxDB 1.x's hourly rollups (every ten minutes; the
// monthly report reads them instead of the raw points) and the hourly count
// of open anomalies (ecometer_anomalies_open{kind} on the leader's
// /metrics).
func serviceJobs(cfg *config.Config, log *slog.Logger) ([]daemon.SingletonJob, []prometheus.Collector, error) {
	var jobs []daemon.SingletonJob
	if cfg.Report.Schedule {
		job, err := monthly.NewJob(cfg, log)
		if err != nil {
			return nil, nil, err
		}
		jobs = append(jobs, daemon.SingletonJob{Name: monthly.JobName, Cron: monthly.Schedule, Run: job.Run})
	}
	if backend.RollupsDue(cfg) {
		jobs = append(jobs, daemon.SingletonJob{Name: "influxdb-rollups", Cron: rollupSchedule, Run: func(ctx context.Context) error {
			begin := time.Now()
			res, err := backend.Rollups(ctx, cfg, begin, func(done, total int) {
				if total >= 100 && done%100 == 0 {
					log.Info("InfluxDB hourly rollups", "hours_done", done, "of", total)
				}
			})
			if res.Hours > 0 || res.Changed > 0 {
				log.Info("InfluxDB hourly rollups written", "hours", res.Hours, "meter_hours", res.Meters,
					"hours_written_to_meanwhile", res.Changed, "took", time.Since(begin).Round(time.Millisecond))
			}
			return err
		}})
	}
	open := anomalies.NewOpenMetric()
	jobs = append(jobs, daemon.SingletonJob{Name: "anomalies-open", Cron: anomalyCheck, Run: func(ctx context.Context) error {
		st, _, err := backend.Open(ctx, cfg, backend.ReadOnly)
		if err != nil {
			return err
		}
		defer st.Close()
		return open.Update(ctx, st, cfg, time.Now())
	}})
	return jobs, []prometheus.Collector{open}, nil
}

func defaultPidFile(dataDir string) string { return filepath.Join(dataDir, "serve.pid") }

// writePidFile writes this process's id to path, creating its directory.
func writePidFile(path string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("serve: pid file: %w", err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return fmt.Errorf("serve: pid file: %w", err)
	}
	return nil
}

// serveLogger builds the service's logger on w.
func serveLogger(w io.Writer, format string) (*slog.Logger, error) {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	switch format {
	case "", "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageErrorf("serve: --log-format %q: want text or json", format)
}

func newReloadCommand() *cli.Command {
	return &cli.Command{
		Name:      "reload",
		Usage:     "make a running `ecometer serve` re-read its configuration (SIGHUP)",
		UsageText: "ecometer reload --config FILE [--pid-file FILE]",
		Description: "Checks the configuration first, as serve would: with problems, they are printed,\n" +
			"nothing is sent and it exits 2. Otherwise it sends SIGHUP to the serve process\n" +
			"named by --pid-file (default <data_dir>/serve.pid of the config), which applies\n" +
			"the device changes and logs what it did. Exits 1 when no serve process runs there.\n\n" +
			"Examples:\n" +
			"   ecometer reload --config /etc/ecometer/site.yaml\n" +
			"   ecometer reload --config site.yaml --pid-file /run/ecometer/serve-1.pid",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE` (the one serve runs)", Required: true},
			&cli.StringFlag{Name: "pid-file", Usage: "the serve process's pid `FILE` (default <data_dir>/serve.pid)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("reload: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			return runReload(cmd.String("config"), cmd.String("pid-file"), streamsOf(cmd))
		},
	}
}

// runReload checks the config and signals the serve process.
func runReload(file, pidFile string, s streams) error {
	cfg, err := collection.Load(file)
	if err != nil {
		return configError(file, err, s.ErrOut)
	}
	if pidFile == "" {
		pidFile = defaultPidFile(cfg.Storage.DataDir)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		return fmt.Errorf("reload: no serve process: %w", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return fmt.Errorf("reload: %s does not hold a process id", pidFile)
	}
	if err := sendReload(pid); err != nil {
		if errors.Is(err, errNoProcess) {
			return fmt.Errorf("reload: process %d (from %s) is not running", pid, pidFile)
		}
		return fmt.Errorf("reload: signal process %d: %w", pid, err)
	}
	fmt.Fprintf(s.Out, "sent SIGHUP to ecometer serve (pid %d); it logs what the reload changed\n", pid)
	return nil
}
