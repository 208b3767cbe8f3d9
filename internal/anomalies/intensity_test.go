package anomalies

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
)

func TestSiteIntensities(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	now := time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
	// 40 days of DK1 hours alternating 80 and 120 g/kWh (mean 100), and an
	// older hour at 900 outside the year.
	var hours []store.GridHour
	for i := range 40 * 24 {
		v := 80.0
		if i%2 == 1 {
			v = 120
		}
		hours = append(hours, store.GridHour{Area: "DK1", Hour: now.Add(-time.Duration(i+1) * time.Hour), GramsPerKWh: v, Intervals: 12, Dataset: "CO2Emis"})
	}
	hours = append(hours, store.GridHour{Area: "DK1", Hour: now.AddDate(-2, 0, 0), GramsPerKWh: 900, Intervals: 12, Dataset: "CO2Emis"})
	if err := st.WriteGrid(ctx, hours); err != nil {
		t.Fatal(err)
	}
	cfg := config.DefaultConfig()
	cfg.Sites = []config.Site{{Name: "odense", PriceArea: config.DK1}, {Name: "cph", PriceArea: config.DK2}, {Name: "aarhus", PriceArea: config.DK1}}
	cfg.Grid.Area = config.DK2
	cfg.Grid.AnnualFactors = []config.AnnualFactor{{Year: 2023, GPerKWh: 150, Source: "old"}, {Year: 2024, GPerKWh: 130, Source: "last year"}}
	got, err := SiteIntensities(ctx, st, cfg, now)
	if err != nil {
		t.Fatal(err)
	}
	if in := got["odense"]; math.Abs(in.GPerKWh-100) > 1e-9 || !strings.Contains(in.Source, "plain mean of 960 stored hourly DK1") {
		t.Errorf("odense: %+v", in)
	}
	if got["aarhus"] != got["odense"] {
		t.Errorf("aarhus: %+v", got["aarhus"])
	}
	// DK2 has no stored hours: grid.area's factor of the nearest year.
	if in := got["cph"]; in.GPerKWh != 130 || !strings.Contains(in.Source, "annual factor 2024 for DK2: last year") {
		t.Errorf("cph: %+v", in)
	}
	// Without factors, DK2 has none.
	cfg.Grid.AnnualFactors = nil
	got, err = SiteIntensities(ctx, st, cfg, now)
	if _, ok := got["cph"]; err != nil || ok || len(got) != 2 {
		t.Errorf("no factors: %v, %+v", err, got)
	}
}
