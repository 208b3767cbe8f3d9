package plan

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

const site = `
allow_inline_secrets: true
sites: [{name: dc1}]
devices:
  - {name: batch-1, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, redfish: {user: u, password: p}, tags: {role: batch}}
grid:
  annual_factors: [{year: 2026, g_per_kwh: 100, source: test}]
control:
  policies:
    - name: batch
      select: {tags: {role: batch}}
      action: shutdown
      power_on_lead: 10m
      schedule: {carbon_aware: {on_hours: 3, from: "22:00", to: "06:00"}}
`

// TestCarbonAware: the planner keeps the batch server on for the 3 hours
// of lowest forecast intensity (02:00–05:00 here) and off for the rest of
// 22:00–06:00; without a forecast it takes the fixed 22:00–01:00 and says so.
func TestCarbonAware(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	cal, _ := calendar.New(cfg.Control)
	loc := cal.Location()
	at := time.Date(2026, 3, 4, 21, 0, 0, 0, loc)
	pols, _ := policy.Load(cfg, nil)
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// 200 W for a week, so the expected energy is known.
	var batch []sample.Sample
	for ts := at.AddDate(0, 0, -7); ts.Before(at); ts = ts.Add(time.Hour) {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "batch-1", Class: "server",
			Meter: "total", Source: "redfish"}, Time: ts, Fields: []sample.Field{sample.F("power_w", 200)}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	in := Inputs{Config: cfg, Policies: pols, Calendar: cal, Store: st, Accounting: acc, At: at, Now: at}

	p, err := Make(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Windows) == 0 || p.Windows[0].Carbon == nil || p.Windows[0].Carbon.Forecast {
		t.Fatalf("without a forecast: windows %+v", p.Windows)
	}
	if c := p.Windows[0].Carbon; c.OnFrom.In(loc).Hour() != 22 || c.OnTo.In(loc).Hour() != 1 {
		t.Errorf("fallback block %s–%s, want 22:00–01:00", c.OnFrom.In(loc), c.OnTo.In(loc))
	}

	// Forecast: 22:00 300, 23:00 280, 00:00 250, 01:00 150, 02:00 90,
	// 03:00 80, 04:00 85, 05:00 200 g/kWh.
	g := []float64{300, 280, 250, 150, 90, 80, 85, 200}
	var hours []store.GridHour
	for i, v := range g {
		hours = append(hours, store.GridHour{Area: "DK1", Hour: time.Date(2026, 3, 4, 22+i, 0, 0, 0, loc).UTC(), GramsPerKWh: v,
			Intervals: 12, Dataset: "CO2EmisProg"})
	}
	if err := st.WriteGrid(ctx, hours); err != nil {
		t.Fatal(err)
	}
	p, err = Make(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	c := p.Windows[0].Carbon
	if !c.Forecast || c.OnFrom.In(loc).Hour() != 2 || c.OnTo.In(loc).Hour() != 5 {
		t.Fatalf("block %s–%s forecast %v, want 02:00–05:00 from the forecast", c.OnFrom.In(loc), c.OnTo.In(loc), c.Forecast)
	}
	// 200 W × 3 h = 0.6 kWh; at 85 g/kWh mean: 0.051 kg, against 0.6 × 276.7 = 0.166 kg fixed.
	if abs(c.KWh-0.6) > 1e-9 || abs(c.KgCO2e-0.051) > 1e-6 || abs(c.FixedKgCO2e-0.166) > 1e-6 {
		t.Errorf("carbon %+v", c)
	}
	// Off 22:00–02:00 (on again at 01:50, lead 10 min) and 05:00–06:00 (on at 05:50).
	var got []string
	for _, s := range p.Steps {
		got = append(got, s.Op+" "+s.Due.In(loc).Format("15:04"))
	}
	want := []string{"off 22:00", "on 01:50", "off 05:00", "on 05:50"}
	if len(got) != len(want) {
		t.Fatalf("steps %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("steps %v, want %v", got, want)
			break
		}
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}
