package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin"
	"github.com/ecometer/ecometer/models/sample"
)

// co2Sites: "flat" has one 1 kW meter; "day" one 1 kW meter drawing only
// 08:00–18:00 Danish time; "chain" a facility meter (1.5 kW) feeding a UPS
// (1 kW) feeding a PDU (0.6 kW), all three metered, where the IT total must be
// the UPS alone, never UPS + PDU.
const co2Sites = `sites:
  - {name: flat, price_area: DK1, accounting: it}
  - {name: day, price_area: DK1, accounting: it}
  - {name: chain, price_area: DK1, accounting: it, assumed_pue: 1.8}
x-dev: &dev {class: pdu, protocol: snmp, address: 127.0.0.1, interval: 5m, snmp: {community: env:ECOMETER_TEST_COMMUNITY}}
devices:
  - {<<: *dev, name: pdu-flat, site: flat}
  - {<<: *dev, name: pdu-day, site: day}
  - {<<: *dev, name: fac, site: chain, class: facility}
  - {<<: *dev, name: ups, site: chain, class: ups, feeds: fac/total}
  - {<<: *dev, name: pdu, site: chain, feeds: ups/total}
grid:
  area: DK1
  annual_factors:
    - {year: 2025, g_per_kwh: 100, source: test factor}
`

// writeMonthSamples stores October 2025 (Danish month) of 5-minute power
// samples.
func writeMonthSamples(t *testing.T, dataDir string) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	from, to := grid.DanishMonth(2025, time.October)
	meter := func(site, device, class string, w float64, at time.Time) sample.Sample {
		return sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: site, Device: device, Class: class,
			Meter: "total", Source: "snmp"}, Time: at, Fields: []sample.Field{sample.F("power_w", w)}}
	}
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(5 * time.Minute) {
		batch = append(batch, meter("flat", "pdu-flat", "pdu", 1000, at),
			meter("chain", "fac", "facility", 1500, at), meter("chain", "ups", "ups", 1000, at), meter("chain", "pdu", "pdu", 600, at))
		dayW := 0.0 // metered at night too, drawing nothing
		if h := grid.Danish(at).Hour(); h >= 8 && h < 18 {
			dayW = 1000
		}
		batch = append(batch, meter("day", "pdu-day", "pdu", dayW, at))
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func co2Run(t *testing.T, opts co2Options) (co2JSON, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.JSON = true
	if err := runCO2(context.Background(), opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("co2 %+v: %v", opts, err)
	}
	var res co2JSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	opts.JSON = false
	if err := runCO2(context.Background(), opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("co2 %+v: %v", opts, err)
	}
	return res, out.String()
}

func siteOf(t *testing.T, res co2JSON, name string) accounting.Site {
	t.Helper()
	for _, s := range res.Sites {
		if s.Site == name {
			return s
		}
	}
	t.Fatalf("site %s missing from %+v", name, res.Sites)
	return accounting.Site{}
}

func near4(a, b float64) bool { return math.Abs(a-b) < 5e-5 }

// End to end with the corpus: October 2025 in DK1 (745 hours). A flat 1 kW
// load gives the plain mean intensity (89.6445 g/kWh), a daytime-only load
// the consumption-weighted one (82.3075 g/kWh).
func TestCO2Corpus(t *testing.T) {
	corpus := testenv.CorpusPath(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	cfg, dataDir := testConfig(t, co2Sites)
	writeMonthSamples(t, dataDir)

	// Before any grid data is imported, every hour comes from the built-in
	// hourly data (ahead of the config's annual factor), which is derived
	// from the same export: the flat load sees its plain mean of the month,
	// 89.6445 g/kWh, up to the built-in values' rounding to 0.01 g/kWh; all
	// of it a labelled fallback.
	res, text := co2Run(t, co2Options{Config: cfg, Month: "2025-10", Site: "flat"})
	fl := siteOf(t, res, "flat")
	if fl.EnergyKWh != 745 || math.Abs(fl.Location.WeightedGPerKWh-89.6445) > 0.005 || !near4(fl.Location.KgCO2e, 0.745*fl.Location.WeightedGPerKWh) ||
		fl.Location.FallbackSharePct != 100 || len(fl.Location.FallbackBases) != 1 ||
		fl.Location.FallbackBases[0] != "built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), hourly" {
		t.Errorf("flat without grid data: %+v", fl)
	}
	for _, want := range []string{"intensity source       measured 0.0 %, built-in-hourly 100.0 % of the energy",
		"fallback: built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), hourly", gridSource} {
		if !strings.Contains(text, want) {
			t.Errorf("text output without grid data lacks %q:\n%s", want, text)
		}
	}
	if len(res.Sites) != 1 {
		t.Errorf("--site flat gave %d sites", len(res.Sites))
	}

	var out bytes.Buffer
	if err := runGridImport(context.Background(), gridImportOptions{Config: cfg, Dataset: "CO2EmisProg", Files: []string{corpus}}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}
	res, text = co2Run(t, co2Options{Config: cfg, Month: "2025-10"})
	t.Logf("co2 2025-10:\n%s", text)

	fl = siteOf(t, res, "flat")
	// 1 kW × 745 h = 745 kWh; weighted = plain = the month's plain mean.
	if fl.EnergyKWh != 745 || fl.CoveragePct != 100 || fl.HoursWith != 745 || fl.HoursIn != 745 {
		t.Errorf("flat energy: %+v", fl)
	}
	if !near4(fl.Location.WeightedGPerKWh, 89.6445) || !near4(fl.Location.PlainGPerKWh, 89.6445) || !near4(fl.AreaPlainMean, 89.6445) {
		t.Errorf("flat intensity: weighted %v, plain %v, month %v; want 89.6445", fl.Location.WeightedGPerKWh, fl.Location.PlainGPerKWh, fl.AreaPlainMean)
	}
	// 745 kWh × 89.64451901565994 g/kWh / 1000 = 66.7852 kg.
	if !near4(fl.Location.KgCO2e, 745*89.64451901565994/1000) || fl.Location.FallbackSharePct != 0 {
		t.Errorf("flat emissions: %+v", fl.Location)
	}
	if fl.Market.Configured || !strings.Contains(fl.Market.Note, "not configured") {
		t.Errorf("market-based: %+v, want not configured", fl.Market)
	}

	day := siteOf(t, res, "day")
	// 10 hours a day × 31 days × 1 kW = 310 kWh, metered all 745 hours;
	// weighted by consumption 82.3075 g/kWh, the plain average of the same
	// hours stays the month's 89.6445.
	if day.EnergyKWh != 310 || day.HoursWith != 745 || day.CoveragePct != 100 ||
		!near4(day.Location.WeightedGPerKWh, 82.3075) || !near4(day.Location.PlainGPerKWh, 89.6445) {
		t.Errorf("daytime: %v kWh over %d hours (coverage %v %%), weighted %v g/kWh, plain %v; want 310, 745, 100, 82.3075, 89.6445",
			day.EnergyKWh, day.HoursWith, day.CoveragePct, day.Location.WeightedGPerKWh, day.Location.PlainGPerKWh)
	}

	ch := siteOf(t, res, "chain")
	// IT total at the UPS alone (745 kWh), not UPS + PDU (1192 kWh);
	// PUE measured 1.5 / 1 = 1.5, not the assumed 1.8.
	if ch.EnergyKWh != 745 || len(ch.Meters) != 1 || ch.Meters[0] != "ups/total" ||
		ch.PUE == nil || ch.PUE.Assumed || math.Abs(ch.PUE.Value-1.5) > 1e-12 {
		t.Errorf("chain: %v kWh at %v, PUE %+v; want 745 at ups/total, PUE 1.5 measured", ch.EnergyKWh, ch.Meters, ch.PUE)
	}

	for _, want := range []string{
		"Site flat (DK1, accounting level it)",
		"89.6445 g/kWh  consumption-weighted",
		"82.3075 g/kWh  consumption-weighted",
		"market-based           not configured",
		// IT-level sites with an assumed PUE: the whole site on its own line.
		"whole site (estimate)  1117.500 kWh, 100.178 kg CO2e location-based\n",
		"intensity source  measured 100.0 % of the energy",
		"PUE               1.50  measured: facility / IT energy",
		gridSource,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text output lacks %q", want)
		}
	}

	// The baseline year 2020 has no data: co2 target says what is missing, exit 1.
	var tout, terr bytes.Buffer
	err := runCO2Target(context.Background(), co2TargetOptions{Config: cfg, Now: time.Date(2025, 11, 15, 12, 0, 0, 0, time.UTC)}, streams{&tout, &terr})
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "no baseline emissions for 2020") {
		t.Errorf("co2 target: %v", err)
	}
	t.Logf("co2 target:\n%s", &tout)
	for _, want := range []string{"Baseline emissions for 2020: not available.", "2020-01", "2025-10"} {
		if !strings.Contains(tout.String(), want) {
			t.Errorf("co2 target output lacks %q", want)
		}
	}
}

func TestCO2Usage(t *testing.T) {
	cfg, _ := testConfig(t, co2Sites)
	for _, o := range []co2Options{
		{Month: "2025-10"},
		{Config: cfg},
		{Config: cfg, Month: "2025-1"},
		{Config: cfg, Month: "2025-10", Site: "nowhere"},
	} {
		var out bytes.Buffer
		if err := runCO2(context.Background(), o, streams{&out, &out}); exitCode(err) != exitBadUse {
			t.Errorf("%+v: %v, want exit 2", o, err)
		}
	}
}

// co2 target with a derivable baseline: a flat 1 kW site metered hourly
// from January 2024 (baseline year) to February 2025, the corpus grid data.
// The store's whole year wins over the config's baseline figure, which is
// named as not used.
func TestCO2TargetBaselineFromStore(t *testing.T) {
	corpus := testenv.CorpusPath(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	cfg, dataDir := testConfig(t, `sites: [{name: dc1, price_area: DK1}]
devices:
  - {name: pdu1, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 1h, snmp: {community: env:C}}
target: {baseline_year: 2024, reduction_pct: 35, target_year: 2030, baseline_kg_co2e: 1234, baseline_source: older estimate}
`)
	from, _ := grid.DanishMonth(2024, time.January)
	_, to := grid.DanishMonth(2025, time.February)
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(time.Hour) {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu1",
			Class: "pdu", Meter: "total", Source: "snmp"}, Time: at, Fields: []sample.Field{sample.F("power_w", 1000)}})
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	st.Close()
	var out bytes.Buffer
	if err := runGridImport(context.Background(), gridImportOptions{Config: cfg, Dataset: "CO2EmisProg", Files: []string{corpus}}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}

	// Independently: 1 kWh in every hour of the Danish year 2024 times its
	// intensity (measured, or the same hour of the nearest week in the
	// corpus's gaps).
	f := testenv.OpenCorpus(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	imp, err := grid.Parse(f.Name(), f, grid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	y0, _ := grid.DanishMonth(2024, time.January)
	_, y1 := grid.DanishMonth(2024, time.December)
	intensity, err := grid.Resolve("DK1", imp.Hours, nil, y0, y1)
	if err != nil {
		t.Fatal(err)
	}
	var want float64
	for _, in := range intensity {
		want += float64(in.Value) / 1000
	}

	out.Reset()
	now := time.Date(2025, 3, 15, 12, 0, 0, 0, time.UTC)
	if err := runCO2Target(context.Background(), co2TargetOptions{Config: cfg, JSON: true, Now: now}, streams{&out, &out}); err != nil {
		t.Fatalf("co2 target: %v\n%s", err, &out)
	}
	var res targetJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if res.BaselineKgCO2e == nil || math.Abs(*res.BaselineKgCO2e-want) > 1e-6 {
		t.Fatalf("baseline %v kg, want %v (Σ hourly intensity / 1000 over 2024)", res.BaselineKgCO2e, want)
	}
	if res.BaselineFrom != targetview.BaselineFromStore || !strings.Contains(res.BaselineNote, "target.baseline_kg_co2e (1234.0 kg CO2e, older estimate) is not used") {
		t.Errorf("baseline from %q, note %q; want the store, the config's figure named as not used", res.BaselineFrom, res.BaselineNote)
	}
	// Goal: baseline × (1 − 0.35).
	if math.Abs(res.GoalKgCO2e-want*0.65) > 1e-6 || len(res.YearToDate) != 2 || res.Ahead == nil || res.RequiredAnnualPc == nil {
		t.Errorf("target: %+v", res)
	}
	out.Reset()
	if err := runCO2Target(context.Background(), co2TargetOptions{Config: cfg, Now: now}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}
	t.Logf("co2 target:\n%s", &out)
	if !strings.Contains(out.String(), "derived from the store (location-based, every month of the year)") {
		t.Errorf("text does not say the baseline is derived from the store")
	}
}

// Market-based beside location-based, from the same energy, never netted.
// October 2025 without imported grid data (the built-in hourly data):
//
//	flat: 745 kWh; location Σ 1 kWh × the hour's built-in intensity; market:
//	      60 % of 745 = 447 kWh under guarantees of origin at 0, the other
//	      298 kWh × 400 g/kWh = 119.2 kg, whatever the grid's intensity.
//	chain: 745 kWh at the UPS; location the same as flat; market: 100 %
//	      covered, no residual factor needed: 0 kg (shown as 0, not left out).
//	day:  no market block: "not configured".
func TestCO2MarketBased(t *testing.T) {
	sites := strings.Replace(co2Sites, "  - {name: flat, price_area: DK1, accounting: it}\n",
		"  - {name: flat, price_area: DK1, accounting: it, market: {go_share_pct: 60, residual_g_per_kwh: 400, residual_source: test residual mix 2025}}\n", 1)
	sites = strings.Replace(sites, "assumed_pue: 1.8}", "assumed_pue: 1.8, market: {go_share_pct: 100}}", 1)
	cfg, dataDir := testConfig(t, sites)
	writeMonthSamples(t, dataDir)
	res, text := co2Run(t, co2Options{Config: cfg, Month: "2025-10"})
	t.Logf("co2 2025-10:\n%s", text)

	loc := builtInKg(t, 2025, time.October, 1)
	fl := siteOf(t, res, "flat")
	m := fl.Market
	if !near4(fl.Location.KgCO2e, loc) || !m.Configured || m.KgCO2e == nil || !near4(*m.KgCO2e, 119.2) || m.Instruments == nil ||
		!near4(m.Instruments.CoveredByGOKWh, 447) || !near4(m.Instruments.ResidualKWh, 298) ||
		m.Instruments.GOSharePct != 60 || m.Instruments.ResidualGPerKWh != 400 || m.Instruments.ResidualSource != "test residual mix 2025" {
		t.Errorf("flat: location %v kg, market %+v %+v; want %v and 119.2 kg (447 kWh GO, 298 kWh residual)", fl.Location.KgCO2e, m, m.Instruments, loc)
	}
	ch := siteOf(t, res, "chain")
	if !near4(ch.Location.KgCO2e, loc) || ch.Market.KgCO2e == nil || *ch.Market.KgCO2e != 0 || !near4(ch.Market.Instruments.CoveredByGOKWh, 745) {
		t.Errorf("chain: location %v kg, market %+v", ch.Location.KgCO2e, ch.Market)
	}
	if day := siteOf(t, res, "day"); day.Market.Configured || day.Market.KgCO2e != nil || !strings.Contains(day.Market.Note, "not configured") {
		t.Errorf("day: %+v, want not configured", day.Market)
	}
	for _, want := range []string{
		fmt.Sprintf("location-based    %.3f kg CO2e  Scope 2, Σ hourly kWh × hourly DK1 intensity", loc),
		"market-based           119.200 kg CO2e  Scope 2, 60.0 % of consumption covered by guarantees of origin at 0 g/kWh; the rest at the residual factor 400.0 g/kWh (test residual mix 2025)",
		"447.000 kWh covered by guarantees of origin (0 g/kWh), 298.000 kWh at the residual factor",
		"market-based      0.000 kg CO2e  Scope 2, 100.0 % of consumption covered",
		"(none needed: all consumption covered by guarantees of origin)",
		accounting.Scope2NotNetted,
		"market-based           not configured",
		// IT-level sites with an assumed PUE: the whole site on its own line.
		fmt.Sprintf("whole site (estimate)  1117.500 kWh, %.3f kg CO2e location-based, 178.800 kg CO2e market-based", 1.5*loc),
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}

	// A market block with a share over 100 % and no residual source is a
	// config error (exit 2), named by file, line and key.
	bad, _ := testConfig(t, "sites: [{name: dc1, market: {go_share_pct: 101, residual_g_per_kwh: 300}}]\n")
	var out, errOut bytes.Buffer
	err := runCO2(context.Background(), co2Options{Config: bad, Month: "2025-10"}, streams{&out, &errOut})
	if exitCode(err) != exitBadUse || !strings.Contains(errOut.String(), "sites[0].market.go_share_pct: must be between 0 and 100") ||
		!strings.Contains(errOut.String(), "sites[0].market.residual_source: missing required key") {
		t.Errorf("bad market config: %v\n%s%s", err, &out, &errOut)
	}
}

// builtInKg is kW × the sum of the built-in DK1 hourly intensities over a
// Danish month, in kg CO2e: a flat load's location-based emissions when no
// grid data is imported.
func builtInKg(t *testing.T, year int, month time.Month, kw float64) float64 {
	t.Helper()
	d, err := builtin.Data()
	if err != nil {
		t.Fatal(err)
	}
	from, to := grid.DanishMonth(year, month)
	var g float64
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		y := d.Hourly[0]
		v := float64(y.Values[h.Sub(y.First)/time.Hour])
		if y.Area != "DK1" || math.IsNaN(v) {
			t.Fatalf("no built-in DK1 hour %s", h)
		}
		g += kw * v
	}
	return g / 1000
}
