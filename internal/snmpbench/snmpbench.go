// Package snmpbench measures the SNMP collector's CPU against a bare gosnmp
// floor, polling simulated agents on loopback (see `ecometer bench snmp`).
package snmpbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/internal/collection"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// Options say what to measure.
type Options struct {
	Devices        int
	Rounds         int
	Recording      *simsnmp.Recording
	RecordingPath  string // for the result
	MaxRepetitions int
	Workers        int // default 4 × GOMAXPROCS, at most Devices
	Timeout        time.Duration
	// Measuring, if set, runs around the measured rounds (e.g. a CPU
	// profile): it is called with a function that runs them.
	Measuring func(measure func() error) error
	// Progress receives a one-line status, rewritten in place; nil: quiet.
	Progress io.Writer
}

// Pass is what one pass measured.
type Pass struct {
	Name        string  `json:"name"`
	Polls       int     `json:"polls"`
	Errors      int     `json:"errors"`
	FirstError  string  `json:"first_error,omitempty"`
	WallSeconds float64 `json:"wall_seconds"`
	PollsPerSec float64 `json:"device_polls_per_second"`
	CPUSeconds  float64 `json:"cpu_seconds"`
	// CPUPer1000 is process CPU-seconds per 1000 device-polls, simulators included.
	CPUPer1000 float64 `json:"cpu_seconds_per_1000_polls"`
	// ClientPer1000 subtracts the replay pass's CPUPer1000 (the simulators').
	ClientPer1000 float64 `json:"client_cpu_seconds_per_1000_polls"`
}

// Result is what a run measured.
type Result struct {
	Recording       string `json:"recording"`
	Profile         string `json:"profile"`
	Devices         int    `json:"devices"`
	Rounds          int    `json:"rounds"`
	Workers         int    `json:"workers"`
	GOMAXPROCS      int    `json:"gomaxprocs"`
	MaxRepetitions  int    `json:"max_repetitions"`
	RequestsPerPoll int    `json:"requests_per_poll"`
	VarbindsPerPoll int    `json:"varbinds_per_poll"`
	Replay          Pass   `json:"replay"`
	Floor           Pass   `json:"floor"`
	Collector       Pass   `json:"collector"`
	// DiffPer1000 is collector − floor CPU-seconds per 1000 polls: the
	// collector's own cost above bare gosnmp (the simulators cancel out).
	DiffPer1000 float64 `json:"collector_minus_floor_cpu_seconds_per_1000_polls"`
	// Ratio is collector / floor with the simulators included in both;
	// ClientRatio with the replay pass subtracted from both.
	Ratio       float64 `json:"ratio_collector_over_floor"`
	ClientRatio float64 `json:"client_ratio_collector_over_floor"`
	// CoresFor10k is the collector's client-only CPU for 10,000 devices
	// polled every 60 s, in cores.
	CoresFor10k float64 `json:"client_cores_for_10000_devices_per_60s"`
	// SimRSSMiB is the process's peak RSS with the agents started, before
	// the passes; PeakRSSMiB at the end, all three passes' sessions open.
	SimRSSMiB  float64 `json:"peak_rss_mib_simulators"`
	PeakRSSMiB float64 `json:"peak_rss_mib"`
	// Readings and PowerReadings are what one collector poll read: a
	// recording the profile reads no power from is measured all the same
	// (the poll makes its requests), and says so.
	Readings      int `json:"readings_per_poll"`
	PowerReadings int `json:"power_readings_per_poll"`
}

// Run starts the simulated agents, measures the three passes and returns
// the result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if opts.Devices < 1 || opts.Rounds < 1 {
		return nil, errors.New("bench snmp: devices and rounds must be at least 1")
	}
	if opts.Recording == nil {
		return nil, errors.New("bench snmp: no recording")
	}
	if opts.Workers <= 0 {
		opts.Workers = 4 * runtime.GOMAXPROCS(0)
	}
	opts.Workers = min(opts.Workers, opts.Devices)
	if opts.Timeout <= 0 {
		opts.Timeout = 2 * time.Second
	}
	if opts.MaxRepetitions <= 0 {
		opts.MaxRepetitions = 10
	}
	rec := opts.Recording
	reg, err := snmp.Embedded()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b := &bench{opts: opts, rec: rec, reg: reg, progress: opts.Progress}
	b.status("starting %d simulated agents", opts.Devices)
	for range opts.Devices {
		a, err := simsnmp.Start(ctx, simsnmp.Options{Listen: "127.0.0.1:0", Recordings: []*simsnmp.Recording{rec}})
		if err != nil {
			b.closeAgents()
			return nil, fmt.Errorf("bench snmp: start agent: %w", err)
		}
		b.agents = append(b.agents, a)
	}
	defer b.closeAgents()

	res := Result{Recording: opts.RecordingPath, Devices: opts.Devices, Rounds: opts.Rounds, Workers: opts.Workers,
		GOMAXPROCS: runtime.GOMAXPROCS(0), MaxRepetitions: opts.MaxRepetitions}
	plan, err := b.recordPlan(ctx)
	if err != nil {
		return nil, err
	}
	res.Profile, res.Readings, res.PowerReadings = plan.profile, plan.readings, plan.power
	msgs, reqs, vbs, err := b.floorRequests(ctx, plan)
	if err != nil {
		return nil, err
	}
	res.RequestsPerPoll, res.VarbindsPerPoll = len(reqs), vbs
	runtime.GC()
	if u, err := readUsage(); err == nil {
		res.SimRSSMiB = float64(u.MaxRSS) / (1 << 20)
	}
	if vbs != plan.varbinds {
		return nil, fmt.Errorf("bench snmp: the floor read %d varbinds per poll, the collector %d: the passes would not be comparable", vbs, plan.varbinds)
	}

	replay, err := b.replayPass(msgs)
	if err != nil {
		return nil, err
	}
	defer replay.close()
	floor, err := b.floorPass(plan)
	if err != nil {
		return nil, err
	}
	defer floor.close()
	collector, err := b.collectorPass(ctx)
	if err != nil {
		return nil, err
	}
	defer collector.close()
	passes := []*pass{replay, floor, collector}
	for _, p := range passes {
		if err := b.warmUp(ctx, p); err != nil {
			return nil, err
		}
	}
	measure := func() error { return b.measure(ctx, passes) }
	if opts.Measuring != nil {
		err = opts.Measuring(measure)
	} else {
		err = measure()
	}
	if err != nil {
		return nil, err
	}
	b.status("")
	peak, err := readUsage()
	if err != nil {
		return nil, err
	}
	res.Replay, res.Floor, res.Collector = replay.res, floor.res, collector.res
	res.PeakRSSMiB = float64(peak.MaxRSS) / (1 << 20)

	for _, p := range []*Pass{&res.Floor, &res.Collector} {
		p.ClientPer1000 = p.CPUPer1000 - res.Replay.CPUPer1000
	}
	res.DiffPer1000 = res.Collector.CPUPer1000 - res.Floor.CPUPer1000
	if res.Floor.CPUPer1000 > 0 {
		res.Ratio = res.Collector.CPUPer1000 / res.Floor.CPUPer1000
	}
	if res.Floor.ClientPer1000 > 0 {
		res.ClientRatio = res.Collector.ClientPer1000 / res.Floor.ClientPer1000
	}
	res.CoresFor10k = res.Collector.ClientPer1000 * 10 / 60
	return &res, nil
}

// WriteText prints a result for people.
func WriteText(w io.Writer, r *Result) error {
	fmt.Fprintf(w, "ecometer bench snmp: %d simulated agents on 127.0.0.1 serving %s (profile %s)\n",
		r.Devices, filepath.Base(r.Recording), r.Profile)
	fmt.Fprintf(w, "%d measured rounds per pass, interleaved; %d concurrent polls; GOMAXPROCS %d\n",
		r.Rounds, r.Workers, r.GOMAXPROCS)
	fmt.Fprintf(w, "one poll: %d requests, %d varbinds, max-repetitions %d; %d readings, %d of power\n\n", r.RequestsPerPoll, r.VarbindsPerPoll, r.MaxRepetitions, r.Readings, r.PowerReadings)
	if r.PowerReadings == 0 {
		fmt.Fprintf(w, "note: profile %s reads no power from this recording; its poll is measured all the same\n\n", r.Profile)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "pass\tpolls\terrors\tpolls/s\tCPU-s per 1000 polls\tminus replay (client only)\t")
	for _, p := range []Pass{r.Replay, r.Floor, r.Collector} {
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
	for _, p := range []Pass{r.Replay, r.Floor, r.Collector} {
		if p.Errors > 0 {
			fmt.Fprintf(w, "warning: %s pass: %d failed polls, first: %s\n", p.Name, p.Errors, p.FirstError)
		}
	}
	return nil
}

type bench struct {
	opts     Options
	rec      *simsnmp.Recording
	reg      *snmp.Registry
	agents   []*simsnmp.Agent
	progress io.Writer
	shown    bool
}

func (b *bench) closeAgents() {
	for _, a := range b.agents {
		a.Close()
	}
	b.agents = nil
}

// conn reaches agent i as serve would for this many devices: sockets kept
// between polls up to collection.KeepSocketsUpTo devices, released above.
func (b *bench) conn(i int) snmp.Conn {
	return snmp.Conn{Addr: "127.0.0.1", Port: b.agents[i].Addr().Port(), Version: snmp.V2c,
		Community: b.rec.Name, Timeout: b.opts.Timeout, MaxRepetitions: uint32(b.opts.MaxRepetitions),
		KeepOpen: collection.KeepSockets(len(b.agents))}
}

// status rewrites the progress line; "" clears it.
func (b *bench) status(format string, args ...any) {
	if b.progress == nil {
		return
	}
	if format == "" {
		if b.shown {
			fmt.Fprint(b.progress, "\r\033[K")
		}
		return
	}
	b.shown = true
	fmt.Fprintf(b.progress, "\r\033[K"+format, args...)
}

// rounds polls every device once per round, with at most Workers polls in
// flight, and reports progress while it runs.
func (b *bench) rounds(ctx context.Context, name string, rounds int, poll func(i int) error) (polls, errs int, first string) {
	var done, failed atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	if b.progress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(200 * time.Millisecond)
			defer t.Stop()
			total := rounds * len(b.agents)
			for {
				select {
				case <-stop:
					return
				case <-t.C:
					b.status("%s: %d/%d polls", name, done.Load(), total)
				}
			}
		}()
	}
	for range rounds {
		next := make(chan int)
		var workers sync.WaitGroup
		for range b.opts.Workers {
			workers.Add(1)
			go func() {
				defer workers.Done()
				for i := range next {
					if err := poll(i); err != nil {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
					}
					done.Add(1)
				}
			}()
		}
	feed:
		for i := range b.agents {
			select {
			case next <- i:
			case <-ctx.Done():
				break feed
			}
		}
		close(next)
		workers.Wait()
		if ctx.Err() != nil {
			break
		}
	}
	close(stop)
	wg.Wait()
	if v := firstErr.Load(); v != nil {
		first = v.(string)
	}
	return int(done.Load()), int(failed.Load()), first
}

// pass is one way of polling every device, set up and warmed up.
type pass struct {
	name  string
	poll  func(i int) error
	close func()
	res   Pass
	cpu   time.Duration
	wall  time.Duration
}

// warmUp runs one unmeasured round and fails on the first error: a pass
// whose devices do not answer measures nothing useful.
func (b *bench) warmUp(ctx context.Context, p *pass) error {
	_, errs, first := b.rounds(ctx, p.name+" warm-up", 1, p.poll)
	if err := ctx.Err(); err != nil {
		return err
	}
	if errs > 0 {
		return fmt.Errorf("bench snmp: %s warm-up: %d of %d polls failed, first: %s", p.name, errs, len(b.agents), first)
	}
	return nil
}

// measure runs the passes round by round, interleaved, so that a change in
// the machine's load (other processes on shared cores) hits every pass
// alike. Each round of each pass is timed between two getrusage calls.
// The GC is left to run as it would: a pass that allocates more triggers
// more of it while it runs.
func (b *bench) measure(ctx context.Context, passes []*pass) error {
	runtime.GC() // start from the same clean heap
	for r := range b.opts.Rounds {
		for _, p := range passes {
			before, err := readUsage()
			if err != nil {
				return err
			}
			start := time.Now()
			polls, errs, first := b.rounds(ctx, fmt.Sprintf("round %d/%d, %s", r+1, b.opts.Rounds, p.name), 1, p.poll)
			p.wall += time.Since(start)
			after, err := readUsage()
			if err != nil {
				return err
			}
			if ctx.Err() != nil {
				return fmt.Errorf("bench snmp: %w", ctx.Err())
			}
			p.cpu += after.CPU - before.CPU
			p.res.Polls += polls
			p.res.Errors += errs
			if p.res.FirstError == "" {
				p.res.FirstError = first
			}
		}
	}
	for _, p := range passes {
		p.res.Name = p.name
		p.res.WallSeconds = p.wall.Seconds()
		p.res.CPUSeconds = p.cpu.Seconds()
		if p.res.Polls > 0 {
			p.res.PollsPerSec = float64(p.res.Polls) / p.wall.Seconds()
			p.res.CPUPer1000 = p.res.CPUSeconds / float64(p.res.Polls) * 1000
		}
	}
	return nil
}

// collectorPass polls with one snmp.Collector per device, as the scheduler
// would; the warm-up round detects the profile.
func (b *bench) collectorPass(ctx context.Context) (*pass, error) {
	cols := make([]*snmp.Collector, len(b.agents))
	p := &pass{name: "collector", close: func() {
		for _, c := range cols {
			if c != nil {
				c.Close()
			}
		}
	}}
	for i := range b.agents {
		c, err := snmp.New(snmp.Device{Target: collectors.Target{Device: fmt.Sprintf("pdu-%d", i), Class: "pdu"},
			Conn: b.conn(i)}, snmp.Options{Profiles: b.reg})
		if err != nil {
			p.close()
			return nil, err
		}
		cols[i] = c
	}
	at := time.Now()
	p.poll = func(i int) error {
		_, err := cols[i].Collect(ctx, at)
		return err
	}
	return p, nil
}

// pollPlan is the transport calls one collector poll makes, after detection.
type pollPlan struct {
	calls    []planCall
	varbinds int // varbinds the calls returned (walks: inside the columns)
	profile  string
	readings int // what the poll read
	power    int // … of them power
}

type planCall struct {
	walk bool // Walk(oids) if set, else Get(oids)
	oids []string
}

// recordingTransport notes the calls of one poll.
type recordingTransport struct {
	snmp.Transport
	on   bool
	plan pollPlan
}

func (t *recordingTransport) Get(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	vars, err := t.Transport.Get(ctx, oids)
	if t.on && len(oids) > 0 {
		t.plan.calls = append(t.plan.calls, planCall{oids: append([]string(nil), oids...)})
		t.plan.varbinds += len(vars)
	}
	return vars, err
}

func (t *recordingTransport) Walk(ctx context.Context, roots []string) ([]gosnmp.SnmpPDU, error) {
	vars, err := t.Transport.Walk(ctx, roots)
	if t.on && len(roots) > 0 {
		t.plan.calls = append(t.plan.calls, planCall{walk: true, oids: append([]string(nil), roots...)})
		t.plan.varbinds += len(vars)
	}
	return vars, err
}

func (t *recordingTransport) Next(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	if t.on {
		return nil, errors.New("bench: unexpected GETNEXT in a poll after detection")
	}
	return t.Transport.Next(ctx, oids)
}

// recordPlan polls the first agent with a collector whose transport notes
// its calls: the second poll (after detection) is the plan the floor
// repeats.
func (b *bench) recordPlan(ctx context.Context) (pollPlan, error) {
	var rt *recordingTransport
	dial := func(c snmp.Conn) (snmp.Transport, error) {
		t, err := snmp.Dial(c)
		if err != nil {
			return nil, err
		}
		rt = &recordingTransport{Transport: t}
		return rt, nil
	}
	c, err := snmp.New(snmp.Device{Target: collectors.Target{Device: "plan"}, Conn: b.conn(0)},
		snmp.Options{Profiles: b.reg, Dial: dial})
	if err != nil {
		return pollPlan{}, err
	}
	defer c.Close()
	if _, err := c.Readings(ctx); err != nil {
		return pollPlan{}, fmt.Errorf("bench snmp: first poll of %s: %w", b.agents[0].Addr(), err)
	}
	if c.Profile() == nil {
		return pollPlan{}, fmt.Errorf("bench snmp: no profile matches %s", b.rec.Name)
	}
	rt.on = true
	readings, err := c.Readings(ctx)
	if err != nil {
		return pollPlan{}, fmt.Errorf("bench snmp: second poll of %s: %w", b.agents[0].Addr(), err)
	}
	rt.plan.profile, rt.plan.readings, rt.plan.power = c.Profile().Name, len(readings), snmp.PowerReadings(readings)
	return rt.plan, nil
}

// floorSession is a bare gosnmp session set up as snmp.Dial sets it up.
func (b *bench) floorSession(i int) (*gosnmp.GoSNMP, error) {
	c := b.conn(i)
	g := &gosnmp.GoSNMP{Target: c.Addr, Port: c.Port, Transport: "udp", Community: c.Community,
		Version: gosnmp.Version2c, Timeout: c.Timeout, Retries: 1, MaxOids: gosnmp.MaxOids,
		MaxRepetitions: c.MaxRepetitions, Context: context.Background()}
	if err := g.Connect(); err != nil {
		return nil, err
	}
	return g, nil
}

// floorRequest is one request of a floor poll, for the replay pass.
type floorRequest struct {
	bulk bool
	oids []string
}

// floorPoll does the plan's requests with bare gosnmp: GETs in batches of
// MaxOids, and columns walked side by side with GETBULK, each column
// dropped when it ends. It returns the varbinds read; record, if set,
// receives every request.
func floorPoll(g *gosnmp.GoSNMP, plan pollPlan, record func(floorRequest)) (int, error) {
	n := 0
	for _, c := range plan.calls {
		for start := 0; start < len(c.oids); start += g.MaxOids {
			batch := c.oids[start:min(start+g.MaxOids, len(c.oids))]
			if !c.walk {
				if record != nil {
					record(floorRequest{oids: batch})
				}
				res, err := g.Get(batch)
				if err != nil {
					return n, err
				}
				n += len(res.Variables)
				continue
			}
			got, err := floorWalk(g, batch, record)
			n += got
			if err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func floorWalk(g *gosnmp.GoSNMP, roots []string, record func(floorRequest)) (int, error) {
	prefix := make([]string, len(roots))
	cursor := make([]string, len(roots))
	active := make([]int, len(roots))
	for i, r := range roots {
		r = "." + strings.Trim(r, ".")
		prefix[i], cursor[i], active[i] = r+".", r, i
	}
	n := 0
	for len(active) > 0 {
		req := make([]string, len(active))
		for j, a := range active {
			req[j] = cursor[a]
		}
		if record != nil {
			record(floorRequest{bulk: true, oids: req})
		}
		res, err := g.GetBulk(req, 0, g.MaxRepetitions)
		if err != nil {
			return n, err
		}
		ended := make([]bool, len(active))
		for k, v := range res.Variables {
			j := k % len(active)
			if ended[j] {
				continue
			}
			a := active[j]
			if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance ||
				!strings.HasPrefix(v.Name, prefix[a]) || v.Name == cursor[a] {
				ended[j] = true
				continue
			}
			cursor[a] = v.Name
			n++
		}
		if len(res.Variables) == 0 {
			break
		}
		keep := active[:0]
		for j, a := range active {
			if !ended[j] {
				keep = append(keep, a)
			}
		}
		active = keep
	}
	return n, nil
}

// floorRequests runs the floor poll once against the first agent, noting
// its requests, and encodes them as v2c messages for the replay pass.
func (b *bench) floorRequests(ctx context.Context, plan pollPlan) ([][]byte, []floorRequest, int, error) {
	g, err := b.floorSession(0)
	if err != nil {
		return nil, nil, 0, err
	}
	defer g.Conn.Close()
	var reqs []floorRequest
	n, err := floorPoll(g, plan, func(r floorRequest) { reqs = append(reqs, r) })
	if err != nil {
		return nil, nil, 0, fmt.Errorf("bench snmp: floor poll of %s: %w", b.agents[0].Addr(), err)
	}
	msgs := make([][]byte, len(reqs))
	for i, r := range reqs {
		pkt := &gosnmp.SnmpPacket{Version: gosnmp.Version2c, Community: b.rec.Name, PDUType: gosnmp.GetRequest,
			RequestID: uint32(i + 1)}
		if r.bulk {
			pkt.PDUType, pkt.MaxRepetitions = gosnmp.GetBulkRequest, uint32(b.opts.MaxRepetitions)
		}
		for _, o := range r.oids {
			pkt.Variables = append(pkt.Variables, gosnmp.SnmpPDU{Name: o, Type: gosnmp.Null})
		}
		if msgs[i], err = pkt.MarshalMsg(); err != nil {
			return nil, nil, 0, err
		}
	}
	return msgs, reqs, n, ctx.Err()
}

// floorPass polls with one bare gosnmp session per device.
func (b *bench) floorPass(plan pollPlan) (*pass, error) {
	sessions := make([]*gosnmp.GoSNMP, len(b.agents))
	p := &pass{name: "floor", close: func() {
		for _, g := range sessions {
			if g != nil {
				g.Conn.Close()
			}
		}
	}}
	for i := range b.agents {
		g, err := b.floorSession(i)
		if err != nil {
			p.close()
			return nil, err
		}
		sessions[i] = g
	}
	p.poll = func(i int) error {
		n, err := floorPoll(sessions[i], plan, nil)
		if err == nil && n != plan.varbinds {
			err = fmt.Errorf("read %d varbinds, want %d", n, plan.varbinds)
		}
		return err
	}
	return p, nil
}

// replayPass sends the floor's requests as pre-encoded packets and reads the
// answers without decoding them: what remains is the simulators' and the
// kernel's work.
func (b *bench) replayPass(msgs [][]byte) (*pass, error) {
	conns := make([]*net.UDPConn, len(b.agents))
	p := &pass{name: "replay", close: func() {
		for _, c := range conns {
			if c != nil {
				c.Close()
			}
		}
	}}
	for i, a := range b.agents {
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(a.Addr()))
		if err != nil {
			p.close()
			return nil, err
		}
		conns[i] = c
	}
	bufs := sync.Pool{New: func() any { return new([65536]byte) }}
	p.poll = func(i int) error {
		buf := bufs.Get().(*[65536]byte)
		defer bufs.Put(buf)
		c := conns[i]
		if err := c.SetReadDeadline(time.Now().Add(b.opts.Timeout)); err != nil {
			return err
		}
		for _, m := range msgs {
			if _, err := c.Write(m); err != nil {
				return err
			}
			if _, err := c.Read(buf[:]); err != nil {
				return err
			}
		}
		return nil
	}
	return p, nil
}
