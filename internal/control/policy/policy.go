// Package policy gathers the power policies (the config's control.policies
// and policy files) and turns each into its targets: the devices its
// selector picks (tags, classes, sites, rooms, racks, names) and, by its
// action, the servers, outlets or PoE ports to act on.
package policy

import (
	"fmt"
	"os"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/target"
)

// Policy is a policy and the file it came from.
type Policy struct {
	config.Policy
	File string // the config file, or the policy file
}

// Load returns the config's policies and those of the policy files, each
// file checked strictly (problems name the file and line). A name defined
// twice is an error.
func Load(cfg *config.Config, files []string) ([]Policy, error) {
	var out []Policy
	for _, p := range cfg.Control.Policies {
		out = append(out, Policy{Policy: p, File: cfg.File()})
	}
	var problems []error
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("policy file: %w", err)
		}
		ps, err := config.ParsePolicies(f, data, cfg)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		for _, p := range ps {
			out = append(out, Policy{Policy: p, File: f})
		}
	}
	if len(problems) > 0 {
		return nil, config.Merge(problems...)
	}
	seen := map[string]string{}
	for _, p := range out {
		if other, dup := seen[p.Name]; dup {
			return nil, config.Problems{{File: p.File, Message: fmt.Sprintf("policy %q is also defined in %s", p.Name, other)}}
		}
		seen[p.Name] = p.File
	}
	return out, nil
}

// Idle is what the idle-equipment finder names (internal/anomalies): per
// device, the meters it named (outlet/N, poe/PORT), none for a whole
// server. Selectors with idle_candidates keep only these.
type Idle map[string][]string

// Matches reports whether the selector picks device d; idle is consulted
// when the selector asks for idle candidates.
func Matches(s config.Selector, d config.Device, idle Idle) bool {
	if s.Empty() {
		return false
	}
	if s.IdleCandidates {
		if _, ok := idle[d.Name]; !ok {
			return false
		}
	}
	for k, v := range s.Tags {
		if d.Tags[k] != v {
			return false
		}
	}
	if len(s.Classes) > 0 && !slices.Contains(s.Classes, d.Class) {
		return false
	}
	if len(s.Sites) > 0 && !slices.Contains(s.Sites, d.Site) {
		return false
	}
	if len(s.Rooms) > 0 && !slices.Contains(s.Rooms, d.Room) {
		return false
	}
	if len(s.Racks) > 0 && !slices.Contains(s.Racks, d.Rack) {
		return false
	}
	if len(s.Devices) > 0 && !slices.ContainsFunc(s.Devices, func(p string) bool {
		ok, _ := path.Match(p, d.Name)
		return ok || p == d.Name
	}) {
		return false
	}
	return true
}

// Selected is one target of a policy with what it belongs to.
type Selected struct {
	Target target.Target
	// Device is the configured device that holds the target; Powers is the
	// device the target powers (a server, or the device fed by an outlet).
	Device config.Device
	Powers string
	// Feeds is, for a server, the outlet target that feeds it (switch_outlet).
	Outlet *target.Target
}

// Skip is a selected device the policy cannot act on.
type Skip struct {
	Target string
	Why    string
}

// Targets returns the targets of p in cfg. ports lists the PoE ports
// (ifNames) known for a switch, for poe-off patterns; idle holds the idle
// candidates for a selector with idle_candidates (their outlets and ports
// stand in for a policy that lists none).
func Targets(p config.Policy, cfg *config.Config, ports func(device string) []string, idle Idle) ([]Selected, []Skip) {
	byName := map[string]config.Device{}
	for _, d := range cfg.Devices {
		byName[d.Name] = d
	}
	var out []Selected
	var skips []Skip
	for _, d := range cfg.Devices {
		if !Matches(p.Select, d, idle) {
			continue
		}
		if p.Select.IdleCandidates {
			p.Outlets, p.Ports = idleMeters(p, d, idle)
		}
		switch p.Action {
		case config.ActionShutdown, config.ActionCap:
			if d.Class != config.ClassServer || d.Protocol != config.ProtocolRedfish {
				skips = append(skips, Skip{d.Name, fmt.Sprintf("action %s needs a Redfish server, %s is a %s %s", p.Action, d.Name, d.Protocol, d.Class)})
				continue
			}
			s := Selected{Target: target.Target{Device: d.Name, Kind: target.System}, Device: d, Powers: d.Name}
			if p.SwitchOutlet {
				if o, ok := feedingOutlet(d, byName); ok {
					s.Outlet = &o
				} else {
					skips = append(skips, Skip{d.Name, "switch_outlet: its feeds is not a PDU outlet (device/outlet/N); the outlet stays on"})
				}
			}
			out = append(out, s)
		case config.ActionOutletOff:
			if d.Class == config.ClassPDU {
				if len(p.Outlets) == 0 {
					skips = append(skips, Skip{d.Name, "a PDU: list its outlets in the policy's outlets"})
					continue
				}
				for _, o := range p.Outlets {
					t := target.Target{Device: d.Name, Kind: target.Outlet, Name: o}
					out = append(out, Selected{Target: t, Device: d, Powers: poweredBy(t, cfg)})
				}
				continue
			}
			o, ok := feedingOutlet(d, byName)
			if !ok {
				skips = append(skips, Skip{d.Name, "its feeds is not a PDU outlet (device/outlet/N)"})
				continue
			}
			out = append(out, Selected{Target: o, Device: byName[o.Device], Powers: d.Name})
		case config.ActionPoEOff:
			if d.Class != config.ClassSwitch || d.Protocol != config.ProtocolSNMP {
				skips = append(skips, Skip{d.Name, "action poe-off needs an SNMP switch"})
				continue
			}
			known := ports(d.Name)
			for _, pat := range p.Ports {
				if strings.HasPrefix(pat, "pse:") {
					t := target.Target{Device: d.Name, Kind: target.PoE, Name: pat}
					out = append(out, Selected{Target: t, Device: d, Powers: poweredBy(t, cfg)})
					continue
				}
				n := 0
				for _, name := range known {
					if ok, _ := path.Match(pat, name); ok || pat == name {
						t := target.Target{Device: d.Name, Kind: target.PoE, Name: name}
						out = append(out, Selected{Target: t, Device: d, Powers: poweredBy(t, cfg)})
						n++
					}
				}
				if n == 0 {
					skips = append(skips, Skip{d.Name + "/poe/" + pat, fmt.Sprintf("no port of %s matches %q (ports known from its poe/ meters in the store: %d); name PSE ports pse:GROUP.PORT where the switch has no per-port meters",
						d.Name, pat, len(known))})
				}
			}
		}
	}
	// One target once, even if two patterns match it.
	sort.SliceStable(out, func(i, j int) bool { return out[i].Target.String() < out[j].Target.String() })
	out = slices.CompactFunc(out, func(a, b Selected) bool { return a.Target == b.Target })
	return out, skips
}

// idleMeters are the outlets or ports of an idle candidate that a policy
// with idle_candidates acts on: those the policy lists that the finder
// named, or all the finder named when the policy lists none.
func idleMeters(p config.Policy, d config.Device, idle Idle) (outlets, ports []string) {
	for _, m := range idle[d.Name] {
		if o, ok := strings.CutPrefix(m, "outlet/"); ok && (len(p.Outlets) == 0 || slices.Contains(p.Outlets, o)) {
			outlets = append(outlets, o)
		}
		if po, ok := strings.CutPrefix(m, "poe/"); ok && (len(p.Ports) == 0 || slices.ContainsFunc(p.Ports, func(pat string) bool {
			ok, _ := path.Match(pat, po)
			return ok || pat == po
		})) {
			ports = append(ports, po)
		}
	}
	return outlets, ports
}

func feedingOutlet(d config.Device, byName map[string]config.Device) (target.Target, bool) {
	ref, err := config.ParseMeterRef(d.Feeds)
	if err != nil {
		return target.Target{}, false
	}
	pdu, ok := byName[ref.Device]
	name, isOutlet := strings.CutPrefix(ref.Meter, "outlet/")
	if !ok || !isOutlet || pdu.Class != config.ClassPDU || name == "" || strings.Contains(name, "/") {
		return target.Target{}, false
	}
	return target.Target{Device: ref.Device, Kind: target.Outlet, Name: name}, true
}

// poweredBy names the device a target feeds, if the config says.
func poweredBy(t target.Target, cfg *config.Config) string {
	ref := t.Device + "/" + t.Meter()
	for _, d := range cfg.Devices {
		if d.Feeds == ref {
			return d.Name
		}
	}
	return ""
}

// GroupKey is the group of a target for max_off_pct.
func GroupKey(p config.Policy, s Selected) string {
	switch p.GroupBy {
	case "site":
		return "site " + s.Device.Site
	case "room":
		return "room " + s.Device.Room
	case "rack":
		return "rack " + s.Device.Rack
	case "class":
		return "class " + string(s.Device.Class)
	}
	return "policy " + p.Name
}
