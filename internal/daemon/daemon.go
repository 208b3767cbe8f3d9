// Package daemon is the production job behind `ecometer serve`: it polls
// every configured device on its schedule, writes the samples to the store
// (the embedded one, or InfluxDB through the durable outbox), compacts the
// embedded store, and serves /metrics, /healthz and /readyz, until its
// context ends; then it stops scheduling, lets the polls in flight finish,
// forwards what the outbox can and closes everything in order.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/server"
	"github.com/ecometer/ecometer/internal/shard"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/outbox"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// Options configure Run.
type Options struct {
	Config   *config.Config
	Profiles *snmp.Registry // the profiles cfg may use (collection.Profiles)
	// ConfigFile names the configuration in logs.
	ConfigFile string
	Listen     string // default server.DefaultListen
	// FlushTimeout bounds the outbox's forwarding at shutdown (default 10 s).
	FlushTimeout time.Duration
	// CompactEvery is the period of the embedded store's compaction
	// (default 1 h); SummaryEvery that of the summary log line (default
	// 10 min).
	CompactEvery time.Duration
	SummaryEvery time.Duration
	Logger       *slog.Logger
	// StopTimeout bounds how long the polls in flight at shutdown may take
	// to finish before they are cancelled (default 30 s).
	StopTimeout time.Duration
	// Pprof serves the Go profiler on the listen address, /debug/pprof/.
	Pprof bool
	// Shard is this instance's share of the devices (default: all).
	Shard shard.Shard
	// Reload receives a value for each request to re-read ConfigFile
	// (SIGHUP): devices added, removed or changed take effect; a
	// configuration with problems is rejected and the running one stays.
	Reload <-chan struct{}
	// Reloaded, when set, is called after each reload with its outcome
	// (tests, and the log).
	Reloaded func(ReloadResult)
	// Singletons run on one instance only: the leader elected through the
	// configuration's coordination service, or this instance when none is
	// configured.
	Singletons []SingletonJob
	// Metrics are registered on /metrics beside the service's own (e.g.
	// what a singleton job measures).
	Metrics []prometheus.Collector
	// Observer, when set, sees every poll and every write (ecometer bench
	// serve measures with it).
	Observer Observer
	// Started, when set, is called with the HTTP address once everything
	// runs (tests).
	Started func(net.Addr)
}

// Observer sees the service's work as it happens. Its methods are called
// from the polling goroutines and must be quick and safe for concurrent use.
type Observer interface {
	// Polled is one poll of device: its duration and error (nil, or
	// collectors.ErrNoData for a device without power readings, are
	// successes).
	Polled(device string, took time.Duration, err error)
	// Written is one batch of samples the store took.
	Written(samples int)
}

// OutboxObserver is an Observer that also reads the outbox's queue: with
// InfluxDB configured, Outbox is called once with a function returning its
// current state (cheap: a copy under a lock).
type OutboxObserver interface {
	Observer
	Outbox(stats func() outbox.Stats)
}

func (o *Options) defaults() {
	if o.CompactEvery <= 0 {
		o.CompactEvery = time.Hour
	}
	if o.SummaryEvery <= 0 {
		o.SummaryEvery = 10 * time.Minute
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.StopTimeout <= 0 {
		o.StopTimeout = 30 * time.Second
	}
	if o.Shard.Of == 0 {
		o.Shard = shard.Shard{Index: 0, Of: 1}
	}
}

// Run runs the service until ctx ends. It returns nil after a clean
// shutdown. A device that cannot be built as configured is a
// *collection.DeviceError, an unreadable store secret a
// *backend.SecretError: both configuration problems.
func Run(ctx context.Context, opts Options) error {
	opts.defaults()
	if err := opts.Shard.Validate(); err != nil {
		return err
	}
	log := opts.Logger
	svc := &service{log: log, flushTimeout: opts.FlushTimeout, reg: server.NewRegistry(), readings: server.NewReadings(),
		cfg: released(opts.Config), profiles: opts.Profiles, shard: opts.Shard, configFile: opts.ConfigFile, observer: opts.Observer,
		polls: server.NewPolls(), devices: map[string]config.Device{}}
	defer svc.close()
	svc.reg.MustRegister(svc.readings)
	for _, m := range opts.Metrics {
		if err := svc.reg.Register(m); err != nil {
			return fmt.Errorf("daemon: metrics: %w", err)
		}
	}
	jobs, err := svc.buildJobs(opts.Config, svc.owned(opts.Config), opts.Profiles)
	if err != nil {
		return err
	}
	if err := svc.openStore(ctx, opts.Config); err != nil {
		closeJobs(jobs)
		return err
	}
	svc.fitLinger(opts.Config)
	if err := svc.newRunner(opts.StopTimeout); err != nil {
		closeJobs(jobs)
		return err
	}
	if err := svc.addJobs(opts.Config, jobs); err != nil {
		return err
	}
	if len(svc.devices) == 0 {
		log.Warn("no devices to poll", "configured", len(opts.Config.Devices), "shard", svc.shard.String())
	}
	single, err := newSingletons(ctx, opts.Config, opts.Singletons, svc.reg, log)
	if err != nil {
		return err
	}
	svc.singletons = single
	srv := server.New(server.Options{Listen: opts.Listen, Gatherer: svc.reg, Health: svc.health, Logger: log, Pprof: opts.Pprof})
	if err := srv.Init(); err != nil {
		return err
	}

	// The background jobs run on bgCtx, which ends only once the polls
	// have stopped, so that the outbox keeps forwarding while they finish.
	bgCtx, stopBackground := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBackground()
	var bg sync.WaitGroup
	svc.runBackground(bgCtx, &bg, opts.CompactEvery, opts.SummaryEvery)
	srvDone := make(chan error, 1)
	go func() { srvDone <- srv.Run(bgCtx) }()
	svc.runner.Start()
	svc.singletons.start(bgCtx, &bg)
	svc.setReady(true)
	attrs := []any{"devices", len(svc.devices), "snmp", svc.count(config.ProtocolSNMP),
		"redfish", svc.count(config.ProtocolRedfish), "store", svc.storeDesc, "listen", srv.Addr().String(),
		"config", opts.ConfigFile}
	if !svc.shard.All() {
		attrs = append(attrs, "shard", svc.shard.String(), "configured_devices", len(opts.Config.Devices))
	}
	log.Info("ecometer serving", attrs...)
	if opts.Started != nil {
		opts.Started(srv.Addr())
	}

	var srvErr error
	served := false
wait:
	for {
		select {
		case <-ctx.Done():
			log.Info("shutting down", "cause", context.Cause(ctx), "polls_in_flight_deadline", opts.StopTimeout)
			break wait
		case srvErr = <-srvDone:
			served = true
			log.Error("HTTP server failed; shutting down", "error", srvErr)
			break wait
		case <-opts.Reload:
			res := svc.reload()
			if opts.Reloaded != nil {
				opts.Reloaded(res)
			}
		}
	}
	svc.setReady(false)
	// No new polls, the running ones finished and written; then the
	// singleton jobs and background jobs stop, the outbox forwards what it
	// can, and the HTTP server (answering until now) closes before the
	// stores do.
	err = svc.stopRunner()
	err = errors.Join(err, svc.closeGroup())
	svc.singletons.stop()
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

// service holds what Run runs, so that whatever was started is stopped and
// closed in the right order, whichever step fails.
type service struct {
	log          *slog.Logger
	flushTimeout time.Duration
	reg          *prometheus.Registry
	readings     *server.Readings

	cfg        *config.Config // the configuration in force
	profiles   *snmp.Registry
	configFile string
	shard      shard.Shard
	devices    map[string]config.Device // the devices polled, as configured
	polls      *server.Polls
	singletons *singletons
	observer   Observer

	storeDesc string
	data      backend.Store  // the backend: SQLite or InfluxDB
	embedded  *sqlite.Store  // data, when it is SQLite
	outbox    *outbox.Outbox // in front of data, when it is InfluxDB
	// group gathers the polls' writes into one transaction (group commit);
	// writer, in front of it, is what the runner writes to.
	group   *store.GroupWriter
	writer  *watchedWriter
	started time.Time

	mu       sync.Mutex
	ready    bool
	checkErr error // the start-up check of InfluxDB, until forwarding works

	runner *collectors.Runner
}

// owned returns the devices of cfg this instance polls (its shard's).
// released is cfg without its file positions: it has been checked, and
// the daemon holds it as long as it runs.
func released(cfg *config.Config) *config.Config {
	cfg.ReleasePositions()
	return cfg
}

func (svc *service) owned(cfg *config.Config) []int {
	var idx []int
	for i, d := range cfg.Devices {
		if svc.shard.Owns(d.Name) {
			idx = append(idx, i)
		}
	}
	return idx
}

// buildJobs makes the collectors of the devices at idx in cfg, each
// reporting its polls. On error nothing stays open.
func (svc *service) buildJobs(cfg *config.Config, idx []int, profiles *snmp.Registry) ([]collectors.Job, error) {
	jobs := make([]collectors.Job, 0, len(idx))
	// Sockets kept open between polls or not, by how many SNMP devices
	// this instance polls (its shard of cfg).
	var mine []config.Device
	for _, i := range svc.owned(cfg) {
		mine = append(mine, cfg.Devices[i])
	}
	keep := collection.KeepSockets(collection.CountSNMP(mine))
	for _, i := range idx {
		d := cfg.Devices[i]
		c, err := collection.New(d, profiles, svc.log, keep)
		if err != nil {
			closeJobs(jobs)
			return nil, &collection.DeviceError{Index: i, Device: d.Name, Err: err}
		}
		c = &observed{Collector: c, device: d.Name, polls: svc.polls, log: svc.log, observer: svc.observer}
		jobs = append(jobs, collectors.Job{Target: collection.TargetOf(d), Source: string(d.Protocol),
			Interval: collection.Interval(cfg, d), Collector: c})
	}
	return jobs, nil
}

func closeJobs(jobs []collectors.Job) {
	for _, j := range jobs {
		j.Collector.Close()
	}
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

// observed records a device's polls for /healthz and logs what an operator
// needs once: the first successful poll with the detected profile, and when
// a failing device answers again (the runner logs the failures).
type observed struct {
	collectors.Collector
	device   string
	polls    *server.Polls
	log      *slog.Logger
	observer Observer
}

func (o *observed) Collect(ctx context.Context, at time.Time) ([]sample.Sample, error) {
	begin := time.Now()
	ss, err := o.Collector.Collect(ctx, at)
	now := time.Now()
	if o.observer != nil {
		o.observer.Polled(o.device, now.Sub(begin), err)
	}
	if err == nil || errors.Is(err, collectors.ErrNoData) {
		failures := o.failures()
		profile := o.profile()
		if profile != "" {
			o.polls.SetProfile(o.device, profile)
		}
		if o.polls.OK(o.device, now) {
			o.log.Info("first successful poll", "device", o.device, "profile", profile, "samples", len(ss))
		} else if failures > 0 {
			o.log.Info("device answers again", "device", o.device, "failed_polls", failures)
		}
		return ss, err
	}
	if ctx.Err() == nil {
		o.polls.Fail(o.device, now, err) // the runner logs the failure
	}
	return ss, err
}

func (o *observed) failures() int { return o.polls.Failures(o.device) }

// profile names what the collector detected: the SNMP profile, or the
// Redfish power source of each chassis.
func (o *observed) profile() string {
	switch c := o.Collector.(type) {
	case *snmp.Collector:
		if p := c.Profile(); p != nil {
			return p.Name
		}
	case *redfish.Collector:
		srcs := c.Sources()
		var parts []string
		for _, ch := range slices.Sorted(maps.Keys(srcs)) {
			parts = append(parts, fmt.Sprintf("%s: %s", ch, srcs[ch]))
		}
		return strings.Join(parts, ", ")
	}
	return ""
}

// openStore opens the backend: the embedded store, or InfluxDB behind the
// durable outbox, so that every sample is committed locally first. InfluxDB
// is asked at once whether its bucket can be used; a problem is logged and
// reported by /healthz, while the outbox keeps every sample until it is
// fixed.
func (svc *service) openStore(ctx context.Context, cfg *config.Config) error {
	st, desc, err := backend.Open(ctx, cfg, backend.ReadWrite)
	if err != nil {
		return err
	}
	svc.data, svc.storeDesc = st, desc
	svc.started = time.Now()
	if sq, ok := st.(*sqlite.Store); ok {
		svc.embedded = sq
		svc.group = store.NewGroupWriter(sq, groupOptions)
		svc.writer = &watchedWriter{w: svc.group, readings: svc.readings, observer: svc.observer}
		return nil
	}
	if err := backend.Check(ctx, st); err != nil {
		svc.checkErr = err
		svc.log.Error("InfluxDB cannot be used yet; samples are kept in the outbox until it can", "error", err)
	}
	ob := cfg.Storage.Outbox
	svc.outbox, err = outbox.Open(ctx, st, outbox.Options{Dir: ob.Dir, DiskBudget: int64(ob.DiskBudget),
		WarnAtPct: ob.WarnAtPct, BatchSize: cfg.Storage.InfluxDB.BatchSize, Logger: svc.log, Registerer: svc.reg})
	if err != nil {
		return err
	}
	svc.storeDesc += ", through the outbox in " + ob.Dir
	if oo, ok := svc.observer.(OutboxObserver); ok {
		oo.Outbox(svc.outbox.Stats)
	}
	svc.group = store.NewGroupWriter(svc.outbox, groupOptions)
	svc.writer = &watchedWriter{w: svc.group, readings: svc.readings, observer: svc.observer}
	return nil
}

func (svc *service) newRunner(stopTimeout time.Duration) error {
	r, err := collectors.NewRunner(svc.writer, collectors.RunnerOptions{Logger: svc.log, Registerer: svc.reg,
		StopTimeout: stopTimeout})
	if err != nil {
		return err
	}
	svc.runner = r
	return nil
}

// groupOptions gather the polls of up to a second into one write: one
// transaction of the embedded store, or one outbox row and one request to
// InfluxDB. A poll's job waits that long for its write (the samples' times
// are their slots, so the delay changes nothing stored), so the linger is
// kept below a tenth of the shortest interval (lingerFor): a device's next
// poll must not find the last one still writing.
var groupOptions = store.GroupOptions{Linger: time.Second, MaxSamples: 5000}

// lingerFor is the group linger for devices polled as often as every
// shortest: a tenth of it, between 10 ms and a second.
func lingerFor(shortest time.Duration) time.Duration {
	if shortest <= 0 {
		return groupOptions.Linger
	}
	return min(max(shortest/10, 10*time.Millisecond), groupOptions.Linger)
}

// fitLinger sets the group linger for the shortest interval of cfg's
// devices.
func (svc *service) fitLinger(cfg *config.Config) {
	if svc.group == nil {
		return
	}
	shortest := time.Duration(0)
	for _, d := range cfg.Devices {
		if iv := collection.Interval(cfg, d); iv > 0 && (shortest == 0 || iv < shortest) {
			shortest = iv
		}
	}
	svc.group.SetLinger(lingerFor(shortest))
}

// addJobs schedules devices (they start polling with runner.Start, or at
// once when it runs). The runner owns a job's collector once added; on
// error the jobs not added are closed.
func (svc *service) addJobs(cfg *config.Config, jobs []collectors.Job) error {
	for k, j := range jobs {
		if err := svc.runner.Add(j); err != nil {
			closeJobs(jobs[k:])
			return err
		}
		d := cfg.Devices[slices.IndexFunc(cfg.Devices, func(d config.Device) bool { return d.Name == j.Target.Device })]
		svc.devices[d.Name] = d
		svc.polls.Add(d.Name)
		if svc.log.Enabled(context.Background(), slog.LevelDebug) || len(jobs) <= 100 {
			attrs := []any{"device", d.Name, "protocol", d.Protocol, "address", d.Address, "interval", j.Interval.String()}
			if d.Protocol == config.ProtocolSNMP {
				profile := d.Profile
				if profile == "" {
					profile = "(detect)"
				}
				attrs = append(attrs, "profile", profile)
			}
			svc.log.Info("device added", attrs...)
		}
	}
	if len(jobs) > 100 {
		svc.log.Info("devices added", "count", len(jobs))
	}
	return nil
}

// runBackground starts the outbox's forwarder, the embedded store's
// compaction and the summary line; they stop when ctx ends.
func (svc *service) runBackground(ctx context.Context, wg *sync.WaitGroup, compactEvery, summaryEvery time.Duration) {
	if svc.outbox != nil {
		wg.Go(func() { svc.outbox.Run(ctx) })
	}
	if svc.embedded != nil {
		wg.Go(func() { svc.compact(ctx, compactEvery) })
	}
	wg.Go(func() { svc.summaries(ctx, summaryEvery) })
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

// summaries logs one line every period: devices answering and failing,
// samples written, the outbox's queue.
func (svc *service) summaries(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		var ok, failing, never int
		for _, d := range svc.polls.Devices() {
			switch {
			case d.Failing():
				failing++
			case d.LastOK.IsZero():
				never++
			default:
				ok++
			}
		}
		attrs := []any{"devices", len(svc.polls.Devices()), "answering", ok, "failing", failing, "not_yet_polled", never,
			"samples_written", svc.writer.written()}
		if svc.outbox != nil {
			st := svc.outbox.Stats()
			attrs = append(attrs, "outbox_queued_samples", st.Samples, "forwarded_samples", st.Forwarded, "forwarding_ok", st.FailingSince.IsZero())
		}
		svc.log.Info("summary", attrs...)
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

// closeGroup writes what the group writer holds; the polls have stopped.
func (svc *service) closeGroup() error {
	if svc.group == nil {
		return nil
	}
	err := svc.group.Close()
	svc.group = nil
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
	err = errors.Join(err, svc.closeGroup())
	svc.singletons.stop()
	err = errors.Join(err, svc.singletons.close())
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

func (svc *service) setReady(v bool) {
	svc.mu.Lock()
	svc.ready = v
	svc.mu.Unlock()
}

// health is what /healthz and /readyz report.
func (svc *service) health(ctx context.Context) server.Health {
	svc.mu.Lock()
	ready, checkErr := svc.ready, svc.checkErr
	svc.mu.Unlock()
	h := server.Health{Ready: ready, Devices: svc.polls.Devices(), Store: svc.writer.failed()}
	if h.Store == nil && svc.embedded != nil {
		// A read that matches nothing (device names cannot contain '/'):
		// is the database there and readable?
		if _, err := svc.embedded.Latest(ctx, store.Query{Measurement: sample.Device, Device: "/"}); err != nil {
			h.Store = err
		}
	}
	if svc.outbox != nil {
		st := svc.outbox.Stats()
		h.Outbox = &server.OutboxState{Batches: st.Batches, Bytes: st.Bytes, Quarantined: st.Quarantined,
			FailingSince: st.FailingSince, LastError: st.LastError}
		if checkErr != nil {
			if st.LastForwarded.After(svc.started) {
				svc.mu.Lock()
				svc.checkErr = nil
				svc.mu.Unlock()
			} else if h.Store == nil {
				h.Store = fmt.Errorf("start-up check: %w", checkErr)
			}
		}
	}
	return h
}

// watchedWriter passes the runner's writes to the store, remembers whether
// the last one failed (which makes /healthz answer 503), and hands what
// was stored to the readings /metrics shows.
type watchedWriter struct {
	w        store.Writer
	readings *server.Readings
	observer Observer

	mu    sync.Mutex
	err   error
	count int64
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
	if err == nil {
		w.count += int64(len(batch))
	}
	w.mu.Unlock()
	if err == nil {
		w.readings.Observe(batch)
		if w.observer != nil {
			w.observer.Written(len(batch))
		}
	}
	return err
}

func (w *watchedWriter) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *watchedWriter) written() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.count
}

func invalid(batch []sample.Sample) bool {
	for i := range batch {
		if batch[i].Validate() != nil {
			return true
		}
	}
	return false
}
