package accounting_test

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin"
	"github.com/ecometer/ecometer/models/sample"
)

// builtInHour is the shipped hourly value of DK1 at h.
func builtInHour(t *testing.T, h time.Time) float64 {
	t.Helper()
	d, err := builtin.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, y := range d.Hourly {
		if y.Area == "DK1" && !h.Before(y.First) && int(h.Sub(y.First)/time.Hour) < len(y.Values) {
			if v := float64(y.Values[h.Sub(y.First)/time.Hour]); !math.IsNaN(v) {
				return v
			}
		}
	}
	t.Fatalf("no built-in DK1 value for %s", h)
	return 0
}

func builtInMean(t *testing.T, area string, year int) float64 {
	t.Helper()
	d, err := builtin.Data()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range d.Annual {
		if m.Area == area && m.Year == year {
			return float64(m.Intensity)
		}
	}
	t.Fatalf("no built-in mean of %s %d", area, year)
	return 0
}

const orderSite = `sites:
  - {name: dk1, price_area: DK1, accounting: it}
  - {name: dk2, price_area: DK2, accounting: it}
x-d: &d {protocol: snmp, address: 127.0.0.1, interval: 5m, snmp: {community: env:X}, class: switch}
devices:
  - {<<: *d, name: sw1, site: dk1}
  - {<<: *d, name: sw2, site: dk2}
grid:
  area: DK1
  annual_factors: [{year: 2024, g_per_kwh: 111, source: test factor 2024}]
`

// TestGridFallbackOrder: on the real SQLite store, each hour of a site takes
// its intensity from the first source that has one, and says which.
func TestGridFallbackOrder(t *testing.T) {
	t.Setenv("X", "public")
	cfg, err := config.Parse("site.yaml", []byte(orderSite))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hour := func(site, dev string, h time.Time) {
		t.Helper()
		var batch []sample.Sample
		for m := 0; m < 60; m += 5 {
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: site, Device: dev, Class: "switch", Meter: "total", Source: "snmp"},
				Time: h.Add(time.Duration(m) * time.Minute), Fields: []sample.Field{sample.F("power_w", 100)}})
		}
		if err := st.Write(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	u := func(s string) time.Time { v, _ := time.Parse(time.RFC3339, s); return v }
	imported := u("2025-10-02T08:00:00Z")
	if err := st.WriteGrid(ctx, []store.GridHour{{Area: "DK1", Hour: imported, GramsPerKWh: 42, Intervals: 12, Dataset: "CO2Emis"}}); err != nil {
		t.Fatal(err)
	}
	// Each hour is 0.1 kWh; want is its intensity and source.
	cases := []struct {
		hour   time.Time
		g      float64
		source grid.Source
	}{
		{u("2024-05-01T10:00:00Z"), 111, grid.AnnualFactor},                                        // configured 2024 before the built-in 2024 mean
		{imported, 42, grid.Measured},                                                              // imported
		{u("2025-10-02T09:00:00Z"), builtInHour(t, u("2025-10-02T09:00:00Z")), grid.BuiltInHourly}, // the built-in hour
		{u("2025-10-09T08:00:00Z"), 42, grid.SameHourOfWeek},                                       // a week after the imported hour
		{u("2025-11-22T10:00:00Z"), builtInMean(t, "DK1", 2025), grid.BuiltInAnnual},               // a gap in the built-in hours
		{u("2026-03-02T10:00:00Z"), builtInMean(t, "DK1", 2025), grid.BuiltInAnnual},               // 2025 stands in for 2026
	}
	var want float64
	for _, c := range cases {
		hour("dk1", "sw1", c.hour)
		want += 0.1 * c.g / 1000
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	// The controller's savings and plans resolve hours through the same
	// chain (Intensities).
	var hours []time.Time
	for _, c := range cases {
		hours = append(hours, c.hour)
	}
	in, err := acc.Intensities(ctx, "DK1", hours)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		if in[i].Source != c.source || math.Abs(float64(in[i].Value)-c.g) > 1e-9 {
			t.Errorf("Intensities %s: %v g/kWh from %s; want %v from %s", c.hour.Format(time.RFC3339), in[i].Value, in[i].Source, c.g, c.source)
		}
	}
	from, to := u("2024-01-01T00:00:00Z"), u("2026-06-01T00:00:00Z")
	r, err := acc.Site(ctx, cfg.Sites[0], from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Hours) != len(cases) {
		t.Fatalf("%d hours with energy, want %d", len(r.Hours), len(cases))
	}
	for i, c := range cases {
		h := r.Hours[i]
		if !h.Hour.Equal(c.hour) || h.Source != c.source || math.Abs(h.GPerKWh-c.g) > 1e-9 || !near(h.KWh, 0.1) {
			t.Errorf("%s: %v kWh at %v g/kWh from %s (%s); want 0.1 kWh at %v from %s", h.Hour.Format(time.RFC3339), h.KWh, h.GPerKWh, h.Source, h.Basis, c.g, c.source)
		}
	}
	if !near(r.Location.KgCO2e, want) {
		t.Errorf("location-based %v kg, want %v", r.Location.KgCO2e, want)
	}
	wantBases := []string{
		"annual factor 2024: test factor 2024",
		"built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), hourly",
		"built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), annual mean",
		"built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), annual mean (no imported data or factor for 2026; the nearest year's stands in)",
	}
	if !slices.Equal(r.Location.FallbackBases, wantBases) {
		t.Errorf("fallback bases\n%q\nwant\n%q", r.Location.FallbackBases, wantBases)
	}
	if !r.Location.UsesEnerginet() {
		t.Error("built-in Energinet data used, UsesEnerginet false")
	}
	js, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{`"built-in-hourly":0.1`, `"built-in-annual":0.2`, "built-in Energinet CO2EmisProg DK1 2025"} {
		if !strings.Contains(string(js), w) {
			t.Errorf("JSON lacks %s: %s", w, js)
		}
	}

	// What cannot be derived says where to put it. (A configured factor
	// of any year stands in for another; without factors:)
	hour("dk1", "sw1", u("2020-06-01T10:00:00Z")) // the target's baseline year
	hour("dk2", "sw2", u("2025-06-01T10:00:00Z"))
	cfg.Grid.AnnualFactors = nil
	if acc, err = accounting.New(cfg, st); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		site     int
		from, to time.Time
		want     []string
	}{
		{0, u("2020-01-01T00:00:00Z"), u("2021-01-01T00:00:00Z"), []string{
			"no built-in data for 2020", "`ecometer grid fetch --area DK1 --from 2020-01-01 --to 2021-01-01`",
			"grid.annual_factors (year, g_per_kwh, source)", "target.baseline_kg_co2e with target.baseline_source"}},
		{1, u("2025-01-01T00:00:00Z"), u("2026-01-01T00:00:00Z"), []string{
			"no built-in data for DK2", "ecometer ships no DK2 data, so a DK2 site without imported data gets its factors from the config",
			"with grid.area: DK2 (the factors apply to grid.area, now DK1)"}},
	} {
		_, err := acc.Site(ctx, cfg.Sites[tt.site], tt.from, tt.to)
		for _, w := range tt.want {
			if err == nil || !strings.Contains(err.Error(), w) {
				t.Errorf("%s: got %v, want it to say %q", cfg.Sites[tt.site].Name, err, w)
			}
		}
	}
}

const inletSite = `sites:
  - {name: s2, price_area: DK1, accounting: it}
devices:
  - {name: pdu, site: s2, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: env:X}}
  - {name: srv, site: s2, class: server, protocol: redfish, address: https://127.0.0.1, feeds: pdu/outlet/1, redfish: {user: u, password: env:X}}
  - {name: sw, site: s2, class: switch, protocol: snmp, address: 127.0.0.1, feeds: pdu/outlet/2, snmp: {community: env:X}}
`

// TestTotalFromInlets: a PDU that meters only its inlet (PDU2-MIB,
// Sentry4-MIB: inlet/1, no total) is totalled from it, so it can be a
// site's accounting meter and the meters it feeds are not more than it; a
// PoE switch that reports only what it delivers (pse/1) is measured at the
// outlet that feeds it.
func TestTotalFromInlets(t *testing.T) {
	cfg, err := config.Parse("site.yaml", []byte(inletSite))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	from := time.Date(2025, 10, 2, 8, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	for _, m := range []struct {
		dev, class, meter string
		w                 float64
	}{{"pdu", "pdu", "inlet/1", 1000}, {"pdu", "pdu", "outlet/1", 400}, {"pdu", "pdu", "outlet/2", 300}, {"srv", "server", "total", 380},
		{"sw", "switch", "pse/1", 96}} {
		for t := from; t.Before(from.Add(2 * time.Hour)); t = t.Add(time.Minute) {
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "s2", Device: m.dev, Class: m.class, Meter: m.meter, Source: "snmp"},
				Time: t, Fields: []sample.Field{sample.F("power_w", m.w)}})
		}
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	to := from.Add(2 * time.Hour)
	r, err := acc.Site(ctx, cfg.Sites[0], from, to)
	if err != nil {
		t.Fatal(err)
	}
	if !near(r.EnergyKWh, 2) || r.CoveragePct < 99 || strings.Join(r.Meters, ",") != "pdu/total" {
		t.Errorf("site: %v kWh at %v, coverage %v %%; want 2 kWh at pdu/total (its inlet), fully covered", r.EnergyKWh, r.Meters, r.CoveragePct)
	}
	meters, err := acc.Meters(ctx, "s2", from, to)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]accounting.Meter{}
	for _, m := range meters {
		got[m.Device+"/"+m.Meter] = m
		if m.OwnKWh < -1e-9 {
			t.Errorf("%s/%s: own share %v kWh, negative", m.Device, m.Meter, m.OwnKWh)
		}
	}
	if tot, in := got["pdu/total"], got["pdu/inlet/1"]; !near(tot.EnergyKWh, 2) || !tot.Counted || !near(in.EnergyKWh, 2) || in.Counted {
		t.Errorf("pdu total %+v, inlet %+v; want the total counted from the inlet, the inlet shown beside it", tot, in)
	}
	if own := got["pdu/total"].OwnKWh; !near(own, 2-0.8-0.6) {
		t.Errorf("pdu own share %v kWh, want 0.6 (its inlet less outlets 1 and 2, which feed srv and sw)", own)
	}
	if sw, out := got["sw/total"], got["pdu/outlet/2"]; !near(sw.EnergyKWh, 0.6) || !sw.Counted || !near(sw.OwnKWh, 0.6) || !near(out.OwnKWh, 0) {
		t.Errorf("switch %+v, its outlet %+v; want the switch's 0.6 kWh measured at the outlet", sw, out)
	}
	hs, err := acc.MeterHours(ctx, energy.MeterRef{Site: "s2", Device: "pdu", Meter: "total"}, from, to)
	if err != nil || len(hs) != 2 || !near(float64(hs[0].Energy), 1) {
		t.Errorf("MeterHours(pdu/total) = %+v, %v; want 2 hours of 1 kWh", hs, err)
	}
}
