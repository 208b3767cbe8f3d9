package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/server"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/outbox"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
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
			"Serves /metrics (Prometheus) and /healthz (JSON; 503 when the store does not take\n" +
			"samples) on --listen, loopback by default. Logs go to stderr. On SIGTERM it stops\n" +
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
	if opts.CompactEvery <= 0 {
		opts.CompactEvery = time.Hour
	}
	if opts.FlushTimeout <= 0 {
		opts.FlushTimeout = 10 * time.Second
	}
	cfg, err := loadAndCheck(opts.ConfigFile)
	if err != nil {
		return configError(opts.ConfigFile, err, s.ErrOut)
	}
	profiles, err := profilesOf(cfg)
	if err != nil {
		return configError(opts.ConfigFile, err, s.ErrOut)
	}

	svc := &service{log: log, flushTimeout: opts.FlushTimeout, reg: server.NewRegistry()}
	defer svc.close()
	if err := svc.buildJobs(cfg, profiles); err != nil {
		return err
	}
	if err := svc.openStore(ctx, cfg); err != nil {
		return err
	}
	if err := svc.addJobs(); err != nil {
		return err
	}
	srv := server.New(server.Options{Listen: opts.Listen, Gatherer: svc.reg, Health: svc.health, Logger: log})
	if err := srv.Init(); err != nil {
		return err
	}

	// The background jobs run on bgCtx, which ends only once the polls
	// have stopped, so that the outbox keeps forwarding while they finish.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var bg sync.WaitGroup
	svc.runBackground(bgCtx, &bg, opts.CompactEvery)
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(bgCtx) }()
	svc.runner.Start()
	log.Info("ecometer serving", "devices", len(svc.jobs), "snmp", svc.count(config.ProtocolSNMP),
		"redfish", svc.count(config.ProtocolRedfish), "store", svc.storeDesc, "listen", srv.Addr().String(),
		"config", opts.ConfigFile)
	if opts.started != nil {
		opts.started(srv.Addr())
	}

	var srvErr error
	served := false
	select {
	case <-ctx.Done():
		log.Info("shutting down", "cause", context.Cause(ctx))
	case srvErr = <-srvDone:
		served = true
		log.Error("HTTP server failed; shutting down", "error", srvErr)
	}
	// No new polls, the running ones finished and written; then the
	// background jobs stop, the outbox forwards what it can, and the HTTP
	// server (answering until now) closes before the stores do.
	err = svc.stopRunner()
	stopBackground()
	bg.Wait()
	svc.flushOutbox()
	if !served {
		srvErr = <-srvDone
	}
	err = errors.Join(srvErr, err, svc.close())
	log.Info("stopped")
	return err
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

// service holds what serve runs, so that whatever was started is stopped
// and closed in the right order, whichever step fails.
type service struct {
	log          *slog.Logger
	flushTimeout time.Duration
	reg          *prometheus.Registry

	devices []config.Device // in job order
	jobs    []collectors.Job
	polls   *server.Polls

	storeDesc string
	data      dataStore      // the backend: SQLite or InfluxDB
	embedded  *sqlite.Store  // data, when it is SQLite
	outbox    *outbox.Outbox // in front of data, when it is InfluxDB
	writer    *watchedWriter // what the runner writes to

	runner *collectors.Runner
	added  int // jobs handed to the runner, which closes their collectors
}

// buildJobs makes one collector per device. Secrets are read here, once;
// an error names the device and the key, never the value.
func (svc *service) buildJobs(cfg *config.Config, profiles *snmp.Registry) error {
	var names []string
	for i, d := range cfg.Devices {
		target := collectors.Target{Site: d.Site, Room: d.Room, Rack: d.Rack, Device: d.Name, Class: string(d.Class)}
		var (
			c   collectors.Collector
			err error
		)
		switch d.Protocol {
		case config.ProtocolSNMP:
			c, err = snmpCollector(d, target, profiles, svc.log)
		case config.ProtocolRedfish:
			c, err = redfishCollector(d, target, svc.log)
		default:
			err = fmt.Errorf("protocol %q is not supported", d.Protocol)
		}
		if err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("devices[%d] %s: %w", i, d.Name, err)}
		}
		svc.devices = append(svc.devices, d)
		svc.jobs = append(svc.jobs, collectors.Job{Target: target, Source: string(d.Protocol), Interval: d.Interval.Std(), Collector: c})
		names = append(names, d.Name)
	}
	svc.polls = server.NewPolls(names...)
	for i := range svc.jobs {
		svc.jobs[i].Collector = observed{Collector: svc.jobs[i].Collector, device: names[i], polls: svc.polls}
	}
	return nil
}

func (svc *service) count(p config.Protocol) int {
	n := 0
	for _, d := range svc.devices {
		if d.Protocol == p {
			n++
		}
	}
	return n
}

// resolve reads a secret; the error names the key (and, through Resolve,
// the reference), never the value.
func resolve(key string, s config.Secret) (string, error) {
	v, err := s.Resolve()
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return v, nil
}

func snmpCollector(d config.Device, target collectors.Target, profiles *snmp.Registry, log *slog.Logger) (collectors.Collector, error) {
	s := d.SNMP
	host, port, err := hostPort(d.Address, s.Port)
	if err != nil {
		return nil, err
	}
	conn := snmp.Conn{Addr: host, Port: port, Version: snmp.Version(s.Version), Timeout: s.Timeout.Std(),
		Retries: snmpRetries(s.Retries), MaxRepetitions: uint32(s.MaxRepetitions)}
	if conn.Version == snmp.V3 {
		v3 := s.V3
		a := &snmp.V3Auth{User: v3.User}
		if v3.SecurityLevel != "noAuthNoPriv" {
			a.AuthProtocol = v3.AuthProtocol
			if a.AuthPass, err = resolve("snmp.v3.auth_key", v3.AuthKey); err != nil {
				return nil, err
			}
		}
		if v3.SecurityLevel == "authPriv" {
			a.PrivProtocol = v3.PrivProtocol
			if a.PrivPass, err = resolve("snmp.v3.priv_key", v3.PrivKey); err != nil {
				return nil, err
			}
		}
		conn.V3 = a
	} else if conn.Community, err = resolve("snmp.community", s.Community); err != nil {
		return nil, err
	}
	return snmp.New(snmp.Device{Target: target, Conn: conn, Profile: d.Profile}, snmp.Options{Profiles: profiles, Logger: log})
}

// hostPort splits an SNMP device's address: host, or host:port, which wins
// over snmp.port.
func hostPort(addr string, port int) (string, uint16, error) {
	if net.ParseIP(addr) != nil { // a bare IPv6 address has colons but no port
		return addr, uint16(port), nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, uint16(port), nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("address %q: invalid port %q", addr, p)
	}
	return h, uint16(n), nil
}

func redfishCollector(d config.Device, target collectors.Target, log *slog.Logger) (collectors.Collector, error) {
	r := d.Redfish
	password, err := resolve("redfish.password", r.Password)
	if err != nil {
		return nil, err
	}
	return redfish.New(redfish.Options{Endpoint: redfishURL(d.Address), Username: r.User, Password: password,
		BasicAuth: r.Auth == "basic", CAFile: r.CAFile, InsecureSkipVerify: r.InsecureSkipVerify,
		Target: target, Logger: log.With("device", d.Name)})
}

// redfishURL turns a device address (https URL, or host[:port]) into the
// collector's endpoint, https://host[:port].
func redfishURL(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return "https://" + addr
}

// observed records a device's successful polls for /healthz.
type observed struct {
	collectors.Collector
	device string
	polls  *server.Polls
}

func (o observed) Collect(ctx context.Context, at time.Time) ([]sample.Sample, error) {
	ss, err := o.Collector.Collect(ctx, at)
	if err == nil || errors.Is(err, collectors.ErrNoData) {
		o.polls.OK(o.device, time.Now())
	}
	return ss, err
}

// openStore opens the backend: the embedded store, or InfluxDB behind the
// durable outbox, so that every sample is committed locally first.
func (svc *service) openStore(ctx context.Context, cfg *config.Config) error {
	st, desc, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	svc.data, svc.storeDesc = st, desc
	if sq, ok := st.(*sqlite.Store); ok {
		svc.embedded = sq
		svc.writer = &watchedWriter{w: sq}
		return nil
	}
	ob := cfg.Storage.Outbox
	svc.outbox, err = outbox.Open(ctx, st, outbox.Options{Dir: ob.Dir, DiskBudget: int64(ob.DiskBudget),
		WarnAtPct: ob.WarnAtPct, BatchSize: cfg.Storage.InfluxDB.BatchSize, Logger: svc.log, Registerer: svc.reg})
	if err != nil {
		return err
	}
	svc.storeDesc += ", through the outbox in " + ob.Dir
	svc.writer = &watchedWriter{w: svc.outbox}
	return nil
}

// addJobs schedules every device; they start polling with runner.Start.
func (svc *service) addJobs() error {
	r, err := collectors.NewRunner(svc.writer, collectors.RunnerOptions{Logger: svc.log, Registerer: svc.reg})
	if err != nil {
		return err
	}
	svc.runner = r
	for i, j := range svc.jobs {
		if err := r.Add(j); err != nil {
			return err
		}
		svc.added++
		d := svc.devices[i]
		attrs := []any{"device", d.Name, "protocol", d.Protocol, "address", d.Address, "interval", d.Interval.Std().String()}
		if d.Protocol == config.ProtocolSNMP {
			profile := d.Profile
			if profile == "" {
				profile = "(detect)"
			}
			attrs = append(attrs, "profile", profile)
		}
		svc.log.Info("device added", attrs...)
	}
	if len(svc.jobs) == 0 {
		svc.log.Warn("no devices configured: nothing to poll")
	}
	return nil
}

// runBackground starts the outbox's forwarder and the embedded store's
// compaction; they stop when ctx ends.
func (svc *service) runBackground(ctx context.Context, wg *sync.WaitGroup, compactEvery time.Duration) {
	if svc.outbox != nil {
		wg.Go(func() { svc.outbox.Run(ctx) })
	}
	if svc.embedded != nil {
		wg.Go(func() { svc.compact(ctx, compactEvery) })
	}
}

// compact applies the raw retention and rollups now and every period.
func (svc *service) compact(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		begin := time.Now()
		if err := svc.embedded.Compact(ctx); err != nil {
			if ctx.Err() != nil {
				return
			}
			svc.log.Error("compacting the embedded store failed; retrying at the next period", "error", err, "period", every)
		} else {
			svc.log.Debug("embedded store compacted", "took", time.Since(begin))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// stopRunner stops scheduling and waits for the running polls.
func (svc *service) stopRunner() error {
	if svc.runner == nil {
		return nil
	}
	err := svc.runner.Shutdown()
	svc.runner = nil
	return err
}

// flushOutbox forwards what it can within the flush timeout; the rest
// stays queued on disk for the next start.
func (svc *service) flushOutbox() {
	if svc.outbox == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), svc.flushTimeout)
	defer cancel()
	err := svc.outbox.Flush(ctx)
	st := svc.outbox.Stats()
	if err != nil || st.Batches > 0 {
		svc.log.Warn("outbox not empty at shutdown; it is forwarded on the next start", "queued_batches", st.Batches,
			"queued_samples", st.Samples, "error", err)
		return
	}
	svc.log.Info("outbox flushed", "forwarded_samples", st.Forwarded)
}

// close releases whatever is still open; it may be called more than once.
func (svc *service) close() error {
	err := svc.stopRunner()
	for _, j := range svc.jobs[svc.added:] { // built, never handed to the runner
		err = errors.Join(err, j.Collector.Close())
	}
	svc.jobs = svc.jobs[:svc.added]
	if svc.outbox != nil {
		err = errors.Join(err, svc.outbox.Close())
		svc.outbox = nil
	}
	if svc.data != nil {
		err = errors.Join(err, svc.data.Close())
		svc.data = nil
	}
	return err
}

// health is what /healthz reports.
func (svc *service) health(ctx context.Context) server.Health {
	h := server.Health{Devices: svc.polls.Devices(), Store: svc.writer.failed()}
	if h.Store == nil && svc.embedded != nil {
		// A read that matches nothing (device names cannot contain '/'):
		// is the database there and readable?
		if _, err := svc.embedded.Latest(ctx, store.Query{Measurement: sample.Device, Device: "/"}); err != nil {
			h.Store = err
		}
	}
	if svc.outbox != nil {
		st := svc.outbox.Stats()
		h.Outbox = &server.OutboxState{Batches: st.Batches, Bytes: st.Bytes, Quarantined: st.Quarantined}
	}
	return h
}

// watchedWriter passes the runner's writes to the store and remembers
// whether the last one failed, which makes /healthz answer 503.
type watchedWriter struct {
	w store.Writer

	mu  sync.Mutex
	err error
}

func (w *watchedWriter) Write(ctx context.Context, batch []sample.Sample) error {
	err := w.w.Write(ctx, batch)
	if err != nil && (ctx.Err() != nil || invalid(batch)) {
		// Shutting down, or a collector's malformed sample: not the
		// store's fault.
		return err
	}
	w.mu.Lock()
	w.err = err
	w.mu.Unlock()
	return err
}

func (w *watchedWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func invalid(batch []sample.Sample) bool {
	for i := range batch {
		if batch[i].Validate() != nil {
			return true
		}
	}
	return false
}
