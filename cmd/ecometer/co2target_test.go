package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/models/target"
)

// writeHourly stores one hourly power sample per hour of [from, to) for
// device pdu1 of site dc1, drawing watts(t) W.
func writeHourly(t *testing.T, dataDir string, from, to time.Time, watts func(time.Time) float64) {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(time.Hour) {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu1",
			Class: "pdu", Meter: "total", Source: "snmp"}, Time: at, Fields: []sample.Field{sample.F("power_w", watts(at))}})
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}

func targetRun(t *testing.T, opts co2TargetOptions) (targetJSON, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.JSON = true
	err := runCO2Target(context.Background(), opts, streams{&out, &errOut})
	var res targetJSON
	if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil {
		t.Fatalf("co2 target --json: %v (%v)\n%s%s", jerr, err, &out, &errOut)
	}
	out.Reset()
	opts.JSON = false
	err2 := runCO2Target(context.Background(), opts, streams{&out, &errOut})
	if (err == nil) != (err2 == nil) {
		t.Fatalf("text and JSON runs disagree: %v, %v", err, err2)
	}
	return res, out.String(), err
}

// hoursOf is the number of hours of a Danish calendar month.
func hoursOf(year int, m time.Month) float64 {
	from, to := grid.DanishMonth(year, m)
	return to.Sub(from).Hours()
}

const targetDevices = `devices:
  - {name: pdu1, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 1h, snmp: {community: env:C}}
`

// Two complete years: 2 kW through the Danish year 2023 at the annual
// factor 120 g/kWh, 1.5 kW through 2024 at 100 g/kWh. The store has nothing
// for the baseline year 2020, so the config's baseline figure is used.
func TestCO2TargetConfigBaselineForecastChange(t *testing.T) {
	cfg, dataDir := testConfig(t, `sites: [{name: dc1, price_area: DK1}]
`+targetDevices+`grid:
  annual_factors:
    - {year: 2023, g_per_kwh: 120, source: test 2023}
    - {year: 2024, g_per_kwh: 100, source: test 2024}
target: {baseline_year: 2020, reduction_pct: 35, target_year: 2030, baseline_kg_co2e: 30000, baseline_source: "2020 climate accounts, p. 12"}
`)
	from, _ := grid.DanishMonth(2023, time.January)
	_, to := grid.DanishMonth(2024, time.December)
	writeHourly(t, dataDir, from, to, func(at time.Time) float64 {
		if grid.Danish(at).Year() == 2023 {
			return 2000
		}
		return 1500
	})
	now := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	res, text, err := targetRun(t, co2TargetOptions{Config: cfg, Now: now})
	t.Logf("co2 target:\n%s", text)
	if err != nil {
		t.Fatalf("co2 target: %v", err)
	}

	// Baseline from the config, labelled; goal 30000 × (1 − 0.35) = 19500.
	if res.BaselineKgCO2e == nil || *res.BaselineKgCO2e != 30000 || res.BaselineFrom != targetview.BaselineFromConfig ||
		res.BaselineSource != "2020 climate accounts, p. 12" || len(res.Missing) == 0 || math.Abs(res.GoalKgCO2e-19500) > 1e-9 {
		t.Errorf("baseline %v from %q (%q), %d missing, goal %v; want 30000 from config, goal 19500",
			res.BaselineKgCO2e, res.BaselineFrom, res.BaselineSource, len(res.Missing), res.GoalKgCO2e)
	}

	// The change, 2024 (last 12 full months) against 2023:
	//   before: 2 kW × 8760 h = 17520 kWh × 120 g/kWh = 2102.4 kg
	//   after:  1.5 kW × 8784 h (leap year) = 13176 kWh × 100 g/kWh = 1317.6 kg
	//   total:  1317.6 − 2102.4 = −784.8 kg
	//   usage:  (13176 − 17520) × (120 + 100)/2 / 1000 = −4344 × 110 / 1000 = −477.84 kg
	//   grid:   (100 − 120) × (17520 + 13176)/2 / 1000 = −20 × 15348 / 1000 = −306.96 kg
	c := res.Change
	if !c.Available || c.Before == nil || c.After == nil {
		t.Fatalf("change not available: %+v", c)
	}
	near := func(a, b float64) bool { return math.Abs(a-b) < 1e-6 }
	if c.Before.From != "2023-01" || c.Before.To != "2023-12" || c.After.From != "2024-01" || c.After.To != "2024-12" ||
		!near(c.Before.EnergyKWh, 17520) || !near(c.Before.IntensityGPerKWh, 120) || !near(c.Before.KgCO2e, 2102.4) ||
		!near(c.After.EnergyKWh, 13176) || !near(c.After.IntensityGPerKWh, 100) || !near(c.After.KgCO2e, 1317.6) {
		t.Errorf("periods: %+v %+v", c.Before, c.After)
	}
	if !near(c.TotalKgCO2e, -784.8) || !near(c.UsageKgCO2e, -477.84) || !near(c.GridKgCO2e, -306.96) ||
		math.Abs(c.UsageKgCO2e+c.GridKgCO2e-c.TotalKgCO2e) > 1e-9 {
		t.Errorf("change: total %v, usage %v, grid %v; want −784.8 = −477.84 + −306.96", c.TotalKgCO2e, c.UsageKgCO2e, c.GridKgCO2e)
	}

	// The forecast is fitted on exactly the 24 complete months 2023-01 …
	// 2024-12 (2021–2022 have no data): energy kW × hours of each Danish
	// month, intensity the year's factor. Fitting the same series
	// independently must give the same model, fit and values.
	f := res.Forecast
	if f.HistoryFrom != "2023-01" || f.HistoryTo != "2024-12" || f.HistoryMonths != 24 || f.HorizonMonths != 12 || f.Note != "" {
		t.Fatalf("forecast history: %+v", f)
	}
	var energy, intensity []float64
	for _, y := range []int{2023, 2024} {
		kw, g := 2.0, 120.0
		if y == 2024 {
			kw, g = 1.5, 100
		}
		for m := time.January; m <= time.December; m++ {
			energy = append(energy, kw*hoursOf(y, m))
			intensity = append(intensity, g)
		}
	}
	for _, s := range []struct {
		name   string
		got    *targetview.Series
		values []float64
	}{{"energy", f.Energy, energy}, {"intensity", f.Intensity, intensity}} {
		want, err := target.MonthlyForecast(s.values, 12)
		if err != nil {
			t.Fatal(err)
		}
		g := s.got
		if g == nil || g.Model != string(want.Model) || g.Model != string(target.HoltWinters) || !near(g.CVRMSEPct, want.CVRMSE) || !near(g.NMBEPct, want.NMBE) ||
			g.GoodEnough != want.GoodEnough || g.GoodEnough != (want.CVRMSE <= 15 && math.Abs(want.NMBE) <= 5) {
			t.Errorf("%s forecast %+v, want %+v", s.name, g, want)
			continue
		}
		if g.GoodEnough != (len(g.Values) == 12) {
			t.Errorf("%s: good enough %v with %d values", s.name, g.GoodEnough, len(g.Values))
		}
		for i, v := range g.Values {
			if !near(v.Value, want.Values[i]) {
				t.Errorf("%s %s: %v, want %v", s.name, v.Month, v.Value, want.Values[i])
			}
		}
		t.Logf("%s: %s CV(RMSE) %.2f %% NMBE %.2f %% good enough %v", s.name, g.Model, g.CVRMSEPct, g.NMBEPct, g.GoodEnough)
	}
	if f.CombinedGoodEnough != (f.Energy.GoodEnough && f.Intensity.GoodEnough) {
		t.Errorf("combined good enough %v with energy %v, intensity %v", f.CombinedGoodEnough, f.Energy.GoodEnough, f.Intensity.GoodEnough)
	}
	if f.CombinedGoodEnough {
		// Combined = energy × intensity / 1000 each month; the year 2025 has
		// no full month yet, so its figure is the sum of all twelve.
		var sum float64
		for i, c := range f.Combined {
			if want := f.Energy.Values[i].Value * f.Intensity.Values[i].Value / 1000; !near(c.Value, want) || c.Month != f.Energy.Values[i].Month {
				t.Errorf("combined %s = %v, want %v", c.Month, c.Value, want)
			}
			sum += c.Value
		}
		if f.Combined[0].Month != "2025-01" || f.YearKgCO2e == nil || !near(*f.YearKgCO2e, sum) {
			t.Errorf("combined from %s, year %v, want from 2025-01, year %v", f.Combined[0].Month, f.YearKgCO2e, sum)
		}
	} else if len(f.Combined) != 0 || f.YearKgCO2e != nil || !strings.Contains(f.CombinedNote, "not good enough to show") {
		t.Errorf("combined shown although not good enough: %+v", f)
	}

	// In March 2025 the year's full months (January, February) have no data:
	// no position against the path, said so, and no error.
	res, text, err = targetRun(t, co2TargetOptions{Config: cfg, Now: time.Date(2025, 3, 10, 0, 0, 0, 0, time.UTC)})
	if err != nil || res.Ahead != nil || res.RequiredAnnualPc != nil ||
		!strings.Contains(text, "no position against the path: 2025-01, 2025-02 not complete") {
		t.Errorf("March 2025 without data: %v, ahead %v, required %v\n%s", err, res.Ahead, res.RequiredAnnualPc, text)
	}
	_, text, _ = targetRun(t, co2TargetOptions{Config: cfg, Now: now})

	for _, want := range []string{
		"baseline 2020  30000.0 kg CO2e  from the config (target.baseline_kg_co2e; source: 2020 climate accounts, p. 12)",
		"the store does not have the whole of 2020",
		"goal 2030      19500.0 kg CO2e",
		"Forecast, 12 months after 2024-12 (fitted on 2023-01 – 2024-12, 24 complete months",
		"Change, last 12 full months against the 12 before (location-based):",
		"before            2023-01 – 2023-12  17520.000 kWh  120.0000 g/kWh  2102.400 kg CO2e",
		"after             2024-01 – 2024-12  13176.000 kWh  100.0000 g/kWh  1317.600 kg CO2e",
		"total change      -784.800 kg CO2e",
		"grid got cleaner  -306.960 kg CO2e",
		"we used less      -477.840 kg CO2e",
		"the two parts sum to the total",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}

// A forecast that fails ASHRAE Guideline 14 is not shown: eight months (of
// 2026, a year the configured factor covers and no built-in hour does) that
// alternate between 1 kW and 3 kW at a flat 100 g/kWh cannot be fitted by a
// trend, while the flat intensity fits perfectly (CV(RMSE) 0). With fewer
// than 24 months there is no change either. With neither baseline data nor
// target.baseline_kg_co2e, the command still prints the forecast and exits 1.
func TestCO2TargetForecastNotGoodEnough(t *testing.T) {
	cfg, dataDir := testConfig(t, `sites: [{name: dc1, price_area: DK1}]
`+targetDevices+`grid:
  annual_factors:
    - {year: 2026, g_per_kwh: 100, source: test 2026}
`)
	from, _ := grid.DanishMonth(2026, time.January)
	_, to := grid.DanishMonth(2026, time.August)
	writeHourly(t, dataDir, from, to, func(at time.Time) float64 {
		if grid.Danish(at).Month()%2 == 0 {
			return 3000
		}
		return 1000
	})
	now := time.Date(2026, 9, 10, 12, 0, 0, 0, time.UTC)
	res, text, err := targetRun(t, co2TargetOptions{Config: cfg, Now: now})
	t.Logf("co2 target:\n%s", text)
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "no baseline emissions for 2020") ||
		!strings.Contains(err.Error(), "no target.baseline_kg_co2e") {
		t.Errorf("co2 target: %v, want exit 1 for the missing baseline", err)
	}
	f := res.Forecast
	if f.HistoryMonths != 8 || f.Energy == nil || f.Intensity == nil {
		t.Fatalf("forecast: %+v", f)
	}
	if f.Energy.GoodEnough || len(f.Energy.Values) != 0 || f.Energy.CVRMSEPct <= target.MaxCVRMSE {
		t.Errorf("energy forecast %+v, want not good enough (CV(RMSE) > 15 %%) and no values", f.Energy)
	}
	if !f.Intensity.GoodEnough || f.Intensity.CVRMSEPct != 0 || len(f.Intensity.Values) != 12 || f.Intensity.Values[0].Month != "2026-09" ||
		math.Abs(f.Intensity.Values[0].Value-100) > 1e-9 {
		t.Errorf("intensity forecast %+v, want 100 g/kWh from 2026-09, CV(RMSE) 0", f.Intensity)
	}
	if f.CombinedGoodEnough || len(f.Combined) != 0 || f.YearKgCO2e != nil ||
		f.CombinedNote != "not good enough to show: the energy forecast fails ASHRAE Guideline 14" {
		t.Errorf("combined: %+v", f)
	}
	if res.Change.Available || len(res.Change.Missing) == 0 {
		t.Errorf("change available with 8 months: %+v", res.Change)
	}
	for _, want := range []string{
		"energy (kWh)",
		"not good enough to show",
		"combined (kg CO2e)  not good enough to show: the energy forecast fails ASHRAE Guideline 14",
		"2026-09    —  100.00        —",
		"Change, last 12 full months against the 12 before: not available (needs 24 complete months)",
		"target.baseline_kg_co2e",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}
}
