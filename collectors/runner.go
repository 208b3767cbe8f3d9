package collectors

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"sync"
	"time"

	"github.com/go-co-op/gocron/v2"
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
	// Registerer receives the poll metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Now replaces time.Now (tests).
	Now func() time.Time
}

// Runner polls devices on schedules (gocron v2, one job per device) and
// writes what they return. A device's polls never overlap; start times are
// spread over the interval so devices are not all polled at once; an
// unreachable device is polled exponentially less often and recorded as
// reachable=false; every poll records its duration.
type Runner struct {
	w     store.Writer
	opts  RunnerOptions
	sched gocron.Scheduler

	mu     sync.Mutex
	state  map[string]*deviceState
	closer []Collector

	polls    *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

type deviceState struct {
	failures int // consecutive failed polls
	skip     int // polls still to skip
	noData   bool
}

// NewRunner returns a Runner writing to w. Add jobs, then Start.
func NewRunner(w store.Writer, opts RunnerOptions) (*Runner, error) {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = 16
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s, err := gocron.NewScheduler(gocron.WithStopTimeout(30 * time.Second))
	if err != nil {
		return nil, fmt.Errorf("collectors: scheduler: %w", err)
	}
	r := &Runner{w: w, opts: opts, sched: s, state: map[string]*deviceState{},
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ecometer", Name: "polls_total",
			Help: "Device polls by outcome (ok, no_data, error, skipped)."}, []string{"device", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: "ecometer", Name: "poll_duration_seconds",
			Help: "Duration of device polls.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}, []string{"device"}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(r.polls, r.duration)
	}
	return r, nil
}

// offset spreads devices over the interval: a stable share of it per device.
func offset(device string, interval time.Duration) time.Duration {
	h := fnv.New64a()
	h.Write([]byte(device))
	return time.Duration(h.Sum64() % uint64(interval))
}

// Add schedules a job. Its polls start at the device's offset into the next
// interval and repeat every interval.
func (r *Runner) Add(j Job) error {
	if j.Interval <= 0 {
		return fmt.Errorf("collectors: %s: interval must be positive", j.Target.Device)
	}
	off := offset(j.Target.Device, j.Interval)
	now := r.opts.Now()
	start := now.Truncate(j.Interval).Add(off)
	if !start.After(now) {
		start = start.Add(j.Interval)
	}
	r.mu.Lock()
	r.state[j.Target.Device] = &deviceState{}
	r.closer = append(r.closer, j.Collector)
	r.mu.Unlock()
	_, err := r.sched.NewJob(gocron.DurationJob(j.Interval),
		gocron.NewTask(func(ctx context.Context) {
			// The sample time is the slot the poll belongs to, so a late or
			// repeated poll overwrites instead of counting twice.
			r.Poll(ctx, j, r.opts.Now().Add(-off).Truncate(j.Interval))
		}),
		gocron.WithName(j.Target.Device),
		gocron.WithSingletonMode(gocron.LimitModeReschedule),
		gocron.WithStartAt(gocron.WithStartDateTime(start)),
	)
	if err != nil {
		return fmt.Errorf("collectors: schedule %s: %w", j.Target.Device, err)
	}
	return nil
}

// Start starts polling.
func (r *Runner) Start() { r.sched.Start() }

// Shutdown stops scheduling, waits for running polls and closes the
// collectors' connections.
func (r *Runner) Shutdown() error {
	err := r.sched.Shutdown()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, c := range r.closer {
		err = errors.Join(err, c.Close())
	}
	r.closer = nil
	return err
}

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
		st = &deviceState{}
		r.state[dev] = st
	}
	if st.skip > 0 {
		st.skip--
		r.mu.Unlock()
		r.polls.WithLabelValues(dev, "skipped").Inc()
		return
	}
	r.mu.Unlock()

	pctx, cancel := context.WithTimeout(ctx, j.Interval)
	begin := time.Now()
	samples, err := j.Collector.Collect(pctx, at)
	cancel()
	took := time.Since(begin)
	r.duration.WithLabelValues(dev).Observe(took.Seconds())

	noData := errors.Is(err, ErrNoData)
	if err != nil && !noData {
		r.mu.Lock()
		st.failures++
		st.skip = min(1<<min(st.failures-1, 30), r.opts.MaxBackoff) - 1
		skip, failures := st.skip, st.failures
		r.mu.Unlock()
		r.polls.WithLabelValues(dev, "error").Inc()
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
			r.polls.WithLabelValues(dev, "no_data").Inc()
			if first {
				r.opts.Logger.Info("device has no power readings", "device", dev)
			}
		} else {
			r.polls.WithLabelValues(dev, "ok").Inc()
		}
	}
	if !hasDevice(samples) {
		samples = append(samples, sample.Sample{Series: j.Target.Series(sample.Device, "", j.Source), Time: at,
			Fields: []sample.Field{sample.B("reachable", err == nil || noData), sample.F("poll_ms", float64(took.Microseconds())/1000)}})
	}
	// The poll is done: its result is written even when shutdown cancelled
	// ctx meanwhile (Shutdown waits for running polls), within a bound.
	wctx, wcancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer wcancel()
	if werr := r.w.Write(wctx, samples); werr != nil {
		r.opts.Logger.Error("storing poll result failed", "device", dev, "samples", len(samples), "error", werr)
	}
}

func hasDevice(ss []sample.Sample) bool {
	for i := range ss {
		if ss[i].Measurement == sample.Device {
			return true
		}
	}
	return false
}
