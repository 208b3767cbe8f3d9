// Package snmp collects power, energy and UPS readings from PDUs, UPSes and
// switches over SNMP, driven by vendor profiles (profiles/*.yaml, embedded).
package snmp

import (
	"context"
	"errors"
	"fmt"
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
	samples := toSamples(c.dev.Target, at, readings)
	pollMS := float64(time.Since(start).Microseconds()) / 1000
	samples = append(samples, sample.Sample{
		Series: c.dev.Target.Series(sample.Device, "", Source),
		Time:   at,
		Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", pollMS)},
	})
	return samples, nil
}

// Readings polls the device once and returns its readings (the probe's view).
func (c *Collector) Readings(ctx context.Context) ([]Reading, error) { return c.poll(ctx) }

func (c *Collector) poll(ctx context.Context) ([]Reading, error) {
	if c.t == nil {
		t, err := c.dial(c.dev.Conn)
		if err != nil {
			return nil, err
		}
		c.t = t
	}
	if c.plan == nil {
		p, err := c.resolve(ctx)
		if errors.Is(err, ErrUnknownDevice) {
			c.noSensors("no profile matches the device", err)
			return nil, nil
		}
		if err != nil {
			return nil, err
		}
		c.plan = newPlan(p, c.reg)
	}
	snap, err := c.plan.read(ctx, c.t)
	if r, ok := c.t.(interface{ Release() }); ok {
		r.Release() // between polls, a v1/v2c device holds no socket
	}
	if err != nil {
		return nil, err
	}
	readings := c.plan.evaluate(snap, c.log)
	snap.release()
	if len(readings) == 0 {
		c.noSensors("the device has no power sensors", nil)
	} else {
		c.none, c.quiet = false, false
	}
	return readings, nil
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

func (c *Collector) resolve(ctx context.Context) (*Profile, error) {
	if c.dev.Profile != "" {
		p, _ := c.reg.Lookup(c.dev.Profile)
		return p, nil
	}
	d, err := c.reg.Detect(ctx, c.t, c.dev.Conn.Addr)
	if err != nil {
		return nil, err
	}
	c.log.Debug("snmp: profile detected", "profile", d.Profile.Name, "by", d.By)
	return d.Profile, nil
}

// Close releases the device's socket.
func (c *Collector) Close() error {
	if c.t == nil {
		return nil
	}
	err := c.t.Close()
	c.t = nil
	return err
}

// toSamples groups readings into one sample per measurement and meter, with
// fields in the schema's order (the last reading of a field wins).
func toSamples(target collectors.Target, at time.Time, readings []Reading) []sample.Sample {
	// Readings in (measurement, meter) order, profile order within a group.
	order := make([]int, len(readings))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ra, rb := &readings[a], &readings[b]
		if c := strings.Compare(ra.Measurement, rb.Measurement); c != 0 {
			return c
		}
		return strings.Compare(ra.Meter, rb.Meter)
	})
	groups := 0
	for i, o := range order {
		if i == 0 || !sameGroup(&readings[o], &readings[order[i-1]]) {
			groups++
		}
	}
	out := make([]sample.Sample, 0, groups+1)
	fields := make([]sample.Field, 0, len(readings)) // shared backing array
	var names []string
	var schema map[string]sample.Kind
	measurement := ""
	for start := 0; start < len(order); {
		first := &readings[order[start]]
		end := start + 1
		for end < len(order) && sameGroup(&readings[order[end]], first) {
			end++
		}
		if names == nil || first.Measurement != measurement {
			measurement = first.Measurement
			names, schema = sample.FieldNames(measurement), sample.Schema[measurement]
		}
		from := len(fields)
		for _, name := range names {
			r := lastField(readings, order[start:end], name)
			if r == nil {
				continue
			}
			if schema[name] == sample.Bool {
				fields = append(fields, sample.B(name, r.Value != 0))
			} else {
				fields = append(fields, sample.F(name, r.Value))
			}
		}
		s := sample.Sample{Series: target.Series(first.Measurement, first.Meter, Source), Time: at}
		if len(fields) > from {
			s.Fields = fields[from:len(fields):len(fields)]
		}
		out = append(out, s)
		start = end
	}
	return out
}

func sameGroup(a, b *Reading) bool {
	return a.Measurement == b.Measurement && a.Meter == b.Meter
}

// lastField returns the last of the readings at idx that fills field.
func lastField(readings []Reading, idx []int, field string) *Reading {
	for i := len(idx) - 1; i >= 0; i-- {
		if r := &readings[idx[i]]; r.Field == field {
			return r
		}
	}
	return nil
}
