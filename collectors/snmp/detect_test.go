package snmp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// startTestdataAgent serves recordings from testdata/ (written from the MIB
// texts, not device recordings) with the project's simulator on loopback;
// the community of each is its file name.
func startTestdataAgent(t testing.TB, names ...string) *simsnmp.Agent {
	t.Helper()
	var recs []*simsnmp.Recording
	for _, n := range names {
		recs = append(recs, mustParse(t, "testdata", n))
	}
	a, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// pollOver polls one recording over UDP with a detecting collector and
// returns its profile and readings by "measurement/meter/field".
func pollOver(t *testing.T, a *simsnmp.Agent, community string) (*Collector, map[string]float64) {
	t.Helper()
	c, err := New(Device{Target: collectors.Target{Device: community},
		Conn: Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: community, Timeout: 2 * time.Second}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	rs, err := c.Readings(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range rs {
		got[r.Measurement+"/"+r.Meter+"/"+r.Field] = r.Value
	}
	return c, got
}

// TestNewProfiles polls recordings written from the DellrPDU-MIB,
// CPQPOWER-MIB and LIEBERT-GP-PDU-MIB texts. Every raw value has digits a
// wrong scale would move: 123 hundredths of kW is 1230 W, not 123 or 12300.
func TestNewProfiles(t *testing.T) {
	a := startTestdataAgent(t, "dell-rpdu", "hpe-pdu", "liebert-pdu")
	tests := []struct {
		recording, profile string
		want               map[string]float64
		absent             []string
	}{
		{"dell-rpdu", "dell-rpdu", map[string]float64{
			"power/total/power_w": 1230, "power/total/energy_kwh": 9876.5, // 1/100 kW; tenths of kWh
			"power/unit2/total/power_w": 470, "power/unit2/total/energy_kwh": 32.1,
			"power/phase/L1/current_a": 5.7, "power/phase/L1/voltage_v": 231, "power/phase/L1/power_w": 1180,
			"power/outlet/1/current_a": 3, "power/outlet/2/current_a": 2, // "in Amps", not tenths
			"power/outlet/1/energy_kwh": 42, "power/outlet/2/energy_kwh": 17, // "in kilowatt-hours"
		}, []string{"power/outlet/1/power_w", "power/outlet/2/power_w"}}, // no unit in the MIB: not read
		{"hpe-pdu", "hpe-pdu", map[string]float64{
			"power/total/power_w": 2210, "power/total/apparent_va": 2350, "power/total/energy_kwh": 1234.567,
			"power/total/frequency_hz":  49.9,
			"power/unit2/total/power_w": 640, "power/unit2/total/frequency_hz": 50.1,
			"power/phase/L1/voltage_v": 230.4, "power/phase/L1/current_a": 3.21, "power/phase/L1/power_w": 730,
			"power/phase/L1/apparent_va": 760, "power/phase/L1/load_pct": 20,
			"power/phase/L3/voltage_v": 231.1, "power/phase/L3/current_a": 3.3,
			"power/group/1/current_a": 4.56, "power/group/1/power_w": 1010, "power/group/1/energy_kwh": 55.555,
			"power/outlet/7/current_a": 0.87, "power/outlet/7/power_w": 190, "power/outlet/7/apparent_va": 205,
			"power/unit2/outlet/3/current_a": 0.12, "power/unit2/outlet/3/energy_kwh": 8.8,
		}, []string{"power/unit2/total/apparent_va", "power/unit2/total/energy_kwh", "power/outlet/7/energy_kwh"}}, // -1
		{"liebert-pdu", "liebert-pdu", map[string]float64{
			"power/inlet/1/power_w": 3456, "power/inlet/1/apparent_va": 3690, "power/inlet/1/energy_kwh": 4567.8,
			"power/inlet/1/L1/voltage_v": 230.1, "power/inlet/1/L1/current_a": 12.34, "power/inlet/1/L1/power_w": 1150,
			"power/inlet/1/L1/apparent_va": 1220, "power/inlet/1/L3/current_a": 11.11,
			"power/branch/2/power_w": 512, "power/branch/2/apparent_va": 540, "power/branch/2/energy_kwh": 98.7,
			"power/branch/2/voltage_v": 229.8, "power/branch/2/current_a": 2.34,
			"power/outlet/2.4/power_w": 181, "power/outlet/2.4/apparent_va": 199, "power/outlet/2.4/energy_kwh": 123.4,
			"power/outlet/2.4/voltage_v": 229.7, "power/outlet/2.4/current_a": 0.87, "power/outlet/2.4/frequency_hz": 50,
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			c, got := pollOver(t, a, tt.recording)
			if p := c.Profile(); p == nil || p.Name != tt.profile {
				t.Fatalf("profile %v, want %s", p, tt.profile)
			}
			checkReadings(t, got, tt.want, tt.absent...)
		})
	}
}

// TestDetectionNotSupportedProbe: a probe answered with the MIB's "not
// supported" value selects nothing. An APC PDU of an undocumented product
// OID answers rPDU2DeviceStatusPower with -1: it is read by the legacy rPDU
// group, and apc-rpdu2 is not even a candidate.
func TestDetectionNotSupportedProbe(t *testing.T) {
	a := startTestdataAgent(t, "apc-rpdu-undocumented")
	reg, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	tr, err := Dial(Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc-rpdu-undocumented", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	d, err := reg.Detect(t.Context(), tr, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range d.Candidates {
		names = append(names, c.Profile.Name+" ("+c.By+")")
	}
	if len(d.Candidates) != 1 || d.Profile.Name != "apc-rpdu" || !strings.HasPrefix(d.By, "probe ") {
		t.Fatalf("candidates %v, want only apc-rpdu by probe", names)
	}
	c, got := pollOver(t, a, "apc-rpdu-undocumented")
	if c.Profile().Name != "apc-rpdu" {
		t.Fatalf("profile %s", c.Profile().Name)
	}
	checkReadings(t, got, map[string]float64{"power/total/power_w": 1840, "power/total/apparent_va": 1930,
		"power/load/1/current_a": 8.3}, "power/total/energy_kwh")
}

// TestDetectProbeAbsentBelow: the sentinel comes from the metric that reads
// the probed column, or from detect.absent_below; a value at or above it
// matches.
func TestDetectProbeAbsentBelow(t *testing.T) {
	own := `name: meter-x
class: facility
detect: {probe: 1.3.6.1.4.1.4242.1, absent_below: 0}
metrics:
  - {object: xWatts, field: power_w, scalar: 1.3.6.1.4.1.4242.1.0, unit: W}
`
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "x.yaml"), []byte(own), 0o644); err != nil {
		t.Fatal(err)
	}
	reg, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		vars []gosnmp.SnmpPDU
		want string // first candidate, "" = unknown device
	}{
		{"rPDU2 -1", []gosnmp.SnmpPDU{pdu(".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", gosnmp.Integer, -1)}, ""},
		{"rPDU2 0 W", []gosnmp.SnmpPDU{pdu(".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", gosnmp.Integer, 0)}, "apc-rpdu2"},
		{"explicit -5", []gosnmp.SnmpPDU{pdu(".1.3.6.1.4.1.4242.1.0", gosnmp.Integer, -5)}, ""},
		{"explicit 7", []gosnmp.SnmpPDU{pdu(".1.3.6.1.4.1.4242.1.0", gosnmp.Integer, 7)}, "meter-x"},
		{"text answer", []gosnmp.SnmpPDU{pdu(".1.3.6.1.4.1.4242.1.0", gosnmp.OctetString, []byte("n/a"))}, "meter-x"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			vars := append([]gosnmp.SnmpPDU{pdu(oidSysObjectID, gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.99999")}, tt.vars...)
			d, err := reg.Detect(t.Context(), &fakeTransport{vars: vars}, "192.0.2.1")
			if tt.want == "" {
				if err == nil {
					t.Fatalf("detected %s (%s), want no match", d.Profile.Name, d.By)
				}
				return
			}
			if err != nil || d.Profile.Name != tt.want {
				t.Fatalf("detect: %+v, %v; want %s", d, err, tt.want)
			}
		})
	}
}

// TestFallbackAfterEmptyProfile: a profile chosen by sysObjectID that
// yields no power reading gives way to the next candidate, and probe says
// which candidates were tried and what each read.
func TestFallbackAfterEmptyProfile(t *testing.T) {
	a := startTestdataAgent(t, "apc-rpdu2-legacy", "eaton-xups-upsmib")
	tests := []struct {
		recording   string
		chosen, by  string
		tried       []string // "profile: reason prefix"
		want        map[string]float64
		absent      []string
		wantInTable []string
	}{
		{"apc-rpdu2-legacy", "apc-rpdu", "fallback of apc-rpdu2",
			[]string{"apc-rpdu2: 1 reading, none of power", "apc-rpdu: 5 readings, 1 of power"},
			map[string]float64{"power/total/power_w": 1840, "power/load/1/current_a": 8.3, "power/load/3/current_a": 4.2},
			[]string{"power/phase/L1/current_a"},
			[]string{"candidates tried:", "apc-rpdu2 (sysObjectID .1.3.6.1.4.1.318.1.3.4.6): 1 reading, none of power", "* apc-rpdu (fallback of apc-rpdu2)"}},
		{"eaton-xups-upsmib", "ups-mib", "fallback of eaton-xups",
			[]string{"eaton-xups: no readings", "ups-mib: "},
			map[string]float64{"power/total/power_w": 2480, "ups/total/output_w": 2480, "ups/total/input_w": 2650,
				"power/total/frequency_hz": 49.9, "power/input/L1/frequency_hz": 50, "power/phase/L1/current_a": 10.9,
				"ups/total/battery_charge_pct": 98, "ups/total/runtime_min": 37},
			nil, []string{"eaton-xups (sysObjectID .1.3.6.1.4.1.534.1): no readings", "* ups-mib (fallback of eaton-xups)"}},
	}
	for _, tt := range tests {
		t.Run(tt.recording, func(t *testing.T) {
			c, got := pollOver(t, a, tt.recording)
			if c.Profile().Name != tt.chosen {
				t.Fatalf("collector settled on %s, want %s (candidates %+v)", c.Profile().Name, tt.chosen, c.Candidates())
			}
			checkReadings(t, got, tt.want, tt.absent...)

			res, err := Probe(t.Context(), ProbeOptions{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: tt.recording, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != tt.chosen || res.DetectedBy != tt.by || res.Power == 0 {
				t.Errorf("probe: %s (%s), %d power readings; want %s (%s)", res.Profile, res.DetectedBy, res.Power, tt.chosen, tt.by)
			}
			for i, w := range tt.tried {
				name, reason, _ := strings.Cut(w, ": ")
				if i >= len(res.Candidates) || res.Candidates[i].Profile != name || !strings.HasPrefix(res.Candidates[i].Reason, reason) {
					t.Errorf("candidate %d: %+v, want %s with reason %q", i, res.Candidates, name, reason)
				}
			}
			var buf bytes.Buffer
			if err := WriteProbe(&buf, res, false); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.wantInTable {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("probe output lacks %q:\n%s", w, buf.String())
				}
			}
		})
	}
}

// TestNoPowerAnywhere: when no candidate reads power, the device settles on
// the first that reads anything, and NoPowerReason names every candidate.
func TestNoPowerAnywhere(t *testing.T) {
	a := startCorpusAgent(t, "apc_smt750x-nmc2", "apc_masterswitch2")
	res, err := Probe(t.Context(), ProbeOptions{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc_smt750x-nmc2", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Power != 0 || res.Profile != "apc-ups" || len(res.Readings) == 0 {
		t.Fatalf("smt750x: profile %s, %d readings, %d power", res.Profile, len(res.Readings), res.Power)
	}
	if r := NoPowerReason(res.Candidates); !strings.Contains(r, "apc-ups (sysObjectID .1.3.6.1.4.1.318.1.3.27)") || !strings.Contains(r, "none of power") {
		t.Errorf("reason %q", r)
	}
	res, err = Probe(t.Context(), ProbeOptions{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc_masterswitch2", Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if res.Power != 0 || len(res.Readings) != 0 || !strings.Contains(NoPowerReason(res.Candidates), "apc-rpdu (sysObjectID .1.3.6.1.4.1.318.1.3.4.2): no readings") {
		t.Errorf("masterswitch2: %+v", res)
	}
}
