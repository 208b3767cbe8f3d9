package demo

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/models/sample"
)

func TestPrepareOut(t *testing.T) {
	base := t.TempDir()
	write := func(p, s string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// New: created and marked.
	o, err := PrepareOut(filepath.Join(base, "new"), true)
	if err != nil || o.Replaced {
		t.Fatalf("new: %+v %v", o, err)
	}
	if _, err := os.Stat(filepath.Join(base, "new", Marker)); err != nil {
		t.Errorf("no marker: %v", err)
	}
	// A previous demo's output: replaced.
	write(filepath.Join(base, "new", "site.yaml"), "old")
	o, err = PrepareOut(filepath.Join(base, "new"), true)
	if err != nil || !o.Replaced {
		t.Fatalf("previous: %+v %v", o, err)
	}
	if _, err := os.Stat(filepath.Join(base, "new", "site.yaml")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the previous output stayed: %v", err)
	}
	// Remove: a named directory stays, empty; the default one goes.
	write(filepath.Join(base, "new", "x"), "x")
	if err := o.Remove(); err != nil {
		t.Fatal(err)
	}
	if es, err := os.ReadDir(filepath.Join(base, "new")); err != nil || len(es) != 0 {
		t.Errorf("named dir after Remove: %v, %d entries", err, len(es))
	}
	d, err := PrepareOut(filepath.Join(base, "default"), false)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Remove(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(d.Path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("default dir after Remove: %v", err)
	}
	// Someone else's directory: refused, untouched.
	mine := filepath.Join(base, "mine")
	if err := os.Mkdir(mine, 0o755); err != nil {
		t.Fatal(err)
	}
	write(filepath.Join(mine, "notes"), "mine")
	var oe *OutDirError
	if _, err := PrepareOut(mine, true); !errors.As(err, &oe) {
		t.Errorf("foreign dir: %v, want an OutDirError", err)
	}
	if b, _ := os.ReadFile(filepath.Join(mine, "notes")); string(b) != "mine" {
		t.Error("foreign dir touched")
	}
}

// liveRows are readings like those of the demo site's live collection:
// the meters each collector makes, at the recordings' values.
func liveRows() []readings.Row {
	row := func(dev, class, meter string, w float64) readings.Row {
		return readings.Row{Measurement: sample.Power, Site: "demo-dc", Device: dev, Class: class, Meter: meter, Source: "snmp",
			Recent: &readings.Recent{Samples: 10, MeanW: w, MinW: w, MaxW: w}}
	}
	return []readings.Row{
		row("ups-a", "ups", "total", 3150), row("ups-a", "ups", "input/L1", 1190), row("ups-a", "ups", "input/L2", 1140),
		row("ups-a", "ups", "input/L3", 1080), row("ups-a", "ups", "phase/L1", 1100), row("ups-a", "ups", "phase/L2", 1050), row("ups-a", "ups", "phase/L3", 1000),
		{Measurement: sample.UPS, Site: "demo-dc", Device: "ups-a", Class: "ups", Meter: "total", Source: "snmp", Values: map[string]float64{"input_w": 3410, "output_w": 3150}},
		row("pdu-r01-a", "pdu", "total", 1420), row("pdu-r01-a", "pdu", "phase/L1", 1420),
		row("pdu-r01-b", "pdu", "total", 1280), row("pdu-r01-b", "pdu", "phase/L1", 1280),
		row("pdu-r11-a", "pdu", "inlet/1", 975), row("pdu-r11-a", "pdu", "outlet/1", 160), row("pdu-r11-a", "pdu", "outlet/2", 0),
		row("pdu-r11-a", "pdu", "outlet/3", 410), row("pdu-r11-a", "pdu", "outlet/4", 380),
		row("pdu-r11-b", "pdu", "inlet/AA", 1210), row("pdu-r11-b", "pdu", "outlet/AA1", 210), row("pdu-r11-b", "pdu", "outlet/AA2", 390),
		row("pdu-r11-b", "pdu", "outlet/AA3", 560),
		row("sw-r11-poe", "switch", "pse/1", 96),
		row("srv-vdi-host11", "server", "total", 410),
		row("srv-test-app02", "server", "total", 372), row("srv-test-app02", "server", "psu/1", 190), row("srv-test-app02", "server", "psu/2", 182),
		row("srv-test-app02", "server", "psu/1/output", 176),
		row("srv-legacy07", "server", "total", 182),
		row("srv-backup12", "server", "total", 560),
	}
}

// TestHistoryModel: the history's meters agree the way real ones do, hour
// after hour: an outlet follows the server it feeds (and reads 0 while a
// policy keeps it off), an inlet holds its outlets, a UPS the PDUs it
// feeds and converts at its efficiency, phases and PSUs share their
// device's power; the planted flat line repeats one value; and the same
// hour gives the same values (deterministic).
func TestHistoryModel(t *testing.T) {
	cfg, err := config.Parse("examples/demo/site.yaml", examples.DemoYAML)
	if err != nil {
		t.Fatal(err)
	}
	loc, _ := time.LoadLocation("Europe/Copenhagen")
	p := accounting.MonthOf(2025, time.November)
	s := newScenario(p, p.From.AddDate(0, -3, 0), p.To.AddDate(0, 0, 10), loc)
	devs, order := plantModel(cfg, liveRows(), func(config.Device) time.Duration { return time.Minute })
	// The test server is off (its outlet switched off) 19:00-06:00 on the
	// 3rd.
	off := interval{s.at(3, 19), s.at(4, 6)}
	s.off["srv-test-app02"] = []interval{off}
	s.off["pdu-r11-a/outlet/4"] = []interval{off}
	s.frozen = map[*meter]float64{devs[flatPDU].tops[0]: 1234}

	w := func(v *hourValues, dev, m string) float64 {
		t.Helper()
		d := devs[dev]
		for _, x := range append(append(append([]*meter{}, d.tops...), d.parts...), d.shares...) {
			if x.ser.Meter == m {
				return v.w[x]
			}
		}
		t.Fatalf("no meter %s/%s", dev, m)
		return 0
	}
	v, again := newHourValues(), newHourValues()
	for h := p.From; h.Before(p.From.Add(10 * 24 * time.Hour)); h = h.Add(time.Hour) {
		s.hour(devs, order, h, v)
		s.hour(devs, order, h, again)
		for m, x := range v.w {
			if again.w[m] != x {
				t.Fatalf("%s %s: %v then %v", h, m.ser.Meter, x, again.w[m])
			}
		}
		sumOutlets := w(v, "pdu-r11-a", "outlet/1") + w(v, "pdu-r11-a", "outlet/2") + w(v, "pdu-r11-a", "outlet/3") + w(v, "pdu-r11-a", "outlet/4")
		if in := w(v, "pdu-r11-a", "inlet/1"); in < sumOutlets {
			t.Fatalf("%s: inlet %v < outlets %v", h, in, sumOutlets)
		}
		if ups, pdus := w(v, "ups-a", "total"), w(v, "pdu-r01-a", "total")+w(v, "pdu-r01-b", "total"); ups < pdus {
			t.Fatalf("%s: UPS %v < its PDUs %v", h, ups, pdus)
		}
		if io := v.ups["ups-a"]; math.Abs(io[1]-w(v, "ups-a", "total")) > 1e-6 || io[1]/io[0] < 0.85 || io[1]/io[0] > 0.96 {
			t.Fatalf("%s: UPS in %v out %v", h, io[0], io[1])
		}
		phases := w(v, "ups-a", "phase/L1") + w(v, "ups-a", "phase/L2") + w(v, "ups-a", "phase/L3")
		if d := phases - w(v, "ups-a", "total"); d > 1e-6 || d < -1e-6 {
			t.Fatalf("%s: phases %v, total %v", h, phases, w(v, "ups-a", "total"))
		}
		srv, out4 := w(v, "srv-test-app02", "total"), w(v, "pdu-r11-a", "outlet/4")
		offNow := off.overlap(h, h.Add(time.Hour)) == time.Hour
		switch {
		case offNow && (out4 != 0 || v.on[devs["srv-test-app02"].tops[0]] != 0):
			t.Fatalf("%s: policy off, outlet %v W, server on %v", h, out4, v.on[devs["srv-test-app02"].tops[0]])
		case !offNow && off.overlap(h, h.Add(time.Hour)) == 0 && (out4-srv < 7.9 || out4-srv > 8.1):
			t.Fatalf("%s: outlet %v W, server %v W; want the outlet 8 W above (as live)", h, out4, srv)
		}
		if psu := w(v, "srv-test-app02", "psu/1") + w(v, "srv-test-app02", "psu/2"); psu-srv > 1e-6 || srv-psu > 1e-6 {
			t.Fatalf("%s: PSUs %v, server %v", h, psu, srv)
		}
		if s.flat.overlap(h, h.Add(time.Hour)) == time.Hour && w(v, flatPDU, "inlet/AA") != 1234 {
			t.Fatalf("%s: flat line reads %v", h, w(v, flatPDU, "inlet/AA"))
		}
	}
	// Nights and days differ as the stories say.
	night, day := s.at(5, 2), s.at(5, 11) // a Wednesday
	if n, d := s.serverLoad(vdiServer, 410, night), s.serverLoad(vdiServer, 410, day); n > 0.6*d {
		t.Errorf("VDI host: %v W at night, %v W by day", n, d)
	}
}

// TestFindPlanted: a planted anomaly is found only by an anomaly of its
// kind on its device and meter that overlaps it; idle servers by a
// candidate of their kind.
func TestFindPlanted(t *testing.T) {
	from := time.Date(2025, 11, 9, 1, 0, 0, 0, time.UTC)
	planted := []Planted{
		{Kind: string(anomaly.Flatline), Device: "pdu", Meter: "inlet/AA", From: from, To: from.Add(18 * time.Hour)},
		{Kind: string(idle.Server), Idle: true, Device: "srv"},
	}
	an := &anomalies.Report{Anomalies: []anomaly.Anomaly{
		{Kind: anomaly.Flatline, Device: "pdu", Meter: "outlet/1", Start: from, End: from.Add(time.Hour)},                          // other meter
		{Kind: anomaly.Deviation, Device: "pdu", Meter: "inlet/AA", Start: from, End: from.Add(time.Hour)},                         // other kind
		{Kind: anomaly.Flatline, Device: "pdu", Meter: "inlet/AA", Start: from.Add(48 * time.Hour), End: from.Add(50 * time.Hour)}, // later
	}}
	id := &anomalies.IdleReport{Candidates: []idle.Candidate{{Kind: idle.ServerNight, Device: "srv"}}}
	for _, p := range findPlanted(planted, an, id) {
		if p.Found {
			t.Errorf("%s %s found as %s", p.Kind, p.Device, p.As)
		}
	}
	an.Anomalies = append(an.Anomalies, anomaly.Anomaly{Kind: anomaly.Flatline, Device: "pdu", Meter: "inlet/AA", Start: from.Add(time.Hour), End: from.Add(5 * time.Hour)})
	id.Candidates = append(id.Candidates, idle.Candidate{Kind: idle.Server, Device: "srv", Confidence: idle.Medium})
	for _, p := range findPlanted(planted, an, id) {
		if !p.Found {
			t.Errorf("%s %s not found", p.Kind, p.Device)
		}
	}
	err := &PlantedError{Missed: planted[:1]}
	if !strings.Contains(err.Error(), "flatline on pdu") {
		t.Errorf("error %q does not name what was missed", err)
	}
}

func TestCommandString(t *testing.T) {
	c := Command{Env: []string{"COMMUNITY=pdu a"}, Args: []string{"power", "plan", "--at", "2026-01-14 10:07", "--config", "/tmp/x/site.yaml", `a"b$`}}
	want := `COMMUNITY="pdu a" ecometer power plan --at "2026-01-14 10:07" --config /tmp/x/site.yaml "a\"b\$"`
	if got := c.String(); got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}
