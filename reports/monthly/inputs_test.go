package monthly

import (
	"math"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/control/savings"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/reports/i18n"
)

// TestPowerDownFrom: section 7 is the controller's measured savings per
// policy, the windows and distinct targets counted; a month without a
// window is "no policy applied".
func TestPowerDownFrom(t *testing.T) {
	if pd := PowerDownFrom(savings.Report{Windows: []savings.Window{}}); pd != nil {
		t.Errorf("no windows: %+v, want nil", pd)
	}
	rep := savings.Report{SavedKWh: 7, KgCO2e: 0.7, Method: savings.Method, Windows: []savings.Window{
		{Target: "srv-1", Policy: "night", SavedKWh: 0},
		{Target: "pdu-a/outlet/4", Policy: "night", SavedKWh: 4, KgCO2e: 0.4},
		{Target: "pdu-a/outlet/4", Policy: "night", SavedKWh: 2, KgCO2e: 0.2},
		{Target: "sw/poe/Gi1/0/1", Policy: "phones", SavedKWh: 1, KgCO2e: 0.1},
	}}
	pd := PowerDownFrom(rep)
	if pd == nil || pd.KWhAvoided != 7 || pd.Method != savings.Method || len(pd.Policies) != 2 {
		t.Fatalf("%+v", pd)
	}
	if n := pd.Policies[0]; n.Name != "night" || n.Windows != 3 || n.Devices != 2 || n.KWhAvoided != 6 || math.Abs(n.KgCO2eAvoided-0.6) > 1e-9 {
		t.Errorf("night: %+v", n)
	}
}

// TestAnomaliesFrom: every anomaly with the energy it concerns, every idle
// candidate the controller may act on with the month's share of its
// saving, each kind one the report can name in both languages.
func TestAnomaliesFrom(t *testing.T) {
	p := accounting.MonthOf(2025, time.November) // 720 hours
	at := p.From.Add(48 * time.Hour)
	an := &anomalies.Report{Anomalies: []anomaly.Anomaly{
		{Kind: anomaly.Deviation, Site: "s", Device: "pdu", Meter: "total", Start: at, Evidence: map[string]float64{"observed_w": 1500, "expected_w": 1000, "hours": 10}},
		{Kind: anomaly.UPSEfficiency, Site: "s", Device: "ups", Meter: "total", Start: at, Evidence: map[string]float64{"extra_loss_w": 150, "hours": 20}},
		{Kind: anomaly.Flatline, Site: "s", Device: "pdu", Meter: "inlet/1", Start: at, Evidence: map[string]float64{"value_w": 1367}},
		{Kind: anomaly.PUEStep, Site: "s", Start: at, Evidence: map[string]float64{"extra_facility_kwh": 12}},
	}}
	id := &anomalies.IdleReport{Candidates: []idle.Candidate{
		{Kind: idle.Server, Site: "s", Device: "srv-old", SavedKWhPerYear: 8760 * 0.2},
		{Kind: idle.ServerNight, Site: "s", Device: "srv-vdi", SavedKWhPerYear: 876},
		{Kind: idle.Outlet, Site: "s", Device: "pdu", Meter: "outlet/2", SavedKWhPerYear: 10},
		{Kind: idle.Server, Site: "s", Device: "srv-epj", Protected: true, SavedKWhPerYear: 1000},
	}}
	got := AnomaliesFrom(p, an, id)
	want := []struct {
		device, kind string
		kwh          float64
	}{
		{"pdu/total", "deviation", 5}, {"ups/total", "ups_efficiency_drop", 3}, {"pdu/inlet/1", "flatline", 0}, {"s", "pue_step", 12},
		{"srv-old", "idle", 0.2 * 720}, {"srv-vdi", "idle-night", 876 * 720.0 / 8760}, {"pdu/outlet/2", "idle-outlet", 10 * 720.0 / 8760},
	}
	if len(got.Items) != len(want) {
		t.Fatalf("%d items, want %d (the protected server left out): %+v", len(got.Items), len(want), got.Items)
	}
	for i, w := range want {
		g := got.Items[i]
		if g.Device != w.device || g.Kind != w.kind || math.Abs(g.KWh-w.kwh) > 1e-9 {
			t.Errorf("item %d: %s %s %v kWh, want %s %s %v", i, g.Device, g.Kind, g.KWh, w.device, w.kind, w.kwh)
		}
		if !i18n.Has("anomaly.kind." + g.Kind) {
			t.Errorf("kind %q has no text in the report", g.Kind)
		}
	}
	for _, k := range anomaly.Kinds {
		if !i18n.Has("anomaly.kind." + string(k)) {
			t.Errorf("anomaly kind %q has no text in the report", k)
		}
	}
	for _, k := range idleKinds {
		if !i18n.Has("anomaly.kind." + k) {
			t.Errorf("idle kind %q has no text in the report", k)
		}
	}
}
