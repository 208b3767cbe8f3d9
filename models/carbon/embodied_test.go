package carbon

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/units"
)

func TestParseInventory(t *testing.T) {
	in := "asset_id;class;model;in_service;lifetime_years;footprint_kg_co2e\n" +
		"LT-001;Laptop;Latitude 5440;2023-02-15;4;\n" +
		"SRV-7;Server;PowerEdge R650;2022-11-01;5,5;1234,5\n"
	got, err := ParseInventory("cmdb.csv", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	want := []Asset{
		{ID: "LT-001", Class: "Laptop", Model: "Latitude 5440", InService: time.Date(2023, 2, 15, 0, 0, 0, 0, time.UTC), LifetimeYears: 4},
		{ID: "SRV-7", Class: "Server", Model: "PowerEdge R650", InService: time.Date(2022, 11, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 5.5, Footprint: 1234.5, HasFootprint: true},
	}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("asset %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}

func TestParseInventoryRejects(t *testing.T) {
	head := "asset_id,class,model,in_service,lifetime_years,footprint_kg_co2e\n"
	tests := []struct{ name, in, want string }{
		// Columns: A at 1, Laptop at 3, X at 10, the date at 12, the lifetime at 23, the footprint at 25.
		{"bad date", head + "A,Laptop,X,2023-02-30,4,\n", "inv.csv:2:12: in_service: invalid date"},
		{"zero lifetime", head + "A,Laptop,X,2023-02-01,0,\n", "inv.csv:2:23: lifetime_years: invalid lifetime"},
		{"negative footprint", head + "A,Laptop,X,2023-02-01,4,-5\n", "inv.csv:2:25: footprint_kg_co2e: invalid footprint"},
		{"NaN footprint", head + "A,Laptop,X,2023-02-01,4,NaN\n", "footprint_kg_co2e: invalid footprint"},
		{"duplicate id", head + "A,Laptop,X,2023-02-01,4,\nA,Laptop,X,2023-02-01,4,\n", "inv.csv:3:1: asset_id: asset \"A\" appears twice (also at line 2)"},
		{"missing column", "asset_id,class,model,in_service\nA,B,C,2023-01-01\n", "inv.csv:1:1: lifetime_years: missing column"},
		{"field count", head + "A,Laptop\n", "inv.csv:2:1: csv: wrong number of fields"},
		{"empty", "", "inv.csv: empty file"},
		{"empty class", head + "A,,X,2023-02-01,4,\n", "class: empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseInventory("inv.csv", strings.NewReader(tt.in))
			if err == nil {
				t.Fatalf("accepted: %+v", got)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not contain %q", err, tt.want)
			}
		})
	}
}

func TestBoaviztaMediansCorpus(t *testing.T) {
	f := testenv.OpenCorpus(t, "embodied", "boavizta-data-us.csv")
	got, err := BoaviztaMedians(f.Name(), f)
	if err != nil {
		t.Fatal(err)
	}
	// Expected values computed independently (Python statistics.median of
	// gwp_total × (1 − gwp_use_ratio) over the rows that have both,
	// subcategory case-folded). The whole-life medians would be laptop 307,
	// server 7980: for servers the use phase is most of gwp_total.
	want := map[string]struct {
		kg float64
		n  int
	}{
		"laptop": {241.203, 422}, "server": {1278.0000000000002, 55}, "monitor": {357.445, 257},
		"desktop": {300.95500000000004, 254}, "thin client": {47.64, 16}, "tablet": {74.418, 22},
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok || math.Abs(float64(g.Footprint)-w.kg) > 1e-9 || g.Products != w.n || g.Source != BoaviztaSource {
			t.Errorf("%s: got %+v, want %v kg from %d products", k, g, w.kg, w.n)
		}
	}
	// No switches in the data: the switch default is the "Network"
	// subcategory's median (Google Wifi 90 × 0.26, Nest Wifi point and router
	// 100 × 0.19, Nest Wifi Pro 130 × 0.14: 23.4, 19, 19, 18.2 → 19 kg).
	if sw, ok := got["switch"]; !ok || math.Abs(float64(sw.Footprint)-19) > 1e-9 || sw.Products != 4 || sw.Source != SwitchSource {
		t.Errorf("switch default: got %+v, want 19 kg from 4 products, source %q", sw, SwitchSource)
	}
	t.Logf("Boavizta medians: laptop %v kg (%d), server %v kg (%d), monitor %v kg (%d)",
		got["laptop"].Footprint, got["laptop"].Products, got["server"].Footprint, got["server"].Products, got["monitor"].Footprint, got["monitor"].Products)
}

func TestMedianAndAmortisation(t *testing.T) {
	defaults, err := BoaviztaMedians("b.csv", strings.NewReader("subcategory,gwp_total,gwp_use_ratio\nLaptop,600,0.5\nlaptop,200,0\nLaptop,,0.1\nLaptop,480,0\nServer,1000,0.2\nServer,900,\n"))
	if err != nil {
		t.Fatal(err)
	}
	// Laptop: median of 600×0.5=300, 200, 480 = 300 (the row without
	// gwp_total is skipped); Server: 1000×0.8 = 800 (the row without a use
	// ratio cannot be split and is skipped).
	if d := defaults["laptop"]; d.Footprint != 300 || d.Products != 3 || d.Class != "Laptop" {
		t.Errorf("laptop default = %+v", d)
	}
	if d := defaults["server"]; d.Footprint != 800 || d.Products != 1 {
		t.Errorf("server default = %+v, want 800 kg from 1 product", d)
	}
	lt := Asset{ID: "LT-1", Class: "Laptop", InService: time.Date(2023, 2, 15, 0, 0, 0, 0, time.UTC), LifetimeYears: 4}
	tests := []struct {
		year  int
		month time.Month
		want  float64
	}{
		{2023, time.January, 0},
		// 300 kg / (4 × 12) = 6.25 kg per month from February 2023 ...
		{2023, time.February, 6.25},
		{2025, time.June, 6.25},
		// ... for 48 months: the last is January 2027.
		{2027, time.January, 6.25},
		{2027, time.February, 0},
	}
	for _, tt := range tests {
		got, err := MonthlyAmortisation(lt, defaults, tt.year, tt.month)
		if err != nil {
			t.Fatal(err)
		}
		if float64(got.Emissions) != tt.want || !got.Default {
			t.Errorf("%d-%02d: got %+v, want %v kg", tt.year, tt.month, got, tt.want)
		}
	}
	srv := Asset{ID: "S", Class: "Server", InService: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 5, Footprint: 1200, HasFootprint: true}
	// Own footprint: 1200 / 60 = 20 kg per month.
	if got, _ := MonthlyAmortisation(srv, defaults, 2024, time.March); got.Emissions != 20 || got.Default {
		t.Errorf("server: got %+v", got)
	}
	// Without a "Network" subcategory there is no switch default either.
	if d, ok := defaults["switch"]; ok {
		t.Errorf("switch default without network data: %+v", d)
	}
	withNet, err := BoaviztaMedians("b.csv", strings.NewReader("subcategory,gwp_total,gwp_use_ratio\nNetwork,100,0.8\nNetwork,50,0.5\nNetwork,300,0.9\n"))
	if err != nil {
		t.Fatal(err)
	}
	// 20, 25, 30 → 25 kg: an asset of class switch amortises over it.
	sw := Asset{ID: "SW-1", Class: "switch", InService: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), LifetimeYears: 5}
	if got, err := MonthlyAmortisation(sw, withNet, 2024, time.June); err != nil || math.Abs(float64(got.Emissions)-25.0/60) > 1e-12 || !got.Default {
		t.Errorf("switch amortisation: %+v, %v; want 25/60 kg a month from the class default", got, err)
	}
	if _, err := MonthlyAmortisation(Asset{ID: "X", Class: "Fridge", LifetimeYears: 5}, defaults, 2024, 1); err == nil {
		t.Error("asset without footprint or default accepted")
	}
	// Property: over the whole lifetime the months sum to the footprint.
	var sum units.KgCO2e
	for m := 0; m < 12*8; m++ {
		got, _ := MonthlyAmortisation(lt, defaults, 2023+m/12, time.Month(1+m%12))
		sum += got.Emissions
	}
	if math.Abs(float64(sum)-300) > 1e-9 {
		t.Errorf("amortisation sums to %v, want 300", sum)
	}
}

func TestExtensionAvoided(t *testing.T) {
	// Laptops 4 → 6 years at 300 kg: 300/4 − 300/6 = 75 − 50 = 25 kg per device and year; 100 devices: 2500 kg.
	got, err := ExtensionAvoided(300, 4, 6, 100)
	if err != nil || math.Abs(float64(got)-2500) > 1e-9 {
		t.Errorf("got %v, %v; want 2500", got, err)
	}
	if _, err := ExtensionAvoided(300, 6, 4, 1); err == nil {
		t.Error("shortening accepted")
	}
}

func FuzzParseInventory(f *testing.F) {
	f.Add("asset_id,class,model,in_service,lifetime_years,footprint_kg_co2e\nA,Laptop,X,2023-02-01,4,300\n")
	f.Add("asset_id;class;model;in_service;lifetime_years\nA;Server;Y;2020-01-01;5,5\n")
	f.Fuzz(func(t *testing.T, in string) {
		assets, err := ParseInventory("fuzz.csv", strings.NewReader(in))
		if err != nil {
			return
		}
		for _, a := range assets {
			fp := float64(a.Footprint)
			if math.IsNaN(fp) || math.IsInf(fp, 0) || fp < 0 || !(a.LifetimeYears > 0) || a.ID == "" {
				t.Fatalf("accepted bad asset %+v", a)
			}
		}
	})
}

func FuzzBoaviztaMedians(f *testing.F) {
	f.Add("manufacturer,subcategory,gwp_total\nA,Laptop,300\nB,laptop,200\n")
	f.Add("subcategory,gwp_total\nServer,\"1,5\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := BoaviztaMedians("fuzz.csv", strings.NewReader(in))
		if err != nil {
			return
		}
		for k, d := range got {
			v := float64(d.Footprint)
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || d.Products < 1 {
				t.Fatalf("%s: accepted bad default %+v", k, d)
			}
		}
	})
}
