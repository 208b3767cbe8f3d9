// Package redfish collects power readings from Redfish services: servers'
// BMCs (EnvironmentMetrics, PowerSubsystem, Sensors or the deprecated Power
// resource, in that order of preference) and rack PDUs (PowerEquipment).
//
// It discovers once which resources carry power and then polls only those,
// gently: a per-BMC limit of concurrent requests, a minimum spacing between
// them, a timeout per request and backoff while the BMC is unreachable.
//
// gofish (stmcginnis/gofish) supplies the Redfish schema types, the service
// root and the collection walking; the HTTP side (sessions with re-login on
// 401, limits, timeouts) is this package's, given to gofish as its
// schemas.Client.
package redfish

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/models/sample"
)

// Options configure a Collector for one BMC.
type Options struct {
	// Endpoint is https://host[:port] (http:// is accepted for labs).
	Endpoint string
	// Username and Password log in with a Redfish session (X-Auth-Token);
	// with BasicAuth every request carries them instead. The password is
	// never logged or printed.
	Username, Password string
	BasicAuth          bool
	// CAFile is a PEM file of the CAs to trust for this BMC (default: the
	// system's). InsecureSkipVerify turns verification off; it is logged.
	CAFile             string
	InsecureSkipVerify bool
	// Timeout bounds each request, body included (default 10 s).
	Timeout time.Duration
	// MaxConcurrent is the number of requests in flight to this BMC
	// (default 2); MinSpacing the least time between request starts
	// (default 20 ms; negative: none).
	MaxConcurrent int
	MinSpacing    time.Duration
	// BackoffMin and BackoffMax bound the wait after a failed poll before
	// the BMC is asked again (defaults 30 s and 15 min; it doubles per
	// consecutive failure).
	BackoffMin, BackoffMax time.Duration
	// PSUMeters polls each PSU's Metrics as psu/N meters even when the
	// chassis total comes from elsewhere (one request per PSU per poll).
	PSUMeters bool
	// Target tags the samples.
	Target collectors.Target
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// HTTPClient replaces the client built from the TLS options (tests).
	HTTPClient *http.Client
}

// Source tag of every sample; which Redfish resource gave the reading is in
// the log and in Sources / ProbeResult (the schema has no field for it).
const sourceTag = "redfish"

// ErrUnreachable marks a poll that got no answer from the BMC (or that was
// skipped while backing off after one).
var ErrUnreachable = errors.New("BMC unreachable")

// Collector polls one Redfish service. Collect is called by one goroutine at
// a time; the accessors (AllowedResets, PowerLimits, …) are safe to call
// concurrently with it.
type Collector struct {
	opts Options
	log  *slog.Logger
	conn *conn
	now  func() time.Time

	mu      sync.Mutex
	plan    *plan
	fails   int
	nextTry time.Time
	states  map[string]string // outlet meter -> PowerState, last poll
}

var _ collectors.Collector = (*Collector)(nil)

// New builds a collector; it does not contact the BMC.
func New(opts Options) (*Collector, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = 2
	}
	switch {
	case opts.MinSpacing == 0:
		opts.MinSpacing = 20 * time.Millisecond
	case opts.MinSpacing < 0:
		opts.MinSpacing = 0
	}
	if opts.BackoffMin <= 0 {
		opts.BackoffMin = 30 * time.Second
	}
	if opts.BackoffMax <= 0 {
		opts.BackoffMax = 15 * time.Minute
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	if opts.Target.Device != "" {
		log = log.With("device", opts.Target.Device)
	}
	c, err := newConn(opts, log)
	if err != nil {
		return nil, err
	}
	return &Collector{opts: opts, log: log, conn: c, now: time.Now}, nil
}

// Discover resolves the resource paths to poll. Collect calls it on the
// first poll and again when a cached path disappears (404).
func (c *Collector) Discover(ctx context.Context) error {
	p, err := c.discover(ctx, false)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.plan = p
	c.mu.Unlock()
	for _, ch := range p.chassis {
		c.log.Info("redfish: power source", "host", c.conn.host, "chassis", ch.path, "meter", ch.meter, "source", string(ch.source))
	}
	for _, pdu := range p.pdus {
		c.log.Info("redfish: power source", "host", c.conn.host, "pdu", pdu.path, "source", string(pdu.source), "expand_mode", pdu.mode)
	}
	if len(p.chassis) == 0 && len(p.pdus) == 0 {
		// Reported once per discovery, not as an error every poll.
		c.log.Info("redfish: no power readings on this service", "host", c.conn.host)
	}
	return nil
}

// Collect polls the BMC once.
func (c *Collector) Collect(ctx context.Context, at time.Time) ([]sample.Sample, error) {
	start := c.now()
	c.mu.Lock()
	wait := c.nextTry.Sub(start)
	c.mu.Unlock()
	if wait > 0 {
		return []sample.Sample{c.deviceSample(at, false, 0, "")},
			fmt.Errorf("redfish %s: %w (backing off, next try in %s)", c.conn.host, ErrUnreachable, wait.Round(time.Second))
	}
	samples, powerState, err := c.poll(ctx, at)
	ms := float64(c.now().Sub(start).Microseconds()) / 1000
	reachable := err == nil || !isUnreachable(err)
	c.mu.Lock()
	if err != nil && len(samples) == 0 {
		c.fails++
		d := c.opts.BackoffMin << min(c.fails-1, 20)
		if d > c.opts.BackoffMax || d <= 0 {
			d = c.opts.BackoffMax
		}
		c.nextTry = c.now().Add(d)
	} else {
		c.fails, c.nextTry = 0, time.Time{}
	}
	c.mu.Unlock()
	if err != nil {
		err = explain(err, c.conn.scheme())
	}
	if err != nil && !reachable {
		err = fmt.Errorf("%w: %w", ErrUnreachable, err)
	}
	return append(samples, c.deviceSample(at, reachable, ms, powerState)), err
}

// isUnreachable: no HTTP answer at all (refused, timeout, TLS failure).
func isUnreachable(err error) bool {
	var se *StatusError
	return !errors.As(err, &se)
}

func (c *Collector) deviceSample(at time.Time, reachable bool, ms float64, powerState string) sample.Sample {
	s := sample.Sample{Series: c.opts.Target.Series(sample.Device, "", sourceTag), Time: at,
		Fields: []sample.Field{sample.B("reachable", reachable), sample.F("poll_ms", ms)}}
	if powerState != "" {
		s.Fields = append(s.Fields, sample.T("power_state", powerState))
	}
	return s
}

// poll reads the planned resources, rediscovering once if one is gone.
func (c *Collector) poll(ctx context.Context, at time.Time) ([]sample.Sample, string, error) {
	for attempt := 0; ; attempt++ {
		c.mu.Lock()
		p := c.plan
		c.mu.Unlock()
		if p == nil {
			if err := c.Discover(ctx); err != nil {
				return nil, "", err
			}
			continue
		}
		rs, state, err := c.pollPlan(ctx, p)
		if err != nil && IsNotFound(err) && attempt == 0 {
			c.log.Info("redfish: a polled resource disappeared, discovering again", "host", c.conn.host, "err", err)
			c.mu.Lock()
			c.plan = nil
			c.mu.Unlock()
			continue
		}
		return c.samples(at, rs), state, err
	}
}

type task struct {
	k     kind
	path  string
	meter string
}

// pollPlan issues the plan's requests concurrently (the connection bounds
// how many are in flight) and gathers the readings.
func (c *Collector) pollPlan(ctx context.Context, p *plan) ([]Reading, string, error) {
	var tasks []task
	for _, ch := range p.chassis {
		switch ch.source {
		case SourceEnvironmentMetrics:
			tasks = append(tasks, task{kindEnvironmentMetrics, ch.env, ch.meter})
		case SourceSensors:
			for _, s := range ch.sensors {
				tasks = append(tasks, task{kindSensor, s, ch.meter})
			}
		case SourceLegacyPower:
			tasks = append(tasks, task{kindLegacyPower, ch.power, ch.meter})
		}
		if ch.source == SourcePowerSubsystem || c.opts.PSUMeters {
			for _, ps := range ch.psus {
				tasks = append(tasks, task{kindPSUMetrics, ps.path, ps.meter})
			}
		}
	}
	for _, s := range p.systems {
		tasks = append(tasks, task{kindSystem, s.Path, ""})
	}
	results := make([]converted, len(tasks))
	errs := make([]error, len(tasks))
	var wg sync.WaitGroup
	for i, t := range tasks {
		wg.Go(func() { results[i], errs[i] = c.read(ctx, t.k, t.path, t.meter) })
	}
	pduResults := make([]converted, len(p.pdus))
	pduErrs := make([]error, len(p.pdus))
	for i := range p.pdus {
		wg.Go(func() { pduResults[i], pduErrs[i] = c.readPDU(ctx, &p.pdus[i]) })
	}
	wg.Wait()

	var rs []Reading
	var state string
	for i, t := range tasks {
		if errs[i] != nil {
			continue
		}
		if t.k == kindSystem {
			if state == "" {
				state = results[i].PowerState
			}
			continue
		}
		rs = append(rs, results[i].Readings...)
		if t.k == kindEnvironmentMetrics && results[i].Limit != nil {
			c.updateLimit(t.path, *results[i].Limit)
		}
	}
	for _, ch := range p.chassis {
		if ch.source == SourcePowerSubsystem {
			var psu []Reading
			for _, r := range rs {
				if slices.ContainsFunc(ch.psus, func(ps psuRef) bool { return ps.path == r.Path }) {
					psu = append(psu, r)
				}
			}
			rs = append(psuTotal(psu, len(ch.psus)), rs...)
		}
	}
	states := map[string]string{}
	for i := range p.pdus {
		if pduErrs[i] != nil {
			continue
		}
		rs = append(rs, pduResults[i].Readings...)
		for m, s := range pduResults[i].States {
			states[m] = s
		}
	}
	c.mu.Lock()
	c.states = states
	c.mu.Unlock()
	err := errors.Join(append(errs, pduErrs...)...)
	if err != nil && len(rs) > 0 {
		c.log.Warn("redfish: part of the poll failed", "host", c.conn.host, "err", err)
	}
	return rs, state, err
}

// readPDU reads one rack PDU in its planned mode.
func (c *Collector) readPDU(ctx context.Context, pp *pduPlan) (converted, error) {
	var out converted
	merge := func(conv converted) {
		out.Readings = append(out.Readings, conv.Readings...)
		for m, s := range conv.States {
			if out.States == nil {
				out.States = map[string]string{}
			}
			out.States[m] = s
		}
	}
	switch pp.mode {
	case 2:
		conv, err := c.read(ctx, kindRackPDU, withExpand(pp.path, 2), "total")
		if err != nil {
			return out, err
		}
		merge(conv)
	default:
		if pp.metrics != "" {
			conv, err := c.read(ctx, kindPDUMetrics, pp.metrics, "total")
			if err != nil {
				return out, err
			}
			merge(conv)
		}
		for i, coll := range pp.colls {
			if coll == "" {
				continue
			}
			if pp.mode == 1 {
				conv, err := c.read(ctx, collKinds[i], withExpand(coll, 1), "")
				if err != nil {
					return out, err
				}
				merge(conv)
				continue
			}
			if pp.members[i] == nil {
				if err := c.listMembers(ctx, pp, i); err != nil {
					return out, err
				}
			}
			for j, m := range pp.members[i] {
				body, err := c.conn.get(ctx, m)
				if err != nil {
					return out, err
				}
				var conv converted
				add := func(meter, field string, v *float64, src Source, path string) {
					if v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
						conv.Readings = append(conv.Readings, Reading{Meter: meter, Field: field, Value: *v, Source: src, Path: path})
					}
				}
				if err := convertMember(&conv, collKinds[i], j, m, body, add); err != nil {
					return out, fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, m, err)
				}
				merge(conv)
			}
		}
	}
	for i := range out.Readings {
		out.Readings[i].Meter = pp.prefix + out.Readings[i].Meter
		if pp.source != "" {
			out.Readings[i].Source = pp.source
		}
	}
	if pp.prefix != "" && out.States != nil {
		states := make(map[string]string, len(out.States))
		for m, st := range out.States {
			states[pp.prefix+m] = st
		}
		out.States = states
	}
	return out, nil
}

func (c *Collector) listMembers(ctx context.Context, pp *pduPlan, i int) error {
	body, err := c.conn.get(ctx, pp.colls[i])
	if err != nil {
		return err
	}
	var col struct{ Members []ref }
	if err := json.Unmarshal(body, &col); err != nil {
		return fmt.Errorf("redfish %s: GET %s: %w", c.conn.host, pp.colls[i], err)
	}
	pp.members[i] = []string{}
	for _, m := range col.Members {
		pp.members[i] = append(pp.members[i], m.ID)
	}
	return nil
}

// samples turns readings into one power sample per meter, in the order the
// meters first appear.
func (c *Collector) samples(at time.Time, rs []Reading) []sample.Sample {
	var out []sample.Sample
	idx := map[string]int{}
	for _, r := range rs {
		i, ok := idx[r.Meter]
		if !ok {
			i = len(out)
			idx[r.Meter] = i
			out = append(out, sample.Sample{Series: c.opts.Target.Series(sample.Power, r.Meter, sourceTag), Time: at})
		}
		if _, dup := out[i].Get(r.Field); dup {
			continue
		}
		out[i].Fields = append(out[i].Fields, sample.F(r.Field, r.Value))
	}
	return out
}

func (c *Collector) updateLimit(envPath string, w float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plan == nil {
		return
	}
	for i, l := range c.plan.limits {
		if l.Path == envPath || slices.ContainsFunc(c.plan.chassis, func(ch chassisPlan) bool { return ch.env == envPath && ch.path == l.Chassis }) {
			v := w
			c.plan.limits[i].Watts = &v
		}
	}
}

// Close logs out of the BMC's session.
func (c *Collector) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	return c.conn.logout(ctx)
}

// AllowedResets returns the first system's allowed ComputerSystem.Reset
// types (ResetType@Redfish.AllowableValues), as discovered; nil before
// discovery or on a service without systems.
func (c *Collector) AllowedResets() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plan == nil || len(c.plan.systems) == 0 {
		return nil
	}
	return slices.Clone(c.plan.systems[0].AllowedResets)
}

// Systems returns the discovered ComputerSystems.
func (c *Collector) Systems() []SystemInfo {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plan == nil {
		return nil
	}
	out := slices.Clone(c.plan.systems)
	for i := range out {
		out[i].AllowedResets = slices.Clone(out[i].AllowedResets)
	}
	return out
}

// PowerLimits returns the chassis' power limits (the last value read).
func (c *Collector) PowerLimits() []Limit {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.plan == nil {
		return nil
	}
	return slices.Clone(c.plan.limits)
}

// Sources returns, per chassis path, the source its power is read from.
func (c *Collector) Sources() map[string]Source {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string]Source{}
	if c.plan == nil {
		return out
	}
	for _, ch := range c.plan.chassis {
		out[ch.path] = ch.source
	}
	for _, p := range c.plan.pdus {
		out[p.path] = p.source
	}
	return out
}

// OutletStates returns the outlets' PowerState as of the last poll.
func (c *Collector) OutletStates() map[string]string {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]string, len(c.states))
	for k, v := range c.states {
		out[k] = v
	}
	return out
}

// Requests returns the number of HTTP requests sent so far.
func (c *Collector) Requests() int64 { return c.conn.requests.Load() }
