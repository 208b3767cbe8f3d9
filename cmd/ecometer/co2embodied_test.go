package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/internal/embodied"
	"github.com/ecometer/ecometer/internal/testenv"
)

// embodiedInventory, for October 2025:
//
//	srv-1  product footprint 1200 kg over 5 years from 2023-04: 1200/60 = 20 kg a month
//	lap-1  no footprint: the Boavizta laptop embodied median 241.203 kg over 4 years from 2024-01: 241.203/48 = 5.025063 kg
//	lap-2  480 kg over 4 years from 2025-10 (its first month): 480/48 = 10 kg
//	lap-3  in service 2019-01 for 4 years: amortised until 2022-12, so 0 and not missing
//	sw-1   no footprint, and Boavizta has no "Switch" subcategory: missing, not zero
//	mon-1  in service from 2026-01: not yet amortising
const embodiedInventory = "asset_id,class,model,in_service,lifetime_years,footprint_kg_co2e\n" +
	"srv-1,Server,R750,2023-04-01,5,1200\n" +
	"lap-1,Laptop,X1,2024-01-15,4,\n" +
	"lap-2,laptop,X1,2025-10-01,4,480\n" +
	"lap-3,Laptop,T480,2019-01-01,4,\n" +
	"sw-1,Switch,C9300,2024-06-01,6,\n" +
	"mon-1,Monitor,P24,2026-01-01,5,\n"

func embodiedRun(t *testing.T, opts co2EmbodiedOptions) (embodiedJSON, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	opts.JSON = true
	if err := runCO2Embodied(context.Background(), opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("co2 embodied %+v: %v", opts, err)
	}
	var res embodiedJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	opts.JSON = false
	if err := runCO2Embodied(context.Background(), opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("co2 embodied %+v: %v", opts, err)
	}
	return res, out.String()
}

// L is the corpus laptop embodied median, gwp_total × (1 − gwp_use_ratio)
// (Python statistics.median over the 422 laptops with both columns).
const L = 241.203

func TestCO2Embodied(t *testing.T) {
	boavizta := testenv.CorpusPath(t, "embodied", "boavizta-data-us.csv")
	cfg, _ := testConfig(t, "")
	inv := writeFile(t, "assets.csv", embodiedInventory)
	var out bytes.Buffer
	if err := runInventoryImport(context.Background(), inventoryImportOptions{Config: cfg, File: inv}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}

	res, text := embodiedRun(t, co2EmbodiedOptions{Config: cfg, Month: "2025-10", Boavizta: boavizta, Extend: []string{"laptop:4:6", "switch:6:8"}})
	t.Logf("co2 embodied:\n%s", text)
	// The switch default is the median of Boavizta's four "Network"
	// products (home routers), 19 kg, labelled a lower bound (models/carbon
	// checks the median). 20 + 241.203/48 + 10 + 19/72 = 35.289 kg; four
	// assets amortising (srv-1, lap-1, lap-2, sw-1), none missing.
	const S = 19.0
	if want := 20 + L/48 + 10 + S/72; math.Abs(res.KgCO2e-want) > 1e-9 {
		t.Errorf("total %v kg, want %v", res.KgCO2e, want)
	}
	if res.Assets != 6 || res.Amortising != 4 || len(res.Missing) != 0 {
		t.Errorf("assets %d, amortising %d, missing %+v; want 6, 4, none", res.Assets, res.Amortising, res.Missing)
	}
	wantClasses := []embodied.Class{
		{Class: "Laptop", Assets: 2, ProductFootprint: 1, ClassDefault: 1, KgCO2e: L/48 + 10},
		{Class: "Server", Assets: 1, ProductFootprint: 1, KgCO2e: 20},
		{Class: "Switch", Assets: 1, ClassDefault: 1, KgCO2e: S / 72},
	}
	if len(res.ByClass) != len(wantClasses) {
		t.Fatalf("by class %+v, want %+v", res.ByClass, wantClasses)
	}
	for i, w := range wantClasses {
		g := res.ByClass[i]
		if g.Class != w.Class || g.Assets != w.Assets || g.ProductFootprint != w.ProductFootprint || g.ClassDefault != w.ClassDefault ||
			g.Missing != w.Missing || math.Abs(g.KgCO2e-w.KgCO2e) > 1e-9 {
			t.Errorf("class %d: %+v, want %+v", i, g, w)
		}
	}
	// The laptop embodied median of the corpus: 241.203 kg over 422 products (checked
	// independently in models/carbon).
	if len(res.Defaults) != 2 || res.Defaults[0].Class != "Laptop" || math.Abs(res.Defaults[0].KgCO2e-L) > 1e-9 || res.Defaults[0].Products != 422 ||
		res.Defaults[1].Class != "Switch" || math.Abs(res.Defaults[1].KgCO2e-S) > 1e-9 || !strings.Contains(res.Defaults[1].Note, "lower bound") {
		t.Errorf("class defaults %+v, want Laptop %v kg of 422 products and Switch %v kg labelled a lower bound", res.Defaults, L, S)
	}
	// Laptops 4 → 6 years: per device at the default L/4 − L/6 =
	// L/12 = 20.100250 kg/yr; the two laptops in service: lap-1 at the
	// default (L/12) + lap-2 at its own 480 kg (480/12 = 40) = 60.100250.
	// lap-3 is retired and does not count.
	if len(res.Extensions) != 2 {
		t.Fatalf("extensions %+v", res.Extensions)
	}
	lx := res.Extensions[0]
	if lx.PerDeviceKgCO2ePerYr == nil || math.Abs(*lx.PerDeviceKgCO2ePerYr-L/12) > 1e-9 || lx.Assets != 2 ||
		math.Abs(lx.AssetsKgCO2ePerYr-(L/12+40)) > 1e-9 || len(lx.Missing) != 0 {
		t.Errorf("laptop 4 → 6: %+v", lx)
	}
	// Switches 6 → 8 years at the default: S/6 − S/8 = S/24 per device.
	sx := res.Extensions[1]
	if sx.PerDeviceKgCO2ePerYr == nil || math.Abs(*sx.PerDeviceKgCO2ePerYr-S/24) > 1e-9 || sx.Assets != 1 ||
		math.Abs(sx.AssetsKgCO2ePerYr-S/24) > 1e-9 || len(sx.Missing) != 0 {
		t.Errorf("switch 6 → 8: %+v", sx)
	}
	for _, want := range []string{
		"total  35.289 kg CO2e  from 4 of the 4 assets in their amortisation period (6 assets stored)",
		"Switch  19.0 kg CO2e   median of 4 products; Boavizta environmental-footprint-data (ODbL-1.0) has no network switches",
		"Boavizta environmental-footprint-data (ODbL-1.0)",
		"Laptop  241.2 kg CO2e  median of 422 products",
		"Lifetime extension, laptop 4 → 6 years",
		"per device     20.100 kg CO2e/yr avoided  at the class default 241.2 kg CO2e",
		"stored assets  60.100 kg CO2e/yr avoided  2 assets of class laptop in service this month",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q", want)
		}
	}

	// Without --boavizta: no defaults, so lap-1 is missing too (never 0):
	// 20 + 10 = 30 kg.
	res, text = embodiedRun(t, co2EmbodiedOptions{Config: cfg, Month: "2025-10"})
	if res.KgCO2e != 30 || len(res.Missing) != 2 || res.Missing[0].ID != "lap-1" || res.Missing[1].ID != "sw-1" ||
		!strings.Contains(text, "no product footprint and no class default (no class defaults file given)") {
		t.Errorf("without defaults: %v kg, missing %+v\n%s", res.KgCO2e, res.Missing, text)
	}
	// Before anything entered service: nothing amortises, nothing missing.
	res, _ = embodiedRun(t, co2EmbodiedOptions{Config: cfg, Month: "2018-12", Boavizta: boavizta})
	if res.KgCO2e != 0 || res.Amortising != 0 || len(res.Missing) != 0 {
		t.Errorf("2018-12: %+v", res)
	}
}

func TestCO2EmbodiedUsage(t *testing.T) {
	cfg, _ := testConfig(t, "")
	for _, o := range []co2EmbodiedOptions{
		{Config: cfg},
		{Config: cfg, Month: "2025-13"},
		{Config: cfg, Month: "2025-10", Extend: []string{"laptop:6:4"}},
		{Config: cfg, Month: "2025-10", Extend: []string{"laptop:4"}},
		{Config: cfg, Month: "2025-10", Extend: []string{":4:6"}},
		{Config: cfg, Month: "2025-10", Boavizta: "does-not-exist.csv"},
	} {
		var out bytes.Buffer
		if err := runCO2Embodied(context.Background(), o, streams{&out, &out}); exitCode(err) != exitBadUse {
			t.Errorf("%+v: %v, want exit 2", o, err)
		}
	}
}
