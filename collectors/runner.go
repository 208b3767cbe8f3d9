package collectors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// Job is one device to poll.
type Job struct {
	Target    Target
	Source    string // snmp|redfish: the source tag of the runner's own device samples
	Interval  time.Duration
	Collector Collector
}

// RunnerOptions configure a Runner.
type RunnerOptions struct {
	Logger *slog.Logger
	// MaxBackoff caps how many intervals an unreachable device is skipped
	// for (doubling from one); default 16.
	MaxBackoff int
	// StopTimeout bounds how long Shutdown lets the polls in flight finish
	// before it cancels them; default 30 s.
	StopTimeout time.Duration
	// Registerer receives the poll metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Runner polls devices on schedules (gocron v2, one job per device) and
// writes what they return. A device's polls never overlap; start times are
// spread over the interval in whole seconds (see offset) so devices are
// not all polled at once; an
// unreachable device is polled exponentially less often and recorded as
// reachable=false; every poll records its duration. Devices can be added
// and removed while it runs (a configuration reload).
type Runner struct {
	w     store.Writer
	opts  RunnerOptions
	sched gocron.Scheduler
	// pollCtx is the polls' context: not the scheduler's, so that
	// stopping the scheduler lets the polls in flight finish; Shutdown
	// cancels it after StopTimeout.
	pollCtx     context.Context
	cancelPolls context.CancelFunc

	mu    sync.Mutex
	state map[string]*deviceState
	jobs  map[string]*entry

	polls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// entry is one scheduled device.
type entry struct {
	job Job
	id  uuid.UUID
	// busy is held while the device is polled; removed (under busy) stops
	// a run that gocron started just before the job was removed.
	busy    sync.Mutex
	removed bool
}

type deviceState struct {
	failures int // consecutive failed polls
	skip     int // polls still to skip
	noData   bool
	// The metrics of every poll, looked up once; the other outcomes'
	// series appear when they first happen.
	ok   prometheus.Counter
	took prometheus.Observer
}

// NewRunner returns a Runner writing to w. Add jobs, then Start.
func NewRunner(w store.Writer, opts RunnerOptions) (*Runner, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 16
	}
	if opts.StopTimeout <= 0 {
		opts.StopTimeout = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// gocron waits for the running jobs a little longer than the polls
	// may take, so that the last results are written.
	s, err := gocron.NewScheduler(gocron.WithStopTimeout(opts.StopTimeout + writeTimeout + 5*time.Second))
	if err != nil {
		return nil, fmt.Errorf("collectors: scheduler: %w", err)
	}
	pollCtx, cancel := context.WithCancel(context.Background())
	r := &Runner{w: w, opts: opts, sched: s, pollCtx: pollCtx, cancelPolls: cancel,
		state: map[string]*deviceState{}, jobs: map[string]*entry{},
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ecometer", Name: "polls_total",
			Help: "Device polls by source (snmp, redfish) and outcome (ok, no_data, error, skipped). Per device: ecometer_device_reachable and /healthz."}, []string{"source", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "ecometer", Name: "poll_duration_seconds",
			Help:    "Duration of device polls, by source (snmp, redfish). Per device: ecometer_device_poll_seconds.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"source"}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.polls, r.duration)
	}
	return r, nil
}

// offset spreads devices over the interval: a stable share of it per
// device, in whole seconds (offsetStep) when the interval is two or more.
// The devices due in the same second are then polled together: their
// requests and replies keep the Go runtime busy for a moment instead of
// waking it from idle (futex, epoll_wait, timers) for every reply of every
// device alone, which cost more than the SNMP work itself (ecometer bench
// serve, 1,000 devices every 10 s: 1.10 CPU-s per 1000 polls spread to
// the nanosecond, 0.42 in whole seconds). A second's devices are still
// far fewer than all at once, as pollers that start every device on the
// same tick do.
func offset(device string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(device))
	off := time.Duration(h.Sum64() % uint64(interval))
	if interval >= 2*offsetStep {
		off = off.Truncate(offsetStep)
	}
	return off
}

// offsetStep is the grain of the devices' offsets.
const offsetStep = time.Second

// Slot is the sample time of a poll of device started at now: the start
// of the interval it belongs to, so that a late, repeated or re-added
// poll overwrites instead of counting twice.
func Slot(device string, interval time.Duration, now time.Time) time.Time {
	return now.Add(-offset(device, interval)).Truncate(interval)
}

// Add schedules a job. Its polls start at the device's offset into the next
// interval and repeat every interval. A device can be added once; Remove
// it first to change it.
func (r *Runner) Add(j Job) error {
	dev := j.Target.Device
	if j.Interval <= 0 {
		return fmt.Errorf("collectors: %s: interval must be positive", dev)
	}
	off := offset(dev, j.Interval)
	now := r.opts.Now()
	start := now.Truncate(j.Interval).Add(off)
	if !start.After(now) {
		start = start.Add(j.Interval)
	}
	e := &entry{job: j}
	r.mu.Lock()
	if _, dup := r.jobs[dev]; dup {
		r.mu.Unlock()
		return fmt.Errorf("collectors: %s is already scheduled", dev)
	}
	r.jobs[dev] = e
	r.state[dev] = r.newState(j)
	r.mu.Unlock()
	job, err := r.sched.NewJob(gocron.DurationJob(j.Interval),
		gocron.NewTask(func() {
			// A device's polls never overlap: a run due while the last
			// one still runs is skipped (its slot stays empty, as for an
			// unreachable device). This is gocron's singleton mode with
			// LimitModeReschedule, without its runner goroutine and
			// 1000-slot queue per job (17 KB each: 170 MB for 10,000
			// devices).
			if !e.busy.TryLock() {
				r.polls.WithLabelValues(j.Source, "skipped").Inc()
				return
			}
			defer e.busy.Unlock()
			if e.removed {
				return
			}
			r.Poll(r.pollCtx, j, Slot(dev, j.Interval, r.opts.Now()))
		}),
		gocron.WithName(dev),
		gocron.WithStartAt(gocron.WithStartDateTime(start)),
	)
	if err != nil {
		r.mu.Lock()
		delete(r.jobs, dev)
		r.mu.Unlock()
		return fmt.Errorf("collectors: schedule %s: %w", dev, err)
	}
	e.id = job.ID()
	return nil
}

// Remove stops polling a device: no new poll starts, the one in flight
// finishes and is written, then the device's collector is closed and its
// metrics dropped.
func (r *Runner) Remove(device string) error {
	r.mu.Lock()
	e := r.jobs[device]
	delete(r.jobs, device)
	r.mu.Unlock()
	if e == nil {
		return fmt.Errorf("collectors: %s is not scheduled", device)
	}
	err := r.sched.RemoveJob(e.id)
	if errors.Is(err, gocron.ErrJobNotFound) {
		err = nil
	}
	e.busy.Lock()
	e.removed = true
	e.busy.Unlock()
	err = errors.Join(err, e.job.Collector.Close())
	r.mu.Lock()
	delete(r.state, device)
	r.mu.Unlock()
	return err
}

// Devices returns the scheduled devices' names.
func (r *Runner) Devices() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Sorted(maps.Keys(r.jobs))
}

// Start starts polling.
func (r *Runner) Start() { r.sched.Start() }

// Shutdown stops scheduling, lets the running polls finish (cancelling
// them after StopTimeout), waits for their results to be written and
// closes the collectors' connections.
func (r *Runner) Shutdown() error {
	stop := time.AfterFunc(r.opts.StopTimeout, r.cancelPolls)
	err := r.sched.Shutdown()
	stop.Stop()
	r.cancelPolls()
	r.mu.Lock()
	jobs := r.jobs
	r.jobs = map[string]*entry{}
	r.mu.Unlock()
	for _, e := range jobs {
		e.busy.Lock()
		e.removed = true
		e.busy.Unlock()
		err = errors.Join(err, e.job.Collector.Close())
	}
	return err
}

// writeTimeout bounds the write of one poll's result.
const writeTimeout = 30 * time.Second

// ErrNoData is returned by a collector for a device that answers but has no
// power readings: a quiet outcome, reported once, not an error every poll.
var ErrNoData = errors.New("device has no power readings")

// Poll polls one job once for the slot at and writes the result. It is what
// the scheduler runs; tests call it directly.
func (r *Runner) Poll(ctx context.Context, j Job, at time.Time) {
	dev := j.Target.Device
	r.mu.Lock()
	st := r.state[dev]
	if st == nil {
		st = r.newState(j)
		r.state[dev] = st
	}
	if st.skip > 0 {
		st.skip--
		r.mu.Unlock()
		r.polls.WithLabelValues(j.Source, "skipped").Inc()
		return
	}
	r.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, j.Interval)
	begin := time.Now()
	samples, err := j.Collector.Collect(pctx, at)
	cancel()
	took := time.Since(begin)
	st.took.Observe(took.Seconds())

	noData := errors.Is(err, ErrNoData)
	if err != nil && !noData {
		r.mu.Lock()
		st.failures++
		st.skip = min(1<<min(st.failures-1, 30), r.opts.MaxBackoff) - 1
		skip, failures := st.skip, st.failures
		r.mu.Unlock()
		r.polls.WithLabelValues(j.Source, "error").Inc()
		r.opts.Logger.Warn("poll failed", "device", dev, "error", err, "failures", failures,
			"next_poll_in", time.Duration(skip+1)*j.Interval)
	} else {
		r.mu.Lock()
		if st.failures > 0 {
			r.opts.Logger.Info("device reachable again", "device", dev, "after_failures", st.failures)
		}
		st.failures, st.skip = 0, 0
		first := noData && !st.noData
		st.noData = noData
		r.mu.Unlock()
		if noData {
			r.polls.WithLabelValues(j.Source, "no_data").Inc()
			if first {
				r.opts.Logger.Info("device has no power readings", "device", dev)
			}
		} else {
			st.ok.Inc()
		}
	}
	if !hasDevice(samples) {
		samples = append(samples, sample.Sample{Series: j.Target.Series(sample.Device, "", j.Source), Time: at,
			Fields: []sample.Field{sample.B("reachable", err == nil || noData), sample.F("poll_ms", float64(took.Microseconds())/1000)}})
	}
	// The poll is done: its result is written even when shutdown cancelled
	// ctx meanwhile (Shutdown waits for running polls), within a bound.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), writeTimeout)
	defer wcancel()
	if werr := r.w.Write(wctx, samples); werr != nil {
		r.opts.Logger.Error("storing poll result failed", "device", dev, "samples", len(samples), "error", werr)
	}
}

func (r *Runner) newState(j Job) *deviceState {
	return &deviceState{ok: r.polls.WithLabelValues(j.Source, "ok"), took: r.duration.WithLabelValues(j.Source)}
}

func hasDevice(ss []sample.Sample) bool {
	for i := range ss {
		if ss[i].Measurement == sample.Device {
			return true
		}
	}
	return false
}
