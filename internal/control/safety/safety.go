// Package safety decides which targets the controller must never touch:
// everything patient-critical (a device's criticality), everything on the
// config's control.deny_list, and every outlet or port that feeds, directly
// or through other devices (their feeds), such a device. The driver
// dispatcher asks it immediately before every command, whoever asked for
// the command; the planner asks it too, to say early what it will not do.
package safety

import (
	"fmt"
	"slices"
	"strings"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/target"
)

// Refusal is a command refused because its target is protected.
type Refusal struct {
	Target  target.Target
	Reasons []string
}

func (r *Refusal) Error() string {
	return fmt.Sprintf("refused: %s is protected (%s)", r.Target, strings.Join(r.Reasons, "; "))
}

// Guard knows the protected devices of one configuration.
type Guard struct {
	devices map[string]config.Device
	deny    map[string]bool
	// fedBy maps a meter reference "device/meter" to the devices it feeds.
	fedBy map[string][]string
	// feedsOf maps a device to the devices fed by any of its meters.
	feedsOf map[string][]string
}

// New builds the guard of cfg.
func New(cfg *config.Config) *Guard {
	g := &Guard{devices: map[string]config.Device{}, deny: map[string]bool{},
		fedBy: map[string][]string{}, feedsOf: map[string][]string{}}
	for _, d := range cfg.Devices {
		g.devices[d.Name] = d
	}
	for _, n := range cfg.Control.DenyList {
		g.deny[n] = true
	}
	for _, d := range cfg.Devices {
		ref, err := config.ParseMeterRef(d.Feeds)
		if err != nil {
			continue
		}
		g.fedBy[ref.String()] = append(g.fedBy[ref.String()], d.Name)
		g.feedsOf[ref.Device] = append(g.feedsOf[ref.Device], d.Name)
	}
	return g
}

// Check returns nil when t may be commanded, else a *Refusal naming every
// reason. An unknown device is refused too.
func (g *Guard) Check(t target.Target) error {
	var reasons []string
	d, ok := g.devices[t.Device]
	if !ok {
		return &Refusal{Target: t, Reasons: []string{"unknown device " + t.Device}}
	}
	reasons = append(reasons, g.own(d)...)
	if g.deny[t.String()] {
		reasons = append(reasons, t.String()+" is on control.deny_list")
	}
	if t.Kind != target.System {
		// Everything downstream of the outlet or port loses power with it.
		seen := map[string]bool{}
		queue := slices.Clone(g.fedBy[t.Device+"/"+t.Meter()])
		for len(queue) > 0 {
			n := queue[0]
			queue = queue[1:]
			if seen[n] {
				continue
			}
			seen[n] = true
			for _, r := range g.own(g.devices[n]) {
				reasons = append(reasons, fmt.Sprintf("it feeds %s: %s", n, r))
			}
			queue = append(queue, g.feedsOf[n]...)
		}
	}
	if len(reasons) == 0 {
		return nil
	}
	return &Refusal{Target: t, Reasons: reasons}
}

// own are the reasons a device itself is protected.
func (g *Guard) own(d config.Device) []string {
	var out []string
	if d.Criticality == config.CriticalityPatientCritical {
		out = append(out, d.Name+" is patient-critical")
	}
	if g.deny[d.Name] {
		out = append(out, d.Name+" is on control.deny_list")
	}
	return out
}
