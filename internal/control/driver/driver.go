// Package driver sends power commands to devices and reads their state
// back: PDU outlets over SNMP (one MIB per vendor, see outlet.go), PoE ports
// (POWER-ETHERNET-MIB), servers through their BMC's Redfish
// ComputerSystem.Reset and power limit, and Redfish PDU outlets.
//
// Every command goes through Dispatcher.Send, the last step before the
// wire, which asks the safety guard whether the target may be touched: a
// protected target (patient-critical, deny-listed, or feeding either) is
// refused and the refusal is written to the audit log, whoever asked (a
// plan, a manual command). The device drivers are not exported, so there
// is no other way to send a command.
package driver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/safety"
	"github.com/ecometer/ecometer/internal/control/target"
)

// State is a target's power state as read from the device.
type State string

// States. PoweringOn and PoweringOff are transitions (a pending command);
// Unknown is a value the driver cannot interpret.
const (
	On          State = "on"
	Off         State = "off"
	PoweringOn  State = "powering-on"
	PoweringOff State = "powering-off"
	Unknown     State = "unknown"
)

// Settled reports whether s is on or off.
func (s State) Settled() bool { return s == On || s == Off }

// Reading is one read of a target.
type Reading struct {
	State State `json:"state"`
	// Raw is what the device said ("PowerState=Off",
	// "rPDU2OutletSwitchedStatusState=off(1)").
	Raw string `json:"raw"`
	// PowerW is a server's chassis power, when the BMC reports one.
	PowerW *float64 `json:"power_w,omitempty"`
	// LimitW is a server's power limit, when it has one.
	LimitW *float64 `json:"limit_w,omitempty"`
	// Allowed are a server's ResetType@Redfish.AllowableValues.
	Allowed []string `json:"allowed,omitempty"`
}

// Command is what to do to a target.
type Command string

// Commands. On never power-cycles: a server gets On (or ForceOn when On is
// not allowed), an outlet or port its "on" value.
const (
	CmdOn               Command = "on"
	CmdOff              Command = "off"               // outlets and ports
	CmdGracefulShutdown Command = "graceful-shutdown" // servers
	CmdForceOff         Command = "force-off"         // servers
	CmdSetLimit         Command = "set-limit"         // servers: power limit to Watts
)

// Request is one command with the reasons it is sent, for the audit log.
type Request struct {
	Target  target.Target
	Command Command
	Watts   float64 // CmdSetLimit
	Action  string  // the operation it is part of: off, on, cycle, cap, restore
	Policy  string
	Why     string
	Plan    string
	Step    int
	Before  string
}

// Clock is the time the dispatcher and the appliers wait on.
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now is time.Now.
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits d or until ctx ends.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Options tune a Dispatcher.
type Options struct {
	// MinInterval is the least time between two commands to one device
	// (default control.min_command_interval, else 2 s).
	MinInterval time.Duration
	Clock       Clock
	Logger      *slog.Logger
}

// Dispatcher reads and commands the configured devices. It is safe for
// concurrent use; commands to one device are serialized and spaced.
type Dispatcher struct {
	guard   *safety.Guard
	audit   *audit.Log
	devices map[string]config.Device
	opts    Options

	mu      sync.Mutex
	drivers map[string]deviceDriver
	locks   map[string]*sync.Mutex
	last    map[string]time.Time
}

// deviceDriver is one device's protocol; only the dispatcher calls it.
type deviceDriver interface {
	read(ctx context.Context, t target.Target) (Reading, error)
	send(ctx context.Context, t target.Target, c Command, watts float64) (wire string, err error)
	close() error
}

// aliaser is a driver whose targets have other names the config may use.
type aliaser interface {
	aliases(ctx context.Context, t target.Target) []target.Target
}

// New builds a dispatcher for cfg's devices that audits to log.
func New(cfg *config.Config, log *audit.Log, opts Options) *Dispatcher {
	if opts.MinInterval <= 0 {
		opts.MinInterval = cfg.Control.MinCommandInterval.Std()
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = 2 * time.Second
	}
	if opts.Clock == nil {
		opts.Clock = RealClock{}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	d := &Dispatcher{guard: safety.New(cfg), audit: log, devices: map[string]config.Device{}, opts: opts,
		drivers: map[string]deviceDriver{}, locks: map[string]*sync.Mutex{}, last: map[string]time.Time{}}
	for _, dev := range cfg.Devices {
		d.devices[dev.Name] = dev
	}
	return d
}

// Guard is the safety guard the dispatcher checks every command with.
func (d *Dispatcher) Guard() *safety.Guard { return d.guard }

// Audit is the log the dispatcher writes to.
func (d *Dispatcher) Audit() *audit.Log { return d.audit }

// Clock is the dispatcher's clock.
func (d *Dispatcher) Clock() Clock { return d.opts.Clock }

func (d *Dispatcher) deviceLock(name string) *sync.Mutex {
	d.mu.Lock()
	defer d.mu.Unlock()
	l, ok := d.locks[name]
	if !ok {
		l = &sync.Mutex{}
		d.locks[name] = l
	}
	return l
}

func (d *Dispatcher) driver(ctx context.Context, name string) (deviceDriver, error) {
	d.mu.Lock()
	drv, ok := d.drivers[name]
	d.mu.Unlock()
	if ok {
		return drv, nil
	}
	dev, ok := d.devices[name]
	if !ok {
		return nil, fmt.Errorf("unknown device %q", name)
	}
	var err error
	switch {
	case dev.Protocol == config.ProtocolSNMP && dev.Class == config.ClassSwitch:
		drv, err = openPoE(dev)
	case dev.Protocol == config.ProtocolSNMP:
		drv, err = openSNMPOutlets(ctx, dev)
	case dev.Protocol == config.ProtocolRedfish && dev.Class == config.ClassPDU:
		drv, err = openRedfishPDU(ctx, dev, d.opts.Logger)
	case dev.Protocol == config.ProtocolRedfish:
		drv, err = openRedfishSystem(ctx, dev, d.opts.Logger)
	default:
		err = fmt.Errorf("protocol %q is not supported", dev.Protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if other, ok := d.drivers[name]; ok { // opened concurrently
		_ = drv.close()
		return other, nil
	}
	d.drivers[name] = drv
	return drv, nil
}

// Read reads a target's state. Reading is never refused: knowing the
// state of a protected device harms nothing.
func (d *Dispatcher) Read(ctx context.Context, t target.Target) (Reading, error) {
	l := d.deviceLock(t.Device)
	l.Lock()
	defer l.Unlock()
	drv, err := d.driver(ctx, t.Device)
	if err != nil {
		return Reading{State: Unknown}, err
	}
	r, err := drv.read(ctx, t)
	if err != nil {
		return Reading{State: Unknown}, fmt.Errorf("%s: read: %w", t, err)
	}
	return r, nil
}

// ErrNotAllowed marks a command the device does not offer (a reset type
// missing from its allowable values, no power limit).
var ErrNotAllowed = errors.New("not allowed by the device")

// Send sends one command. It first asks the safety guard: a protected
// target gets nothing and the refusal (a *safety.Refusal) is audited. An
// allowed command is audited before it goes on the wire (no audit, no
// command) and again if it fails. Commands to one device are spaced by
// MinInterval (rate limit per BMC/PDU/switch).
func (d *Dispatcher) Send(ctx context.Context, r Request) (string, error) {
	entry := audit.Entry{Target: r.Target.String(), Action: r.Action, Policy: r.Policy, Why: r.Why, Plan: r.Plan,
		Step: r.Step, Before: r.Before}
	// THE safety rule: the last check before any command, for every caller.
	if err := d.guard.Check(r.Target); err != nil {
		entry.Event, entry.Outcome, entry.Detail = audit.EventRefused, "refused", err.Error()
		entry.Command = string(r.Command)
		if _, aerr := d.audit.Append(entry); aerr != nil {
			return "", errors.Join(err, fmt.Errorf("the refusal could not be audited: %w", aerr))
		}
		d.opts.Logger.Warn("power command refused: protected target", "target", r.Target.String(), "command", r.Command, "reason", err)
		return "", err
	}
	l := d.deviceLock(r.Target.Device)
	l.Lock()
	defer l.Unlock()
	drv, err := d.driver(ctx, r.Target.Device)
	if err != nil {
		return "", err
	}
	// A PoE port has two names (its ifName and pse:GROUP.PORT); the config
	// may protect it under either, so both are checked.
	if a, ok := drv.(aliaser); ok {
		for _, alias := range a.aliases(ctx, r.Target) {
			if err := d.guard.Check(alias); err != nil {
				entry.Event, entry.Outcome, entry.Detail = audit.EventRefused, "refused", err.Error()
				entry.Command = string(r.Command)
				if _, aerr := d.audit.Append(entry); aerr != nil {
					return "", errors.Join(err, fmt.Errorf("the refusal could not be audited: %w", aerr))
				}
				return "", err
			}
		}
	}
	d.mu.Lock()
	wait := d.last[r.Target.Device].Add(d.opts.MinInterval).Sub(d.opts.Clock.Now())
	d.mu.Unlock()
	if wait > 0 {
		if err := d.opts.Clock.Sleep(ctx, wait); err != nil {
			return "", err
		}
	}
	// Checked again after the waits: nothing but the audit line below stands
	// between this check and the wire.
	if err := d.guard.Check(r.Target); err != nil {
		return "", err
	}
	if a, ok := drv.(aliaser); ok {
		for _, alias := range a.aliases(ctx, r.Target) {
			if err := d.guard.Check(alias); err != nil {
				return "", err
			}
		}
	}
	entry.Event, entry.Outcome, entry.Command = audit.EventCommand, "sent", string(r.Command)
	if r.Command == CmdSetLimit {
		entry.Command = fmt.Sprintf("%s %g W", r.Command, r.Watts)
	}
	if _, err := d.audit.Append(entry); err != nil {
		return "", fmt.Errorf("%s: not sent, the audit log cannot be written: %w", r.Target, err)
	}
	wire, err := drv.send(ctx, r.Target, r.Command, r.Watts)
	d.mu.Lock()
	d.last[r.Target.Device] = d.opts.Clock.Now()
	d.mu.Unlock()
	if err != nil {
		entry.Event, entry.Outcome, entry.Detail = audit.EventFailed, "failed", err.Error()
		if wire != "" {
			entry.Command = wire
		}
		_, _ = d.audit.Append(entry)
		return wire, fmt.Errorf("%s: %s: %w", r.Target, r.Command, err)
	}
	d.opts.Logger.Info("power command sent", "target", r.Target.String(), "command", wire)
	return wire, nil
}

// Close closes every device connection (Redfish sessions are logged out).
func (d *Dispatcher) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	for name, drv := range d.drivers {
		if err := drv.close(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
		delete(d.drivers, name)
	}
	return errors.Join(errs...)
}
