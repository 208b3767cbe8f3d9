package derive

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/units"
)

// year returns every hour of a Danish calendar year of area at v(i) g/kWh,
// leaving out the hours skip says.
func year(area string, y int, v func(i int) float64, skip func(i int) bool) []grid.HourValue {
	from, _ := grid.DanishMonth(y, time.January)
	to, _ := grid.DanishMonth(y+1, time.January)
	var out []grid.HourValue
	for h, i := from, 0; h.Before(to); h, i = h.Add(time.Hour), i+1 {
		if skip != nil && skip(i) {
			continue
		}
		out = append(out, grid.HourValue{Area: area, Hour: h, Intensity: units.GramsPerKWh(v(i)), Intervals: 12})
	}
	return out
}

func TestDerive(t *testing.T) {
	// 2023: 100.006, 100.006, 100.000 repeated: rounded to 100.01 before
	// anything else, so the mean is 100.0067 → 100.01, the mean of what is
	// shipped (the raw values' mean 100.004 would give 100.00).
	// 2024: 8784 hours, 10 % of them missing: not a whole year, no mean.
	// 2025: 200 g/kWh, 24 hours missing: a mean of the 8736 present.
	in := []Input{
		{File: "a.csv", Dataset: grid.NameDeclaration, Method: "125%", Import: grid.Import{Hours: year("DK1", 2023,
			func(i int) float64 { return map[bool]float64{true: 100.006, false: 100}[i%3 < 2] }, nil)}},
		{File: "b.csv", Dataset: grid.NameCO2EmisProg, Method: "forecast", Import: grid.Import{Hours: append(
			year("DK1", 2024, func(int) float64 { return 1 }, func(i int) bool { return i%10 == 0 }),
			year("DK1", 2025, func(int) float64 { return 200 }, func(i int) bool { return i >= 100 && i < 124 })...)}},
	}
	files, err := Derive(in, []HourlyYear{{"DK1", 2025}})
	if err != nil {
		t.Fatal(err)
	}
	annual := string(files["annual.csv"])
	for _, want := range []string{
		"\narea,year,dataset,method,g_per_kwh,hours,hours_in_year,file\n",
		"\nDK1,2023,DeclarationGridEmission,125%,100.01,8760,8760,a.csv\n",
		"\nDK1,2025,CO2EmisProg,forecast,200.00,8736,8760,b.csv\n",
		"Source: Energinet (www.energidataservice.dk)",
	} {
		if !strings.Contains(annual, want) {
			t.Errorf("annual.csv lacks %q:\n%s", want, annual)
		}
	}
	if strings.Contains(annual, "DK1,2024") {
		t.Errorf("a year with 10 %% of its hours missing got a mean:\n%s", annual)
	}
	if !strings.Contains(string(files["hourly.csv"]), "\nDK1,2025,CO2EmisProg,forecast,2024-12-31T23:00:00Z,8760,8736,DK1-2025.txt\n") {
		t.Errorf("hourly.csv:\n%s", files["hourly.csv"])
	}
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(string(files["DK1-2025.txt"]), "\n"), "\n") {
		if !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 8760 || lines[0] != "200.00" || lines[100] != "" || lines[123] != "" || lines[124] != "200.00" {
		t.Errorf("%d lines; 0: %q, 100: %q, 124: %q", len(lines), lines[0], lines[100], lines[124])
	}
	again, err := Derive(in, []HourlyYear{{"DK1", 2025}})
	if err != nil {
		t.Fatal(err)
	}
	for n, b := range files {
		if !bytes.Equal(again[n], b) {
			t.Errorf("%s differs between two runs", n)
		}
	}
}

func TestDeriveErrors(t *testing.T) {
	h := year("DK1", 2025, func(int) float64 { return 1 }, nil)
	both := []Input{{File: "a.csv", Import: grid.Import{Hours: h[:10]}}, {File: "b.csv", Import: grid.Import{Hours: h[10:20]}}}
	if _, err := Derive(both, nil); err == nil || !strings.Contains(err.Error(), "DK1 2025 is in both a.csv and b.csv") {
		t.Errorf("one year in two files: %v", err)
	}
	if _, err := Derive(both[:1], []HourlyYear{{"DK2", 2025}}); err == nil || !strings.Contains(err.Error(), "hourly DK2 2025: no input") {
		t.Errorf("hourly year without data: %v", err)
	}
}
