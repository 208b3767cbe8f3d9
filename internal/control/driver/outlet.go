package driver

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/control/target"
)

// outletMIB is one vendor's outlet control: the column written, the column
// read back, their value encodings (from the MIB's SYNTAX), and how an
// outlet's name (as in the collector's meter outlet/<name>) maps to the
// table's instance index.
type outletMIB struct {
	name string // MIB and object, for messages and the audit log
	// control is written with on/off; Eaton has separate command columns
	// instead (onCmd/offCmd, written with cmdValue).
	control         string
	on, off         int
	onCmd, offCmd   string
	cmdValue        int
	status          string
	stateOn         []int
	stateOff        []int
	statePending    []int
	names           func(ctx context.Context, tr snmp.Transport) (map[string]string, error)
	profiles        []string // config profile names that mean this MIB
	onName, offName string   // enumeration labels, for the audit log
}

// outletMIBs in detection order. Sources: the MIB texts' SYNTAX clauses
// (PowerNet-MIB v4.4.6, PDU2-MIB, Sentry3-MIB, Sentry4-MIB 2023-03-10,
// EATON-EPDU-MIB, VERTIV-V5-MIB 2020-01-07, CPS-MIB).
var outletMIBs = []outletMIB{
	{
		// rPDU2OutletSwitchedControlCommand (26.9.2.4.1.5): immediateOn(1),
		// immediateOff(2), immediateReboot(3)…; rPDU2OutletSwitchedStatusState
		// (26.9.2.3.1.5): off(1), on(2). The row index is
		// rPDU2OutletSwitchedStatusIndex; the outlet is
		// rPDU2OutletSwitchedStatusNumber (.4) of Module (.2) 1.
		name:    "PowerNet-MIB::rPDU2OutletSwitchedControlCommand",
		control: "1.3.6.1.4.1.318.1.1.26.9.2.4.1.5", on: 1, off: 2, onName: "immediateOn", offName: "immediateOff",
		status: "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5", stateOn: []int{2}, stateOff: []int{1},
		names:    byColumn("1.3.6.1.4.1.318.1.1.26.9.2.3.1.4", "1.3.6.1.4.1.318.1.1.26.9.2.3.1.2", 1),
		profiles: []string{"apc-rpdu2"},
	},
	{
		// rPDUOutletControlOutletCommand (12.3.3.1.1.4): immediateOn(1),
		// immediateOff(2); rPDUOutletStatusOutletState (12.3.5.1.1.4):
		// outletStatusOn(1), outletStatusOff(2); the index is the outlet.
		name:    "PowerNet-MIB::rPDUOutletControlOutletCommand",
		control: "1.3.6.1.4.1.318.1.1.12.3.3.1.1.4", on: 1, off: 2, onName: "immediateOn", offName: "immediateOff",
		status: "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4", stateOn: []int{1}, stateOff: []int{2},
		names:    byIndex("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4", 0, 0, 1),
		profiles: []string{"apc-rpdu"},
	},
	{
		// sPDUOutletCtl (4.4.2.1.3): outletOn(1), outletOff(2),
		// outletReboot(3), outletUnknown(4); a GET returns the state.
		name:    "PowerNet-MIB::sPDUOutletCtl",
		control: "1.3.6.1.4.1.318.1.1.4.4.2.1.3", on: 1, off: 2, onName: "outletOn", offName: "outletOff",
		status: "1.3.6.1.4.1.318.1.1.4.4.2.1.3", stateOn: []int{1}, stateOff: []int{2},
		names:    byIndex("1.3.6.1.4.1.318.1.1.4.4.2.1.3", 0, 0, 1),
		profiles: []string{"apc-rpdu"},
	},
	{
		// switchingOperation (13742.6.4.1.2.1.2): off(0), on(1), cycle(2);
		// outletSwitchingState (.3), SensorStateEnumeration: on(7), off(8).
		// Index pduId.outletId; pduId 1 is the unit itself.
		name:    "PDU2-MIB::switchingOperation",
		control: "1.3.6.1.4.1.13742.6.4.1.2.1.2", on: 1, off: 0, onName: "on", offName: "off",
		status: "1.3.6.1.4.1.13742.6.4.1.2.1.3", stateOn: []int{7}, stateOff: []int{8},
		names:    byIndex("1.3.6.1.4.1.13742.6.4.1.2.1.3", 1, 1, 2),
		profiles: []string{"raritan-pdu2"},
	},
	{
		// st4OutletControlAction (1718.4.1.8.5.1.2): none(0), on(1), off(2),
		// reboot(3)…; st4OutletControlState (.1): idleOff(2), idleOn(3),
		// wakeOff(4), wakeOn(5), ocpOff(6), ocpOn(7), pendOn(8), pendOff(9),
		// off(10), on(11), reboot(12), shutdown(13), lockedOff(14),
		// lockedOn(15), eventOff(16), eventOn(17), eventReboot(18),
		// eventShutdown(19), fixedOn(1). Index unit.cord.outlet; the outlet is
		// st4OutletID ("AA1"), as the collector names it.
		name:    "Sentry4-MIB::st4OutletControlAction",
		control: "1.3.6.1.4.1.1718.4.1.8.5.1.2", on: 1, off: 2, onName: "on", offName: "off",
		status: "1.3.6.1.4.1.1718.4.1.8.5.1.1", stateOn: []int{1, 3, 5, 7, 11, 15, 17}, stateOff: []int{2, 4, 6, 10, 14, 16},
		statePending: []int{8, 9, 12, 13, 18, 19},
		names:        byColumn("1.3.6.1.4.1.1718.4.1.8.2.1.2", "", 0),
		profiles:     []string{"sentry4"},
	},
	{
		// outletControlAction (1718.3.2.3.1.11): none(0), on(1), off(2),
		// reboot(3); outletStatus (.10): off(0), on(1), offWait(2), onWait(3),
		// offError(4), onError(5), noComm(6), reading(7), offFuse(8),
		// onFuse(9). Index tower.infeed.outlet; the outlet is outletID (.2).
		name:    "Sentry3-MIB::outletControlAction",
		control: "1.3.6.1.4.1.1718.3.2.3.1.11", on: 1, off: 2, onName: "on", offName: "off",
		status: "1.3.6.1.4.1.1718.3.2.3.1.10", stateOn: []int{1, 9}, stateOff: []int{0, 8}, statePending: []int{2, 3},
		names:    byColumn("1.3.6.1.4.1.1718.3.2.3.1.2", "", 0),
		profiles: []string{"sentry3"},
	},
	{
		// outletControlOffCmd (534.6.6.7.6.6.1.3) / outletControlOnCmd (.4):
		// "0-n: time in seconds until the command is issued, -1: cancel";
		// 0 switches now. outletControlStatus (.2): off(0), on(1),
		// pendingOff(2), pendingOn(3). Index strappingIndex.outletIndex, the
		// master unit is strapping 0.
		name:  "EATON-EPDU-MIB::outletControlOffCmd/outletControlOnCmd",
		onCmd: "1.3.6.1.4.1.534.6.6.7.6.6.1.4", offCmd: "1.3.6.1.4.1.534.6.6.7.6.6.1.3", cmdValue: 0,
		onName: "outletControlOnCmd=0 (now)", offName: "outletControlOffCmd=0 (now)",
		status: "1.3.6.1.4.1.534.6.6.7.6.6.1.2", stateOn: []int{1}, stateOff: []int{0}, statePending: []int{2, 3},
		names:    byIndex("1.3.6.1.4.1.534.6.6.7.6.6.1.2", 1, 0, 2),
		profiles: []string{"eaton-epdu"},
	},
	{
		// pduOutletSwitchControl (21239.5.2.3.5.1.6): cancel(1), on(2),
		// onAfterDelay(3), off(4), offAfterDelay(5), reboot(6)…, reads none(8);
		// pduOutletSwitchState (.4): on(1), off(2), on2off(3), off2on(4),
		// rebootOn(5), rebootOff(6), unavailable(7).
		name:    "VERTIV-V5-MIB::pduOutletSwitchControl",
		control: "1.3.6.1.4.1.21239.5.2.3.5.1.6", on: 2, off: 4, onName: "on", offName: "off",
		status: "1.3.6.1.4.1.21239.5.2.3.5.1.4", stateOn: []int{1}, stateOff: []int{2}, statePending: []int{3, 4, 5, 6},
		names:    byIndex("1.3.6.1.4.1.21239.5.2.3.5.1.4", 0, 0, 1),
		profiles: []string{"vertiv-geist"},
	},
	{
		// ePDU2OutletSwitchedControlCommand (3808.1.1.6.6.1.5.1.5):
		// immediateOn(1), immediateOff(2), immediateReboot(3)…;
		// ePDU2OutletSwitchedStatusState (…6.6.1.4.1.5): on(1), off(2); the
		// outlet is ePDU2OutletSwitchedStatusNumber (.3) of module (.2) 1.
		name:    "CPS-MIB::ePDU2OutletSwitchedControlCommand",
		control: "1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5", on: 1, off: 2, onName: "immediateOn", offName: "immediateOff",
		status: "1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5", stateOn: []int{1}, stateOff: []int{2},
		names:    byColumn("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.3", "1.3.6.1.4.1.3808.1.1.6.6.1.4.1.2", 1),
		profiles: []string{"cyberpower"},
	},
	{
		// ePDUOutletControlOutletCommand (3808.1.1.3.3.3.1.1.4):
		// immediateOn(1), immediateOff(2), immediateReboot(3)…;
		// ePDUOutletStatusOutletState (3808.1.1.3.3.5.1.1.4): outletStatusOn(1),
		// outletStatusOff(2); the index is the outlet.
		name:    "CPS-MIB::ePDUOutletControlOutletCommand",
		control: "1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4", on: 1, off: 2, onName: "immediateOn", offName: "immediateOff",
		status: "1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4", stateOn: []int{1}, stateOff: []int{2},
		names:    byIndex("1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4", 0, 0, 1),
		profiles: []string{"cyberpower"},
	},
}

// MIBNames lists the outlet MIBs the SNMP driver speaks, for docs and tests.
func MIBNames() []string {
	out := make([]string, len(outletMIBs))
	for i, m := range outletMIBs {
		out[i] = m.name
	}
	return out
}

// byIndex names outlets by one arc of the status column's index; with
// unitArc > 0 only rows whose unitArc is firstUnit (the unit itself, not a
// linked one) are kept.
func byIndex(column string, unitArc, firstUnit, nameArc int) func(context.Context, snmp.Transport) (map[string]string, error) {
	return func(ctx context.Context, tr snmp.Transport) (map[string]string, error) {
		vars, err := tr.Walk(ctx, []string{column})
		if err != nil {
			return nil, err
		}
		out := map[string]string{}
		for _, v := range vars {
			idx := strings.TrimPrefix(strings.TrimPrefix(v.Name, "."), column+".")
			arcs := strings.Split(idx, ".")
			if nameArc > len(arcs) || (unitArc > 0 && (unitArc > len(arcs) || arcs[unitArc-1] != strconv.Itoa(firstUnit))) {
				continue
			}
			out[arcs[nameArc-1]] = idx
		}
		return out, nil
	}
}

// byColumn names outlets by the value of a naming column (a number or an
// ID string); with unitColumn only rows whose unit is firstUnit are kept.
func byColumn(column, unitColumn string, firstUnit int) func(context.Context, snmp.Transport) (map[string]string, error) {
	return func(ctx context.Context, tr snmp.Transport) (map[string]string, error) {
		roots := []string{column}
		if unitColumn != "" {
			roots = append(roots, unitColumn)
		}
		vars, err := tr.Walk(ctx, roots)
		if err != nil {
			return nil, err
		}
		units := map[string]int{}
		names := map[string]string{}
		for _, v := range vars {
			name := strings.TrimPrefix(v.Name, ".")
			switch {
			case unitColumn != "" && strings.HasPrefix(name, unitColumn+"."):
				units[strings.TrimPrefix(name, unitColumn+".")] = int(gosnmp.ToBigInt(v.Value).Int64())
			case strings.HasPrefix(name, column+"."):
				idx := strings.TrimPrefix(name, column+".")
				switch val := v.Value.(type) {
				case []byte:
					names[idx] = strings.TrimSpace(string(val))
				case string:
					names[idx] = strings.TrimSpace(val)
				default:
					names[idx] = gosnmp.ToBigInt(v.Value).String()
				}
			}
		}
		out := map[string]string{}
		for idx, n := range names {
			if unitColumn != "" {
				if u, ok := units[idx]; !ok || u != firstUnit {
					continue
				}
			}
			if n != "" {
				out[n] = idx
			}
		}
		return out, nil
	}
}

// snmpOutlets drives the outlets of one SNMP PDU.
type snmpOutlets struct {
	dev  config.Device
	tr   snmp.Setter
	mib  *outletMIB
	rows map[string]string // outlet name -> instance index
}

func dialSNMP(dev config.Device) (snmp.Setter, error) {
	conn, err := collection.SNMPConn(dev)
	if err != nil {
		return nil, err
	}
	tr, err := snmp.Dial(conn)
	if err != nil {
		return nil, err
	}
	s, ok := tr.(snmp.Setter)
	if !ok {
		tr.Close()
		return nil, fmt.Errorf("snmp transport cannot SET")
	}
	return s, nil
}

// openSNMPOutlets connects and finds the PDU's outlet MIB: the one of its
// configured profile, else the first whose outlet table answers.
func openSNMPOutlets(ctx context.Context, dev config.Device) (deviceDriver, error) {
	tr, err := dialSNMP(dev)
	if err != nil {
		return nil, err
	}
	var tried []string
	for i := range outletMIBs {
		m := &outletMIBs[i]
		if dev.Profile != "" && !slices.Contains(m.profiles, dev.Profile) {
			continue
		}
		rows, err := m.names(ctx, tr)
		if err != nil {
			tr.Close()
			return nil, fmt.Errorf("outlet table %s: %w", m.name, err)
		}
		if len(rows) > 0 {
			return &snmpOutlets{dev: dev, tr: tr, mib: m, rows: rows}, nil
		}
		tried = append(tried, m.name)
	}
	tr.Close()
	return nil, fmt.Errorf("no switched outlet table found (tried %s)", strings.Join(tried, ", "))
}

func (s *snmpOutlets) index(t target.Target) (string, error) {
	if t.Kind != target.Outlet {
		return "", fmt.Errorf("%s is a PDU: only its outlets can be switched", s.dev.Name)
	}
	idx, ok := s.rows[t.Name]
	if !ok {
		names := make([]string, 0, len(s.rows))
		for n := range s.rows {
			names = append(names, n)
		}
		slices.Sort(names)
		return "", fmt.Errorf("no outlet %q in %s (outlets: %s)", t.Name, s.mib.name, strings.Join(names, ", "))
	}
	return idx, nil
}

func (s *snmpOutlets) read(ctx context.Context, t target.Target) (Reading, error) {
	idx, err := s.index(t)
	if err != nil {
		return Reading{State: Unknown}, err
	}
	oid := s.mib.status + "." + idx
	vars, err := s.tr.Get(ctx, []string{oid})
	if err != nil {
		return Reading{State: Unknown}, err
	}
	if len(vars) != 1 || vars[0].Type == gosnmp.NoSuchInstance || vars[0].Type == gosnmp.NoSuchObject || vars[0].Type == gosnmp.Null {
		return Reading{State: Unknown}, fmt.Errorf("%s: no value", oid)
	}
	v := int(gosnmp.ToBigInt(vars[0].Value).Int64())
	r := Reading{State: Unknown, Raw: fmt.Sprintf("%s = %d", oid, v)}
	switch {
	case slices.Contains(s.mib.stateOn, v):
		r.State = On
	case slices.Contains(s.mib.stateOff, v):
		r.State = Off
	case slices.Contains(s.mib.statePending, v):
		r.State = PoweringOn // a transition; which way is not always known
	}
	return r, nil
}

func (s *snmpOutlets) send(ctx context.Context, t target.Target, c Command, _ float64) (string, error) {
	idx, err := s.index(t)
	if err != nil {
		return "", err
	}
	var oid, label string
	var value int
	switch c {
	case CmdOn:
		oid, value, label = s.mib.control, s.mib.on, s.mib.onName
		if s.mib.onCmd != "" {
			oid, value = s.mib.onCmd, s.mib.cmdValue
		}
	case CmdOff:
		oid, value, label = s.mib.control, s.mib.off, s.mib.offName
		if s.mib.offCmd != "" {
			oid, value = s.mib.offCmd, s.mib.cmdValue
		}
	default:
		return "", fmt.Errorf("%s: %w (an outlet is switched on or off)", c, ErrNotAllowed)
	}
	oid += "." + idx
	wire := fmt.Sprintf("SET %s.%s = %s (%d)", s.mib.name, idx, label, value)
	return wire, s.tr.Set(ctx, []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Integer, Value: value}})
}

func (s *snmpOutlets) close() error { return s.tr.Close() }
