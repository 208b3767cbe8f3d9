package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// anomalySite writes six weeks of 15-minute samples up to until into a
// store in dir: pdu-a's total steps up 40 % two days before until; its
// outlet 1 draws 4 W; srv-1 draws a flat 120 W. It returns the config.
func anomalySite(t *testing.T, until time.Time) string {
	t.Helper()
	dir := t.TempDir()
	cfg := writeFile(t, "site.yaml", fmt.Sprintf(`sites:
  - {name: dc1, price_area: DK1}
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, interval: 15m, snmp: {community: env:ECOMETER_TEST_COMMUNITY}}
  - {name: srv-1, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, interval: 15m, feeds: pdu-a/total, redfish: {user: u, password: env:ECOMETER_TEST_PASSWORD}}
storage:
  data_dir: %s
`, filepath.Join(dir, "data")))
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ser := func(device, class, meter string) sample.Series {
		return sample.Series{Measurement: sample.Power, Site: "dc1", Device: device, Class: class, Meter: meter, Source: "snmp"}
	}
	var batch []sample.Sample
	i := 0
	for at := until.AddDate(0, 0, -42); at.Before(until); at = at.Add(15 * time.Minute) {
		i++
		wobble := 1 + 0.02*math.Sin(float64(i)*1.7) // deterministic noise
		w := 2000 * wobble
		if until.Sub(at) <= 48*time.Hour {
			w *= 1.4
		}
		batch = append(batch,
			sample.Sample{Series: ser("pdu-a", "pdu", "total"), Time: at, Fields: []sample.Field{sample.F("power_w", w)}},
			sample.Sample{Series: ser("pdu-a", "pdu", "outlet/1"), Time: at, Fields: []sample.Field{sample.F("power_w", 4*wobble)}},
			sample.Sample{Series: ser("srv-1", "server", "total"), Time: at, Fields: []sample.Field{sample.F("power_w", 120*wobble)}})
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestAnomaliesCommand(t *testing.T) {
	until := time.Date(2025, 3, 24, 0, 0, 0, 0, time.UTC)
	cfg := anomalySite(t, until)
	untilArg := until.Format(time.RFC3339)
	run1 := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"ecometer"}, args...), &out, &errOut)
		return code, out.String(), errOut.String()
	}

	code, out, errOut := run1("anomalies", "--config", cfg, "--until", untilArg, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep struct {
		Meters    int `json:"meters"`
		Anomalies []struct {
			Kind, Device, Meter string
			Open                bool
			Start               time.Time
			Explanation         string
		} `json:"anomalies"`
		Open  map[string]int `json:"open_by_kind"`
		Store string         `json:"store"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if rep.Meters != 3 || len(rep.Anomalies) != 1 || rep.Anomalies[0].Kind != "deviation" || rep.Anomalies[0].Device != "pdu-a" ||
		!rep.Anomalies[0].Open || !rep.Anomalies[0].Start.Equal(until.Add(-48*time.Hour)) || rep.Open["deviation"] != 1 ||
		!strings.Contains(rep.Store, "embedded SQLite") {
		t.Errorf("got %+v", rep)
	}

	code, out, _ = run1("anomalies", "--config", cfg, "--until", untilArg)
	if code != 0 || !strings.Contains(out, "OPEN deviation") || !strings.Contains(out, "pdu-a/total drew 40 % more than usual") ||
		!strings.Contains(out, "1 anomaly: deviation 1 (1 open)") {
		t.Errorf("text output (exit %d):\n%s", code, out)
	}
	t.Logf("text output:\n%s", out)

	code, out, errOut = run1("idle", "--config", cfg, "--until", untilArg, "--intensity", "100", "--json")
	if code != 0 {
		t.Fatalf("idle: exit %d: %s", code, errOut)
	}
	var ir struct {
		Candidates []struct {
			Kind, Device, Meter string
			Confidence          string
			SavedKWh            float64 `json:"saved_kwh_per_year"`
			SavedKg             float64 `json:"saved_kg_co2e_per_year"`
		} `json:"candidates"`
	}
	if err := json.Unmarshal([]byte(out), &ir); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(ir.Candidates) != 2 || ir.Candidates[0].Device != "srv-1" || ir.Candidates[0].Confidence != "low" ||
		ir.Candidates[1].Meter != "outlet/1" || math.Abs(ir.Candidates[1].SavedKg-ir.Candidates[1].SavedKWh/10) > 1e-9 {
		t.Errorf("idle: %+v", ir)
	}
	code, out, _ = run1("idle", "--config", cfg, "--until", untilArg, "--intensity", "100")
	if code != 0 || !strings.Contains(out, "switch the outlet off: pdu-a/outlet/1") || !strings.Contains(out, "100.0 g CO2e/kWh, --intensity") {
		t.Errorf("idle text (exit %d):\n%s", code, out)
	}
	t.Logf("idle text output:\n%s", out)
}

func TestAnomaliesUsage(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"anomalies"}, "--config FILE is required"},
		{[]string{"anomalies", "--config", exampleFile, "--since", "7x"}, `--since "7x"`},
		{[]string{"anomalies", "--config", exampleFile, "--since", "10m"}, "at least an hour"},
		{[]string{"anomalies", "--config", exampleFile, "--until", "24/3"}, `--until "24/3"`},
		{[]string{"anomalies", "--config", exampleFile, "extra"}, "unexpected argument"},
		{[]string{"idle"}, "--config FILE is required"},
		{[]string{"idle", "--config", exampleFile, "--days", "0"}, "--days must be at least 1"},
		{[]string{"idle", "--config", exampleFile, "--intensity", "-1"}, "--intensity must not be negative"},
	}
	for _, tt := range tests {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"ecometer"}, tt.args...), &out, &errOut)
		if code != exitBadUse || !strings.Contains(errOut.String(), tt.want) {
			t.Errorf("%q: exit %d, stderr %q; want 2 and %q", tt.args, code, errOut.String(), tt.want)
		}
	}
}

func TestParseSince(t *testing.T) {
	for in, want := range map[string]time.Duration{"7d": 7 * 24 * time.Hour, "36h": 36 * time.Hour, " 30d ": 30 * 24 * time.Hour} {
		if got, err := parseSince(in); err != nil || got != want {
			t.Errorf("parseSince(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
}
