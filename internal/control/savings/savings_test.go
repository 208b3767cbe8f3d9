package savings

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

const site = `
allow_inline_secrets: true
sites: [{name: dc1}]
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: c}, interval: 15m}
  - {name: srv-t, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, redfish: {user: u, password: p}, feeds: pdu-a/outlet/4, accounting_role: none}
grid:
  annual_factors: [{year: 2026, g_per_kwh: 100, source: test}]
`

// TestMonth: an outlet drawing 100 W is kept off by a policy from 19:00 to
// 06:45 one night. Its 11 whole hours off each save the 0.1 kWh the same
// hours of the comparable days drew.
func TestMonth(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	off := time.Date(2026, 3, 25, 19, 0, 0, 0, loc)
	on := time.Date(2026, 3, 26, 6, 45, 0, 0, loc)
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir(), RawRetention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	writeOutlet(t, st, time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC), time.Date(2026, 3, 27, 12, 0, 0, 0, time.UTC), func(ts time.Time) float64 {
		if !ts.Before(off) && ts.Before(on) {
			return 0
		}
		return 100
	})
	log := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	for _, e := range []audit.Entry{
		{Time: off, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "off", Policy: "night", Outcome: "ok"},
		{Time: on, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "on", Policy: "night", Outcome: "ok"},
		// A manual off is not a policy window.
		{Time: off.Add(-48 * time.Hour), Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "off", Why: "manual: x", Outcome: "ok"},
	} {
		if _, err := log.Append(e); err != nil {
			t.Fatal(err)
		}
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Month(ctx, acc, log, accounting.MonthOf(2026, time.March))
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Windows) != 1 || rep.Hours != 11 || rep.Compared != 11 {
		t.Fatalf("report %+v", rep)
	}
	if math.Abs(rep.SavedKWh-1.1) > 0.01 || math.Abs(rep.KgCO2e-0.11) > 0.001 {
		t.Errorf("saved %.4f kWh, %.4f kg; want 1.1 kWh, 0.11 kg (100 g/kWh)", rep.SavedKWh, rep.KgCO2e)
	}
	if w := rep.Windows[0]; math.Abs(w.MeteredKWh) > 1e-9 || math.Abs(w.BaselineKWh-1.1) > 0.01 {
		t.Errorf("window %+v", w)
	}
	// February: no window.
	rep, err = Month(ctx, acc, log, accounting.MonthOf(2026, time.February))
	if err != nil || len(rep.Windows) != 0 || rep.SavedKWh != 0 {
		t.Errorf("february: %+v %v", rep, err)
	}
}

// TestMonthLongRunningPolicy: a policy has switched the outlet off every
// night from 19:00 to 06:00 since 10 weeks before the month, so no day of
// the four weeks before any window is comparable; its nights are measured
// against the most recent nights before the policy began. Hours drawn
// 60 W before the policy, 100 W in the month's working hours (a change
// that must not leak into the baseline of the night hours).
func TestMonthLongRunningPolicy(t *testing.T) {
	ctx := context.Background()
	cfg, err := config.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	month := accounting.MonthOf(2026, time.March)
	began := month.From.AddDate(0, 0, -70)
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir(), RawRetention: 365 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	first := began.Add(19 * time.Hour) // the first night off
	off := func(ts time.Time) bool {
		h := ts.In(loc).Hour()
		return !ts.Before(first) && (h >= 19 || h < 6)
	}
	writeOutlet(t, st, began.AddDate(0, 0, -30), month.To, func(ts time.Time) float64 {
		if off(ts) {
			return 0
		}
		return 60
	})
	log := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	nights := 0
	for d := began.In(loc); d.Before(month.To); d = d.AddDate(0, 0, 1) {
		from := time.Date(d.Year(), d.Month(), d.Day(), 19, 0, 0, 0, loc)
		to := time.Date(d.Year(), d.Month(), d.Day()+1, 6, 0, 0, 0, loc)
		if !to.Before(month.To) {
			break
		}
		for _, e := range []audit.Entry{
			{Time: from, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "off", Policy: "night", Outcome: "ok"},
			{Time: to, Event: audit.EventVerified, Target: "pdu-a/outlet/4", Action: "on", Policy: "night", Outcome: "ok"},
		} {
			if _, err := log.Append(e); err != nil {
				t.Fatal(err)
			}
		}
		if !from.Before(month.From) {
			nights++
		}
	}
	acc, err := accounting.New(cfg, st)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Month(ctx, acc, log, month)
	if err != nil {
		t.Fatal(err)
	}
	// Every whole night hour of the month is compared: 11 a night, the
	// night before the month's first day contributing its hours after
	// midnight (6), the clock change of 29 March taking one.
	want := nights*11 + 6 - 1
	if rep.Hours != want || rep.Compared != want {
		t.Fatalf("%d hours off, %d compared; want %d both (notes %v)", rep.Hours, rep.Compared, want, rep.Notes)
	}
	if len(rep.Notes) != 0 {
		t.Errorf("notes %q, want none", rep.Notes)
	}
	if wantKWh := 0.06 * float64(want); math.Abs(rep.SavedKWh-wantKWh) > 0.01 {
		t.Errorf("saved %.3f kWh, want %.3f (60 W in every hour off)", rep.SavedKWh, wantKWh)
	}
}

// writeOutlet writes pdu-a/outlet/4's power every 15 minutes from from to
// to.
func writeOutlet(t *testing.T, st *sqlite.Store, from, to time.Time, watts func(time.Time) float64) {
	t.Helper()
	var batch []sample.Sample
	for ts := from; ts.Before(to); ts = ts.Add(15 * time.Minute) {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: "dc1", Device: "pdu-a", Class: "pdu",
			Meter: "outlet/4", Source: "snmp"}, Time: ts, Fields: []sample.Field{sample.F("power_w", watts(ts))}})
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
}
