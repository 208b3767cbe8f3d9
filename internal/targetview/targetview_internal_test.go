package targetview

import (
	"context"
	"math"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/sample"
)

// twoSites: a (1 kW) and b (2 kW) metered hourly through 2028 and 2029 (years
// without built-in grid data, so the configured factors apply) in
// a real SQLite store, at annual factors of 100 and 80 g/kWh.
func twoSites(t *testing.T) *accounting.Accounting {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	cfg, err := config.Parse("test.yaml", []byte(`sites: [{name: a}, {name: b}]
devices:
  - {name: pa, site: a, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 1h, snmp: {community: env:C}}
  - {name: pb, site: b, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 1h, snmp: {community: env:C}}
grid:
  annual_factors:
    - {year: 2028, g_per_kwh: 100, source: test}
    - {year: 2029, g_per_kwh: 80, source: test}
target: {baseline_year: 2028, reduction_pct: 35, target_year: 2034}
storage: {data_dir: `+dir+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dir})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	from, _ := grid.DanishMonth(2028, time.January)
	_, to := grid.DanishMonth(2029, time.December)
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(time.Hour) {
		for _, m := range []struct {
			site, dev string
			w         float64
		}{{"a", "pa", 1000}, {"b", "pb", 2000}} {
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: m.site, Device: m.dev,
				Class: "pdu", Meter: "total", Source: "snmp"}, Time: at, Fields: []sample.Field{sample.F("power_w", m.w)}})
		}
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	stores[acc] = st
	return acc
}

// stores remembers each accounting's store, to build another over it.
var stores = map[*accounting.Accounting]accounting.Store{}

func storeOf(t *testing.T, acc *accounting.Accounting) accounting.Store {
	t.Helper()
	st, ok := stores[acc]
	if !ok {
		t.Fatal("no store")
	}
	return st
}

func TestComputeThrough(t *testing.T) {
	acc := twoSites(t)
	ctx := context.Background()

	// Mid-year: the same view as Compute on a day of the next month.
	through, err := ComputeThrough(ctx, NewMonths(acc), 2029, time.June)
	if err != nil {
		t.Fatal(err)
	}
	at, err := Compute(ctx, NewMonths(acc), time.Date(2029, 7, 10, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(through, at) {
		t.Errorf("ComputeThrough(2029, June) differs from Compute(2029-07-10):\n%+v\n%+v", through, at)
	}
	if len(through.YearToDate) != 6 || through.Ahead == nil {
		t.Errorf("June: %d months to date, ahead %v", len(through.YearToDate), through.Ahead)
	}

	// December: the whole year, where Compute in January has none of it.
	dec, err := ComputeThrough(ctx, NewMonths(acc), 2029, time.December)
	if err != nil {
		t.Fatal(err)
	}
	jan, err := Compute(ctx, NewMonths(acc), time.Date(2030, 1, 10, 12, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if dec.Year != 2029 || len(dec.YearToDate) != 12 || dec.Ahead == nil || jan.Year != 2030 || len(jan.YearToDate) != 0 {
		t.Errorf("December: year %d with %d months (ahead %v); January: year %d with %d months",
			dec.Year, len(dec.YearToDate), dec.Ahead, jan.Year, len(jan.YearToDate))
	}
	// 2029 against 2028, 3 kW throughout: usage (8760 − 8784 h) × 3 kW ×
	// (100 + 80)/2 g/kWh = −6.48 kg (the leap day); grid (80 − 100) g/kWh ×
	// (26352 + 26280)/2 kWh = −526.32 kg.
	if c := dec.Change; !c.Available || c.After.From != "2029-01" || math.Abs(c.UsageKgCO2e+6.48) > 1e-9 || math.Abs(c.GridKgCO2e+526.32) > 1e-9 {
		t.Errorf("change through December: %+v", dec.Change)
	}
	if _, err := ComputeThrough(ctx, NewMonths(acc), 2029, 13); err == nil {
		t.Error("month 13 accepted")
	}
}

func TestMonthsOfSites(t *testing.T) {
	acc := twoSites(t)
	ctx := context.Background()
	all, err := NewMonths(acc).Get(ctx, 2029, time.March)
	if err != nil {
		t.Fatal(err)
	}
	onlyB, err := NewMonthsOf(acc, acc.Config().Sites[1:]).Get(ctx, 2029, time.March)
	if err != nil {
		t.Fatal(err)
	}
	hours := hoursOf(2029, time.March)
	// All: 3 kW; b alone: 2 kW. The per-site accounting is kept, in order.
	if all.Figure.EnergyKWh != 3*hours || len(all.Sites) != 2 || all.Sites[0].Site != "a" || all.Sites[1].EnergyKWh != 2*hours {
		t.Errorf("all sites: %+v, %d site figures", all.Figure, len(all.Sites))
	}
	if onlyB.Figure.EnergyKWh != 2*hours || len(onlyB.Sites) != 1 || onlyB.Sites[0].Site != "b" || !onlyB.Complete() {
		t.Errorf("site b: %+v %+v", onlyB.Figure, onlyB.Missing)
	}
	v, err := ComputeThrough(ctx, NewMonthsOf(acc, acc.Config().Sites[1:]), 2029, time.March)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(v.Sites, []string{"b"}) {
		t.Errorf("view of site b names %v", v.Sites)
	}
}

// The config's baseline figure is the region's: a view of some sites does
// not measure them against it.
func TestSubsetIgnoresConfigBaseline(t *testing.T) {
	acc := twoSites(t)
	cfg := *acc.Config()
	base := 5000.0
	cfg.Target.BaselineYear, cfg.Target.BaselineKgCO2e, cfg.Target.BaselineSource = 2020, &base, "climate accounts"
	acc2, err := accounting.New(&cfg, storeOf(t, acc))
	if err != nil {
		t.Fatal(err)
	}
	all, err := ComputeThrough(context.Background(), NewMonths(acc2), 2029, time.March)
	if err != nil {
		t.Fatal(err)
	}
	one, err := ComputeThrough(context.Background(), NewMonthsOf(acc2, cfg.Sites[:1]), 2029, time.March)
	if err != nil {
		t.Fatal(err)
	}
	if all.BaselineKgCO2e == nil || *all.BaselineKgCO2e != 5000 || all.BaselineFrom != BaselineFromConfig {
		t.Errorf("all sites: baseline %v from %q", all.BaselineKgCO2e, all.BaselineFrom)
	}
	if one.BaselineKgCO2e != nil || one.Ahead != nil || len(one.Path) != 0 || !strings.Contains(one.BaselineNote, "for all 2 sites, not for 1") {
		t.Errorf("one site: baseline %v, ahead %v, note %q", one.BaselineKgCO2e, one.Ahead, one.BaselineNote)
	}
}

func hoursOf(year int, m time.Month) float64 {
	from, to := grid.DanishMonth(year, m)
	return to.Sub(from).Hours()
}
