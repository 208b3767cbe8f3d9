package bench

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/daemon"
	"github.com/ecometer/ecometer/internal/store/outbox"
)

// DefaultServeRecordings are the SNMP recordings bench serve mixes, relative
// to the working directory (a checkout beside ../shared): PDUs of four
// vendors and a UPS, each read by a different profile.
var DefaultServeRecordings = []string{
	"../shared/corpus/snmp/apc_ap8959eu3.snmprec",
	"../shared/corpus/snmp/raritan-pdu_px2.snmprec",
	"../shared/corpus/snmp/eatonpdu_2.snmprec",
	"../shared/corpus/snmp/sentry4.snmprec",
	"../shared/corpus/snmp/eaton-mgeups_93ps.snmprec",
}

// ServeOptions configure Serve.
type ServeOptions struct {
	Devices    int           // simulated SNMP devices N
	BMCs       int           // simulated Redfish BMCs M
	Cycles     int           // measured poll cycles K
	Interval   time.Duration // every device's poll interval
	DeadPct    float64       // the second run's share of dead SNMP devices (0: no second run)
	Recordings []string      // default DefaultServeRecordings
	Mockup     string        // default DefaultMockup
	// Timeout and Retries are the SNMP devices' settings (default 2 s, 1),
	// which bound a dead device's poll.
	Timeout time.Duration
	Retries int
	// Stores are "sqlite" and/or "influxdb" (default sqlite, and influxdb
	// when Influxd names an influxd binary).
	Stores []string
	// Influxd is an influxd 1.8 binary started for the InfluxDB runs.
	Influxd string
	// Executable runs the simulators as `Executable bench serve
	// --simulate …` (default os.Executable()).
	Executable string
	// CPUProfile, when set, receives a CPU profile of the first run's
	// measured cycles (go tool pprof).
	CPUProfile string
	// MemProfile, when set, receives a heap profile taken at the end of the
	// first run's measured cycles.
	MemProfile string
	// Progress receives a one-line status, rewritten in place; nil: quiet.
	Progress io.Writer
}

// ServeRun is one run of the serve path.
type ServeRun struct {
	Store           string  `json:"store"`
	DeadPct         float64 `json:"dead_pct"`
	SNMPDevices     int     `json:"snmp_devices"`
	DeadDevices     int     `json:"dead_devices"`
	BMCs            int     `json:"bmcs"`
	IntervalSeconds float64 `json:"interval_seconds"`
	Cycles          int     `json:"cycles"`

	Polls       int     `json:"device_polls"`
	LiveErrors  int     `json:"live_poll_errors"`
	FirstError  string  `json:"first_live_error,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	PollsPerSec float64 `json:"device_polls_per_second"`
	// CPUSeconds is this process's user+sys time over the measured cycles:
	// ecometer's serve path alone, the simulators run in a child.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPer1000 float64 `json:"cpu_seconds_per_1000_device_polls"`
	Cores      float64 `json:"cores"`
	// PeakRSSMiB is this process's high-water mark during the run (VmHWM,
	// reset at the run's start).
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Where the RSS goes, the largest of each seen over the measured
	// cycles (runtime/metrics, read every 250 ms): the Go heap live after
	// a GC, the heap size the GC lets it grow to (GOGC, --memory-limit),
	// and all memory the Go runtime holds (heap, stacks, metadata; not
	// returned to the OS). RSS beyond that is outside Go's allocator.
	HeapLiveMiB  float64 `json:"peak_go_heap_live_mib"`
	HeapGoalMiB  float64 `json:"peak_go_heap_goal_mib"`
	GoRuntimeMiB float64 `json:"peak_go_runtime_mib"`
	Goroutines   int     `json:"peak_goroutines"`
	// Samples written to the store (a sample is one line-protocol point).
	Points       int64   `json:"points_written"`
	PointsPerSec float64 `json:"points_written_per_second"`
	// Poll latency of the live and the dead devices, milliseconds.
	LiveP50ms float64 `json:"live_p50_ms"`
	LiveP99ms float64 `json:"live_p99_ms"`
	DeadP50ms float64 `json:"dead_p50_ms,omitempty"`
	DeadP99ms float64 `json:"dead_p99_ms,omitempty"`
	// The outbox (InfluxDB runs): the largest queue seen (every 100 ms) while
	// measuring, and what was still queued at the end of the cycles.
	OutboxPeakBatches int     `json:"outbox_peak_batches"`
	OutboxPeakKiB     float64 `json:"outbox_peak_kib"`
	OutboxEndBatches  int     `json:"outbox_batches_at_end"`
	// StopSeconds is the shutdown: polls in flight finished, outbox flushed.
	StopSeconds float64 `json:"stop_seconds"`
	// The child, for scale: the simulators' CPU per 1000 device-polls.
	SimCPUPer1000 float64 `json:"simulators_cpu_seconds_per_1000_device_polls"`
	LoadAvg       string  `json:"loadavg_after"`
}

// ServeResult is what Serve measured.
type ServeResult struct {
	Recordings    []string   `json:"recordings"`
	Mockup        string     `json:"mockup,omitempty"`
	GOMAXPROCS    int        `json:"gomaxprocs"`
	LoadAvgBefore string     `json:"loadavg_before"`
	Runs          []ServeRun `json:"runs"`
}

// Serve runs the real serve path (internal/daemon, with its runner,
// collectors, store and HTTP server) against simulated devices served by
// a child process, for opts.Cycles intervals after a first unmeasured
// cycle (profile detection, discovery), once per store, and once more per
// store with DeadPct of the SNMP devices dead (their UDP packets go
// unanswered).
func Serve(ctx context.Context, opts ServeOptions) (ServeResult, error) {
	var res ServeResult
	if opts.Devices < 0 || opts.BMCs < 0 || opts.Devices+opts.BMCs < 1 || opts.Cycles < 1 {
		return res, usageErrorf("bench serve: want --devices + --bmcs ≥ 1 and --cycles ≥ 1")
	}
	if opts.Interval < time.Second {
		return res, usageErrorf("bench serve: --interval %s: want at least 1s", opts.Interval)
	}
	if opts.DeadPct < 0 || opts.DeadPct >= 100 {
		return res, usageErrorf("bench serve: --dead-pct %g: want 0 ≤ pct < 100", opts.DeadPct)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.Retries < 0 {
		opts.Retries = 0
	}
	if len(opts.Recordings) == 0 {
		opts.Recordings = DefaultServeRecordings
	}
	for _, f := range opts.Recordings {
		if _, err := os.Stat(f); err != nil {
			abs, _ := filepath.Abs(f)
			return res, usageErrorf("bench serve: no recording at %s: pass --recording FILE (repeatable)", abs)
		}
	}
	mockup := ""
	if opts.BMCs > 0 {
		mockup = opts.Mockup
		if mockup == "" {
			mockup = DefaultMockup
		}
		abs, err := filepath.Abs(mockup)
		if err != nil {
			return res, err
		}
		if _, err := os.Stat(filepath.Join(abs, "index.json")); err != nil {
			return res, usageErrorf("bench serve: no mockup at %s: pass --mockup DIR", abs)
		}
		mockup = abs
	}
	if len(opts.Stores) == 0 {
		opts.Stores = []string{"sqlite"}
		if opts.Influxd != "" {
			opts.Stores = append(opts.Stores, "influxdb")
		}
	}
	for _, s := range opts.Stores {
		if s != "sqlite" && s != "influxdb" {
			return res, usageErrorf("bench serve: --store %q: want sqlite or influxdb", s)
		}
		if s == "influxdb" && opts.Influxd == "" {
			return res, usageErrorf("bench serve: --store influxdb needs --influxd (an influxd 1.8 binary)")
		}
	}
	if opts.Executable == "" {
		exe, err := os.Executable()
		if err != nil {
			return res, fmt.Errorf("bench serve: cannot re-execute ecometer for the simulators: %w", err)
		}
		opts.Executable = exe
	}
	res = ServeResult{Recordings: opts.Recordings, Mockup: opts.Mockup, GOMAXPROCS: runtime.GOMAXPROCS(0), LoadAvgBefore: loadAvg()}
	p := &progress{w: opts.Progress}
	defer p.clear()
	dir, err := os.MkdirTemp("", "ecometer-bench-serve-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	pcts := []float64{0}
	if opts.DeadPct > 0 {
		pcts = append(pcts, opts.DeadPct)
	}
	profiled := false
	for _, st := range opts.Stores {
		var influx *influxd
		if st == "influxdb" {
			p.set("starting influxd")
			if influx, err = startInfluxd(ctx, opts.Influxd, filepath.Join(dir, "influxd")); err != nil {
				return res, err
			}
		}
		for _, pct := range pcts {
			cpuProfile, memProfile := "", ""
			if !profiled {
				cpuProfile, memProfile, profiled = opts.CPUProfile, opts.MemProfile, true
			}
			run, err := serveRun(ctx, opts, st, influx, pct, mockup, filepath.Join(dir, fmt.Sprintf("%s-%g", st, pct)), cpuProfile, memProfile, p)
			if err != nil {
				influx.stop()
				return res, err
			}
			res.Runs = append(res.Runs, run)
		}
		influx.stop()
	}
	return res, nil
}

// pollLog collects the polls of the measured cycles.
type pollLog struct {
	dead      map[string]bool
	measuring atomic.Bool
	points    atomic.Int64

	outbox func() outbox.Stats // set by serve when the outbox is used

	mu         sync.Mutex
	live       []time.Duration
	deadTook   []time.Duration
	liveErrors int
	firstErr   string
}

func (l *pollLog) Polled(device string, took time.Duration, err error) {
	if !l.measuring.Load() {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.dead[device] {
		l.deadTook = append(l.deadTook, took)
		return
	}
	l.live = append(l.live, took)
	if err != nil && !errors.Is(err, collectors.ErrNoData) {
		l.liveErrors++
		if l.firstErr == "" {
			l.firstErr = device + ": " + err.Error()
		}
	}
}

func (l *pollLog) Outbox(stats func() outbox.Stats) { l.outbox = stats }

func (l *pollLog) Written(samples int) {
	if l.measuring.Load() {
		l.points.Add(int64(samples))
	}
}

// percentile of sorted durations, in milliseconds.
func percentile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q * float64(len(sorted)-1))
	return float64(sorted[i].Microseconds()) / 1000
}

func serveRun(ctx context.Context, opts ServeOptions, storeName string, influx *influxd, deadPct float64, mockup, dir, cpuProfile, memProfile string, p *progress) (ServeRun, error) {
	run := ServeRun{Store: storeName, DeadPct: deadPct, SNMPDevices: opts.Devices, BMCs: opts.BMCs,
		IntervalSeconds: opts.Interval.Seconds(), Cycles: opts.Cycles}
	// Every k-th SNMP device is dead, so the dead are spread over names and
	// recordings alike.
	if deadPct > 0 && opts.Devices > 0 {
		run.DeadDevices = max(1, int(float64(opts.Devices)*deadPct/100+0.5))
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return run, err
	}
	p.set("%s, %g %% dead: starting %d SNMP agents and %d BMCs in a child process", storeName, deadPct, opts.Devices-run.DeadDevices, opts.BMCs)
	child, err := startServeSimulators(ctx, opts, run.DeadDevices, mockup, dir)
	if err != nil {
		return run, err
	}
	defer child.close()

	log := &pollLog{dead: map[string]bool{}}
	var cfg strings.Builder
	cfg.WriteString("allow_inline_secrets: true\nsites: [{name: bench}]\ndevices:\n")
	iv := opts.Interval.String()
	deadEvery := 0
	if run.DeadDevices > 0 {
		deadEvery = opts.Devices / run.DeadDevices
	}
	live, dead := 0, 0
	for i := range opts.Devices {
		name := fmt.Sprintf("snmp-%05d", i)
		var addr, community string
		if deadEvery > 0 && i%deadEvery == deadEvery-1 && dead < run.DeadDevices {
			addr, community = child.dead[dead], "public"
			log.dead[name] = true
			dead++
		} else {
			addr, community = child.snmp[live].addr, child.snmp[live].community
			live++
		}
		fmt.Fprintf(&cfg, "  - {name: %s, site: bench, class: pdu, protocol: snmp, address: %q, interval: %s, snmp: {community: %q, timeout: %s, retries: %d}}\n",
			name, addr, iv, community, opts.Timeout, opts.Retries)
	}
	for i, u := range child.bmcs {
		fmt.Fprintf(&cfg, "  - {name: bmc-%05d, site: bench, class: server, protocol: redfish, address: %q, interval: %s, redfish: {user: %s, password: %s, ca_file: %q}}\n",
			i, u, iv, SimUser, SimPassword, child.ca)
	}
	if opts.Devices+opts.BMCs == 0 {
		cfg.WriteString("  []\n")
	}
	fmt.Fprintf(&cfg, "storage:\n  data_dir: %q\n", filepath.Join(dir, "data"))
	if influx != nil {
		fmt.Fprintf(&cfg, "  influxdb: {url: %q, bucket: %s/autogen}\n", influx.url, influx.newDatabase(ctx, filepath.Base(dir)))
	}
	file := filepath.Join(dir, "bench.yaml")
	if err := os.WriteFile(file, []byte(cfg.String()), 0o600); err != nil {
		return run, err
	}
	conf, err := collection.Load(file)
	if err != nil {
		return run, fmt.Errorf("bench serve: generated config: %w", err)
	}
	profiles, err := collection.Profiles(conf)
	if err != nil {
		return run, err
	}

	resetPeakRSS()
	var logs bytes.Buffer
	var logMu sync.Mutex
	logger := slog.New(slog.NewTextHandler(lockedWriter{&logs, &logMu}, &slog.HandlerOptions{Level: slog.LevelError}))
	started := make(chan net.Addr, 1)
	dctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() {
		done <- daemon.Run(dctx, daemon.Options{Config: conf, Profiles: profiles, ConfigFile: file, Listen: "127.0.0.1:0",
			Logger: logger, Observer: log, FlushTimeout: time.Minute, Started: func(a net.Addr) { started <- a }})
	}()
	select {
	case <-started:
	case err := <-done:
		return run, fmt.Errorf("bench serve: serve stopped at start: %v\n%s", err, logs.String())
	case <-time.After(2 * time.Minute):
		return run, errors.New("bench serve: serve did not start")
	}
	stopped := false
	defer func() {
		if !stopped {
			stop()
			<-done
		}
	}()

	// The first cycle detects profiles and discovers BMCs: not measured.
	// It ends one interval after the start, plus the slowest first poll.
	wait := func(d time.Duration, what string) error {
		end := time.Now().Add(d)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for time.Now().Before(end) {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case err := <-done:
				return fmt.Errorf("bench serve: serve stopped: %v\n%s", err, logs.String())
			case <-t.C:
				p.set("%s, %g %% dead: %s, %s left", storeName, deadPct, what, time.Until(end).Round(time.Second))
			}
		}
		return nil
	}
	if err := wait(opts.Interval+opts.Timeout*time.Duration(opts.Retries+1)+time.Second, "first cycle (detection, not measured)"); err != nil {
		return run, err
	}
	runtime.GC()

	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return run, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return run, err
		}
	}
	simBefore, err := child.stats()
	if err != nil {
		return run, err
	}
	before, err := ReadUsage()
	if err != nil {
		return run, err
	}
	begin := time.Now()
	log.measuring.Store(true)
	// The outbox queue, watched on /healthz.
	watchDone := make(chan struct{})
	var watch sync.WaitGroup
	if influx != nil && log.outbox != nil {
		watch.Go(func() { run.OutboxPeakBatches, run.OutboxPeakKiB = watchOutbox(log.outbox, watchDone) })
	}
	var mem memoryPeaks
	watch.Go(func() { mem = watchMemory(watchDone) })
	err = wait(time.Duration(opts.Cycles)*opts.Interval, fmt.Sprintf("measuring %d cycles", opts.Cycles))
	log.measuring.Store(false)
	wall := time.Since(begin)
	after, uerr := ReadUsage()
	close(watchDone)
	watch.Wait()
	if cpuProfile != "" {
		pprof.StopCPUProfile()
	}
	if memProfile != "" {
		if err := writeHeapProfile(memProfile); err != nil {
			return run, err
		}
	}
	if err := errors.Join(err, uerr); err != nil {
		return run, err
	}
	simAfter, err := child.stats()
	if err != nil {
		return run, err
	}
	if log.outbox != nil {
		run.OutboxEndBatches = log.outbox().Batches
	}
	run.PeakRSSMiB = peakRSSMiB(after)
	run.HeapLiveMiB, run.HeapGoalMiB, run.GoRuntimeMiB = mem.live/(1<<20), mem.goal/(1<<20), mem.runtime/(1<<20)
	run.Goroutines = int(mem.goroutines)

	p.set("%s, %g %% dead: stopping serve", storeName, deadPct)
	stopBegin := time.Now()
	stop()
	derr := <-done
	stopped = true
	run.StopSeconds = time.Since(stopBegin).Seconds()
	if derr != nil {
		return run, fmt.Errorf("bench serve: serve: %w\n%s", derr, logs.String())
	}

	log.mu.Lock()
	defer log.mu.Unlock()
	slices.Sort(log.live)
	slices.Sort(log.deadTook)
	run.Polls = len(log.live) + len(log.deadTook)
	run.LiveErrors, run.FirstError = log.liveErrors, log.firstErr
	run.WallSeconds = wall.Seconds()
	run.CPUSeconds = (after.CPU - before.CPU).Seconds()
	run.Cores = run.CPUSeconds / run.WallSeconds
	if run.Polls > 0 {
		run.PollsPerSec = float64(run.Polls) / run.WallSeconds
		run.CPUPer1000 = run.CPUSeconds / float64(run.Polls) * 1000
		run.SimCPUPer1000 = (simAfter.CPUSeconds - simBefore.CPUSeconds) / float64(run.Polls) * 1000
	}
	run.Points = log.points.Load()
	run.PointsPerSec = float64(run.Points) / run.WallSeconds
	run.LiveP50ms, run.LiveP99ms = percentile(log.live, 0.50), percentile(log.live, 0.99)
	run.DeadP50ms, run.DeadP99ms = percentile(log.deadTook, 0.50), percentile(log.deadTook, 0.99)
	run.LoadAvg = loadAvg()
	return run, nil
}

type lockedWriter struct {
	w  io.Writer
	mu *sync.Mutex
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// watchOutbox reads the outbox's queue every 100 ms until done and
// returns the largest seen.
func watchOutbox(stats func() outbox.Stats, done <-chan struct{}) (int, float64) {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	peak, peakBytes := 0, int64(0)
	for {
		select {
		case <-done:
			return peak, float64(peakBytes) / 1024
		case <-t.C:
		}
		st := stats()
		peak, peakBytes = max(peak, st.Batches), max(peakBytes, st.Bytes)
	}
}

// memoryPeaks are the largest runtime memory figures seen, in bytes.
type memoryPeaks struct{ live, goal, runtime, goroutines float64 }

// watchMemory reads the runtime's memory figures every 250 ms until done
// and returns the largest of each.
func watchMemory(done <-chan struct{}) memoryPeaks {
	samples := []metrics.Sample{
		{Name: "/gc/heap/live:bytes"},
		{Name: "/gc/heap/goal:bytes"},
		{Name: "/memory/classes/total:bytes"},
		{Name: "/memory/classes/heap/released:bytes"},
		{Name: "/sched/goroutines:goroutines"},
	}
	var peak memoryPeaks
	read := func() {
		metrics.Read(samples)
		v := func(i int) float64 {
			if samples[i].Value.Kind() != metrics.KindUint64 {
				return 0
			}
			return float64(samples[i].Value.Uint64())
		}
		peak.live = max(peak.live, v(0))
		peak.goal = max(peak.goal, v(1))
		peak.runtime = max(peak.runtime, v(2)-v(3))
		peak.goroutines = max(peak.goroutines, v(4))
	}
	t := time.NewTicker(250 * time.Millisecond)
	defer t.Stop()
	for {
		read()
		select {
		case <-done:
			return peak
		case <-t.C:
		}
	}
}

// loadAvg is /proc/loadavg's first three fields ("" elsewhere).
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// resetPeakRSS resets the kernel's high-water mark of this process's
// resident set (Linux: "5" to /proc/self/clear_refs), so that each run's
// peak is its own.
func resetPeakRSS() { _ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) }

// peakRSSMiB is VmHWM from /proc/self/status, else getrusage's peak.
func peakRSSMiB(u Usage) float64 {
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				f := strings.Fields(rest)
				if kb, err := strconv.ParseFloat(f[0], 64); err == nil && len(f) == 2 && f[1] == "kB" {
					return kb / 1024
				}
			}
		}
	}
	return float64(u.MaxRSS) / (1 << 20)
}

// serveSimulators is the child process serving the devices.
type serveSimulators struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	out    *bufio.Reader
	stderr *bytes.Buffer
	snmp   []agentAddr
	dead   []string
	bmcs   []string
	ca     string
	closed bool
}

type agentAddr struct{ addr, community string }

// startServeSimulators runs `ecometer bench serve --simulate …` and reads
// the devices' addresses from it.
func startServeSimulators(ctx context.Context, opts ServeOptions, dead int, mockup, dir string) (*serveSimulators, error) {
	args := []string{"bench", "serve", "--simulate", "--devices", strconv.Itoa(opts.Devices - dead),
		"--dead", strconv.Itoa(dead), "--bmcs", strconv.Itoa(opts.BMCs), "--ca-file", filepath.Join(dir, "bmc-ca.pem")}
	for _, r := range opts.Recordings {
		args = append(args, "--recording", r)
	}
	if mockup != "" {
		args = append(args, "--mockup", mockup)
	}
	cmd := exec.CommandContext(ctx, opts.Executable, args...)
	sim := &serveSimulators{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = sim.stderr
	var err error
	if sim.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench serve: start the simulators: %w", err)
	}
	sim.out = bufio.NewReader(stdout)
	for {
		line, err := sim.out.ReadString('\n')
		if err != nil {
			return nil, sim.failed(err)
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 1 && f[0] == "ready":
			return sim, nil
		case len(f) == 3 && f[0] == "snmp":
			sim.snmp = append(sim.snmp, agentAddr{f[1], f[2]})
		case len(f) == 2 && f[0] == "dead":
			sim.dead = append(sim.dead, f[1])
		case len(f) == 2 && f[0] == "bmc":
			sim.bmcs = append(sim.bmcs, f[1])
		case len(f) == 2 && f[0] == "ca":
			sim.ca = f[1]
		default:
			return nil, sim.failed(fmt.Errorf("unexpected line %q", line))
		}
	}
}

func (s *serveSimulators) failed(err error) error {
	s.close()
	msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.stderr.String()), "ecometer: "))
	if msg == "" {
		msg = err.Error()
	}
	if s.cmd.ProcessState != nil && s.cmd.ProcessState.ExitCode() == 2 {
		return usageErrorf("bench serve: %s", msg)
	}
	return fmt.Errorf("bench serve: simulators: %s", msg)
}

func (s *serveSimulators) stats() (benchSimStats, error) {
	var st benchSimStats
	if _, err := io.WriteString(s.stdin, "stats\n"); err != nil {
		return st, s.failed(err)
	}
	line, err := s.out.ReadString('\n')
	if err == nil {
		err = json.Unmarshal([]byte(line), &st)
	}
	if err != nil {
		return st, s.failed(err)
	}
	return st, nil
}

func (s *serveSimulators) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.stdin.Close()
	waited := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, s.out)
		_ = s.cmd.Wait()
		close(waited)
	}()
	select {
	case <-waited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-waited
	}
}

func writeHeapProfile(file string) error {
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	defer f.Close()
	return pprof.Lookup("heap").WriteTo(f, 0)
}
