package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/energinet/replay"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
)

// testConfig writes a config whose embedded store is in a fresh directory
// and returns its path and the data directory. extra is appended (sites,
// devices, grid).
func testConfig(t *testing.T, extra string) (file, dataDir string) {
	t.Helper()
	dataDir = filepath.Join(t.TempDir(), "data")
	if extra == "" {
		extra = "sites: [{name: dc1}]\n"
	}
	return writeFile(t, "ecometer.yaml", fmt.Sprintf("storage: {data_dir: %q}\n%s", dataDir, extra)), dataDir
}

func gridHourCount(t *testing.T, dataDir, area string) int {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hours, err := st.GridHours(context.Background(), area, time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return len(hours)
}

func TestGridImport(t *testing.T) {
	cfg, dataDir := testConfig(t, "")
	ctx := context.Background()
	// Two hours of 5-minute data: 00:00 UTC has 12 values of 100, 01:00
	// has 6 values of 200 (the other 6 empty: missing, not errors).
	var b strings.Builder
	b.WriteString("Minutes5UTC;Minutes5DK;PriceArea;CO2Emission\n")
	for i := range 24 {
		at := time.Date(2025, 10, 1, 0, 5*i, 0, 0, time.UTC)
		v := "100"
		if i >= 12 {
			v = "200,0"
			if i%2 == 1 {
				v = ""
			}
		}
		fmt.Fprintf(&b, "%s;%s;DK1;%s\n", at.Format("2006-01-02T15:04:05"), at.Add(2*time.Hour).Format("2006-01-02T15:04:05"), v)
	}
	good := writeFile(t, "CO2Emis_2025.csv", b.String())
	// Declaration with Danish local time only, across the October change:
	// 02:00 appears twice (CEST, then CET).
	decl := writeFile(t, "decl.csv", "HourDK,PriceArea,FuelAllocationMethod,CO2PerkWh\n"+
		"2025-10-26T01:00:00,DK2,125%,50\n2025-10-26T02:00:00,DK2,125%,60\n"+
		"2025-10-26T02:00:00,DK2,125%,70\n2025-10-26T03:00:00,DK2,125%,80\n")
	bad := writeFile(t, "bad.csv", "Minutes5UTC,Minutes5DK,PriceArea,CO2Emission\n"+
		"2025-10-01T00:00:00,2025-10-01T02:00:00,DK1,100\n2025-10-01T00:05:00,2025-10-01T02:05:00,DK1,abc\n")

	// A bad file among good ones: exit 2, its line and column, nothing stored.
	var out, errOut bytes.Buffer
	err := runGridImport(ctx, gridImportOptions{Config: cfg, Dataset: "CO2Emis", Files: []string{good, bad}}, streams{&out, &errOut})
	if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), bad+":3:45: CO2Emission: invalid number \"abc\"") ||
		!strings.Contains(err.Error(), "nothing imported") {
		t.Fatalf("import with a bad file: %v (exit %d)", err, exitCode(err))
	}
	if _, err := os.Stat(dataDir); err == nil && gridHourCount(t, dataDir, "DK1") != 0 {
		t.Fatal("a rejected import stored hours")
	}

	for i := range 2 { // twice: idempotent
		out.Reset()
		if err := runGridImport(ctx, gridImportOptions{Config: cfg, Dataset: "CO2Emis", Files: []string{good, decl}}, streams{&out, &errOut}); err != nil {
			t.Fatalf("import %d: %v", i, err)
		}
	}
	want := []string{
		good + ": CO2Emis, DK1, 2 hours 2025-10-01T00:00Z … 2025-10-01T01:00Z; gaps: 0 hours without data, 1 partial (fewer than 12 five-minute values)",
		"  18 records used, 6 without a value; times from the UTC column",
		decl + ": DeclarationGridEmission, DK2, 4 hours 2025-10-25T23:00Z … 2025-10-26T02:00Z; gaps: 0 hours without data",
		"  4 records used; times from Danish local time; 2 records in the repeated October hour resolved by row order (first CEST +02:00, then CET +01:00)",
		"Stored 6 hours in embedded SQLite in " + dataDir + ".",
		gridSource,
	}
	if got := strings.TrimSuffix(out.String(), "\n"); got != strings.Join(want, "\n") {
		t.Errorf("output:\n%s\nwant:\n%s", got, strings.Join(want, "\n"))
	}
	if errOut.Len() != 0 {
		t.Errorf("stderr is not a terminal, yet got %q", &errOut)
	}
	if n := gridHourCount(t, dataDir, "DK1"); n != 2 {
		t.Errorf("DK1: %d hours after importing twice, want 2", n)
	}
	if n := gridHourCount(t, dataDir, "DK2"); n != 4 {
		t.Errorf("DK2: %d hours, want 4 (the repeated hour is two UTC hours)", n)
	}

	// Stats over October 2025 in DK1: (100 + 200) / 2 = 150; 2 of 745 hours; 18 intervals.
	out.Reset()
	if err := runGridStats(ctx, gridStatsOptions{Config: cfg, Month: "2025-10", Area: "DK1", JSON: true}, streams{&out, &errOut}); err != nil {
		t.Fatal(err)
	}
	var st gridStatsJSON
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if st.MeanGPerKWh != 150 || st.MinGPerKWh != 100 || st.MaxGPerKWh != 200 || st.Hours != 2 || st.HoursInPeriod != 745 ||
		st.Intervals != 18 || st.Source != gridSource || len(st.Datasets) != 1 || st.Datasets[0] != "CO2Emis" {
		t.Errorf("stats: %+v", st)
	}
	// No data for the month: exit 1 and a hint.
	err = runGridStats(ctx, gridStatsOptions{Config: cfg, Month: "2024-10", Area: "DK1"}, streams{&out, &errOut})
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "ecometer grid import") {
		t.Errorf("stats without data: %v", err)
	}
	// Bad month: exit 2.
	if err := runGridStats(ctx, gridStatsOptions{Config: cfg, Month: "10/2025"}, streams{&out, &errOut}); exitCode(err) != exitBadUse {
		t.Errorf("bad month: %v", err)
	}
}

// The corpus through the CLI: the plain mean of DK1 in October 2025.
func TestGridImportCorpusStats(t *testing.T) {
	file := testenv.CorpusPath(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	cfg, _ := testConfig(t, "")
	var out bytes.Buffer
	ctx := context.Background()
	if err := runGridImport(ctx, gridImportOptions{Config: cfg, Dataset: "CO2EmisProg", Files: []string{file}}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}
	t.Logf("import:\n%s", &out)
	out.Reset()
	if err := runGridStats(ctx, gridStatsOptions{Config: cfg, Month: "2025-10", Area: "DK1"}, streams{&out, &out}); err != nil {
		t.Fatal(err)
	}
	t.Logf("stats:\n%s", &out)
	for _, want := range []string{"mean               89.6445 g CO2/kWh", "hours covered      745 of 745", "intervals covered  8940", gridSource} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("stats output lacks %q", want)
		}
	}
}

func TestGridFetch(t *testing.T) {
	api := &replay.Server{T: t, Records: replay.CorpusRecords(t, "2025-09-25", "2025-11-05"), Fail: 1}
	srv := httptest.NewServer(api)
	defer srv.Close()
	cfg, dataDir := testConfig(t, "")
	ctx := context.Background()
	opts := gridFetchOptions{Config: cfg, Area: "DK1", From: "2025-10-01", To: "2025-11-01", Dataset: "CO2EmisProg",
		BaseURL: srv.URL, PageSize: 1000, Backoff: time.Millisecond}
	var out, errOut bytes.Buffer
	if err := runGridFetch(ctx, opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("fetch: %v", err)
	}
	t.Logf("fetch:\n%s", &out)
	// October 2025 in Danish time: 745 hours × 12 = 8940 records, 9 pages
	// of 1000, after one 503.
	if api.Pages() != 9 || !strings.Contains(out.String(), "Fetched 8940 records in 9 pages") {
		t.Errorf("%d pages served; output:\n%s", api.Pages(), &out)
	}
	// Fetching the same period again stores nothing twice.
	if err := runGridFetch(ctx, opts, streams{&out, &errOut}); err != nil {
		t.Fatalf("second fetch: %v", err)
	}
	if n := gridHourCount(t, dataDir, "DK1"); n != 745 {
		t.Errorf("%d hours stored after fetching October twice, want 745", n)
	}
	out.Reset()
	if err := runGridStats(ctx, gridStatsOptions{Config: cfg, Month: "2025-10", Area: "DK1", JSON: true}, streams{&out, &errOut}); err != nil {
		t.Fatal(err)
	}
	var st gridStatsJSON
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatal(err)
	}
	if math.Abs(st.MeanGPerKWh-89.6445) > 5e-5 || st.Hours != 745 || st.Intervals != 8940 || st.Datasets[0] != "CO2EmisProg" {
		t.Errorf("stats of the fetched month: %+v, want mean 89.6445 over 745 hours", st)
	}

	// A client error is not retried.
	api.SetStatus(http.StatusBadRequest)
	err := runGridFetch(ctx, opts, streams{&out, &errOut})
	if err == nil || !strings.Contains(err.Error(), "HTTP 400") {
		t.Errorf("fetch with HTTP 400: %v", err)
	}
}

func TestGridFetchOffline(t *testing.T) {
	// A loopback port nothing listens on.
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	cfg, _ := testConfig(t, "")
	var out bytes.Buffer
	err := runGridFetch(context.Background(), gridFetchOptions{Config: cfg, From: "2026-10-01", To: "2026-11-01",
		Dataset: "CO2Emis", BaseURL: base, Retries: 2, Backoff: time.Millisecond}, streams{&out, &out})
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "cannot reach "+base) ||
		!strings.Contains(err.Error(), "giving up after 3 attempts") || !strings.Contains(err.Error(), "ecometer grid import") {
		t.Fatalf("offline fetch: %v", err)
	}
	t.Log(err)
	// Wrong use: exit 2.
	for _, o := range []gridFetchOptions{
		{From: "2026-10-01", To: "2026-10-01", Dataset: "CO2Emis", BaseURL: base},
		{From: "2026-10-01", To: "2026-11-01", Dataset: "Elspot", BaseURL: base},
		{From: "1/10/2026", To: "2026-11-01", Dataset: "CO2Emis", BaseURL: base},
	} {
		o.Config = cfg
		if err := runGridFetch(context.Background(), o, streams{&out, &out}); exitCode(err) != exitBadUse {
			t.Errorf("%+v: %v, want exit 2", o, err)
		}
	}
}

// The commands are reachable through run, with their exit codes.
func TestCarbonCommandsThroughRun(t *testing.T) {
	cfg, _ := testConfig(t, "")
	tests := []struct {
		args       []string
		wantCode   int
		wantStderr string
	}{
		{[]string{"grid", "import", "--config", cfg}, 2, "want at least one FILE"},
		{[]string{"grid", "import", "--config", cfg, "no-such.csv"}, 2, "no-such.csv: no such file"},
		// Read commands never create a store.
		{[]string{"grid", "stats", "--config", cfg, "--month", "2025-10"}, 1, "no store here"},
		{[]string{"grid", "stats", "--config", cfg}, 2, "month"},
		{[]string{"grid", "fetch", "--config", cfg, "--from", "2026-10-01", "--to", "2026-11-01", "--base-url", "ftp://x"}, 2, "--base-url"},
		{[]string{"co2", "--config", cfg, "--month", "2025-10"}, 1, "no store here"},
		{[]string{"co2", "--config", cfg, "--month", "2999-01"}, 2, "month 2999-01 is in the future"},
		{[]string{"co2", "target", "--config", cfg}, 1, "no store here"},
		{[]string{"co2", "--month", "2025-10"}, 2, "--config FILE is required"},
		{[]string{"inventory", "import", "--config", cfg}, 2, "want exactly one FILE"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args[:2], " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"ecometer"}, tt.args...), &stdout, &stderr)
			if code != tt.wantCode || !strings.Contains(stderr.String(), tt.wantStderr) {
				t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tt.args, code, &stderr, tt.wantCode, tt.wantStderr)
			}
		})
	}
}
