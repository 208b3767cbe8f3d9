package driver

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/control/target"
	"github.com/ecometer/ecometer/models/sample"
)

// Servers: Redfish ComputerSystem (DSP2046 ComputerSystem.v1):
//
//	PowerState: On, Off, PoweringOn, PoweringOff, Paused.
//	Actions["#ComputerSystem.Reset"].target with ResetType from
//	"ResetType@Redfish.AllowableValues" (ResetType enum: On, ForceOff,
//	GracefulShutdown, GracefulRestart, ForceRestart, Nmi, ForceOn,
//	PushPowerButton, PowerCycle, Suspend, Pause, Resume).
//
// The driver reads the allowable values before every command and chooses
// from them: On, else ForceOn, to power on (never PowerCycle or a restart);
// GracefulShutdown or ForceOff only as asked. A BMC that lists no values is
// sent the schema's plain On, GracefulShutdown and ForceOff.
//
// The power limit is Control.SetPoint (Control.v1, ControlType Power) or,
// on older BMCs, Power.PowerControl[0].PowerLimit.LimitInWatts, PATCHed
// within its AllowableMin/Max.
//
// Redfish PDUs: Outlet (Outlet.v1) PowerState On/Off, switched with the
// Outlet.PowerControl action, body {"PowerState": "On"|"Off"}.

type redfishSystem struct {
	dev  config.Device
	c    *redfish.Collector
	path string
}

func newRedfishCollector(dev config.Device, log *slog.Logger) (*redfish.Collector, error) {
	opts, err := collection.RedfishOptions(dev)
	if err != nil {
		return nil, err
	}
	opts.Logger = log.With("device", dev.Name)
	// One attempt per read: the applier decides about retries.
	opts.BackoffMin, opts.BackoffMax = time.Nanosecond, time.Nanosecond
	return redfish.New(opts)
}

func openRedfishSystem(ctx context.Context, dev config.Device, log *slog.Logger) (deviceDriver, error) {
	c, err := newRedfishCollector(dev, log)
	if err != nil {
		return nil, err
	}
	if err := c.Discover(ctx); err != nil {
		c.Close()
		return nil, err
	}
	systems := c.Systems()
	if len(systems) == 0 {
		c.Close()
		return nil, fmt.Errorf("the BMC has no ComputerSystem")
	}
	return &redfishSystem{dev: dev, c: c, path: systems[0].Path}, nil
}

type systemDoc struct {
	PowerState string
	Actions    map[string]struct {
		Target  string   `json:"target"`
		Allowed []string `json:"ResetType@Redfish.AllowableValues"`
	}
}

func (s *redfishSystem) system(ctx context.Context) (systemDoc, error) {
	var d systemDoc
	b, err := s.c.Get(ctx, s.path)
	if err != nil {
		return d, err
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return d, fmt.Errorf("%s: %w", s.path, err)
	}
	return d, nil
}

func (s *redfishSystem) read(ctx context.Context, t target.Target) (Reading, error) {
	if t.Kind != target.System {
		return Reading{State: Unknown}, fmt.Errorf("%s is a server: name it without an outlet or port", s.dev.Name)
	}
	d, err := s.system(ctx)
	if err != nil {
		return Reading{State: Unknown}, err
	}
	r := Reading{Raw: "PowerState=" + d.PowerState, Allowed: d.Actions["#ComputerSystem.Reset"].Allowed}
	switch d.PowerState {
	case "On":
		r.State = On
	case "Off":
		r.State = Off
	case "PoweringOn":
		r.State = PoweringOn
	case "PoweringOff":
		r.State = PoweringOff
	default:
		r.State = Unknown
	}
	// The chassis power tells a BMC that reports Off early (while the OS
	// is still shutting down) from a server that is off.
	if samples, err := s.c.Collect(ctx, time.Now()); err == nil {
		for _, sm := range samples {
			if sm.Measurement != sample.Power || sm.Meter != "total" {
				continue
			}
			if f, ok := sm.Get("power_w"); ok {
				w := f.Num
				r.PowerW = &w
			}
		}
	}
	if lims := s.c.PowerLimits(); len(lims) > 0 {
		if w, err := s.readLimit(ctx, lims[0]); err == nil {
			r.LimitW = w
		}
	}
	return r, nil
}

func (s *redfishSystem) readLimit(ctx context.Context, l redfish.Limit) (*float64, error) {
	b, err := s.c.Get(ctx, l.Path)
	if err != nil {
		return nil, err
	}
	var d struct {
		SetPoint     *float64
		PowerControl []struct {
			PowerLimit struct{ LimitInWatts *float64 }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, err
	}
	if l.Property == "SetPoint" {
		return d.SetPoint, nil
	}
	if len(d.PowerControl) > 0 {
		return d.PowerControl[0].PowerLimit.LimitInWatts, nil
	}
	return nil, nil
}

// ChooseReset picks the ResetType for a command from a system's allowable
// values (empty: not advertised, the schema's basic types are assumed).
// Powering on is On, else ForceOn: never PowerCycle, ForceRestart or
// GracefulRestart, which would cycle a server that is already on.
func ChooseReset(c Command, allowed []string) (string, error) {
	has := func(v string) bool { return len(allowed) == 0 || slices.Contains(allowed, v) }
	var want []string
	switch c {
	case CmdOn:
		want = []string{"On", "ForceOn"}
	case CmdGracefulShutdown:
		want = []string{"GracefulShutdown"}
	case CmdForceOff:
		want = []string{"ForceOff"}
	default:
		return "", fmt.Errorf("%s: %w for a server", c, ErrNotAllowed)
	}
	for _, w := range want {
		if has(w) {
			return w, nil
		}
	}
	return "", fmt.Errorf("%s: none of %s is in ResetType@Redfish.AllowableValues %v: %w", c, strings.Join(want, ", "), allowed, ErrNotAllowed)
}

func (s *redfishSystem) send(ctx context.Context, t target.Target, c Command, watts float64) (string, error) {
	if t.Kind != target.System {
		return "", fmt.Errorf("%s is a server: name it without an outlet or port", s.dev.Name)
	}
	if c == CmdSetLimit {
		return s.setLimit(ctx, watts)
	}
	d, err := s.system(ctx)
	if err != nil {
		return "", err
	}
	a, ok := d.Actions["#ComputerSystem.Reset"]
	if !ok || a.Target == "" {
		return "", fmt.Errorf("%s has no ComputerSystem.Reset action: %w", s.path, ErrNotAllowed)
	}
	rt, err := ChooseReset(c, a.Allowed)
	if err != nil {
		return "", err
	}
	wire := fmt.Sprintf("POST %s {\"ResetType\": %q}", a.Target, rt)
	return wire, s.c.Post(ctx, a.Target, map[string]string{"ResetType": rt})
}

func (s *redfishSystem) setLimit(ctx context.Context, w float64) (string, error) {
	lims := s.c.PowerLimits()
	if len(lims) == 0 {
		return "", fmt.Errorf("no power limit on this BMC: %w", ErrNotAllowed)
	}
	l := lims[0]
	if (l.Min != nil && w < *l.Min) || (l.Max != nil && w > *l.Max) {
		return "", fmt.Errorf("power limit %g W is outside the BMC's allowed range %s–%s W: %w", w, fmtW(l.Min), fmtW(l.Max), ErrNotAllowed)
	}
	var body any = map[string]float64{"SetPoint": w}
	if l.Property != "SetPoint" {
		body = map[string]any{"PowerControl": []any{map[string]any{"PowerLimit": map[string]float64{"LimitInWatts": w}}}}
	}
	b, _ := json.Marshal(body)
	wire := fmt.Sprintf("PATCH %s %s", l.Path, b)
	return wire, s.c.Patch(ctx, l.Path, body)
}

func fmtW(v *float64) string {
	if v == nil {
		return "?"
	}
	return fmt.Sprint(*v)
}

func (s *redfishSystem) close() error { return s.c.Close() }

// redfishPDU drives the outlets of a Redfish rack PDU.
type redfishPDU struct {
	dev     config.Device
	c       *redfish.Collector
	outlets map[string]outletRes // outlet name (meter outlet/<Id>) -> resource
}

type outletRes struct{ path, action string }

func openRedfishPDU(ctx context.Context, dev config.Device, log *slog.Logger) (deviceDriver, error) {
	c, err := newRedfishCollector(dev, log)
	if err != nil {
		return nil, err
	}
	p := &redfishPDU{dev: dev, c: c, outlets: map[string]outletRes{}}
	if err := p.discover(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return p, nil
}

type members struct {
	Members []struct {
		ID string `json:"@odata.id"`
	}
}

func (p *redfishPDU) getJSON(ctx context.Context, path string, v any) error {
	b, err := p.c.Get(ctx, path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

func (p *redfishPDU) discover(ctx context.Context) error {
	var pdus members
	if err := p.getJSON(ctx, "/redfish/v1/PowerEquipment/RackPDUs", &pdus); err != nil {
		return err
	}
	for _, m := range pdus.Members {
		var pdu struct {
			Outlets struct {
				ID string `json:"@odata.id"`
			}
		}
		if err := p.getJSON(ctx, m.ID, &pdu); err != nil {
			return err
		}
		if pdu.Outlets.ID == "" {
			continue
		}
		var outs members
		if err := p.getJSON(ctx, pdu.Outlets.ID, &outs); err != nil {
			return err
		}
		for i, o := range outs.Members {
			var od struct {
				ID      string `json:"Id"`
				Actions map[string]struct {
					Target string `json:"target"`
				}
			}
			if err := p.getJSON(ctx, o.ID, &od); err != nil {
				return err
			}
			name := od.ID
			if name == "" {
				name = fmt.Sprint(i + 1)
			}
			if _, dup := p.outlets[name]; dup {
				return fmt.Errorf("two outlets named %q (several PDUs behind one service are not supported)", name)
			}
			p.outlets[name] = outletRes{path: o.ID, action: od.Actions["#Outlet.PowerControl"].Target}
		}
	}
	if len(p.outlets) == 0 {
		return fmt.Errorf("no outlets under /redfish/v1/PowerEquipment/RackPDUs")
	}
	return nil
}

func (p *redfishPDU) outlet(t target.Target) (outletRes, error) {
	if t.Kind != target.Outlet {
		return outletRes{}, fmt.Errorf("%s is a PDU: only its outlets can be switched", p.dev.Name)
	}
	o, ok := p.outlets[t.Name]
	if !ok {
		return o, fmt.Errorf("no outlet %q on %s", t.Name, p.dev.Name)
	}
	return o, nil
}

func (p *redfishPDU) read(ctx context.Context, t target.Target) (Reading, error) {
	o, err := p.outlet(t)
	if err != nil {
		return Reading{State: Unknown}, err
	}
	var d struct{ PowerState string }
	if err := p.getJSON(ctx, o.path, &d); err != nil {
		return Reading{State: Unknown}, err
	}
	r := Reading{State: Unknown, Raw: "PowerState=" + d.PowerState}
	switch d.PowerState {
	case "On":
		r.State = On
	case "Off":
		r.State = Off
	case "PoweringOn":
		r.State = PoweringOn
	case "PoweringOff":
		r.State = PoweringOff
	}
	return r, nil
}

func (p *redfishPDU) send(ctx context.Context, t target.Target, c Command, _ float64) (string, error) {
	o, err := p.outlet(t)
	if err != nil {
		return "", err
	}
	if o.action == "" {
		return "", fmt.Errorf("%s has no Outlet.PowerControl action: %w", o.path, ErrNotAllowed)
	}
	var ps string
	switch c {
	case CmdOn:
		ps = "On"
	case CmdOff:
		ps = "Off"
	default:
		return "", fmt.Errorf("%s: %w (an outlet is switched on or off)", c, ErrNotAllowed)
	}
	wire := fmt.Sprintf("POST %s {\"PowerState\": %q}", o.action, ps)
	return wire, p.c.Post(ctx, o.action, map[string]string{"PowerState": ps})
}

func (p *redfishPDU) close() error { return p.c.Close() }
