// Package snmp collects power, energy and UPS readings from PDUs, UPSes and
// switches over SNMP, driven by vendor profiles (profiles/*.yaml, embedded).
package snmp

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/models/sample"
)

// Source is the source tag of every SNMP sample.
const Source = "snmp"

// Device is one device to poll.
type Device struct {
	Target collectors.Target
	Conn   Conn
	// Profile names the device's profile; empty means detect it.
	Profile string
}

// Options are shared by collectors.
type Options struct {
	Profiles *Registry    // default: Embedded()
	Logger   *slog.Logger // default: discard
	// Dial opens the transport (default Dial); tests pass a fake.
	Dial func(Conn) (Transport, error)
}

// Collector polls one device; see collectors.Collector.
type Collector struct {
	dev   Device
	reg   *Registry
	log   *slog.Logger
	dial  func(Conn) (Transport, error)
	t     Transport
	plan  *plan
	quiet bool // "no power sensors" already reported
	none  bool // the last poll read no power sensors
	tried []CandidateResult
	group grouping // turns readings into samples, reusing its work
}

var _ collectors.Collector = (*Collector)(nil)

// New returns a collector for dev. Nothing is sent until the first Collect.
func New(dev Device, opts Options) (*Collector, error) {
	if dev.Conn.Addr == "" {
		return nil, errors.New("snmp: device without an address")
	}
	if opts.Profiles == nil {
		reg, err := Embedded()
		if err != nil {
			return nil, err
		}
		opts.Profiles = reg
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Dial == nil {
		opts.Dial = Dial
	}
	if dev.Profile != "" {
		if _, ok := opts.Profiles.Lookup(dev.Profile); !ok {
			return nil, fmt.Errorf("snmp %s: no profile named %q", dev.Conn.Addr, dev.Profile)
		}
	}
	return &Collector{dev: dev, reg: opts.Profiles, dial: opts.Dial,
		log: opts.Logger.With("device", dev.Target.Device, "addr", dev.Conn.Addr)}, nil
}

// NoSensors reports whether the last poll reached the device but found no
// power sensors (a quiet outcome: logged once, not an error).
func (c *Collector) NoSensors() bool { return c.none }

// Profile returns the profile in use (nil before detection).
func (c *Collector) Profile() *Profile {
	if c.plan == nil {
		return nil
	}
	return c.plan.profile
}

// Collect polls the device once. Every sample carries at as its time; the
// device sample carries reachable=true and poll_ms. An unreachable device is
// an error (the scheduler records reachable=false).
func (c *Collector) Collect(ctx context.Context, at time.Time) ([]sample.Sample, error) {
	start := time.Now()
	readings, err := c.poll(ctx)
	if err != nil {
		return nil, err
	}
	samples, fields := c.group.samples(c.dev.Target, at, readings)
	if c.plan != nil {
		c.plan.release()
	}
	pollMS := float64(time.Since(start).Microseconds()) / 1000
	from := len(fields)
	fields = append(fields, sample.B("reachable", true), sample.F("poll_ms", pollMS))
	samples = append(samples, sample.Sample{
		Series: c.dev.Target.Series(sample.Device, "", Source),
		Time:   at,
		Fields: fields[from:len(fields):len(fields)],
	})
	return samples, nil
}

// Readings polls the device once and returns its readings (the probe's view).
func (c *Collector) Readings(ctx context.Context) ([]Reading, error) {
	rs, err := c.poll(ctx)
	if err != nil {
		return nil, err
	}
	out := publicReadings(rs)
	if c.plan != nil {
		c.plan.release()
	}
	return out, nil
}

// poll returns the plan's readings, valid until the next poll.
func (c *Collector) poll(ctx context.Context) ([]reading, error) {
	if c.t == nil {
		t, err := c.dial(c.dev.Conn)
		if err != nil {
			return nil, err
		}
		c.t = t
	}
	// Between polls, a v1/v2c device holds no socket: the detection poll's
	// is released too.
	defer c.release()
	if c.plan == nil {
		readings, err := c.settle(ctx)
		if err != nil || c.plan == nil {
			return nil, err
		}
		c.report(readings)
		return readings, nil
	}
	snap, err := c.plan.read(ctx, c.t)
	if err != nil {
		return nil, err
	}
	readings := c.plan.evaluate(snap, c.log)
	c.report(readings)
	return readings, nil
}

// release lets the transport's socket go until the next poll (a no-op for
// SNMPv3 and for a transport kept open).
func (c *Collector) release() {
	if r, ok := c.t.(interface{ Release() }); ok {
		r.Release()
	}
}

// report keeps the "no power sensors" state: logged once while it lasts.
func (c *Collector) report(readings []reading) {
	if len(readings) == 0 {
		c.noSensors("the device has no power sensors", nil)
	} else {
		c.none, c.quiet = false, false
	}
}

func (c *Collector) noSensors(msg string, err error) {
	c.none = true
	if !c.quiet {
		c.quiet = true
		args := []any{}
		if c.plan != nil {
			args = append(args, "profile", c.plan.profile.Name)
		}
		if err != nil {
			args = append(args, "detail", err.Error())
		}
		c.log.Info("snmp: "+msg, args...)
	}
}

// settle detects the device's candidate profiles (or takes the named one)
// and keeps the first that reads power (see settle). It returns that
// poll's readings; c.plan stays nil when no profile matches.
func (c *Collector) settle(ctx context.Context) ([]reading, error) {
	var cands []Candidate
	if c.dev.Profile != "" {
		p, _ := c.reg.Lookup(c.dev.Profile)
		cands = []Candidate{{Profile: p, By: "named"}}
	} else {
		d, err := c.reg.Detect(ctx, c.t, c.dev.Conn.Addr)
		if errors.Is(err, ErrUnknownDevice) {
			c.noSensors("no profile matches the device", err)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		cands = d.Candidates
	}
	s, err := settle(ctx, c.t, c.reg, cands, c.log)
	if err != nil {
		return nil, err
	}
	c.plan = s.plan
	c.tried = s.tried
	args := []any{"profile", s.plan.profile.Name}
	if len(s.tried) > 1 {
		args = append(args, "candidates", NoPowerReason(s.tried))
	}
	if s.power == 0 && len(s.readings) > 0 {
		c.log.Info("snmp: no candidate profile reads power; keeping the first that reads anything", args...)
	} else {
		c.log.Debug("snmp: profile chosen", args...)
	}
	return s.readings, nil
}

// Candidates returns what each candidate profile read when the collector
// settled on one (nil before the first poll).
func (c *Collector) Candidates() []CandidateResult { return c.tried }

// Close releases the device's socket.
func (c *Collector) Close() error {
	if c.t == nil {
		return nil
	}
	err := c.t.Close()
	c.t = nil
	return err
}

// grouping turns a poll's readings into one sample per measurement and
// meter, fields in the schema's order; of several readings of one field
// the first counts (a profile lists fallbacks after the preferred object).
// The grouping is worked out once and reused while a poll yields the same
// sequence of measurements and meters (the usual case). It is kept small,
// since every collector holds one: the sequence as a hash, the groups as
// positions of readings.
type grouping struct {
	seq    uint64 // hash of the sequence the groups were made for
	n      int    // its length
	groups []group
	fields []fieldFrom // the groups' fields, group after group
}

// group is one sample: its measurement and meter are those of reading
// key; its fields are fields[from:to].
type group struct {
	key, from, to int32
}

// fieldFrom is a sample field (an index into the measurement's
// sample.FieldNames) and the reading it takes its value from.
type fieldFrom struct {
	reading int32
	name    uint8
	bool    bool
}

// seqSeed seeds the sequence hashes (per process, like map hashes).
var seqSeed = maphash.MakeSeed()

// sequence hashes the readings' measurements and meters in order. Two
// sequences that differ hash alike with a chance of 2^-64 per poll.
func sequence(readings []reading) uint64 {
	var h maphash.Hash
	h.SetSeed(seqSeed)
	for i := range readings {
		h.WriteString(readings[i].m.Measurement)
		h.WriteByte(0)
		h.WriteString(readings[i].meter)
		h.WriteByte(0)
	}
	return h.Sum64()
}

// samples returns the power and ups samples of a poll, with room for one
// more sample, and their fields' backing array with room for two more
// fields (the device sample's).
func (g *grouping) samples(target collectors.Target, at time.Time, readings []reading) ([]sample.Sample, []sample.Field) {
	if seq := sequence(readings); g.groups == nil || seq != g.seq || len(readings) != g.n {
		g.build(readings)
		g.seq, g.n = seq, len(readings)
	}
	out := make([]sample.Sample, 0, len(g.groups)+1)
	fields := make([]sample.Field, 0, len(g.fields)+2) // shared backing array
	for _, gr := range g.groups {
		key := &readings[gr.key]
		names := sample.FieldNames(key.m.Measurement)
		from := len(fields)
		for _, f := range g.fields[gr.from:gr.to] {
			v := readings[f.reading].value
			if f.bool {
				fields = append(fields, sample.B(names[f.name], v != 0))
			} else {
				fields = append(fields, sample.F(names[f.name], v))
			}
		}
		out = append(out, sample.Sample{Series: target.Series(key.m.Measurement, key.meter, Source), Time: at,
			Fields: fields[from:len(fields):len(fields)]})
	}
	return out, fields
}

// build groups readings by (measurement, meter) in sorted order and picks,
// per group and schema field, the first reading that fills it.
func (g *grouping) build(readings []reading) {
	order := make([]int, len(readings))
	for i := range order {
		order[i] = i
	}
	key := func(i int) (string, string) { return readings[i].m.Measurement, readings[i].meter }
	slices.SortStableFunc(order, func(a, b int) int {
		ma, ra := key(a)
		mb, rb := key(b)
		if c := strings.Compare(ma, mb); c != 0 {
			return c
		}
		return strings.Compare(ra, rb)
	})
	g.groups, g.fields = g.groups[:0], g.fields[:0]
	for start := 0; start < len(order); {
		m, meter := key(order[start])
		end := start + 1
		for end < len(order) {
			if m2, r2 := key(order[end]); m2 != m || r2 != meter {
				break
			}
			end++
		}
		gr := group{key: int32(order[start]), from: int32(len(g.fields))}
		schema := sample.Schema[m]
		for n, name := range sample.FieldNames(m) {
			for _, o := range order[start:end] {
				if readings[o].m.Field == name {
					g.fields = append(g.fields, fieldFrom{reading: int32(o), name: uint8(n), bool: schema[name] == sample.Bool})
					break
				}
			}
		}
		gr.to = int32(len(g.fields))
		g.groups = append(g.groups, gr)
		start = end
	}
	g.groups = exactly(g.groups)
	g.fields = exactly(g.fields)
}
