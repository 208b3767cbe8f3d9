// Package target names what a power command is aimed at: a server (its
// BMC's ComputerSystem), one PDU outlet, or one PoE port of a switch. A
// target is written like the meter that measures it: "srv-1",
// "pdu-a1/outlet/12", "sw-1/poe/Gi1/0/5".
package target

import (
	"fmt"
	"strings"

	"github.com/ecometer/ecometer/config"
)

// Kind is the kind of thing a target is.
type Kind string

// Target kinds.
const (
	System Kind = "system" // a server's ComputerSystem (Redfish)
	Outlet Kind = "outlet" // a PDU outlet (SNMP or Redfish PowerEquipment)
	PoE    Kind = "poe"    // a PoE port (POWER-ETHERNET-MIB)
)

// Target is one switchable thing.
type Target struct {
	// Device is the configured device that receives the command: the
	// server, the PDU or the switch.
	Device string `json:"device"`
	Kind   Kind   `json:"kind"`
	// Name is the outlet name (as in the meter outlet/<name>) or the port
	// (an ifName, or pse:GROUP.PORT); empty for a system.
	Name string `json:"name,omitempty"`
}

// String is the target as written on the command line and in the audit
// log.
func (t Target) String() string {
	if t.Kind == System {
		return t.Device
	}
	return t.Device + "/" + string(t.Kind) + "/" + t.Name
}

// Meter is the meter of Device that measures the target: total, outlet/N,
// poe/<ifName>.
func (t Target) Meter() string {
	if t.Kind == System {
		return "total"
	}
	return string(t.Kind) + "/" + t.Name
}

// Parse reads a target and checks it against the configuration: the
// device must exist, a bare device name must be a server, an outlet must
// be on a PDU and a port on a switch.
func Parse(s string, cfg *config.Config) (Target, error) {
	dev, rest, hasRest := strings.Cut(strings.TrimSpace(s), "/")
	var d *config.Device
	for i := range cfg.Devices {
		if cfg.Devices[i].Name == dev {
			d = &cfg.Devices[i]
		}
	}
	if d == nil {
		return Target{}, fmt.Errorf("target %q: unknown device %q", s, dev)
	}
	if !hasRest {
		if d.Class != config.ClassServer || d.Protocol != config.ProtocolRedfish {
			return Target{}, fmt.Errorf("target %q: %s is a %s %s device; name one outlet (%s/outlet/N) or port (%s/poe/IFNAME)",
				s, dev, d.Protocol, d.Class, dev, dev)
		}
		return Target{Device: dev, Kind: System}, nil
	}
	kind, name, ok := strings.Cut(rest, "/")
	if !ok || name == "" {
		return Target{}, fmt.Errorf("target %q: want DEVICE, DEVICE/outlet/NAME or DEVICE/poe/PORT", s)
	}
	switch Kind(kind) {
	case Outlet:
		if d.Class != config.ClassPDU {
			return Target{}, fmt.Errorf("target %q: %s is not a PDU", s, dev)
		}
	case PoE:
		if d.Class != config.ClassSwitch || d.Protocol != config.ProtocolSNMP {
			return Target{}, fmt.Errorf("target %q: %s is not an SNMP switch", s, dev)
		}
		if err := config.CheckPort(name); err != nil {
			return Target{}, fmt.Errorf("target %q: %w", s, err)
		}
	default:
		return Target{}, fmt.Errorf("target %q: unknown kind %q (want outlet or poe)", s, kind)
	}
	return Target{Device: dev, Kind: Kind(kind), Name: name}, nil
}
