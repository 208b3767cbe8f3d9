package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/daemon"
	"github.com/ecometer/ecometer/internal/server"
)

func newServeCommand() *cli.Command {
	return &cli.Command{
		Name:      "serve",
		Usage:     "poll every configured device on its schedule and store the samples (the production job)",
		UsageText: "ecometer serve --config FILE [--listen ADDR] [--log-format text|json] [--flush-timeout D]",
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
			"failed) and /readyz (503 while starting, stopping or without a store). Logs go to stderr. On SIGTERM it stops\n" +
			"scheduling, waits for running polls, forwards what the outbox can within\n" +
			"--flush-timeout and closes everything; what is still queued is sent on the next start.\n\n" +
			"Exits 2 when the config is invalid or a secret cannot be read (nothing is polled).\n\n" +
			"Examples:\n" +
			"   ecometer serve --config /etc/ecometer/site.yaml\n" +
			"   ecometer serve --config site.yaml --listen 127.0.0.1:9641 --log-format json",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "configuration `FILE`", Required: true},
			&cli.StringFlag{Name: "listen", Usage: "TCP `ADDRESS` for /metrics and /healthz", Value: server.DefaultListen},
			&cli.StringFlag{Name: "log-format", Usage: "log format on stderr: text or json", Value: "text"},
			&cli.DurationFlag{Name: "flush-timeout", Usage: "at shutdown, forward the outbox for at most `DURATION`", Value: 10 * time.Second},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("serve: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			// After the first signal a second one ends the process at once.
			context.AfterFunc(ctx, stop)
			return runServe(ctx, serveOptions{
				ConfigFile:   cmd.String("config"),
				Listen:       cmd.String("listen"),
				LogFormat:    cmd.String("log-format"),
				FlushTimeout: cmd.Duration("flush-timeout"),
			}, streamsOf(cmd))
		},
	}
}

type serveOptions struct {
	ConfigFile   string
	Listen       string // default server.DefaultListen
	LogFormat    string // text (default) or json
	FlushTimeout time.Duration
	// CompactEvery is the period of the embedded store's compaction
	// (default 1 h).
	CompactEvery time.Duration
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
	return daemon.Run(ctx, daemon.Options{Config: cfg, Profiles: profiles, ConfigFile: opts.ConfigFile,
		Listen: opts.Listen, FlushTimeout: opts.FlushTimeout, CompactEvery: opts.CompactEvery, Logger: log,
		Started: opts.started})
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
