package snmp

import (
	"math"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func pdu(oid string, typ gosnmp.Asn1BER, v any) gosnmp.SnmpPDU {
	return gosnmp.SnmpPDU{Name: oid, Type: typ, Value: v}
}

func readingsOf(t *testing.T, profile string, vars []gosnmp.SnmpPDU) map[string]float64 {
	t.Helper()
	vars = append([]gosnmp.SnmpPDU{pdu(oidSysUpTime, gosnmp.TimeTicks, uint32(5))}, vars...)
	c := fakeCollector(t, profile, &fakeTransport{vars: vars}, nil)
	rs, err := c.Readings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, r := range rs {
		out[r.Measurement+"/"+r.Meter+"/"+r.Field] = r.Value
	}
	return out
}

func checkReadings(t *testing.T, got, want map[string]float64, absent ...string) {
	t.Helper()
	for k, v := range want {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, k := range absent {
		if _, ok := got[k]; ok {
			t.Errorf("%s present, want absent", k)
		}
	}
}

// TestSentry3: scaling per the Sentry3-MIB UNITS clauses, IDs as meters, and
// the MIB's "negative value: not available" as an absent field.
func TestSentry3(t *testing.T) {
	const tw, inf, out = ".1.3.6.1.4.1.1718.3.2.1.1.", ".1.3.6.1.4.1.1718.3.2.2.1.", ".1.3.6.1.4.1.1718.3.2.3.1."
	s := func(v string) []byte { return []byte(v) }
	got := readingsOf(t, "sentry3", []gosnmp.SnmpPDU{
		pdu(tw+"2.1", gosnmp.OctetString, s("A")),
		pdu(tw+"10.1", gosnmp.Integer, 415),
		pdu(tw+"11.1", gosnmp.Integer, 1830),
		pdu(tw+"12.1", gosnmp.Integer, 1900),
		pdu(tw+"14.1", gosnmp.Integer, 12345),
		pdu(inf+"2.1.1", gosnmp.OctetString, s("AA")),
		pdu(inf+"2.1.2", gosnmp.OctetString, s("AB")),
		pdu(inf+"7.1.1", gosnmp.Integer, 812),
		pdu(inf+"7.1.2", gosnmp.Integer, -1),
		pdu(inf+"11.1.1", gosnmp.Integer, 2301),
		pdu(inf+"12.1.1", gosnmp.Integer, 1830),
		pdu(inf+"13.1.1", gosnmp.Integer, 1900),
		pdu(inf+"16.1.1", gosnmp.Integer, 45678),
		pdu(out+"2.1.1.3", gosnmp.OctetString, s("AA3")),
		pdu(out+"7.1.1.3", gosnmp.Integer, 43),
		pdu(out+"13.1.1.3", gosnmp.Integer, 2298),
		pdu(out+"14.1.1.3", gosnmp.Integer, 95),
		pdu(out+"15.1.1.3", gosnmp.Integer, -1),
		pdu(out+"18.1.1.3", gosnmp.Integer, 123456),
	})
	checkReadings(t, got, map[string]float64{
		"power/tower/A/power_w": 1830, "power/tower/A/apparent_va": 1900, "power/tower/A/load_pct": 41.5,
		"power/tower/A/energy_kwh": 12345,
		"power/inlet/AA/current_a": 8.12, "power/inlet/AA/voltage_v": 230.1, "power/inlet/AA/power_w": 1830,
		"power/inlet/AA/apparent_va": 1900, "power/inlet/AA/energy_kwh": 4567.8,
		"power/outlet/AA3/current_a": 0.43, "power/outlet/AA3/voltage_v": 229.8, "power/outlet/AA3/power_w": 95,
		"power/outlet/AA3/energy_kwh": 123.456,
	}, "power/inlet/AB/current_a", "power/outlet/AA3/apparent_va")
}

// TestSentry4Outlets: st4Outlet* columns (hundredth Amps, tenth Volts,
// Watts, Volt-Amps, Watt-Hours), -1 absent.
func TestSentry4Outlets(t *testing.T) {
	const cfg, mon = ".1.3.6.1.4.1.1718.4.1.8.2.1.", ".1.3.6.1.4.1.1718.4.1.8.3.1."
	got := readingsOf(t, "sentry4", []gosnmp.SnmpPDU{
		pdu(cfg+"2.1.1.7", gosnmp.OctetString, []byte("AA7")),
		pdu(mon+"3.1.1.7", gosnmp.Integer, 52),
		pdu(mon+"6.1.1.7", gosnmp.Integer, 2312),
		pdu(mon+"7.1.1.7", gosnmp.Integer, 110),
		pdu(mon+"9.1.1.7", gosnmp.Integer, -1),
		pdu(mon+"14.1.1.7", gosnmp.Integer, 987654),
	})
	checkReadings(t, got, map[string]float64{
		"power/outlet/AA7/current_a": 0.52, "power/outlet/AA7/voltage_v": 231.2,
		"power/outlet/AA7/power_w": 110, "power/outlet/AA7/energy_kwh": 987.654,
	}, "power/outlet/AA7/apparent_va")
}

// TestAPCrPDU2BanksAndSentinels: bank current in tenths of Amps; the -1 that
// models without a feature return is absent, not -10 W; outlet power (no
// unit in the MIB) is not read.
func TestAPCrPDU2BanksAndSentinels(t *testing.T) {
	const dev, bank, outlet = ".1.3.6.1.4.1.318.1.1.26.4.3.1.", ".1.3.6.1.4.1.318.1.1.26.8.3.1.", ".1.3.6.1.4.1.318.1.1.26.9.4.3.1."
	got := readingsOf(t, "apc-rpdu2", []gosnmp.SnmpPDU{
		pdu(dev+"2.1", gosnmp.Integer, 1),
		pdu(dev+"5.1", gosnmp.Integer, 123),
		pdu(dev+"9.1", gosnmp.Integer, -1),
		pdu(dev+"16.1", gosnmp.Integer, 130),
		pdu(bank+"2.1", gosnmp.Integer, 1),
		pdu(bank+"2.2", gosnmp.Integer, 1),
		pdu(bank+"3.1", gosnmp.Integer, 1),
		pdu(bank+"3.2", gosnmp.Integer, 2),
		pdu(bank+"5.1", gosnmp.Integer, 31),
		pdu(bank+"5.2", gosnmp.Integer, 7),
		pdu(outlet+"2.1", gosnmp.Integer, 1),
		pdu(outlet+"3.1", gosnmp.OctetString, []byte("srv1")),
		pdu(outlet+"6.1", gosnmp.Integer, 4),
		pdu(outlet+"7.1", gosnmp.Integer, 88),
		pdu(outlet+"11.1", gosnmp.Integer, 52),
	})
	checkReadings(t, got, map[string]float64{
		"power/total/power_w": 1230, "power/total/apparent_va": 1300,
		"power/bank/1/current_a": 3.1, "power/bank/2/current_a": 0.7,
		"power/outlet/srv1/current_a": 0.4, "power/outlet/srv1/energy_kwh": 5.2,
	}, "power/total/energy_kwh", "power/outlet/srv1/power_w")
}

// TestAPCDetection: PowerNet-MIB product OIDs — masterSwitchrPDU2 (4.6) is
// rPDU2, masterSwitchrPDU (4.5) and the MasterSwitch family the legacy
// group; an undocumented 4.8 is decided by probing.
func TestAPCDetection(t *testing.T) {
	reg, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for sysOID, want := range map[string]string{
		".1.3.6.1.4.1.318.1.3.4.6": "apc-rpdu2", ".1.3.6.1.4.1.318.1.3.4.5": "apc-rpdu",
		".1.3.6.1.4.1.318.1.3.4.2": "apc-rpdu", ".1.3.6.1.4.1.318.1.3.4.8": "apc-rpdu2 by probe",
		".1.3.6.1.4.1.318.1.3.27": "apc-ups", ".1.3.6.1.4.1.318.1.3.5.1": "apc-ups",
		".1.3.6.1.4.1.1718.3": "sentry3", ".1.3.6.1.4.1.1718.4": "sentry4",
	} {
		f := &fakeTransport{vars: []gosnmp.SnmpPDU{
			pdu(oidSysObjectID, gosnmp.ObjectIdentifier, sysOID),
			pdu(".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", gosnmp.Integer, 10),
		}}
		d, err := reg.Detect(t.Context(), f, "192.0.2.1")
		if err != nil {
			t.Fatalf("%s: %v", sysOID, err)
		}
		name, by, _ := strings.Cut(want, " by ")
		if d.Profile.Name != name || (by != "" && !strings.HasPrefix(d.By, by)) {
			t.Errorf("%s: %s (%s), want %s", sysOID, d.Profile.Name, d.By, want)
		}
	}
}
