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
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
)

// DefaultMockup is the server mockup the figures are measured
// with, relative to the working directory (a checkout beside ../shared).
const DefaultMockup = "../shared/corpus/redfish/public-rackmount1"

// RedfishInterval is the poll interval the CPU share is stated for.
const RedfishInterval = 60 * time.Second

// SimUser and SimPassword are the simulated BMCs' account (the
// simulator's default).
const SimUser, SimPassword = "admin", "password"

// RedfishOptions configure Redfish.
type RedfishOptions struct {
	BMCs    int
	Rounds  int
	Mockup  string // default defaultBenchMockup
	Workers int    // default 4 × GOMAXPROCS
	// Progress receives a one-line status, rewritten in place; nil: quiet.
	Progress io.Writer
}

// RedfishResult is what Redfish measured.
type RedfishResult struct {
	Mockup     string `json:"mockup"`
	Resources  int    `json:"mockup_resources"`
	BMCs       int    `json:"bmcs"`
	Rounds     int    `json:"rounds"`
	Workers    int    `json:"workers"`
	GOMAXPROCS int    `json:"gomaxprocs"`

	// Discovery (session login included), not part of the figures below.
	DiscoveryRequests       int64   `json:"discovery_requests"`
	DiscoveryRequestsPerBMC float64 `json:"discovery_requests_per_bmc"`
	DiscoveryCPUSeconds     float64 `json:"discovery_cpu_seconds"`

	Polls       int     `json:"polls"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	PollsPerSec float64 `json:"polls_per_second"`
	// CPUSeconds is this process's user+sys time over the measured rounds:
	// the collector alone, the simulators run in the child.
	CPUSeconds float64 `json:"cpu_seconds"`
	CPUPer1000 float64 `json:"cpu_seconds_per_1000_polls"`
	// Cores is the collector's CPU for BMCs polled every IntervalSeconds,
	// in cores; CorePercent the same in % of one core.
	IntervalSeconds float64 `json:"interval_seconds"`
	Cores           float64 `json:"cores_at_interval"`
	CorePercent     float64 `json:"percent_of_one_core_at_interval"`
	// PeakRSSMiB is this process's high-water mark (getrusage ru_maxrss).
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// RequestsPerPoll is counted by the simulators over the measured
	// rounds; ClientRequestsPerPoll by the collectors.
	RequestsPerPoll       float64 `json:"requests_per_poll"`
	ClientRequestsPerPoll float64 `json:"client_requests_per_poll"`

	// The child process, for scale: its CPU over the measured rounds and
	// its peak RSS.
	SimCPUPer1000 float64 `json:"simulators_cpu_seconds_per_1000_polls"`
	SimPeakRSSMiB float64 `json:"simulators_peak_rss_mib"`
}

// Redfish polls opts.BMCs simulated BMCs, served by a child process (this
// executable run as `ecometer bench redfish --serve N`), with the Redfish
// collector; see `ecometer bench redfish --help`.
func Redfish(ctx context.Context, opts RedfishOptions) (RedfishResult, error) {
	var res RedfishResult
	err := runRedfish(ctx, opts, &res)
	return res, err
}

func runRedfish(ctx context.Context, opts RedfishOptions, out *RedfishResult) error {
	if opts.BMCs < 1 || opts.Rounds < 1 {
		return usageErrorf("bench redfish: --bmcs and --rounds must be at least 1")
	}
	if opts.Workers <= 0 {
		opts.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	opts.Workers = min(opts.Workers, opts.BMCs)
	dir := opts.Mockup
	if dir == "" {
		dir = DefaultMockup
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(abs, "index.json")); err != nil {
		if opts.Mockup == "" {
			return usageErrorf("bench redfish: no mockup at %s (the default, relative to the working directory): pass --mockup DIR", abs)
		}
		return usageErrorf("bench redfish: --mockup %s: no index.json (want a mockup folder, /redfish/v1 at its top)", dir)
	}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	p := &statusLine{w: opts.Progress}
	defer p.clear()
	p.set("starting %d simulated BMCs in a child process", opts.BMCs)
	child, err := startBenchSimulators(ctx, opts.BMCs, abs)
	if err != nil {
		return err
	}
	defer child.close()
	res := RedfishResult{Mockup: dir, Resources: child.resources, BMCs: opts.BMCs, Rounds: opts.Rounds,
		Workers: opts.Workers, GOMAXPROCS: runtime.GOMAXPROCS(0), IntervalSeconds: RedfishInterval.Seconds()}

	log := slog.New(slog.DiscardHandler) // discovery logs every source found, per BMC
	cols := make([]*redfish.Collector, opts.BMCs)
	for i, u := range child.urls {
		c, err := redfish.New(redfish.Options{Endpoint: u, Username: SimUser, Password: SimPassword,
			Target: collectors.Target{Device: fmt.Sprintf("bmc-%d", i), Class: "server"}, Logger: log})
		if err != nil {
			return err
		}
		cols[i] = c
	}
	defer func() {
		p.set("logging out of %d BMCs", len(cols))
		benchPool(context.Background(), len(cols), opts.Workers, nil, func(i int) error { return cols[i].Close() })
	}()

	// Discovery: login and path resolution, once per BMC, not measured.
	before, err := ReadUsage()
	if err != nil {
		return err
	}
	done := p.count(ctx, "discovery", opts.BMCs)
	errs, first := benchPool(ctx, opts.BMCs, opts.Workers, done, func(i int) error { return cols[i].Discover(ctx) })
	p.stop()
	if err := ctx.Err(); err != nil {
		return err
	}
	if errs > 0 {
		return fmt.Errorf("bench redfish: discovery failed on %d of %d BMCs, first: %s", errs, opts.BMCs, first)
	}
	after, err := ReadUsage()
	if err != nil {
		return err
	}
	res.DiscoveryCPUSeconds = (after.CPU - before.CPU).Seconds()
	disc, err := child.stats()
	if err != nil {
		return err
	}
	res.DiscoveryRequests = disc.Requests
	res.DiscoveryRequestsPerBMC = float64(disc.Requests) / float64(opts.BMCs)
	var clientDisc int64
	for _, c := range cols {
		clientDisc += c.Requests()
	}

	// The measured rounds.
	runtime.GC() // start from a clean heap, as the SNMP bench does
	before, err = ReadUsage()
	if err != nil {
		return err
	}
	start := time.Now()
	for r := range opts.Rounds {
		done := p.count(ctx, fmt.Sprintf("round %d/%d", r+1, opts.Rounds), opts.BMCs)
		errs, first := benchPool(ctx, opts.BMCs, opts.Workers, done, func(i int) error {
			samples, err := cols[i].Collect(ctx, time.Now())
			if err == nil && len(samples) < 2 { // the device sample is always there
				err = errors.New("no power readings")
			}
			return err
		})
		p.stop()
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("bench redfish: %w", err)
		}
		res.Polls += opts.BMCs
		res.Errors += errs
		if res.FirstError == "" {
			res.FirstError = first
		}
	}
	wall := time.Since(start)
	after, err = ReadUsage()
	if err != nil {
		return err
	}
	polled, err := child.stats()
	if err != nil {
		return err
	}
	var clientAll int64
	for _, c := range cols {
		clientAll += c.Requests()
	}

	polls := float64(res.Polls)
	res.WallSeconds = wall.Seconds()
	res.PollsPerSec = polls / wall.Seconds()
	res.CPUSeconds = (after.CPU - before.CPU).Seconds()
	res.CPUPer1000 = res.CPUSeconds / polls * 1000
	res.Cores = float64(opts.BMCs) / RedfishInterval.Seconds() * res.CPUSeconds / polls
	res.CorePercent = res.Cores * 100
	res.PeakRSSMiB = float64(after.MaxRSS) / (1 << 20)
	res.RequestsPerPoll = float64(polled.Requests-disc.Requests) / polls
	res.ClientRequestsPerPoll = float64(clientAll-clientDisc) / polls
	res.SimCPUPer1000 = (polled.CPUSeconds - disc.CPUSeconds) / polls * 1000
	res.SimPeakRSSMiB = float64(polled.MaxRSS) / (1 << 20)
	p.clear()
	*out = res
	return nil
}

// benchPool runs f(0) … f(n-1) with at most workers calls in flight and
// returns the number of failures and the first error. done, if set, counts
// finished calls.
func benchPool(ctx context.Context, n, workers int, done *atomic.Int64, f func(i int) error) (int, string) {
	var failed atomic.Int64
	var first atomic.Value
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Go(func() {
			for i := range next {
				if err := f(i); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err.Error())
				}
				if done != nil {
					done.Add(1)
				}
			}
		})
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	msg, _ := first.Load().(string)
	return int(failed.Load()), msg
}

// statusLine is the progress line on a terminal, rewritten in place.
type statusLine struct {
	w     io.Writer // nil: quiet
	mu    sync.Mutex
	shown bool
	quit  chan struct{}
	wg    sync.WaitGroup
}

func (p *statusLine) set(format string, args ...any) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown = true
	fmt.Fprintf(p.w, "\r\033[K"+format, args...)
}

func (p *statusLine) clear() {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.shown {
		fmt.Fprint(p.w, "\r\033[K")
		p.shown = false
	}
}

// count shows "name: done/total polls" every 200 ms until stop.
func (p *statusLine) count(ctx context.Context, name string, total int) *atomic.Int64 {
	done := new(atomic.Int64)
	if p.w == nil {
		return done
	}
	p.quit = make(chan struct{})
	p.wg.Go(func() {
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-p.quit:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				p.set("%s: %d/%d BMCs", name, done.Load(), total)
			}
		}
	})
	return done
}

func (p *statusLine) stop() {
	if p.quit != nil {
		close(p.quit)
		p.wg.Wait()
		p.quit = nil
	}
}

// benchSimStats is the child's answer to "stats": the requests its BMCs
// have served, its CPU time and peak RSS so far.
type benchSimStats struct {
	Requests   int64   `json:"requests"`
	CPUSeconds float64 `json:"cpu_seconds"`
	MaxRSS     int64   `json:"max_rss_bytes"`
}

// benchSimulators is the child process serving the BMCs.
type benchSimulators struct {
	cmd       *exec.Cmd
	stdin     io.WriteCloser
	out       *bufio.Reader
	stderr    *bytes.Buffer
	urls      []string
	resources int
	closed    bool
}

// startBenchSimulators re-executes this binary as `ecometer bench redfish
// --serve N --mockup DIR` and reads the BMCs' URLs from it.
func startBenchSimulators(ctx context.Context, n int, dir string) (*benchSimulators, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("bench redfish: cannot re-execute ecometer for the simulators: %w", err)
	}
	cmd := exec.CommandContext(ctx, exe, "bench", "redfish", "--serve", strconv.Itoa(n), "--mockup", dir)
	sim := &benchSimulators{cmd: cmd, stderr: &bytes.Buffer{}}
	cmd.Stderr = sim.stderr
	if sim.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("bench redfish: start the simulators: %w", err)
	}
	sim.out = bufio.NewReader(stdout)
	// First line: "resources R"; then one URL per BMC.
	line, err := sim.out.ReadString('\n')
	if err == nil {
		_, err = fmt.Sscanf(line, "resources %d\n", &sim.resources)
	}
	for err == nil && len(sim.urls) < n {
		if line, err = sim.out.ReadString('\n'); err == nil {
			sim.urls = append(sim.urls, strings.TrimSpace(line))
		}
	}
	if err != nil {
		return nil, sim.failed(err)
	}
	return sim, nil
}

// failed ends the child and says why it stopped answering, with its exit
// status 2 (a bad mockup) kept as a usage error.
func (s *benchSimulators) failed(err error) error {
	s.close()
	msg := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s.stderr.String()), "ecometer: "))
	if msg == "" {
		msg = err.Error()
	}
	if s.cmd.ProcessState != nil && s.cmd.ProcessState.ExitCode() == 2 {
		return usageErrorf("bench redfish: %s", msg)
	}
	return fmt.Errorf("bench redfish: simulators: %s", msg)
}

func (s *benchSimulators) stats() (benchSimStats, error) {
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

// close closes the child's stdin, which ends it, and waits for it (killing
// it after 10 s).
func (s *benchSimulators) close() {
	if s.closed {
		return
	}
	s.closed = true
	s.stdin.Close()
	waited := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, s.out) // Wait needs stdout read to the end
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

// ServeBMCs is the child: it serves n BMCs on 127.0.0.1, all
// with one mockup loaded once, prints "resources R" and their URLs, and
// then answers each "stats" line on in with a benchSimStats line, until in
// closes.
//
// It is the child of Redfish; the command line maps a *UsageError to exit 2,
// which Redfish reads as a bad mockup.
func ServeBMCs(ctx context.Context, n int, dir string, in io.Reader, stdout io.Writer) error {
	if dir == "" {
		return usageErrorf("bench redfish --serve: --mockup DIR is required")
	}
	mock, err := simredfish.Load(dir)
	if err != nil {
		return &UsageError{Err: fmt.Errorf("--mockup: %w", err)}
	}
	bmcs := make([]*simredfish.BMC, 0, n)
	servers := make([]*http.Server, 0, n)
	defer func() {
		for _, srv := range servers {
			srv.Close()
		}
	}()
	var lc net.ListenConfig
	urls := make([]string, 0, n)
	for range n {
		bmc, err := simredfish.New(simredfish.Options{Mockup: mock})
		if err != nil {
			return err
		}
		ln, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("bench redfish --serve: %w", err)
		}
		srv := &http.Server{Handler: bmc, ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		bmcs, servers = append(bmcs, bmc), append(servers, srv)
		urls = append(urls, "http://"+ln.Addr().String())
	}
	out := bufio.NewWriter(stdout)
	fmt.Fprintf(out, "resources %d\n", mock.Paths())
	for _, u := range urls {
		fmt.Fprintln(out, u)
	}
	if err := out.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if sc.Text() != "stats" {
			return fmt.Errorf("bench redfish --serve: unknown command %q on stdin", sc.Text())
		}
		var st benchSimStats
		for _, b := range bmcs {
			st.Requests += b.TotalRequests()
		}
		u, err := ReadUsage()
		if err != nil {
			return err
		}
		st.CPUSeconds, st.MaxRSS = u.CPU.Seconds(), u.MaxRSS
		line, _ := json.Marshal(st)
		if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
			return err
		}
	}
	return sc.Err()
}
