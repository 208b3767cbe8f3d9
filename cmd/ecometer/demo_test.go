package main

import (
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/models/grid/builtin"
)

// TestRunDemo runs the whole demo: the SNMP simulator on loopback, real
// polls, the embedded store, energy and CO2e. The figures are checked
// against each other: the site total is the UPS's own meter (not UPS + PDUs),
// the PDUs' energy is below it, and CO2e = kWh × the built-in 2025 DK1 mean,
// which stands in for 2026 (the demo has no imported grid data and no
// configured factor).
func TestRunDemo(t *testing.T) {
	var out, errOut bytes.Buffer
	dir := t.TempDir()
	now := func() time.Time { return time.Date(2026, 11, 26, 9, 0, 0, 0, time.UTC) }
	opts := demoOptions{Config: examples.DemoYAML, Recordings: examples.Demo, Hours: 2, DataDir: dir, Now: now}
	if err := runDemo(context.Background(), opts, streams{Out: &out, ErrOut: &errOut}); err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	got := out.String()
	t.Log(got)
	num := func(pattern string) float64 {
		t.Helper()
		m := regexp.MustCompile(pattern).FindStringSubmatch(got)
		if m == nil {
			t.Fatalf("output lacks %s:\n%s", pattern, got)
		}
		v, err := strconv.ParseFloat(m[1], 64)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	// 2 h of 60 s polls for 3 devices.
	if n := num(`(\d+) polls over real SNMP`); n != 360 {
		t.Errorf("%v polls, want 360", n)
	}
	ups := num(`ups-a\s+total\s+([\d.]+)`)
	pduA := num(`pdu-r01-a\s+total\s+([\d.]+)`)
	pduB := num(`pdu-r01-b\s+total\s+([\d.]+)`)
	site := num(`IT energy\s+([\d.]+) kWh at ups-a/total only`)
	if site != ups {
		t.Errorf("site IT energy %v kWh, want the UPS's own %v kWh (no double counting)", site, ups)
	}
	// The recordings: UPS output 3150 W, PDUs 1420 W and 1280 W, ±12 %.
	if ups < 2*3.15*0.88 || ups > 2*3.15*1.12 || pduA+pduB >= ups {
		t.Errorf("energies UPS %v, PDUs %v + %v kWh do not fit the recordings", ups, pduA, pduB)
	}
	if unmetered := num(`([\d.]+) kWh losses/unmetered`); unmetered < ups-pduA-pduB-0.002 || unmetered > ups-pduA-pduB+0.002 {
		t.Errorf("unmetered %v kWh, want UPS − PDUs = %v", unmetered, ups-pduA-pduB)
	}
	d, err := builtin.Data()
	if err != nil {
		t.Fatal(err)
	}
	var g float64
	for _, m := range d.Annual {
		if m.Area == "DK1" && m.Year == 2025 {
			g = float64(m.Intensity)
		}
	}
	if kg := num(`location-based\s+([\d.]+) kg`); g == 0 || kg < site*g/1000-0.001 || kg > site*g/1000+0.001 {
		t.Errorf("location-based %v kg, want %v kWh × %v g/kWh", kg, site, g)
	}
	for _, want := range []string{
		"built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), annual mean (no imported data or factor for 2026; the nearest year's stands in)",
		"PUE               1.60 assumed", "2026-11-25 00:00", "Source: Energinet (www.energidataservice.dk)"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if strings.Contains(got, "demo value") {
		t.Error("the demo still uses an invented grid factor")
	}
}

func TestRunDemoRejectsBadHours(t *testing.T) {
	err := runDemo(context.Background(), demoOptions{Config: examples.DemoYAML, Recordings: examples.Demo, Hours: 0, Now: time.Now},
		streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	if code := exitCode(err); code != exitBadUse {
		t.Fatalf("runDemo(--hours 0) = %v (exit %d), want a usage error", err, code)
	}
}
