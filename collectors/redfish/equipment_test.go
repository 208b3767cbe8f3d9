package redfish

import (
	"bytes"
	"context"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	sim "github.com/ecometer/ecometer/internal/sim/redfish"
	"github.com/ecometer/ecometer/models/sample"
)

// testdataBMC serves a mockup tree from testdata/mockups (written from the
// DSP0268 schemas, see its README) with the simulator.
func testdataBMC(t *testing.T, name string, opts sim.Options) (*sim.BMC, *httptest.Server) {
	t.Helper()
	m, err := sim.Load(filepath.Join("testdata", "mockups", name))
	if err != nil {
		t.Fatal(err)
	}
	opts.Mockup = m
	opts.Username, opts.Password = "admin", password
	b, err := sim.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv
}

func powerField(t *testing.T, ss []sample.Sample, meter, name string) (float64, bool) {
	t.Helper()
	f, ok := field(t, ss, sample.Power, meter, name)
	return f.Num, ok
}

// TestPowerShelfAndFloorPDU: PowerEquipment/PowerShelves and FloorPDUs are
// read like rack PDUs (Metrics, Mains, Branches, Outlets), each under its
// own prefix when a service has several; with $expand one request each.
func TestPowerShelfAndFloorPDU(t *testing.T) {
	for _, noExpand := range []bool{false, true} {
		t.Run(map[bool]string{false: "expand", true: "no-expand"}[noExpand], func(t *testing.T) {
			b, srv := testdataBMC(t, "power-equipment", sim.Options{NoExpand: noExpand})
			opts := options(srv.URL)
			opts.Target.Class = "pdu"
			c := collector(t, opts)
			ss, err := c.Collect(context.Background(), at)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, ss)
			for meter, want := range map[string]map[string]float64{
				"shelf/1/total":          {"power_w": 2843.5, "apparent_va": 2912, "energy_kwh": 48215.3},
				"shelf/1/inlet/1":        {"power_w": 1421.9, "voltage_v": 229.6, "current_a": 6.34, "frequency_hz": 49.98, "energy_kwh": 24107.6},
				"shelf/1/inlet/2":        {"power_w": 1421.6, "voltage_v": 230.1, "frequency_hz": 50.01},
				"floorpdu/Row2/total":    {"power_w": 18250, "apparent_va": 19010, "energy_kwh": 912345.6},
				"floorpdu/Row2/inlet/1":  {"power_w": 6101 + 6050 + 6099, "frequency_hz": 49.97},
				"floorpdu/Row2/phase/L2": {"power_w": 6050, "voltage_v": 230.4, "current_a": 26.3},
				"floorpdu/Row2/branch/A": {"power_w": 9120, "current_a": 39.7},
				"floorpdu/Row2/branch/B": {"power_w": 9130},
			} {
				for f, v := range want {
					if got, ok := powerField(t, ss, meter, f); !ok || got != v {
						t.Errorf("%s %s = %v (found %v), want %v", meter, f, got, ok, v)
					}
				}
			}
			if _, ok := powerField(t, ss, "shelf/1/psu/1", "power_w"); ok {
				t.Error("the shelf's PSUs are not part of the rack-PDU reader")
			}
			src := c.Sources()
			if src["/redfish/v1/PowerEquipment/PowerShelves/1"] != SourcePowerShelf || src["/redfish/v1/PowerEquipment/FloorPDUs/Row2"] != SourceFloorPDU {
				t.Errorf("sources %v", src)
			}
			b.ResetRequests()
			if _, err := c.Collect(context.Background(), at); err != nil {
				t.Fatal(err)
			}
			if !noExpand && b.TotalRequests() != 2 {
				t.Errorf("requests per poll %d, want 2 (each device expanded 2 levels): %v", b.TotalRequests(), b.Requests())
			}
			res, err := Probe(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := WriteProbe(&buf, res, false); err != nil {
				t.Fatal(err)
			}
			for _, w := range []string{"power shelf /redfish/v1/PowerEquipment/PowerShelves/1: polled by", "floor PDU /redfish/v1/PowerEquipment/FloorPDUs/Row2", "PowerShelf  shelf/1/total"} {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("probe output lacks %q:\n%s", w, buf.String())
				}
			}
			if res.NoPowerReason() != "" {
				t.Errorf("NoPowerReason %q on a service with power", res.NoPowerReason())
			}
		})
	}
}

// TestSensorContexts: a Sensors-only chassis total comes only from a power
// sensor of the whole chassis whose ElectricalContext is Total (not from a
// line's sensor, nor from one PSU's Total); sensor meters stay unique when
// chassis reuse sensor Ids; a chassis with line sensors only has no total
// and probe says why.
func TestSensorContexts(t *testing.T) {
	_, srv := testdataBMC(t, "sensor-contexts", sim.Options{})
	c := collector(t, options(srv.URL))
	ss, err := c.Collect(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, ss)
	wantPower(t, ss, "total", 3750)         // Rack1 PowerTotal, not PSU1Power (1900) nor PowerL1 (1200)
	wantPower(t, ss, "chassis/Rack2", 2100) // Rack2 PowerTotal
	if e, ok := powerField(t, ss, "total", "energy_kwh"); !ok || e != 987.6 {
		t.Errorf("total energy %v (%v), want 987.6 (EnergyTotal, not the Line1 counter)", e, ok)
	}
	if _, ok := powerField(t, ss, "chassis/Rack3", "power_w"); ok {
		t.Error("Rack3 has no Total power sensor, but got a total")
	}

	res, err := Probe(context.Background(), options(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	meters := map[string]float64{}
	for _, r := range res.Readings {
		k := r.Meter + " " + r.Field
		if _, dup := meters[k]; dup {
			t.Errorf("meter %s read twice", k)
		}
		meters[k] = r.Value
	}
	for k, v := range map[string]float64{
		"sensor/PowerL1 power_w": 1200, "sensor/Rack2/PowerL1 power_w": 700, "sensor/Rack3/PowerL1 power_w": 640,
		"sensor/PSU1Power power_w": 1900, "sensor/EnergyL1 energy_kwh": 101.5, "total power_w": 3750,
	} {
		if meters[k] != v {
			t.Errorf("probe %s = %v, want %v (all %v)", k, meters[k], v, meters)
		}
	}
	var rack3 *ChassisProbe
	for i := range res.Chassis {
		if res.Chassis[i].ID == "Rack3" {
			rack3 = &res.Chassis[i]
		}
	}
	if rack3 == nil || rack3.Source != "" || !strings.Contains(strings.Join(rack3.Reasons, "; "),
		"no power sensor of the whole chassis with ElectricalContext Total (power sensors, PhysicalContext/ElectricalContext: PowerL1 (Chassis/Line1), PowerL2 (Chassis/Line2))") {
		t.Errorf("Rack3 probe %+v", rack3)
	}
}

// TestWrongTypeLinks: chassis links that lead to resources of another
// type are logged, and the schema's usual paths are read instead, with the
// same result as on a healthy BMC.
func TestWrongTypeLinks(t *testing.T) {
	_, srv, _ := bmc(t, "public-rackmount1", sim.Options{Faults: []sim.Fault{sim.FaultWrongLinks}})
	var logBuf bytes.Buffer
	opts := options(srv.URL)
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	res, err := Probe(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chassis) != 1 || res.Chassis[0].Source != SourceEnvironmentMetrics || len(res.Chassis[0].Available) != 4 {
		t.Fatalf("chassis %+v", res.Chassis)
	}
	got := map[string]float64{}
	for _, r := range res.Readings {
		got[string(r.Source)+" "+r.Meter+" "+r.Field+" "+r.Path] = r.Value
	}
	for k, v := range map[string]float64{
		"EnvironmentMetrics total power_w /redfish/v1/Chassis/1U/EnvironmentMetrics":                    374,
		"PowerSubsystem psu/1 power_w /redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics": 937.4,
		"Sensors total power_w /redfish/v1/Chassis/1U/Sensors/TotalPower":                               374,
	} {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	for _, w := range []string{
		`property=EnvironmentMetrics link=/redfish/v1/Chassis/1U/Power type=#Power.`,
		`property=PowerSubsystem link=/redfish/v1/Chassis/1U/ThermalSubsystem type=#ThermalSubsystem.`,
		`property=Sensors link=/redfish/v1/Chassis/1U/Controls type=#ControlCollection.ControlCollection want=SensorCollection usual=/redfish/v1/Chassis/1U/Sensors`,
	} {
		if !strings.Contains(logBuf.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, logBuf.String())
		}
	}
	// The collector polls the usual path it found.
	c := collector(t, options(srv.URL))
	ss, err := c.Collect(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 374)
}

// TestNoPowerService: a service without a power reading anywhere is a
// probe result whose NoPowerReason names every chassis and what each
// source lacked.
func TestNoPowerService(t *testing.T) {
	_, srv := testdataBMC(t, "no-power", sim.Options{})
	res, err := Probe(context.Background(), options(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	why := res.NoPowerReason()
	for _, w := range []string{
		"chassis /redfish/v1/Chassis/Blade7: EnvironmentMetrics /redfish/v1/Chassis/Blade7/EnvironmentMetrics: no PowerWatts reading",
		"PowerSubsystem: no link in the chassis",
		"Sensors /redfish/v1/Chassis/Blade7/Sensors: no power sensor of the whole chassis with ElectricalContext Total",
		"Power: no link in the chassis",
		"/redfish/v1/PowerEquipment/FloorPDUs/Row9: no Metrics, Mains, Branches or Outlets",
	} {
		if !strings.Contains(why, w) {
			t.Errorf("NoPowerReason lacks %q:\n%s", w, why)
		}
	}
	var buf bytes.Buffer
	if err := WriteProbe(&buf, res, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "chassis /redfish/v1/Chassis/Blade7: no power reading\n  - EnvironmentMetrics") {
		t.Errorf("probe output:\n%s", buf.String())
	}
}
