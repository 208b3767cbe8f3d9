package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/reports/monthly"
)

var reportNow = time.Date(2025, 11, 15, 12, 0, 0, 0, time.UTC)

func reportRun(t *testing.T, o reportOptions) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	o.Now = reportNow
	err := runReportMonthly(context.Background(), o, streams{&out, &errOut})
	return out.String(), errOut.String(), err
}

func readReport(t *testing.T, path string) monthly.Report {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var r monthly.Report
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatal(err)
	}
	return r
}

// report monthly on the embedded store: three files with the co2 figures;
// usage errors exit 2, a month without data exits 1.
func TestReportMonthly(t *testing.T) {
	cfg, dataDir := testConfig(t, co2Sites)
	writeMonthSamples(t, dataDir)
	outDir := filepath.Join(t.TempDir(), "out")
	out, errOut, err := reportRun(t, reportOptions{Config: cfg, Month: "2025-10", Out: outDir, Lang: "en"})
	if err != nil {
		t.Fatalf("report: %v\n%s", err, errOut)
	}
	want := []string{filepath.Join(outDir, "report-2025-10.pdf"), filepath.Join(outDir, "report-2025-10.csv"), filepath.Join(outDir, "report-2025-10.json")}
	if strings.Join(strings.Fields(out), " ") != strings.Join(want, " ") {
		t.Errorf("stdout %q, want the three paths", out)
	}
	r := readReport(t, want[2])
	co2, _ := co2Run(t, co2Options{Config: cfg, Month: "2025-10", Now: reportNow})
	var energy, loc float64
	for _, s := range co2.Sites {
		energy += s.EnergyKWh
		loc += s.Location.KgCO2e
	}
	// The report's total is the co2 command's sites added up: 745 (flat)
	// + 310 (day) + 745 (chain, at its IT accounting meter, the UPS) kWh.
	if r.Summary.Total.EnergyKWh != energy || r.Summary.Total.LocationKgCO2e != loc || len(r.Summary.Sites) != 3 {
		t.Errorf("report total %v kWh / %v kg, co2 has %v / %v", r.Summary.Total.EnergyKWh, r.Summary.Total.LocationKgCO2e, energy, loc)
	}
	if pdf, _ := os.ReadFile(want[0]); !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Error("no PDF")
	}

	// --site: one site, its own file names.
	out, _, err = reportRun(t, reportOptions{Config: cfg, Month: "2025-10", Out: outDir, Site: "day"})
	if err != nil || !strings.Contains(out, "report-2025-10-day.pdf") {
		t.Errorf("--site day: %v, %q", err, out)
	}
	if r := readReport(t, filepath.Join(outDir, "report-2025-10-day.json")); r.Summary.Total.EnergyKWh != 310 || len(r.Sites) != 1 {
		t.Errorf("--site day: %v kWh, sites %v", r.Summary.Total.EnergyKWh, r.Sites)
	}

	for _, c := range []struct {
		o    reportOptions
		code int
		msg  string
	}{
		{reportOptions{Config: cfg, Month: "2025-12"}, exitBadUse, "in the future"},
		{reportOptions{Config: cfg, Month: "2025-10", Lang: "de"}, exitBadUse, "want da"},
		{reportOptions{Config: cfg, Month: "2025-10", Site: "nowhere"}, exitBadUse, "--site"},
		{reportOptions{Config: cfg, Month: "2025-10", Send: true}, exitBadUse, "report.email"},
		{reportOptions{Month: "2025-10"}, exitBadUse, "--config"},
		{reportOptions{Config: cfg, Month: "2025-08", Out: outDir}, exitRuntime, "no metered energy for 2025-08"},
	} {
		_, _, err := reportRun(t, c.o)
		if exitCode(err) != c.code || err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%+v: %v (exit %d), want exit %d with %q", c.o, err, exitCode(err), c.code, c.msg)
		}
	}
	if _, err := os.Stat(filepath.Join(outDir, "report-2025-08.pdf")); err == nil {
		t.Error("a report was written for a month without data")
	}
}

// The same month from a real InfluxDB (aggregated hourly from the raw
// points, then from the hourly rollups the service keeps) gives the same
// figures as from the embedded store.
func TestReportMonthlyInflux(t *testing.T) {
	srv := testenv.Influx(t)
	st, err := influx.New(influx.Options{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	from, to := grid.DanishMonth(2025, time.October)
	var batch []sample.Sample
	for at := from; at.Before(to); at = at.Add(5 * time.Minute) {
		for _, m := range []struct {
			site, dev, class string
			w                float64
		}{{"flat", "pdu-flat", "pdu", 1000}, {"chain", "fac", "facility", 1500}, {"chain", "ups", "ups", 1000}, {"chain", "pdu", "pdu", 600}, {"day", "pdu-day", "pdu", 0}} {
			w := m.w
			if m.site == "day" {
				if h := grid.Danish(at).Hour(); h >= 8 && h < 18 {
					w = 1000
				}
			}
			batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Site: m.site, Device: m.dev, Class: m.class,
				Meter: "total", Source: "snmp"}, Time: at, Fields: []sample.Field{sample.F("power_w", w)}})
		}
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	cfgInflux, _ := testConfig(t, co2Sites)
	// The same sites with storage on InfluxDB (storage: is the first line).
	b, _ := os.ReadFile(cfgInflux)
	text := strings.Replace(string(b), "storage: {data_dir:", fmt.Sprintf("storage: {influxdb: {url: %s, bucket: %s}, data_dir:", srv.URL, srv.Bucket), 1)
	if err := os.WriteFile(cfgInflux, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	outDir := t.TempDir()
	if _, errOut, err := reportRun(t, reportOptions{Config: cfgInflux, Month: "2025-10", Out: outDir}); err != nil {
		t.Fatalf("report from InfluxDB: %v\n%s", err, errOut)
	}
	r := readReport(t, filepath.Join(outDir, "report-2025-10.json"))
	if !strings.HasPrefix(r.Store, "InfluxDB at ") || r.Summary.Total.EnergyKWh != 745+310+745 {
		t.Errorf("InfluxDB report: store %q, %v kWh; want 1800 kWh", r.Store, r.Summary.Total.EnergyKWh)
	}
	// With the month's rollups: the same report, byte for byte.
	res, err := st.Materialize(context.Background(), from, to, nil)
	if err != nil || res.Hours != 745 {
		t.Fatalf("rollups of October 2025: %+v, %v; want 745 hours", res, err)
	}
	rolledOut := t.TempDir()
	if _, errOut, err := reportRun(t, reportOptions{Config: cfgInflux, Month: "2025-10", Out: rolledOut}); err != nil {
		t.Fatalf("report from InfluxDB's rollups: %v\n%s", err, errOut)
	}
	for _, ext := range []string{"json", "csv"} {
		raw, _ := os.ReadFile(filepath.Join(outDir, "report-2025-10."+ext))
		rolled, _ := os.ReadFile(filepath.Join(rolledOut, "report-2025-10."+ext))
		if len(raw) == 0 || !bytes.Equal(raw, rolled) {
			t.Errorf("report-2025-10.%s from the rollups differs from the one from the raw points", ext)
		}
	}

	cfgSQL, dataDir := testConfig(t, co2Sites)
	writeMonthSamples(t, dataDir)
	sqlOut := t.TempDir()
	if _, _, err := reportRun(t, reportOptions{Config: cfgSQL, Month: "2025-10", Out: sqlOut}); err != nil {
		t.Fatal(err)
	}
	rs := readReport(t, filepath.Join(sqlOut, "report-2025-10.json"))
	for i := range rs.Summary.Sites {
		a, b := rs.Summary.Sites[i], r.Summary.Sites[i]
		if a.Site != b.Site || a.EnergyKWh != b.EnergyKWh || a.Location.KgCO2e != b.Location.KgCO2e || a.CoveragePct != b.CoveragePct {
			t.Errorf("site %s: SQLite %v kWh %v kg %v %%, InfluxDB %v kWh %v kg %v %%", a.Site, a.EnergyKWh, a.Location.KgCO2e, a.CoveragePct,
				b.EnergyKWh, b.Location.KgCO2e, b.CoveragePct)
		}
	}
}
