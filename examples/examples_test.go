package examples_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/topology"
)

// TestSiteConfigs: both site configurations load the way `ecometer serve`
// loads them (strict YAML, validation, SNMP profile names), and the embedded
// copies are the files.
func TestSiteConfigs(t *testing.T) {
	for file, embedded := range map[string][]byte{"site.yaml": examples.SiteYAML, "demo/site.yaml": examples.DemoYAML} {
		cfg, err := collection.Load(file)
		if err != nil {
			t.Fatalf("%s:\n%v", file, err)
		}
		if b, _ := os.ReadFile(file); string(b) != string(embedded) {
			t.Errorf("%s: the embedded copy differs", file)
		}
		if _, err := accounting.BuildChain(cfg); err != nil {
			t.Errorf("%s: power chain: %v", file, err)
		}
		// No invented grid factors: any factor cites a real source.
		for _, f := range cfg.Grid.AnnualFactors {
			if s := strings.ToLower(f.Source); strings.Contains(s, "example") || strings.Contains(s, "demo") || strings.Contains(s, "illustrative") {
				t.Errorf("%s: grid factor %d %v g/kWh has no real source (%q)", file, f.Year, f.GPerKWh, f.Source)
			}
		}
	}
}

// TestTwoRoomDatacenter: examples/site.yaml is the datacenter the README
// describes: two server rooms, each a UPS → PDUs → servers chain, PoE
// switches, a facility meter, totals at facility level with each room's UPS
// as its IT meter.
func TestTwoRoomDatacenter(t *testing.T) {
	cfg, err := collection.Load("site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Sites) != 1 || cfg.Sites[0].Accounting != config.AccountFacility || cfg.Sites[0].PriceArea != config.DK1 {
		t.Fatalf("sites %+v, want one DK1 site accounted at facility level", cfg.Sites)
	}
	chain, err := accounting.BuildChain(cfg)
	if err != nil {
		t.Fatal(err)
	}
	level := map[string]topology.Level{}
	for _, m := range chain {
		level[m.Ref.Device] = m.Accounting
	}
	rooms := map[string][]config.Device{}
	for _, d := range cfg.Devices {
		rooms[d.Room] = append(rooms[d.Room], d)
	}
	for _, room := range []string{"s1", "s2"} {
		classes := map[config.DeviceClass]int{}
		for _, d := range rooms[room] {
			classes[d.Class]++
			switch d.Class {
			case config.ClassUPS:
				if level[d.Name] != topology.IT || d.Feeds != "facility-main/total" {
					t.Errorf("%s: %s accounts at %q, fed by %q; want the room's IT meter under the facility meter", room, d.Name, level[d.Name], d.Feeds)
				}
			default:
				if level[d.Name] != topology.None || d.Feeds == "" {
					t.Errorf("%s: %s accounts at %q, fed by %q; want none, fed from the room's chain", room, d.Name, level[d.Name], d.Feeds)
				}
			}
		}
		if classes[config.ClassUPS] != 1 || classes[config.ClassPDU] < 2 || classes[config.ClassServer] < 2 || classes[config.ClassSwitch] < 1 {
			t.Errorf("room %s has %v; want a UPS, PDUs, servers and a PoE switch", room, classes)
		}
	}
	if level["facility-main"] != topology.Facility {
		t.Errorf("facility-main accounts at %q, want facility", level["facility-main"])
	}
	profiles := map[string]bool{}
	for _, d := range cfg.Devices {
		profiles[d.Profile] = true
	}
	for _, p := range []string{"ups-mib", "apc-rpdu2", "raritan-pdu2", "sentry4", "cisco-switch", "power-ethernet"} {
		if !profiles[p] {
			t.Errorf("no device uses profile %s", p)
		}
	}
	if c := cfg.Sites[0].Market; c != nil {
		t.Errorf("market instruments %+v are set; the example leaves them to the region (commented placeholder)", c)
	}
}

// placeholder matches a value the region fills in: <…>.
var placeholder = regexp.MustCompile(`<[^>]*>`)

// uncomment returns text with the commented block that starts with the
// line `# key:` (at any indent) uncommented and its placeholders replaced
// by fill, in order.
func uncomment(t *testing.T, text, key string, fill ...string) string {
	t.Helper()
	lines := strings.Split(text, "\n")
	start := slices.IndexFunc(lines, func(l string) bool { return strings.TrimSpace(l) == "# "+key+":" })
	if start < 0 {
		t.Fatalf("no commented block %q", key)
	}
	prefix := lines[start][:strings.Index(lines[start], "#")] + "# "
	n := 0
	for i := start; i < len(lines) && strings.HasPrefix(lines[i], prefix); i++ {
		lines[i] = strings.Replace(lines[i], "# ", "", 1)
		lines[i] = placeholder.ReplaceAllStringFunc(lines[i], func(string) string {
			if n >= len(fill) {
				t.Fatalf("block %q has more placeholders than %d", key, len(fill))
			}
			n++
			return fill[n-1]
		})
	}
	if n != len(fill) {
		t.Fatalf("block %q has %d placeholders, want %d", key, n, len(fill))
	}
	return strings.Join(lines, "\n")
}

// TestPlaceholders: the commented blocks a region fills in (market
// instruments; a 2020 grid factor; the baseline's emissions) are valid
// configuration once filled, and are marked as the region's to fill.
func TestPlaceholders(t *testing.T) {
	text := string(examples.SiteYAML)
	for _, want := range []string{"TO FILL IN by the\n    # region", "the 2020 baseline year, needs", "baseline_source:"} {
		if !strings.Contains(text, want) {
			t.Errorf("site.yaml lacks %q", want)
		}
	}
	filled := uncomment(t, text, "market", "60", "400", "test residual mix")
	filled = uncomment(t, filled, "annual_factors", "130", "test 2020 factor")
	filled = strings.Replace(filled, "  # baseline_kg_co2e: <kg CO2e of 2020>\n  # baseline_source: \"<e.g. the region's 2020 climate accounts>\"",
		"  baseline_kg_co2e: 48200\n  baseline_source: \"test accounts\"", 1)
	cfg, err := config.Parse("site.yaml (filled in)", []byte(filled))
	if err != nil {
		t.Fatalf("filled in:\n%v\n%s", err, filled)
	}
	m := cfg.Sites[0].Market
	if m == nil || m.GOSharePct != 60 || m.ResidualGPerKWh == nil || *m.ResidualGPerKWh != 400 || m.ResidualSource != "test residual mix" {
		t.Errorf("market %+v", m)
	}
	if f := cfg.Grid.AnnualFactors; len(f) != 1 || f[0].Year != 2020 || f[0].GPerKWh != 130 || f[0].Source != "test 2020 factor" {
		t.Errorf("annual factors %+v", f)
	}
	if b := cfg.Target.BaselineKgCO2e; b == nil || *b != 48200 || cfg.Target.BaselineSource != "test accounts" {
		t.Errorf("baseline %v from %q", b, cfg.Target.BaselineSource)
	}
}

// TestInventory: the asset inventory parses as `ecometer inventory import`
// reads it, and every class has a Boavizta class default (so the embodied
// view of the example is complete without product footprints).
func TestInventory(t *testing.T) {
	f, err := os.Open("inventory.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	assets, err := carbon.ParseInventory("inventory.csv", f)
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) < 10 {
		t.Errorf("%d assets", len(assets))
	}
	cfg, err := collection.Load("site.yaml")
	if err != nil {
		t.Fatal(err)
	}
	servers := 0
	for _, a := range assets {
		for _, d := range cfg.Devices {
			if strings.Contains(a.Model, "("+d.Name+")") {
				servers++
			}
		}
	}
	if servers < 6 {
		t.Errorf("%d assets name a device of site.yaml, want its servers and switches", servers)
	}
	b := testenv.OpenCorpus(t, "embodied", "boavizta-data-us.csv")
	defer b.Close()
	defaults, err := carbon.BoaviztaMedians("boavizta-data-us.csv", b)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range assets {
		if _, ok := defaults[strings.ToLower(a.Class)]; !ok && !a.HasFootprint {
			t.Errorf("%s: class %q has neither a footprint nor a Boavizta default", a.ID, a.Class)
		}
	}
}
