package targetview_test

import (
	"context"
	"errors"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin"
	"github.com/ecometer/ecometer/models/sample"
)

// One meter drawing a constant power per year (W), with grid factors per
// year: every month's energy and emissions follow by hand.
var (
	watts   = map[int]float64{2020: 1000, 2021: 1000, 2022: 1000, 2023: 950, 2024: 900, 2025: 800, 2026: 700}
	factors = map[int]float64{2020: 200, 2021: 190, 2022: 180, 2023: 170, 2024: 150, 2025: 120, 2026: 100}
)

const src = `sites: [{name: dc}]
devices:
  - {name: ups, site: dc, class: ups, protocol: snmp, address: 127.0.0.1, interval: 1h, snmp: {community: env:X}}
grid:
  area: DK1
  annual_factors:
`

func setup(t *testing.T, from, to int) (*accounting.Accounting, *config.Config) {
	t.Helper()
	t.Setenv("X", "public")
	text := src
	for y := 2020; y <= 2026; y++ {
		text += "    - {year: " + itoa(y) + ", g_per_kwh: " + ftoa(factors[y]) + ", source: test}\n"
	}
	cfg, err := config.Parse("site.yaml", []byte(text))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ser := sample.Series{Measurement: sample.Power, Site: "dc", Device: "ups", Class: "ups", Meter: "total", Source: "snmp"}
	var rows []store.Hourly
	start, _ := grid.DanishMonth(from, time.January)
	_, end := grid.DanishMonth(to, time.December)
	for h := start; h.Before(end); h = h.Add(time.Hour) {
		rows = append(rows, store.Hourly{Series: ser, Hour: h, PowerSamples: 1, PowerMeanW: watts[grid.Danish(h).Year()]})
		if len(rows) == 20000 {
			if err := st.WriteHourly(ctx, rows); err != nil {
				t.Fatal(err)
			}
			rows = rows[:0]
		}
	}
	if err := st.WriteHourly(ctx, rows); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	return acc, cfg
}

func itoa(n int) string      { return strconv.Itoa(n) }
func ftoa(f float64) string  { return strconv.FormatFloat(f, 'f', -1, 64) }
func near(a, b float64) bool { return math.Abs(a-b) < 1e-6*math.Max(1, math.Abs(b)) }

// yearKg is the location-based emission of a year by hand: the year's
// factor, except in the hours the built-in hourly data covers (2025), which
// come before a configured annual factor.
func yearKg(t *testing.T, y int) float64 {
	from, _ := grid.DanishMonth(y, time.January)
	_, to := grid.DanishMonth(y, time.December)
	d, err := builtin.Data()
	if err != nil {
		t.Fatal(err)
	}
	var g float64
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		f := factors[y]
		for _, b := range d.Hourly {
			if i := int(h.Sub(b.First) / time.Hour); b.Area == "DK1" && !h.Before(b.First) && i < len(b.Values) && !math.IsNaN(float64(b.Values[i])) {
				f = float64(b.Values[i])
			}
		}
		g += watts[y] / 1000 * f
	}
	return g / 1000
}

func TestViewFromTheStore(t *testing.T) {
	acc, _ := setup(t, 2020, 2026)
	now := time.Date(2026, 7, 15, 12, 0, 0, 0, time.UTC)
	v, err := targetview.Compute(context.Background(), targetview.NewMonths(acc), now)
	if err != nil {
		t.Fatal(err)
	}
	if v.BaselineKgCO2e == nil || v.BaselineFrom != targetview.BaselineFromStore || !near(*v.BaselineKgCO2e, yearKg(t, 2020)) {
		t.Fatalf("baseline %v from %q, want %v from the store", v.BaselineKgCO2e, v.BaselineFrom, yearKg(t, 2020))
	}
	base := yearKg(t, 2020)
	// The glide path: straight from the baseline to −35 % in 2030.
	if len(v.Path) != 11 || !near(v.Path[0].KgCO2e, base) || !near(v.Path[10].KgCO2e, 0.65*base) || !near(v.GoalKgCO2e, 0.65*base) {
		t.Errorf("path %+v", v.Path)
	}
	// Actuals: whole years 2020–2025, and 2026's six full months.
	if len(v.Actuals) != 7 {
		t.Fatalf("actuals %+v", v.Actuals)
	}
	for _, a := range v.Actuals[:6] {
		if !a.Complete || a.Months != 12 || !near(a.KgCO2e, yearKg(t, a.Year)) {
			t.Errorf("actual %+v, want %v complete", a, yearKg(t, a.Year))
		}
	}
	if a := v.Actuals[6]; a.Year != 2026 || a.Complete || a.Months != 6 {
		t.Errorf("2026 actual %+v, want 6 months", a)
	}
	if len(v.YearToDate) != 6 || v.Ahead == nil || !*v.Ahead {
		t.Errorf("year to date %d months, ahead %v; want 6 and ahead", len(v.YearToDate), v.Ahead)
	}
	// The change, July 2024–June 2025 → July 2025–June 2026: the two parts
	// sum to the total, and both are reductions here.
	c := v.Change
	if !c.Available || !near(c.GridKgCO2e+c.UsageKgCO2e, c.TotalKgCO2e) || c.GridKgCO2e >= 0 || c.UsageKgCO2e >= 0 ||
		!near(c.TotalKgCO2e, c.After.KgCO2e-c.Before.KgCO2e) || c.Before.From != "2024-07" || c.After.To != "2026-06" {
		t.Errorf("change %+v", c)
	}
	// Energy steps once a year: the forecast fits, but a flat-by-year
	// series is not smooth enough for ASHRAE G14 everywhere, so only what
	// passes is shown; a shown combined forecast carries its band.
	f := v.Forecast
	if f.HistoryMonths != 48 || f.HistoryTo != "2026-06" {
		t.Errorf("forecast history %d months to %s", f.HistoryMonths, f.HistoryTo)
	}
	for _, c := range f.Combined {
		if c.Low == nil || c.High == nil || *c.Low > c.Value || *c.High < c.Value {
			t.Errorf("combined %+v without a band around it", c)
		}
	}
}

func TestViewBaselineFromConfig(t *testing.T) {
	acc, cfg := setup(t, 2024, 2025)
	b := 12345.0
	cfg.Target.BaselineKgCO2e, cfg.Target.BaselineSource = &b, "2020 climate accounts"
	v, err := targetview.Compute(context.Background(), targetview.NewMonths(acc), time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if v.BaselineKgCO2e == nil || *v.BaselineKgCO2e != b || v.BaselineFrom != targetview.BaselineFromConfig || len(v.Missing) == 0 {
		t.Errorf("baseline %v from %q (missing %d), want the config's", v.BaselineKgCO2e, v.BaselineFrom, len(v.Missing))
	}
	// January 2026 has no data: no position, said why.
	if v.Ahead != nil || v.PositionNote == "" {
		t.Errorf("position %v, note %q", v.Ahead, v.PositionNote)
	}
}

func TestViewWithoutBaseline(t *testing.T) {
	acc, cfg := setup(t, 2025, 2025)
	v, err := targetview.Compute(context.Background(), targetview.NewMonths(acc), time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if v.BaselineKgCO2e != nil || len(v.Missing) != 12 || len(v.Path) != 0 {
		t.Errorf("without a 2020 year: baseline %v, missing %d", v.BaselineKgCO2e, len(v.Missing))
	}
	// A target that cannot make a path is a configuration error.
	b := 100.0
	cfg.Target.BaselineKgCO2e, cfg.Target.TargetYear = &b, 2019
	_, err = targetview.Compute(context.Background(), targetview.NewMonths(acc), time.Date(2026, 2, 10, 0, 0, 0, 0, time.UTC))
	var te *targetview.TargetError
	if !errors.As(err, &te) {
		t.Errorf("target year before the baseline: %v", err)
	}
}
