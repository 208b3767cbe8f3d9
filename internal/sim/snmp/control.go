package snmp

// ControlRule makes one table column writable, the way a PDU or switch lets a
// manager switch an outlet or a PoE port. A SET of an instance below Control
// stores Effects[value].Control in that instance and, when Status is set,
// Effects[value].Status in the same instance (same index) of the Status
// column. A value not in Effects is refused (wrongValue), as the device would.
// The effects are immediate: the simulator has no delayed or pending commands.
type ControlRule struct {
	Name    string
	Control OID
	Status  OID // nil: the command column alone holds the state
	Effects map[int]Effect
}

// Effect is what one written command value leaves behind.
type Effect struct {
	Control int // value the command column reads back
	Status  int // value of the status column; ignored when the rule has no Status
}

// DefaultControls returns the outlet and PoE port controls of the MIBs the
// project's profiles read. Enumerations are those of the MIB SYNTAX clauses:
//
//   - PowerNet-MIB rPDU2OutletSwitchedControlCommand (.26.9.2.4.1.5):
//     immediateOn(1), immediateOff(2), immediateReboot(3); a GET returns
//     immediateOn(1) or immediateOff(2) for the outlet's state.
//     rPDU2OutletSwitchedStatusState (.26.9.2.3.1.5): off(1), on(2).
//   - PowerNet-MIB rPDUOutletControlOutletCommand (.12.3.3.1.1.4), same
//     commands; rPDUOutletStatusOutletState (.12.3.5.1.1.4):
//     outletStatusOn(1), outletStatusOff(2) — the opposite numbering to rPDU2.
//   - PowerNet-MIB sPDUOutletCtl (.4.4.2.1.3): outletOn(1), outletOff(2),
//     outletReboot(3); a GET returns outletOn(1) or outletOff(2). No separate
//     status column.
//   - POWER-ETHERNET-MIB pethPsePortAdminEnable (1.3.6.1.2.1.105.1.1.1.3):
//     true(1), false(2); pethPsePortDetectionStatus (.1.1.1.6): disabled(1),
//     deliveringPower(3). The simulator assumes a powered device is attached,
//     so enabling a port makes it deliver power.
//   - PDU2-MIB (Raritan) switchingOperation (1.3.6.1.4.1.13742.6.4.1.2.1.2):
//     off(0), on(1), cycle(2); outletSwitchingState (.3), a
//     SensorStateEnumeration: on(7), off(8). Index pduId.outletId.
//   - Sentry3-MIB outletControlAction (1.3.6.1.4.1.1718.3.2.3.1.11): none(0),
//     on(1), off(2), reboot(3); outletStatus (.10): off(0), on(1). The
//     action column reads back none(0). Index tower.infeed.outlet.
//   - Sentry4-MIB st4OutletControlAction (1.3.6.1.4.1.1718.4.1.8.5.1.2):
//     none(0), on(1), off(2), reboot(3); st4OutletControlState (.1):
//     off(10), on(11). Index unit.cord.outlet.
//   - EATON-EPDU-MIB outletControlOffCmd/OnCmd/RebootCmd
//     (1.3.6.1.4.1.534.6.6.7.6.6.1.3/.4/.5): a delay in seconds, 0 =
//     immediately (the simulator accepts only 0), reading back -1 when no
//     command is pending; outletControlStatus (.2): off(0), on(1). Index
//     strappingIndex.outletIndex.
//   - VERTIV-V5-MIB pduOutletSwitchControl (1.3.6.1.4.1.21239.5.2.3.5.1.6):
//     on(2), off(4), reboot(6), reading back none(8); pduOutletSwitchState
//     (.4): on(1), off(2).
//   - CPS-MIB (CyberPower) ePDUOutletControlOutletCommand
//     (1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4) and ePDU2OutletSwitchedControlCommand
//     (1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5): immediateOn(1), immediateOff(2),
//     immediateReboot(3); ePDUOutletStatusOutletState (…3.3.5.1.1.4) and
//     ePDU2OutletSwitchedStatusState (…6.6.1.4.1.5): on(1), off(2).
//
// A reboot ends with the outlet on.
func DefaultControls() []ControlRule {
	apc := func(name, control, status string, statusOn, statusOff int) ControlRule {
		on := Effect{Control: 1, Status: statusOn}
		off := Effect{Control: 2, Status: statusOff}
		return ControlRule{
			Name:    name,
			Control: mustOID(control),
			Status:  mustOID(status),
			Effects: map[int]Effect{1: on, 2: off, 3: on},
		}
	}
	return []ControlRule{
		apc("PowerNet-MIB::rPDU2OutletSwitchedControlCommand",
			"1.3.6.1.4.1.318.1.1.26.9.2.4.1.5", "1.3.6.1.4.1.318.1.1.26.9.2.3.1.5", 2, 1),
		apc("PowerNet-MIB::rPDUOutletControlOutletCommand",
			"1.3.6.1.4.1.318.1.1.12.3.3.1.1.4", "1.3.6.1.4.1.318.1.1.12.3.5.1.1.4", 1, 2),
		{
			Name:    "PowerNet-MIB::sPDUOutletCtl",
			Control: mustOID("1.3.6.1.4.1.318.1.1.4.4.2.1.3"),
			Effects: map[int]Effect{1: {Control: 1}, 2: {Control: 2}, 3: {Control: 1}},
		},
		{
			Name:    "PDU2-MIB::switchingOperation",
			Control: mustOID("1.3.6.1.4.1.13742.6.4.1.2.1.2"),
			Status:  mustOID("1.3.6.1.4.1.13742.6.4.1.2.1.3"),
			Effects: map[int]Effect{0: {Control: 0, Status: 8}, 1: {Control: 1, Status: 7}, 2: {Control: 1, Status: 7}},
		},
		{
			Name:    "Sentry3-MIB::outletControlAction",
			Control: mustOID("1.3.6.1.4.1.1718.3.2.3.1.11"),
			Status:  mustOID("1.3.6.1.4.1.1718.3.2.3.1.10"),
			Effects: map[int]Effect{1: {Control: 0, Status: 1}, 2: {Control: 0, Status: 0}, 3: {Control: 0, Status: 1}},
		},
		{
			Name:    "Sentry4-MIB::st4OutletControlAction",
			Control: mustOID("1.3.6.1.4.1.1718.4.1.8.5.1.2"),
			Status:  mustOID("1.3.6.1.4.1.1718.4.1.8.5.1.1"),
			Effects: map[int]Effect{1: {Control: 0, Status: 11}, 2: {Control: 0, Status: 10}, 3: {Control: 0, Status: 11}},
		},
		{
			Name:    "EATON-EPDU-MIB::outletControlOffCmd",
			Control: mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.3"),
			Status:  mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.2"),
			Effects: map[int]Effect{0: {Control: -1, Status: 0}},
		},
		{
			Name:    "EATON-EPDU-MIB::outletControlOnCmd",
			Control: mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.4"),
			Status:  mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.2"),
			Effects: map[int]Effect{0: {Control: -1, Status: 1}},
		},
		{
			Name:    "EATON-EPDU-MIB::outletControlRebootCmd",
			Control: mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.5"),
			Status:  mustOID("1.3.6.1.4.1.534.6.6.7.6.6.1.2"),
			Effects: map[int]Effect{0: {Control: -1, Status: 1}},
		},
		{
			Name:    "VERTIV-V5-MIB::pduOutletSwitchControl",
			Control: mustOID("1.3.6.1.4.1.21239.5.2.3.5.1.6"),
			Status:  mustOID("1.3.6.1.4.1.21239.5.2.3.5.1.4"),
			Effects: map[int]Effect{2: {Control: 8, Status: 1}, 4: {Control: 8, Status: 2}, 6: {Control: 8, Status: 1}},
		},
		apc("CPS-MIB::ePDUOutletControlOutletCommand",
			"1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4", "1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4", 1, 2),
		apc("CPS-MIB::ePDU2OutletSwitchedControlCommand",
			"1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5", "1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5", 1, 2),
		{
			Name:    "POWER-ETHERNET-MIB::pethPsePortAdminEnable",
			Control: mustOID("1.3.6.1.2.1.105.1.1.1.3"),
			Status:  mustOID("1.3.6.1.2.1.105.1.1.1.6"),
			Effects: map[int]Effect{1: {Control: 1, Status: 3}, 2: {Control: 2, Status: 1}},
		},
	}
}

func mustOID(s string) OID {
	o, err := ParseOID(s)
	if err != nil {
		panic(err)
	}
	return o
}

// controlFor returns the rule whose Control column holds oid, or nil.
func controlFor(rules []ControlRule, oid OID) *ControlRule {
	for i := range rules {
		if len(oid) > len(rules[i].Control) && oid.HasPrefix(rules[i].Control) {
			return &rules[i]
		}
	}
	return nil
}
