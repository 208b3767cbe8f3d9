package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/control/plan"
	"github.com/ecometer/ecometer/internal/demo"
	"github.com/ecometer/ecometer/internal/testenv"
)

// demoNow is the demo's clock in the tests: a Wednesday in January 2026,
// so the report month is December 2025, which ecometer's built-in grid
// data covers hour by hour.
var demoNow = time.Date(2026, 1, 14, 9, 7, 0, 0, time.UTC)

// demoMonths is the history of the tests: the shortest the anomaly
// baselines and the idle finder accept (every part runs; the report's
// charts have fewer months).
const demoMonths = demo.MinMonths

// TestDemoEndToEnd runs `ecometer demo --keep` and checks every part: the
// simulated site answered the real collectors, the history holds what was
// planted and the detection found it, the report (PDF, CSV, JSON) has its
// sections and the savings and anomalies, the plan and the procurement
// check were written, and every command the demo prints works as printed,
// those that talk to the simulated devices while it keeps them.
func TestDemoEndToEnd(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	var out, errOut bytes.Buffer
	var next []demo.Command
	var kept *demo.Result
	// The corpus's Boavizta data gives the report's embodied section class
	// medians (the example inventory has no product footprints).
	boavizta := ""
	if c, err := testenv.CorpusDir(); err == nil {
		boavizta = filepath.Join(c, "embodied", "boavizta-data-us.csv")
		if _, err := os.Stat(boavizta); err != nil {
			testenv.RequireOrSkip(t, "without the corpus's Boavizta data the embodied section stays empty: "+err.Error())
			boavizta = ""
		}
	}
	err := runDemo(context.Background(), demoOptions{Out: dir, Keep: true, Months: demoMonths, Now: demoNow, Boavizta: boavizta,
		Kept: func(r *demo.Result) {
			kept = r
			next = r.Next(demoNow)
			// While the site runs: the commands that talk to it.
			for _, c := range next {
				if c.Site && c.Args[0] != "serve" {
					runPrinted(t, c)
				}
			}
		}}, streams{Out: &out, ErrOut: &errOut})
	got := out.String()
	t.Log(got)
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, errOut.String())
	}
	if kept == nil {
		t.Fatal("--keep did not keep the site")
	}

	// 1-7 printed, each planted anomaly and idle server found.
	for _, want := range []string{"1. Simulated site", "2. Live collection", "3. History", "4. Anomalies in 2025-12",
		"5. Monthly report 2025-12", "6. Power-down plan", "7. Procurement", "Planted: 5 of 5 found.",
		"flatline", "ups_efficiency_drop", "deviation", "srv-legacy07", "srv-vdi-host11",
		"built-in Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset), hourly",
		"While this runs, the simulated devices answer"} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if n := strings.Count(got, "← planted"); n != 5 {
		t.Errorf("%d planted findings marked, want 5", n)
	}
	for _, p := range kept.Planted {
		if !p.Found {
			t.Errorf("planted %s on %s not found", p.Kind, p.Device)
		}
	}
	// Every device was polled live over the wire, read back through the
	// store.
	if kept.Live.Devices != 10 || kept.Live.Polls < 10*(demo.LiveMinutes/5) {
		t.Errorf("live: %d devices, %d polls", kept.Live.Devices, kept.Live.Polls)
	}
	if m := regexp.MustCompile(`(?m)^\s+(\S+)\s+\(device\)\s.*UNREACHABLE`).FindString(got); m != "" {
		t.Errorf("a device was unreachable: %s", m)
	}

	// The effective config loads as every command loads it.
	if _, err := collection.Load(filepath.Join(dir, "site.yaml")); err != nil {
		t.Errorf("site.yaml: %v", err)
	}
	checkDemoReport(t, dir, "2025-12", boavizta != "")
	checkDemoPlan(t, dir)
	checkDemoProcurement(t, dir, got)

	// The commands printed for after the demo, as printed.
	printed := 0
	for _, c := range next {
		if !strings.Contains(got, c.String()) {
			t.Errorf("command not printed as run: %s", c)
		}
		if !c.Site {
			runPrinted(t, c)
			printed++
		}
	}
	if printed < 8 {
		t.Errorf("%d commands to run next, want at least 8", printed)
	}
	if _, err := os.Stat(filepath.Join(dir, "reports-da", "report-2025-12.pdf")); err != nil {
		t.Errorf("the Danish report of the printed command: %v", err)
	}
}

// runPrinted runs a printed command through the CLI and checks its exit
// code and that it printed something.
func runPrinted(t *testing.T, c demo.Command) {
	t.Helper()
	for _, e := range c.Env {
		name, v, _ := strings.Cut(e, "=")
		t.Setenv(name, v)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"ecometer"}, c.Args...), &out, &errOut)
	if code != c.Exit || out.Len() == 0 {
		t.Errorf("%s: exit %d (want %d), %d bytes out\n%s%s", c, code, c.Exit, out.Len(), out.String(), errOut.String())
	}
}

// checkDemoReport: the three files of the report, with the sections and
// figures the demo's story puts in them.
func checkDemoReport(t *testing.T, dir, month string, withBoavizta bool) {
	t.Helper()
	base := filepath.Join(dir, "reports", "report-"+month)
	var js struct {
		Month   string `json:"month"`
		Summary struct {
			Total struct {
				EnergyKWh   float64 `json:"energy_kwh"`
				CoveragePct float64 `json:"coverage_pct"`
			} `json:"total"`
		} `json:"summary"`
		PowerDown *struct {
			KWhAvoided float64 `json:"kwh_avoided"`
			Policies   []struct {
				Name string `json:"name"`
			} `json:"policies"`
		} `json:"power_down"`
		Anomalies *struct {
			Items []struct {
				Device string `json:"device"`
				Meter  string `json:"meter"`
				Kind   string `json:"kind"`
			} `json:"items"`
			Idle []struct {
				Device string `json:"device"`
				Kind   string `json:"kind"`
			} `json:"idle"`
		} `json:"anomalies"`
		Grid struct {
			Energinet bool `json:"energinet_data_used"`
		} `json:"grid"`
		Embodied *struct {
			KgCO2e     float64 `json:"kg_co2e"`
			Amortising int     `json:"assets_in_amortisation_period"`
			Missing    []any   `json:"missing"`
		} `json:"embodied"`
		Sources []string `json:"sources"`
	}
	b, err := os.ReadFile(base + ".json")
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &js); err != nil {
		t.Fatal(err)
	}
	if js.Month != month || js.Summary.Total.EnergyKWh <= 0 || js.Summary.Total.CoveragePct < 99 {
		t.Errorf("report %s: %v kWh, coverage %v %%", js.Month, js.Summary.Total.EnergyKWh, js.Summary.Total.CoveragePct)
	}
	if js.PowerDown == nil || js.PowerDown.KWhAvoided <= 0 || len(js.PowerDown.Policies) != 1 || js.PowerDown.Policies[0].Name != "test-servers-night" {
		t.Errorf("power_down %+v, want test-servers-night's measured savings", js.PowerDown)
	}
	kinds := map[string]bool{}
	if js.Anomalies != nil {
		for _, a := range js.Anomalies.Items {
			kinds[a.Device+"/"+a.Meter+" "+a.Kind] = true
		}
		for _, c := range js.Anomalies.Idle {
			kinds[c.Device+" "+c.Kind] = true
		}
	}
	for _, k := range []string{"pdu-r11-b/inlet/AA flatline", "ups-a/total ups_efficiency_drop", "pdu-r01-b/total deviation",
		"srv-legacy07 server", "srv-vdi-host11 server_night"} {
		if !kinds[k] {
			t.Errorf("report anomalies lack %q (have %v)", k, kinds)
		}
	}
	if !js.Grid.Energinet || !slices.ContainsFunc(js.Sources, func(s string) bool { return strings.Contains(s, "Energinet") }) || js.Embodied == nil {
		t.Errorf("grid energinet %v, sources %v, embodied %v", js.Grid.Energinet, js.Sources, js.Embodied != nil)
	}
	if withBoavizta && js.Embodied != nil && (js.Embodied.KgCO2e <= 0 || js.Embodied.Amortising == 0 || len(js.Embodied.Missing) != 0) {
		t.Errorf("embodied with the Boavizta class medians: %+v", *js.Embodied)
	}

	f, err := os.Open(base + ".csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) < 20 {
		t.Fatalf("csv: %d rows, %v", len(rows), err)
	}
	sections := map[string]bool{}
	for _, r := range rows[1:] {
		sections[r[0]] = true
	}
	for _, s := range []string{"summary", "power_down", "anomaly", "grid", "data_quality"} {
		if !sections[s] {
			t.Errorf("csv lacks section %q (has %v)", s, sections)
		}
	}

	bin, err := exec.LookPath("pdftotext")
	if err != nil {
		testenv.RequireOrSkip(t, "pdftotext not found: apt-get install poppler-utils")
		return
	}
	txt, err := exec.Command(bin, "-layout", "-enc", "UTF-8", base+".pdf", "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Monthly sustainability report", "December 2025", "2. The path to the reduction target",
		"4. Where the energy went", "6. The grid's CO₂ intensity", "7. Savings from powering down", "test-servers-night",
		"Unusual consumption", "Meter shows the same value for hours", "UPS converts less efficiently",
		"Equipment that could be switched off", "Server near idle all the time", "8. Embodied emissions", "9. Data quality", "Source: Energinet (www.energidataservice.dk)"} {
		if !strings.Contains(string(txt), want) {
			t.Errorf("report PDF lacks %q", want)
		}
	}
}

// checkDemoPlan: the plan is a dry run of the example policy for the test
// server and its outlet, off tonight and on before the morning.
func checkDemoPlan(t *testing.T, dir string) {
	t.Helper()
	p, err := plan.Read(filepath.Join(dir, "plan.json"))
	if err != nil {
		t.Fatal(err)
	}
	ops := map[string]bool{}
	for _, s := range p.Steps {
		ops[s.Op+" "+s.Target.String()] = true
	}
	for _, want := range []string{"off srv-test-app02", "off pdu-r11-a/outlet/4", "on pdu-r11-a/outlet/4", "on srv-test-app02"} {
		if !ops[want] {
			t.Errorf("plan lacks %q (has %v)", want, ops)
		}
	}
	if len(p.Windows) == 0 || !p.Windows[0].From.After(demoNow) || p.Expected.KWh <= 0 {
		t.Errorf("plan windows %+v, expected %+v; want tonight's window and a saving", p.Windows, p.Expected)
	}
}

// checkDemoProcurement: every offer of the example sheets got a verdict,
// in the output and in the written report.
func checkDemoProcurement(t *testing.T, dir, out string) {
	t.Helper()
	md, err := os.ReadFile(filepath.Join(dir, "procurement", "check.md"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "procurement", "check.pdf")); err != nil {
		t.Error(err)
	}
	verdict := regexp.MustCompile(`(?m)^   (\S+)\s+.*\s(pass|fail|incomplete)\s`)
	found := map[string]string{}
	for _, m := range verdict.FindAllStringSubmatch(out, -1) {
		found[m[1]] = m[2]
	}
	for _, id := range []string{"mon-a", "mon-b", "mon-c", "srv-a", "srv-b", "srv-c"} {
		if found[id] == "" || !strings.Contains(string(md), id) {
			t.Errorf("offer %s: verdict %q in the output, in check.md %v", id, found[id], strings.Contains(string(md), id))
		}
	}
	// mon-c's sheet declares nothing a requirement could check.
	if found["mon-c"] != "incomplete" {
		t.Errorf("mon-c is %q, want incomplete", found["mon-c"])
	}
}

// cancelOn is a progress writer that cancels when a step starts.
type cancelOn struct {
	step   string
	cancel context.CancelFunc
}

func (c cancelOn) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(c.step)) {
		c.cancel()
	}
	return len(p), nil
}

// TestDemoInterrupted: Ctrl-C removes what the demo wrote; a directory the
// user named stays (empty), the default one, which the demo owns, goes.
func TestDemoInterrupted(t *testing.T) {
	for _, named := range []bool{true, false} {
		t.Run(map[bool]string{true: "named", false: "default"}[named], func(t *testing.T) {
			t.Chdir(t.TempDir())
			o := demoOptions{Months: demoMonths, Now: demoNow}
			dir := demo.DefaultOut
			if named {
				dir = "mine"
				o.Out = dir
				if err := os.Mkdir(dir, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			o.Progress = cancelOn{step: "writing the history", cancel: cancel}
			err := runDemo(ctx, o, streams{Out: io.Discard, ErrOut: io.Discard})
			if err == nil || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("err = %v, want interrupted", err)
			}
			entries, statErr := os.ReadDir(dir)
			switch {
			case named && (statErr != nil || len(entries) != 0):
				t.Errorf("named dir: %v, %d entries left; want it kept, empty", statErr, len(entries))
			case !named && !errors.Is(statErr, os.ErrNotExist):
				t.Errorf("default dir: %v; want it removed", statErr)
			}
		})
	}
}

// TestDemoOutDir: a directory that is neither new, empty nor a demo's
// output is refused (exit 2) and left as it was; bad usage exits 2.
func TestDemoOutDir(t *testing.T) {
	dir := t.TempDir()
	keep := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(keep, []byte("mine"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    demoOptions
	}{
		{"foreign dir", demoOptions{Out: dir, Months: demoMonths, Now: demoNow}},
		{"months", demoOptions{Out: filepath.Join(dir, "x"), Months: 2, Now: demoNow}},
		{"future month", demoOptions{Out: filepath.Join(dir, "x"), Months: demoMonths, Month: "2026-01", Now: demoNow}},
		{"before the grid data", demoOptions{Out: filepath.Join(dir, "x"), Months: 14, Month: "2022-06", Now: demoNow}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := runDemo(context.Background(), tt.o, streams{Out: io.Discard, ErrOut: io.Discard})
			if code := exitCode(err); code != exitBadUse {
				t.Errorf("exit %d (%v), want 2", code, err)
			}
		})
	}
	if b, err := os.ReadFile(keep); err != nil || string(b) != "mine" {
		t.Errorf("the foreign directory was touched: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "x")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused run created its directory: %v", err)
	}
}
