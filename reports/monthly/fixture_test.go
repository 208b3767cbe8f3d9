package monthly

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/models/units"
)

// fixtureConfig: two sites of a hospital region. odense-dc1 accounts at
// facility level: a main meter feeds a UPS feeding two rack PDUs (rooms s1
// and s2), a switch on PDU a1; 60 % of its consumption is covered by
// guarantees of origin. aabenraa-sr2 accounts at IT level with an assumed
// PUE of 1.6: one PDU, and a server whose BMC stops answering on the 20th.
const fixtureConfig = `sites:
  - name: odense-dc1
    accounting: facility
    market: {go_share_pct: 60, residual_g_per_kwh: 402.5, residual_source: "AIB European Residual Mix 2024, DK"}
  - {name: aabenraa-sr2, accounting: it, assumed_pue: 1.6}
x-dev: &dev {protocol: snmp, address: 127.0.0.1, interval: 15m, snmp: {community: env:C}}
devices:
  - {<<: *dev, name: meter-main, site: odense-dc1, class: facility}
  - {<<: *dev, name: ups-a, site: odense-dc1, room: s1, class: ups, feeds: meter-main/total}
  - {<<: *dev, name: pdu-a1, site: odense-dc1, room: s1, rack: r01, class: pdu, feeds: ups-a/total}
  - {<<: *dev, name: pdu-a2, site: odense-dc1, room: s2, rack: r07, class: pdu, feeds: ups-a/total}
  - {<<: *dev, name: sw-1, site: odense-dc1, room: s1, rack: r01, class: switch, feeds: pdu-a1/total}
  - {<<: *dev, name: pdu-b1, site: aabenraa-sr2, room: sr2, rack: "12", class: pdu}
  - {name: srv-1, site: aabenraa-sr2, room: sr2, rack: "12", class: server, protocol: redfish, interval: 15m, address: "https://127.0.0.1:8443", redfish: {user: ecometer, password: env:P}}
grid:
  annual_factors:
    - {year: 2023, g_per_kwh: 135, source: "Energinet Miljødeklaration 2023"}
    - {year: 2024, g_per_kwh: 120, source: "Energinet Miljødeklaration 2024"}
    - {year: 2025, g_per_kwh: 110, source: "Energinet Miljødeklaration 2025"}
target: {baseline_year: 2020, reduction_pct: 35, target_year: 2030, baseline_kg_co2e: 10500, baseline_source: "Klimaregnskab 2020, s. 14"}
report:
  lifetime_extensions:
    - {class: Server, from_years: 5, to_years: 7}
`

// fixtureMonth is the report's month; the store has 15-minute samples from
// September 2023 through it.
var fixtureMonth = accounting.MonthOf(2025, time.October)

// fixtureGenerated is the report's fixed date.
var fixtureGenerated = time.Date(2025, 11, 1, 5, 0, 0, 0, time.UTC)

// load is a device's power at t: a daily rhythm (higher 08–17 Danish
// time), a little less each month since January 2024 (consolidation), and
// more cooling in summer at the facility meter.
func load(device string, t time.Time) float64 {
	d := grid.Danish(t)
	months := float64((d.Year()-2023)*12 + int(d.Month()) - 9)
	day := 1.0
	if h := d.Hour(); h >= 8 && h < 17 && d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
		day = 1.25
	}
	shrink := 1 - 0.006*months
	summer := 1 + 0.12*math.Max(0, math.Cos(2*math.Pi*(float64(d.YearDay())-200)/365))
	switch device {
	case "pdu-a1":
		return 3200 * day * shrink
	case "pdu-a2":
		return 2600 * day * shrink
	case "ups-a":
		// The PDUs plus the UPS's own losses and an unmetered load.
		return (3200+2600)*day*shrink*1.04 + 350
	case "meter-main":
		return ((3200+2600)*day*shrink*1.04 + 350) * 1.38 * summer
	case "sw-1":
		return 410
	case "pdu-b1":
		return 1800 * day * shrink
	case "srv-1":
		return 520 * day
	}
	return 0
}

var (
	fixtureOnce sync.Once
	fixtureIn   Input
	fixtureDir  string
	fixtureErr  error
)

// TestMain removes the shared fixture's store.
func TestMain(m *testing.M) {
	code := m.Run()
	if fixtureDir != "" {
		os.RemoveAll(fixtureDir)
	}
	os.Exit(code)
}

// fixture returns the report input over a store written once per test
// binary (a few seconds of SQLite writes); tests only read it.
func fixture(t testing.TB) Input {
	t.Helper()
	fixtureOnce.Do(func() {
		fixtureDir, fixtureErr = os.MkdirTemp("", "ecometer-monthly-")
		if fixtureErr != nil {
			return
		}
		ft := &onceTB{TB: t}
		func() {
			defer func() {
				if r := recover(); r != nil && r != errOnceFailed {
					panic(r)
				}
			}()
			fixtureIn = writeFixture(ft, filepath.Join(fixtureDir, "data"))
		}()
		fixtureErr = ft.err
	})
	if fixtureErr != nil {
		t.Fatalf("fixture: %v", fixtureErr)
	}
	in := fixtureIn
	in.Sites = nil
	return in
}

var errOnceFailed = errors.New("fixture failed")

// onceTB records the fixture's failure instead of failing the first test
// only, so that every test reports it.
type onceTB struct {
	testing.TB
	err error
}

func (o *onceTB) Fatal(args ...any) {
	o.err = fmt.Errorf("%v", fmt.Sprint(args...))
	panic(errOnceFailed)
}
func (o *onceTB) Fatalf(format string, args ...any) {
	o.err = fmt.Errorf(format, args...)
	panic(errOnceFailed)
}

// writeFixture writes the samples, the corpus grid data and an asset
// inventory into a real SQLite store in dir and returns the report's input.
func writeFixture(t testing.TB, dir string) Input {
	t.Helper()
	cfg, err := config.Parse("site.yaml", []byte(fixtureConfig+"storage: {data_dir: "+dir+"}\n"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}

	// Samples: every device every 15 minutes, the energy as power; srv-1's
	// BMC is unreachable from 28 October 2025 (the month stays above 90 %
	// for its site, the device does not), pdu-b1 was not polled from 1 to
	// 12 October 2023 (that month is below 90 %).
	from, _ := grid.DanishMonth(2023, time.September)
	to := fixtureMonth.To
	bmcDown := time.Date(2025, 10, 28, 0, 0, 0, 0, time.UTC)
	pduFrom, pduTo := time.Date(2023, 9, 30, 22, 0, 0, 0, time.UTC), time.Date(2023, 10, 12, 0, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(15 * time.Minute) {
		for _, d := range cfg.Devices {
			if d.Name == "srv-1" && !at.Before(bmcDown) || d.Name == "pdu-b1" && !at.Before(pduFrom) && at.Before(pduTo) {
				continue
			}
			src := "snmp"
			if d.Protocol == config.ProtocolRedfish {
				src = "redfish"
			}
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: d.Site, Room: d.Room, Rack: d.Rack,
				Device: d.Name, Class: string(d.Class), Meter: "total", Source: src}, Time: at,
				Fields: []sample.Field{sample.F("power_w", math.Round(load(d.Name, at)*10)/10)}})
		}
		if len(batch) > 50_000 {
			if err := st.Write(ctx, batch); err != nil {
				t.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}

	// Grid: Energinet's CO2EmisProg for DK1, 2024–2025.
	f := testenv.OpenCorpus(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	imp, err := grid.Parse(f.Name(), f, grid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := st.WriteGrid(ctx, store.GridHoursOf(imp.Hours, "CO2EmisProg")); err != nil {
		t.Fatal(err)
	}

	// Inventory and class defaults (Boavizta, from the corpus).
	bf := testenv.OpenCorpus(t, "embodied", "boavizta-data-us.csv")
	defaults, err := carbon.BoaviztaMedians(bf.Name(), bf)
	if err != nil {
		t.Fatal(err)
	}
	assets := []carbon.Asset{
		{ID: "SRV-0001", Class: "Server", Model: "PowerEdge R650", InService: time.Date(2022, 3, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 5,
			Footprint: units.KgCO2e(1450), HasFootprint: true},
		{ID: "SRV-0002", Class: "Server", Model: "PowerEdge R750", InService: time.Date(2023, 9, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 5},
		{ID: "SW-0001", Class: "Switch", Model: "Catalyst 9300", InService: time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 7},
		{ID: "PDU-0001", Class: "PDU", Model: "AP8959EU3", InService: time.Date(2020, 6, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 10},
	}
	if _, err := st.WriteAssets(ctx, assets); err != nil {
		t.Fatal(err)
	}
	stored, err := st.Assets(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return Input{Config: cfg, Store: st, StoreDesc: "embedded SQLite (test)", Period: fixtureMonth,
		Assets: stored, Defaults: defaults, DefaultsFile: "boavizta-data-us.csv", Generated: fixtureGenerated}
}

// goldenPath is a file under testdata.
func goldenPath(name string) string { return filepath.Join("testdata", name) }

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
