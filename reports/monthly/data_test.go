package monthly

import (
	"bytes"
	"context"
	"encoding/csv"
	"flag"
	"os"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// built is the fixture's report, built once for the package's tests.
func built(t *testing.T) *Report {
	t.Helper()
	in := fixture(t)
	r, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// The JSON of the fixture's month is the golden file (go test
// ./reports/monthly -run TestJSONGolden -update rewrites it).
func TestJSONGolden(t *testing.T) {
	r := built(t)
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	path := goldenPath("report-2025-10.json")
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if want := readFile(t, path); !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("JSON differs from %s (go test ./reports/monthly -run TestJSONGolden -update, then review the diff)", path)
	}
}

// The CSV holds the JSON's figures: every row's value is the struct's.
func TestCSVAgreesWithJSON(t *testing.T) {
	r := built(t)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, r); err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	find := func(section, item, site string) float64 {
		t.Helper()
		for _, rec := range recs[1:] {
			if rec[0] == section && rec[1] == item && rec[2] == site {
				v, err := strconv.ParseFloat(rec[5], 64)
				if err != nil {
					t.Fatal(err)
				}
				return v
			}
		}
		t.Fatalf("no CSV row %s/%s/%s", section, item, site)
		return 0
	}
	s := r.Summary
	for _, c := range []struct {
		section, item, site string
		want                float64
	}{
		{"summary", "energy", "all", s.Total.EnergyKWh},
		{"summary", "location_based", "all", s.Total.LocationKgCO2e},
		{"summary", "market_based", "all", *s.Total.MarketKgCO2e},
		{"summary", "energy", "odense-dc1", s.Sites[0].EnergyKWh},
		{"summary", "pue", "odense-dc1", s.Sites[0].PUE.Value},
		{"summary", "pue_assumed", "aabenraa-sr2", 1.6},
		{"change", "grid", "all", r.Target.Change.GridKgCO2e},
		{"change", "usage", "all", r.Target.Change.UsageKgCO2e},
		{"embodied", "total", "all", r.Embodied.KgCO2e},
		{"previous_month", "energy_change_pct", "all", *s.Previous.Energy.Pct},
	} {
		if got := find(c.section, c.item, c.site); got != c.want {
			t.Errorf("CSV %s/%s/%s = %v, JSON has %v", c.section, c.item, c.site, got, c.want)
		}
	}
	if recs[0][0] != "section" || len(recs) < 100 {
		t.Errorf("CSV: header %v, %d rows", recs[0], len(recs))
	}
}
