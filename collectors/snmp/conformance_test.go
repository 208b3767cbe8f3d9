package snmp

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/internal/testenv"
)

// oracleSensor is one sensor LibreNMS discovered from a recording.
type oracleSensor struct {
	Class   string          `json:"sensor_class"`
	OID     string          `json:"sensor_oid"`
	Descr   string          `json:"sensor_descr"`
	Divisor json.Number     `json:"sensor_divisor"`
	Current json.RawMessage `json:"sensor_current"`
}

// conformanceClasses are the LibreNMS classes compared.
var conformanceClasses = map[string]bool{"power": true, "power_consumed": true, "current": true,
	"voltage": true, "load": true, "runtime": true, "charge": true, "frequency": true}

// classField maps a LibreNMS class to the fields whose unit it shares.
var classField = map[string][]string{
	"power": {"power_w", "input_w", "output_w"}, "power_consumed": {"energy_kwh"},
	"current": {"current_a"}, "voltage": {"voltage_v"}, "load": {"load_pct"},
	"runtime": {"runtime_min"}, "charge": {"battery_charge_pct"}, "frequency": {"frequency_hz"},
}

// exception is a deliberate disagreement with LibreNMS, with the MIB text
// that proves ecometer right. Mode "not-read" exempts a power sensor from
// coverage; "value" replaces LibreNMS's value with ours.
type exception struct {
	device, oid, mode string
	want              float64
	mib               string
}

var exceptions = []exception{
	{device: "ios_2960x", oid: ".1.3.6.1.2.1.105.1.3.1.1.2.1", mode: "not-read",
		mib: `POWER-ETHERNET-MIB pethMainPsePower: "The nominal power of the PSE expressed in Watts." ` +
			`— the PoE budget, not a measured consumption; pethMainPseConsumptionPower ("Measured usage power") is read instead.`},
}

func findException(device, oid string) *exception {
	for i := range exceptions {
		if exceptions[i].device == device && exceptions[i].oid == oid {
			return &exceptions[i]
		}
	}
	return nil
}

func loadOracle(t *testing.T, path string) []oracleSensor {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Sensors struct {
			Discovery struct {
				Sensors []oracleSensor `json:"sensors"`
			} `json:"discovery"`
		} `json:"sensors"`
	}
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var out []oracleSensor
	for _, s := range doc.Sensors.Discovery.Sensors {
		if conformanceClasses[s.Class] {
			out = append(out, s)
		}
	}
	return out
}

// tolerance is one unit of the last digit LibreNMS recorded: 1829.3666666667
// gets 1e-10, 2.2 gets 0.1, 270 gets 1.
func tolerance(raw string) float64 {
	raw = strings.Trim(raw, `"`)
	if i := strings.IndexByte(raw, '.'); i >= 0 {
		return math.Pow10(-(len(raw) - i - 1))
	}
	return 1
}

// coverage is one device's row of the README table.
type coverage struct {
	device, profile              string
	byClass                      map[string]int
	compared, agreed, deliberate int
	powerFound, powerRead        int
}

func corpusRecordings(t *testing.T) (string, []string) {
	dir := testenv.CorpusPath(t, "snmp")
	files, err := filepath.Glob(filepath.Join(dir, "*.snmprec"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in %s", dir)
	}
	var names []string
	for _, f := range files {
		names = append(names, strings.TrimSuffix(filepath.Base(f), ".snmprec"))
	}
	sort.Strings(names)
	return dir, names
}

// TestConformance polls every corpus recording, served by the project's
// simulator, and checks each value against LibreNMS's discovery.
func TestConformance(t *testing.T) {
	dir, names := corpusRecordings(t)
	agent := startCorpusAgent(t, names...)
	rows := runConformance(t, dir, names, agent.Addr().Addr().String(), agent.Addr().Port())
	if os.Getenv("ECOMETER_WRITE_COVERAGE") != "" {
		writeCoverage(t, rows)
	}
}

// TestConformanceSnmpsimd runs the same check against Debian's snmpsimd.
func TestConformanceSnmpsimd(t *testing.T) {
	if testing.Short() {
		testenv.RequireOrSkip(t, "-short: this test starts snmpsimd")
	}
	dir, names := corpusRecordings(t)
	addr := testenv.Snmpsimd(t, dir, names[0])
	runConformance(t, dir, names, addr.Addr().String(), addr.Port())
}

func runConformance(t *testing.T, dir string, names []string, host string, port uint16) []coverage {
	reg, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	var rows []coverage
	for _, name := range names {
		row := coverage{device: name, byClass: map[string]int{}}
		t.Run(name, func(t *testing.T) {
			oracle := loadOracle(t, filepath.Join(dir, name+".json"))
			c, err := New(Device{Target: collectors.Target{Device: name},
				Conn: Conn{Addr: host, Port: port, Version: V2c, Community: name, Timeout: 5 * time.Second}},
				Options{Profiles: reg})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			readings, err := c.Readings(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if p := c.Profile(); p != nil {
				row.profile = p.Name
			}
			byOID := map[string][]Reading{}
			for _, r := range readings {
				byOID[r.OID] = append(byOID[r.OID], r)
			}
			for _, s := range oracle {
				row.byClass[s.Class]++
				oid := normOID(s.OID)
				ex := findException(name, oid)
				isPower := s.Class == "power" || s.Class == "power_consumed"
				if isPower {
					row.powerFound++
				}
				got := byOID[oid]
				if len(got) == 0 {
					if ex != nil && ex.mode == "not-read" {
						row.deliberate++
						t.Logf("deliberately not read: %s %s %q — %s", s.Class, oid, s.Descr, ex.mib)
						continue
					}
					if isPower || s.Class == "frequency" {
						t.Errorf("coverage: LibreNMS %s sensor %s (%q) is not read by profile %s", s.Class, oid, s.Descr, row.profile)
					}
					continue
				}
				if isPower {
					row.powerRead++
				}
				want, err := strconv.ParseFloat(strings.Trim(string(s.Current), `"`), 64)
				if err != nil {
					t.Errorf("oracle %s: sensor_current %s: %v", oid, s.Current, err)
					continue
				}
				tol := tolerance(string(s.Current))
				if ex != nil && ex.mode == "value" {
					want = ex.want
					row.deliberate++
					t.Logf("deliberate disagreement on %s: %s", oid, ex.mib)
				}
				for _, r := range got {
					if !fieldMatches(s.Class, r.Field) {
						t.Errorf("%s %s read as %s (%s), LibreNMS class %s", name, oid, r.Field, r.Unit, s.Class)
						continue
					}
					row.compared++
					if math.Abs(r.Value-want) > tol*1.0000001 {
						t.Errorf("%s %s (%s, meter %s): got %v %s, LibreNMS %v (±%v)", name, oid, r.Object, r.Meter, r.Value, r.Unit, want, tol)
					} else {
						row.agreed++
					}
				}
			}
			if row.powerRead+countNotRead(name) != row.powerFound {
				t.Errorf("power coverage %d/%d", row.powerRead, row.powerFound)
			}
		})
		rows = append(rows, row)
	}
	return rows
}

func countNotRead(device string) int {
	n := 0
	for _, e := range exceptions {
		if e.device == device && e.mode == "not-read" {
			n++
		}
	}
	return n
}

func fieldMatches(class, field string) bool {
	for _, f := range classField[class] {
		if f == field {
			return true
		}
	}
	return false
}

func writeCoverage(t *testing.T, rows []coverage) {
	var b strings.Builder
	b.WriteString("| device | profile | LibreNMS sensors by class | power+energy found / read | values compared | agreed | deliberate disagreements |\n|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		var classes []string
		for c, n := range r.byClass {
			classes = append(classes, fmt.Sprintf("%s %d", c, n))
		}
		sort.Strings(classes)
		cls := strings.Join(classes, ", ")
		if cls == "" {
			cls = "—"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d / %d | %d | %d | %d |\n", r.device, r.profile, cls,
			r.powerFound, r.powerRead, r.compared, r.agreed, r.deliberate)
	}
	if err := os.WriteFile(filepath.Join(t.TempDir(), "..", "coverage.md"), []byte(b.String()), 0o644); err != nil {
		t.Log(err)
	}
	t.Log("\n" + b.String())
}
