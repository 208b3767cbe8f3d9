package server

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ecometer/ecometer/models/sample"
)

// TestReadings: the latest value of each series is exported in base
// units; an older sample does not replace a newer one; a series whose
// fields change is exported with its new fields; text fields (a BMC's
// power state) become a state label; stale, forgotten and moved series go.
func TestReadings(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	r := NewReadings()
	r.now = func() time.Time { return now }
	pdu := func(meter string) sample.Series {
		return sample.Series{Measurement: sample.Power, Site: "odense", Device: "pdu-a", Class: "pdu", Meter: meter, Source: "snmp"}
	}
	srv := sample.Series{Measurement: sample.Device, Site: "odense", Device: "srv-1", Class: "server", Source: "redfish"}
	old := sample.Series{Measurement: sample.Power, Site: "odense", Device: "pdu-old", Class: "pdu", Meter: "total", Source: "snmp"}
	r.Observe([]sample.Sample{
		{Series: pdu("inlet/1"), Time: now.Add(-time.Minute), Fields: []sample.Field{sample.F("power_w", 1200), sample.F("energy_kwh", 2)}},
		{Series: pdu("outlet/1"), Time: now.Add(-time.Minute), Fields: []sample.Field{sample.F("power_w", 90)}},
		{Series: srv, Time: now.Add(-time.Minute), Fields: []sample.Field{sample.B("reachable", true), sample.T("power_state", "On")}},
		{Series: old, Time: now.Add(-time.Hour), Fields: []sample.Field{sample.F("power_w", 5)}},
	})
	r.Observe([]sample.Sample{
		// older than what is held: ignored
		{Series: pdu("outlet/1"), Time: now.Add(-2 * time.Minute), Fields: []sample.Field{sample.F("power_w", 1)}},
		// the same series with other fields
		{Series: pdu("inlet/1"), Time: now, Fields: []sample.Field{sample.F("power_w", 1300), sample.F("voltage_v", 231)}},
		{Series: srv, Time: now, Fields: []sample.Field{sample.B("reachable", true), sample.T("power_state", "Off")}},
	})
	const want = `
# HELP ecometer_device_power_state 1 for the power state the device (Redfish) reports.
# TYPE ecometer_device_power_state gauge
ecometer_device_power_state{class="server",device="srv-1",meter="",rack="",room="",site="odense",source="redfish",state="off"} 1
# HELP ecometer_device_reachable 1 when the device's latest poll reached it.
# TYPE ecometer_device_reachable gauge
ecometer_device_reachable{class="server",device="srv-1",meter="",rack="",room="",site="odense",source="redfish"} 1
# HELP ecometer_power_watts Latest active power of a meter.
# TYPE ecometer_power_watts gauge
ecometer_power_watts{class="pdu",device="pdu-a",meter="inlet/1",rack="",room="",site="odense",source="snmp"} 1300
ecometer_power_watts{class="pdu",device="pdu-a",meter="outlet/1",rack="",room="",site="odense",source="snmp"} 90
# HELP ecometer_voltage_volts Latest voltage of a meter.
# TYPE ecometer_voltage_volts gauge
ecometer_voltage_volts{class="pdu",device="pdu-a",meter="inlet/1",rack="",room="",site="odense",source="snmp"} 231
`
	if err := testutil.CollectAndCompare(r, strings.NewReader(want)); err != nil {
		t.Error(err)
	}
	r.Forget("pdu-a")
	const afterForget = `
# HELP ecometer_device_reachable 1 when the device's latest poll reached it.
# TYPE ecometer_device_reachable gauge
ecometer_device_reachable{class="server",device="srv-1",meter="",rack="",room="",site="odense",source="redfish"} 1
`
	if err := testutil.CollectAndCompare(r, strings.NewReader(afterForget), "ecometer_device_reachable", "ecometer_power_watts"); err != nil {
		t.Error(err)
	}
	// A device that moved (a reload changed its room) is shown where it is now.
	moved := srv
	moved.Room = "b"
	r.Observe([]sample.Sample{{Series: moved, Time: now, Fields: []sample.Field{sample.B("reachable", false)}}})
	const afterMove = `
# HELP ecometer_device_reachable 1 when the device's latest poll reached it.
# TYPE ecometer_device_reachable gauge
ecometer_device_reachable{class="server",device="srv-1",meter="",rack="",room="b",site="odense",source="redfish"} 0
`
	if err := testutil.CollectAndCompare(r, strings.NewReader(afterMove), "ecometer_device_reachable", "ecometer_device_power_state"); err != nil {
		t.Error(err)
	}
}
