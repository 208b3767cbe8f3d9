package anomalies

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/models/sample"
)

// The constructed site: six weeks of 15-minute samples up to siteNow, with
// one of each anomaly planted in the last week and four idle candidates.
// (Six weeks, not more: InfluxDB 1.8 takes about a millisecond per
// meter-hour to aggregate, and each pass reads them all.)
const siteConfig = `sites:
  - {name: dc1, price_area: DK1, accounting: facility}
x-snmp: &snmp {protocol: snmp, address: 127.0.0.1, interval: 15m, snmp: {community: env:ECOMETER_TEST_COMMUNITY}}
x-rf: &rf {protocol: redfish, class: server, address: 127.0.0.1, interval: 15m, redfish: {user: u, password: env:ECOMETER_TEST_PASSWORD}}
devices:
  - {<<: *snmp, name: fac-1, site: dc1, class: facility}
  - {<<: *snmp, name: ups-a, site: dc1, class: ups, feeds: fac-1/total}
  - {<<: *snmp, name: pdu-a, site: dc1, class: pdu, feeds: ups-a/total}
  - {<<: *snmp, name: pdu-b, site: dc1, class: pdu, feeds: ups-a/total}
  - {<<: *snmp, name: pdu-c, site: dc1, class: pdu, feeds: ups-a/total}
  - {<<: *snmp, name: sw-1, site: dc1, class: switch, feeds: pdu-b/total}
  - {<<: *rf, name: srv-1, site: dc1, feeds: pdu-b/total}
  - {<<: *rf, name: srv-2, site: dc1, feeds: pdu-a/outlet/2}
  - {<<: *rf, name: srv-3, site: dc1, feeds: pdu-b/total, criticality: patient-critical}
`

var (
	siteNow    = time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC) // Monday 01:00 CET
	siteFrom   = siteNow.AddDate(0, 0, -7)                    // the week checked
	siteStart  = siteNow.AddDate(0, 0, -42)
	siteIdleTo = siteNow
)

// at returns hour h of the week checked.
func at(h int) time.Time { return siteFrom.Add(time.Duration(h) * time.Hour) }

func siteCfg(t testing.TB) *config.Config {
	t.Helper()
	f := filepath.Join(t.TempDir(), "site.yaml")
	if err := os.WriteFile(f, []byte(siteConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// siteSamples returns the site's samples.
func siteSamples(t testing.TB) []sample.Sample {
	loc, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(42, 1))
	noise := func(sd float64) float64 { return 1 + sd*r.NormFloat64() }
	ser := func(m, device, class, meter, source string) sample.Series {
		return sample.Series{Measurement: m, Site: "dc1", Room: "r1", Rack: "a1", Device: device, Class: class, Meter: meter, Source: source}
	}
	var out []sample.Sample
	power := func(s sample.Series, at time.Time, w float64, kwh *float64) {
		fs := []sample.Field{sample.F("power_w", w)}
		if kwh != nil {
			fs = append(fs, sample.F("energy_kwh", *kwh))
		}
		out = append(out, sample.Sample{Series: s, Time: at, Fields: fs})
	}
	office := func(at time.Time) bool {
		l := at.In(loc)
		return l.Weekday() != time.Saturday && l.Weekday() != time.Sunday && l.Hour() >= 8 && l.Hour() < 17
	}
	var pduBKWh float64 = 5000
	frozen := 0.0
	for at := siteStart; at.Before(siteNow); at = at.Add(15 * time.Minute) {
		h := int(math.Floor(at.Sub(siteFrom).Hours())) // hour of the week checked (negative before it)
		lh := at.In(loc).Hour()
		it := 10000 * noise(0.01)
		power(ser(sample.Power, "ups-a", "ups", "total", "snmp"), at, it, nil)
		pue := 1.4
		if at.Sub(siteFrom) >= 2*24*time.Hour-time.Hour { // from Wednesday 00:00 CET
			pue = 1.65
		}
		power(ser(sample.Power, "fac-1", "facility", "total", "snmp"), at, it*pue*noise(0.005), nil)
		in := 10500 * noise(0.01)
		eff := 0.95
		if h >= 72 {
			eff = 0.90
		}
		out = append(out, sample.Sample{Series: ser(sample.UPS, "ups-a", "ups", "total", "snmp"), Time: at,
			Fields: []sample.Field{sample.F("input_w", in), sample.F("output_w", in*eff*noise(0.002)), sample.B("on_battery", false)}})
		// pdu-a: an office load that steps up 40 % at hour 60; unbalanced phases.
		w := 3000.0
		if office(at) {
			w = 4200
		}
		if h >= 60 {
			w *= 1.4
		}
		power(ser(sample.Power, "pdu-a", "pdu", "total", "snmp"), at, w*noise(0.03), nil)
		for _, ph := range []struct {
			name string
			w    float64
		}{{"L1", 2000}, {"L2", 900}, {"L3", 900}} {
			power(ser(sample.Power, "pdu-a", "pdu", "phase/"+ph.name, "snmp"), at, ph.w*noise(0.03), nil)
		}
		power(ser(sample.Power, "pdu-a", "pdu", "outlet/1", "snmp"), at, 4*noise(0.05), nil)
		srv2 := 250 * noise(0.1)
		power(ser(sample.Power, "pdu-a", "pdu", "outlet/2", "snmp"), at, srv2*1.02, nil)
		power(ser(sample.Power, "srv-2", "server", "total", "redfish"), at, srv2, nil)
		// pdu-b: a normal weekly cycle with a counter that is reset at hour 100.
		w = 2000 * noise(0.03)
		if office(at) {
			w *= 1.3
		}
		pduBKWh += w / 4000
		if h == 100 && at.Minute() == 15 {
			pduBKWh = 0.2
		}
		power(ser(sample.Power, "pdu-b", "pdu", "total", "snmp"), at, w, &pduBKWh)
		// pdu-c: its reading freezes for 10 hours from hour 30.
		w = 1500 * noise(0.03)
		if h == 30 && at.Minute() == 0 {
			frozen = w
		}
		if h >= 30 && h < 40 {
			w = frozen
		}
		power(ser(sample.Power, "pdu-c", "pdu", "total", "snmp"), at, w, nil)
		// srv-1: busy for its first 10 days, idle since.
		w = 120
		if at.Before(siteStart.AddDate(0, 0, 10)) && lh >= 7 && lh < 21 {
			w = 300
		}
		power(ser(sample.Power, "srv-1", "server", "total", "redfish"), at, w*noise(0.01), nil)
		// srv-3: busy by day, idle at night.
		w = 120
		if lh >= 7 && lh < 21 {
			w = 300
		}
		power(ser(sample.Power, "srv-3", "server", "total", "redfish"), at, w*noise(0.01), nil)
		// sw-1: one PoE port drawing day and night, one switched off at night.
		power(ser(sample.Power, "sw-1", "switch", "poe/Gi1/0/5", "snmp"), at, 6*noise(0.02), nil)
		w = 6 * noise(0.02)
		if lh >= 22 || lh < 6 {
			w = 0
		}
		power(ser(sample.Power, "sw-1", "switch", "poe/Gi1/0/6", "snmp"), at, w, nil)
		// Power states of the week checked: srv-2 reports Off for hours
		// 120–130 while it keeps drawing.
		if h >= 0 {
			for _, d := range []string{"srv-1", "srv-2", "srv-3"} {
				state := "On"
				if d == "srv-2" && h >= 120 && h < 130 {
					state = "Off"
				}
				out = append(out, sample.Sample{Series: ser(sample.Device, d, "server", "", "redfish"), Time: at,
					Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", 40), sample.T("power_state", state)}})
			}
		}
	}
	return out
}

// wantSite is what Detect must find on the constructed site.
var wantSite = []struct {
	kind          anomaly.Kind
	device, meter string
	start, end    time.Time // end zero: open to the end of the week
	detail        string
}{
	{anomaly.PhaseImbalance, "pdu-a", "", at(0), time.Time{}, "phase/L1"},
	{anomaly.Flatline, "pdu-c", "total", at(30), at(40), "power_w"},
	{anomaly.Deviation, "fac-1", "total", at(47), time.Time{}, ""},
	{anomaly.PUEStep, "", "", at(47), time.Time{}, ""},
	{anomaly.Deviation, "pdu-a", "total", at(60), time.Time{}, ""},
	{anomaly.UPSEfficiency, "ups-a", "total", at(72), time.Time{}, ""},
	{anomaly.CounterReset, "pdu-b", "total", at(100), at(101), ""},
	{anomaly.PowerWhileOff, "pdu-a", "outlet/2", at(120), at(130), "feeds srv-2"},
	{anomaly.PowerWhileOff, "srv-2", "total", at(120), at(130), ""},
}

// checkSite runs Detect and FindIdle on st, which holds siteSamples, and
// checks what they find; with selector also the idle selector (a third
// pass over the data).
func checkSite(t *testing.T, st store.Reader, selector bool) {
	cfg := siteCfg(t)
	ctx := context.Background()
	rep, err := Detect(ctx, st, cfg, Options{From: siteFrom, To: siteNow})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range rep.Anomalies {
		got = append(got, fmt.Sprintf("%s %s/%s %s %s–%s open=%v", a.Kind, a.Device, a.Meter, a.Detail,
			a.Start.Format(time.RFC3339), a.End.Format(time.RFC3339), a.Open))
	}
	t.Logf("found:\n  %s\nnotes: %q", strings.Join(got, "\n  "), rep.Notes)
	if len(rep.Anomalies) != len(wantSite) {
		t.Fatalf("found %d anomalies, want %d", len(rep.Anomalies), len(wantSite))
	}
	for i, w := range wantSite {
		a := rep.Anomalies[i]
		open := w.end.IsZero()
		if a.Kind != w.kind || a.Device != w.device || a.Meter != w.meter || a.Detail != w.detail || !a.Start.Equal(w.start) ||
			a.Open != open || (!open && !a.End.Equal(w.end)) {
			t.Errorf("anomaly %d: got %s, want %+v", i, got[i], w)
		}
		if a.Explanation == "" || len(a.Evidence) == 0 {
			t.Errorf("anomaly %d: no explanation or evidence", i)
		}
	}
	if rep.Meters != 15 || rep.Scored != 15 || rep.UPSs != 1 || rep.PowerStates != 3 || rep.PUESites != 1 {
		t.Errorf("meters %d scored %d ups %d power states %d PUE sites %d", rep.Meters, rep.Scored, rep.UPSs, rep.PowerStates, rep.PUESites)
	}
	open := rep.CountOpen()
	if open[anomaly.Deviation] != 2 || open[anomaly.PUEStep] != 1 || open[anomaly.Flatline] != 0 || len(open) != len(anomaly.Kinds) {
		t.Errorf("open counts %v", open)
	}

	// Idle equipment over the last 30 days, learning from the 12 before.
	ir, err := FindIdle(ctx, st, cfg, IdleOptions{Now: siteIdleTo, LearnDays: 12,
		Intensities: map[string]Intensity{"dc1": {GPerKWh: 100, Source: "test"}}})
	if err != nil {
		t.Fatal(err)
	}
	type cand struct {
		kind          idle.Kind
		device, meter string
		conf          idle.Confidence
		kwh           float64
		protected     bool
	}
	want := []cand{
		{idle.Server, "srv-1", "total", idle.Medium, 120 * 8.76, false},
		{idle.ServerNight, "srv-3", "total", idle.Medium, 120 * 8 * 365 / 1000.0, true},
		{idle.Outlet, "pdu-a", "outlet/1", idle.High, 4 * 8.76, false},
		{idle.PoENight, "sw-1", "poe/Gi1/0/5", idle.Low, 6 * 8 * 365 / 1000.0, false},
	}
	var desc []string
	for _, c := range ir.Candidates {
		desc = append(desc, fmt.Sprintf("%s %s/%s %s %.1f kWh/yr %.2f kg protected=%v", c.Kind, c.Device, c.Meter, c.Confidence,
			c.SavedKWhPerYear, c.SavedKgCO2ePerYear, c.Protected))
	}
	t.Logf("idle:\n  %s", strings.Join(desc, "\n  "))
	if len(ir.Candidates) != len(want) {
		t.Fatalf("%d candidates, want %d", len(ir.Candidates), len(want))
	}
	for i, w := range want {
		c := ir.Candidates[i]
		if c.Kind != w.kind || c.Device != w.device || c.Meter != w.meter || c.Confidence != w.conf || c.Protected != w.protected ||
			math.Abs(c.SavedKWhPerYear-w.kwh) > 0.03*w.kwh || math.Abs(c.SavedKgCO2ePerYear-c.SavedKWhPerYear/10) > 1e-9 {
			t.Errorf("candidate %d: got %s, want %+v", i, desc[i], w)
		}
	}
	if ir.Servers != 3 || ir.Outlets != 2 || ir.PoEPorts != 2 {
		t.Errorf("servers %d outlets %d PoE ports %d", ir.Servers, ir.Outlets, ir.PoEPorts)
	}
	if !selector {
		return
	}
	// The selector: srv-3 is patient-critical, so it is not selected; with
	// Medium and up, neither is the PoE port.
	sel, err := IdleSelector(st, cfg, IdleOptions{LearnDays: 12}, idle.Medium)(ctx, siteIdleTo)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range sel {
		names = append(names, s.Device+"/"+s.Meter)
	}
	if !slices.Equal(names, []string{"srv-1/", "pdu-a/outlet/1"}) || sel[0].Evidence == "" {
		t.Errorf("selected %q", names)
	}
}

func TestSiteSQLite(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), siteSamples(t)); err != nil {
		t.Fatal(err)
	}
	checkSite(t, st, true)
}

func TestSiteInfluxDB(t *testing.T) {
	srv := testenv.Influx(t)
	st, err := influx.New(influx.Options{URL: srv.URL, Bucket: srv.Bucket, Timeout: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(context.Background(), siteSamples(t)); err != nil {
		t.Fatal(err)
	}
	checkSite(t, st, false)
}
