package monthly

import (
	"context"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// The report's section 7 and anomalies come from the controller's audit log
// and the detectors over the report's own store: an outlet a policy kept
// off one night saves what the same hours drew on comparable days, and a
// meter stuck on one reading is found.
func TestSectionSources(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	cfg, err := config.Parse("site.yaml", []byte(`allow_inline_secrets: true
sites: [{name: dc1}]
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: c}, interval: 15m}
  - {name: srv-t, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, redfish: {user: u, password: p}, feeds: pdu-a/outlet/4, accounting_role: none}
grid:
  annual_factors: [{year: 2026, g_per_kwh: 100, source: test}]
control: {audit_log: `+filepath.Join(dir, "audit.jsonl")+`}
`))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(dir, "data"), RawRetention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	p := accounting.MonthOf(2026, time.March)

	// No audit log yet: nothing applied.
	if pd, err := ControllerSavings(ctx, cfg, st, p); err != nil || pd != nil {
		t.Fatalf("without an audit log: %+v, %v", pd, err)
	}

	loc, _ := time.LoadLocation("Europe/Copenhagen")
	off, on := time.Date(2026, 3, 25, 19, 0, 0, 0, loc), time.Date(2026, 3, 26, 6, 45, 0, 0, loc)
	stuck := time.Date(2026, 3, 10, 0, 0, 0, 0, time.UTC)
	var batch []sample.Sample
	for ts := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC); ts.Before(time.Date(2026, 3, 31, 0, 0, 0, 0, time.UTC)); ts = ts.Add(15 * time.Minute) {
		w := 100.0 + 20*math.Sin(float64(ts.Unix()%86400)/86400*2*math.Pi) + float64(ts.Unix()/900%7)
		if !ts.Before(off) && ts.Before(on) {
			w = 0
		}
		total := 400 + 80*math.Sin(float64(ts.Unix()%86400)/86400*2*math.Pi) + float64(ts.Unix()/900%11)
		if !ts.Before(stuck) && ts.Before(stuck.Add(24*time.Hour)) {
			total = 431.5 // stuck reading for a day
		}
		batch = append(batch,
			sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu-a", Class: "pdu", Meter: "outlet/4", Source: "snmp"},
				Time: ts, Fields: []sample.Field{sample.F("power_w", w)}},
			sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu-a", Class: "pdu", Meter: "total", Source: "snmp"},
				Time: ts, Fields: []sample.Field{sample.F("power_w", total)}})
	}
	if err := st.Write(ctx, batch); err != nil {
		t.Fatal(err)
	}
	log := audit.Open(cfg.Control.AuditLog)
	for _, e := range []audit.Entry{
		{Time: off, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "off", Policy: "night", Outcome: "ok"},
		{Time: on, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "on", Policy: "night", Outcome: "ok"},
	} {
		if _, err := log.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	pd, err := ControllerSavings(ctx, cfg, st, p)
	if err != nil {
		t.Fatal(err)
	}
	if pd == nil || len(pd.Policies) != 1 || pd.Policies[0].Name != "night" || pd.Policies[0].Windows != 1 || pd.Policies[0].Devices != 1 ||
		pd.KWhAvoided < 1 || math.Abs(pd.KgCO2eAvoided-pd.KWhAvoided*0.1) > 1e-6 || pd.Method == "" {
		t.Errorf("power-down section %+v", pd)
	}

	an, err := DetectedAnomalies(ctx, cfg, st, p)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, a := range an.Items {
		if a.Kind == "flatline" && a.Device == "pdu-a" && a.Meter == "total" {
			found = true
		}
	}
	if !found {
		t.Errorf("the stuck meter was not found: %+v", an.Items)
	}
}
