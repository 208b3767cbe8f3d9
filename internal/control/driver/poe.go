package driver

import (
	"context"
	"fmt"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/target"
)

// PoE ports: POWER-ETHERNET-MIB (RFC 3621) pethPsePortTable, indexed
// pethPsePortGroupIndex.pethPsePortIndex.
//
//	pethPsePortAdminEnable (1.3.6.1.2.1.105.1.1.1.3) TruthValue: true(1)
//	  "enables power and detection mechanism for this port", false(2).
//	pethPsePortDetectionStatus (.6): disabled(1), searching(2),
//	  deliveringPower(3), fault(4), test(5), otherFault(6) — shown, not
//	  used for the state.
//
// The RFC does not say which interface a PSE port is. A port is named by
// its ifName through the same chain the collector uses for its poe/<ifName>
// meters: CISCO-POWER-ETHERNET-EXT-MIB cpeExtPsePortEntPhyIndex (same
// index as pethPsePortTable) → ENTITY-MIB entAliasMappingIdentifier
// .<entPhysicalIndex>.0 (an ifIndex OID) → IF-MIB ifName. Where the chain
// is missing, name the port as pse:GROUP.PORT; the driver never guesses.
const (
	oidAdminEnable      = "1.3.6.1.2.1.105.1.1.1.3"
	oidDetectionStatus  = "1.3.6.1.2.1.105.1.1.1.6"
	oidCpeExtEntPhy     = "1.3.6.1.4.1.9.9.402.1.2.1.11"
	oidEntAliasMapping  = "1.3.6.1.2.1.47.1.3.2.1.2"
	oidIfName           = "1.3.6.1.2.1.31.1.1.1.1"
	oidIfIndexPrefix    = "1.3.6.1.2.1.2.2.1.1."
	pethAdminTrue       = 1
	pethAdminFalse      = 2
	pethDeliveringPower = 3
)

type snmpPoE struct {
	dev   config.Device
	tr    interface{ Close() error }
	set   func(ctx context.Context, pdus []gosnmp.SnmpPDU) error
	get   func(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error)
	walk  func(ctx context.Context, roots []string) ([]gosnmp.SnmpPDU, error)
	ports map[string]string // ifName -> group.port, filled on first use
}

func openPoE(dev config.Device) (deviceDriver, error) {
	tr, err := dialSNMP(dev)
	if err != nil {
		return nil, err
	}
	return &snmpPoE{dev: dev, tr: tr, set: tr.Set, get: tr.Get, walk: tr.Walk}, nil
}

// PortIndex returns the pethPsePortTable index of a port name.
func (p *snmpPoE) index(ctx context.Context, t target.Target) (string, error) {
	if t.Kind != target.PoE {
		return "", fmt.Errorf("%s is a switch: only its PoE ports can be switched", p.dev.Name)
	}
	if rest, ok := strings.CutPrefix(t.Name, "pse:"); ok {
		return rest, nil
	}
	if p.ports == nil {
		m, err := p.mapPorts(ctx)
		if err != nil {
			return "", err
		}
		p.ports = m
	}
	idx, ok := p.ports[t.Name]
	if !ok {
		return "", fmt.Errorf("no PoE port named %q on %s (the ifName is found through CISCO-POWER-ETHERNET-EXT-MIB and ENTITY-MIB; "+
			"where those are missing, name the port pse:GROUP.PORT)", t.Name, p.dev.Name)
	}
	return idx, nil
}

func (p *snmpPoE) mapPorts(ctx context.Context) (map[string]string, error) {
	vars, err := p.walk(ctx, []string{oidCpeExtEntPhy, oidEntAliasMapping, oidIfName})
	if err != nil {
		return nil, err
	}
	entPhy := map[string]string{}  // group.port -> entPhysicalIndex
	alias := map[string]string{}   // entPhysicalIndex -> ifIndex
	ifNames := map[string]string{} // ifIndex -> ifName
	for _, v := range vars {
		name := strings.TrimPrefix(v.Name, ".")
		switch {
		case strings.HasPrefix(name, oidCpeExtEntPhy+"."):
			entPhy[strings.TrimPrefix(name, oidCpeExtEntPhy+".")] = gosnmp.ToBigInt(v.Value).String()
		case strings.HasPrefix(name, oidEntAliasMapping+"."):
			idx := strings.TrimPrefix(name, oidEntAliasMapping+".")
			phys, logical, _ := strings.Cut(idx, ".")
			if logical != "0" {
				continue
			}
			if s, ok := v.Value.(string); ok {
				if ifIdx, ok := strings.CutPrefix(strings.TrimPrefix(s, "."), oidIfIndexPrefix); ok {
					alias[phys] = ifIdx
				}
			}
		case strings.HasPrefix(name, oidIfName+"."):
			if b, ok := v.Value.([]byte); ok {
				ifNames[strings.TrimPrefix(name, oidIfName+".")] = string(b)
			}
		}
	}
	out := map[string]string{}
	for port, phys := range entPhy {
		if n, ok := ifNames[alias[phys]]; ok && n != "" {
			out[n] = port
		}
	}
	return out, nil
}

func (p *snmpPoE) read(ctx context.Context, t target.Target) (Reading, error) {
	idx, err := p.index(ctx, t)
	if err != nil {
		return Reading{State: Unknown}, err
	}
	vars, err := p.get(ctx, []string{oidAdminEnable + "." + idx, oidDetectionStatus + "." + idx})
	if err != nil {
		return Reading{State: Unknown}, err
	}
	if len(vars) < 1 || vars[0].Type != gosnmp.Integer {
		return Reading{State: Unknown}, fmt.Errorf("pethPsePortAdminEnable.%s: no value (is %s a PSE port?)", idx, t.Name)
	}
	admin := int(gosnmp.ToBigInt(vars[0].Value).Int64())
	r := Reading{State: Unknown, Raw: fmt.Sprintf("pethPsePortAdminEnable.%s = %d", idx, admin)}
	if len(vars) > 1 && vars[1].Type == gosnmp.Integer {
		r.Raw += fmt.Sprintf(", pethPsePortDetectionStatus = %d", gosnmp.ToBigInt(vars[1].Value).Int64())
	}
	switch admin {
	case pethAdminTrue:
		r.State = On
	case pethAdminFalse:
		r.State = Off
	}
	return r, nil
}

func (p *snmpPoE) send(ctx context.Context, t target.Target, c Command, _ float64) (string, error) {
	idx, err := p.index(ctx, t)
	if err != nil {
		return "", err
	}
	var v int
	switch c {
	case CmdOn:
		v = pethAdminTrue
	case CmdOff:
		v = pethAdminFalse
	default:
		return "", fmt.Errorf("%s: %w (a PoE port is enabled or disabled)", c, ErrNotAllowed)
	}
	label := map[int]string{pethAdminTrue: "true", pethAdminFalse: "false"}[v]
	wire := fmt.Sprintf("SET POWER-ETHERNET-MIB::pethPsePortAdminEnable.%s = %s(%d)", idx, label, v)
	return wire, p.set(ctx, []gosnmp.SnmpPDU{{Name: oidAdminEnable + "." + idx, Type: gosnmp.Integer, Value: v}})
}

func (p *snmpPoE) close() error { return p.tr.Close() }

// aliases are the other names of a port: its ifName for pse:G.P and the
// reverse. A port whose name cannot be resolved has none.
func (p *snmpPoE) aliases(ctx context.Context, t target.Target) []target.Target {
	if t.Kind != target.PoE {
		return nil
	}
	if p.ports == nil {
		if m, err := p.mapPorts(ctx); err == nil {
			p.ports = m
		} else {
			p.ports = map[string]string{}
		}
	}
	var out []target.Target
	if idx, ok := strings.CutPrefix(t.Name, "pse:"); ok {
		for name, i := range p.ports {
			if i == idx {
				out = append(out, target.Target{Device: t.Device, Kind: target.PoE, Name: name})
			}
		}
		return out
	}
	if idx, ok := p.ports[t.Name]; ok {
		out = append(out, target.Target{Device: t.Device, Kind: target.PoE, Name: "pse:" + idx})
	}
	return out
}
