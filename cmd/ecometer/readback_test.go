package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// energy and co2 come from the same accounting: a site's groups add up to
// co2's energy, the UPS and the PDU behind it are not counted twice, and
// what the UPS measures beyond the PDU is losses/unmetered.
func TestEnergyAgreesWithCO2(t *testing.T) {
	cfg, dataDir := testConfig(t, co2Sites)
	writeMonthSamples(t, dataDir)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	co2, _ := co2Run(t, co2Options{Config: cfg, Month: "2025-10", Now: now})

	for _, by := range []string{"device", "rack", "room", "class", "site"} {
		var out, errOut bytes.Buffer
		if err := runEnergy(context.Background(), energyOptions{Config: cfg, Month: "2025-10", By: by, JSON: true, Now: now},
			streams{&out, &errOut}); err != nil {
			t.Fatalf("energy --by %s: %v\n%s", by, err, &errOut)
		}
		var res energyJSON
		if err := json.Unmarshal(out.Bytes(), &res); err != nil {
			t.Fatal(err)
		}
		sums := map[string]float64{}
		for _, g := range res.Groups {
			sums[g.Site] += g.EnergyKWh
		}
		for _, site := range co2.Sites {
			want := site.EnergyKWh
			if site.Site == "chain" {
				want = 745 // the UPS's IT energy; co2 counts the same (IT level)
			}
			if math.Abs(sums[site.Site]-want) > 1e-6 || math.Abs(site.EnergyKWh-want) > 1e-6 {
				t.Errorf("--by %s: site %s groups sum to %.6f kWh, co2 says %.6f; want %.6f", by, site.Site, sums[site.Site], site.EnergyKWh, want)
			}
		}
		if by != "device" {
			continue
		}
		got := map[string][2]float64{}
		for _, g := range res.Groups {
			got[g.Key] = [2]float64{g.EnergyKWh, g.LossesKWh}
		}
		// ups 1000 W, pdu 600 W behind it, 745 h: the PDU 447 kWh, the UPS's
		// own share 298 kWh, all of it losses/unmetered. The facility meter
		// is above the IT level: listed, not counted.
		for key, want := range map[string][2]float64{"pdu": {447, 0}, "ups": {298, 298}, "pdu-flat": {745, 0}} {
			if g := got[key]; math.Abs(g[0]-want[0]) > 1e-6 || math.Abs(g[1]-want[1]) > 1e-6 {
				t.Errorf("device %s: %v kWh (losses), want %v", key, g, want)
			}
		}
		if _, ok := got["fac"]; ok {
			t.Error("the facility meter above the IT level is counted in an IT-level site")
		}
	}

	// CSV: one row per group with a header; text names the counted meters.
	var out bytes.Buffer
	if err := runEnergy(context.Background(), energyOptions{Config: cfg, Month: "2025-10", By: "class", CSV: true, Site: "chain", Now: now},
		streams{&out, io.Discard}); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "site,by,key,energy_kwh,losses_unmetered_kwh,meters,coverage_pct" {
		t.Errorf("CSV: %v %q", err, rows)
	}
	out.Reset()
	if err := runEnergy(context.Background(), energyOptions{Config: cfg, Month: "2025-10", By: "device", Site: "chain", Now: now},
		streams{&out, io.Discard}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Site chain: 745.000 kWh metered at the it accounting level, coverage 100.0 %",
		"yes (it accounting meter)", "no (facility accounting meter; the site's total is taken at the it level)"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("energy text lacks %q:\n%s", want, &out)
		}
	}
}

// A month without data is an error, never "0.000 kWh" with exit 0; a month
// not yet begun is refused.
func TestEnergyAndCO2RefuseEmptyAndFutureMonths(t *testing.T) {
	cfg, dataDir := testConfig(t, co2Sites)
	writeMonthSamples(t, dataDir) // October 2025 only
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		month    string
		wantCode int
		want     string
	}{
		{"2025-09", exitRuntime, "no metered energy for 2025-09"},
		{"2026-02", exitBadUse, "month 2026-02 is in the future"},
	} {
		var errOut bytes.Buffer
		err := runEnergy(context.Background(), energyOptions{Config: cfg, Month: tc.month, By: "device", Now: now}, streams{io.Discard, &errOut})
		if exitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("energy %s: %v (exit %d), want exit %d and %q", tc.month, err, exitCode(err), tc.wantCode, tc.want)
		}
		err = runCO2(context.Background(), co2Options{Config: cfg, Month: tc.month, Now: now}, streams{io.Discard, &errOut})
		if exitCode(err) != tc.wantCode || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("co2 %s: %v (exit %d), want exit %d and %q", tc.month, err, exitCode(err), tc.wantCode, tc.want)
		}
		if tc.wantCode == exitRuntime && !strings.Contains(errOut.String(), "WARNING: site flat has no metered energy in 2025-09") {
			t.Errorf("no warning line per site:\n%s", &errOut)
		}
	}
}

func TestReadings(t *testing.T) {
	cfg, dataDir := testConfig(t, co2Sites)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	ser := sample.Series{Measurement: sample.Power, Site: "flat", Device: "pdu-flat", Class: "pdu", Meter: "total", Source: "snmp"}
	dev := ser
	dev.Measurement, dev.Meter = sample.Device, ""
	var batch []sample.Sample
	for i, w := range []float64{900, 1100, 1000, 1300} { // the last four minutes
		at := now.Add(time.Duration(i-4) * time.Minute)
		batch = append(batch, sample.Sample{Series: ser, Time: at, Fields: []sample.Field{sample.F("power_w", w), sample.F("energy_kwh", 100+float64(i))}},
			sample.Sample{Series: dev, Time: at, Fields: []sample.Field{sample.B("reachable", true), sample.F("poll_ms", 12)}})
	}
	old := sample.Series{Measurement: sample.Power, Site: "day", Device: "pdu-day", Class: "pdu", Meter: "total", Source: "snmp"}
	batch = append(batch, sample.Sample{Series: old, Time: now.Add(-3 * time.Hour), Fields: []sample.Field{sample.F("power_w", 5)}})
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	st.Close()

	var out bytes.Buffer
	if err := runReadings(context.Background(), readingsOptions{Config: cfg, Since: time.Hour, JSON: true, Now: now}, streams{&out, io.Discard}); err != nil {
		t.Fatal(err)
	}
	var res readingsJSON
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Series) != 3 {
		t.Fatalf("%d series, want 3: %+v", len(res.Series), res.Series)
	}
	// Ordered by site: day first (stale), then flat's device and power rows.
	day, flatDev, flat := res.Series[0], res.Series[1], res.Series[2]
	if day.Device != "pdu-day" || !day.Stale || day.Recent != nil {
		t.Errorf("pdu-day: %+v, want stale without recent power", day)
	}
	if flatDev.Measurement != sample.Device || flatDev.Values["reachable"] != 1 || flatDev.Values["poll_ms"] != 12 {
		t.Errorf("pdu-flat device row: %+v", flatDev)
	}
	if flat.Values["power_w"] != 1300 || flat.Values["energy_kwh"] != 103 || flat.Stale ||
		flat.Recent == nil || flat.Recent.Samples != 4 || flat.Recent.MinW != 900 || flat.Recent.MaxW != 1300 || flat.Recent.MeanW != 1075 {
		t.Errorf("pdu-flat power: %+v recent %+v", flat, flat.Recent)
	}

	out.Reset()
	if err := runReadings(context.Background(), readingsOptions{Config: cfg, Device: "pdu-flat", Since: time.Hour, Now: now}, streams{&out, io.Discard}); err != nil {
		t.Fatal(err)
	}
	if s := out.String(); !strings.Contains(s, "1300.0 W, 103.000 kWh") || !strings.Contains(s, "4, 900.0 / 1075.0 / 1300.0") || strings.Contains(s, "pdu-day") {
		t.Errorf("readings text:\n%s", s)
	}
	out.Reset()
	if err := runReadings(context.Background(), readingsOptions{Config: cfg, Since: time.Hour, CSV: true, Now: now}, streams{&out, io.Discard}); err != nil {
		t.Fatal(err)
	}
	if rows, err := csv.NewReader(&out).ReadAll(); err != nil || len(rows) != 4 || rows[0][0] != "measurement" {
		t.Errorf("CSV: %v, %d rows", err, len(rows))
	}
	err = runReadings(context.Background(), readingsOptions{Config: cfg, Device: "nope", Since: time.Hour, Now: now}, streams{io.Discard, io.Discard})
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), "holds nothing for device nope") {
		t.Errorf("unknown device: %v", err)
	}
}

// A relative data_dir is taken from the config file's directory: the same
// answer from any working directory.
func TestRelativeDataDirFromAnotherDirectory(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte("storage: {data_dir: data}\n"+co2Sites), 0o600); err != nil {
		t.Fatal(err)
	}
	writeMonthSamples(t, filepath.Join(dir, "data"))
	t.Chdir(t.TempDir()) // elsewhere, with no data of its own
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	res, _ := co2Run(t, co2Options{Config: cfg, Month: "2025-10", Site: "flat", Now: now})
	if fl := siteOf(t, res, "flat"); fl.EnergyKWh != 745 {
		t.Errorf("flat from another directory: %v kWh, want 745", fl.EnergyKWh)
	}
	if _, err := os.Stat("data"); err == nil {
		t.Error("a store was created in the working directory")
	}
}

// A user who may read the store but not write it runs every read command;
// nothing is created, migrated or changed.
func TestReadOnlyUser(t *testing.T) {
	if os.Getenv("ECOMETER_TEST_READONLY_CHILD") == "1" {
		readOnlyChild(t)
		return
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte("storage: {data_dir: data}\n"+co2Sites), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "data")
	writeMonthSamples(t, data)
	before := snapshot(t, data)

	cmd := exec.Command(os.Args[0], "-test.run=^TestReadOnlyUser$", "-test.count=1")
	cmd.Env = append(os.Environ(), "ECOMETER_TEST_READONLY_CHILD=1", "ECOMETER_TEST_READONLY_CONFIG="+cfg)
	if os.Geteuid() == 0 {
		// root reads and writes everything: run the child as nobody, on a
		// copy of the test binary it may execute, over files it may only read.
		bin := filepath.Join(t.TempDir(), "ecometer.test")
		copyFile(t, os.Args[0], bin, 0o755)
		// The directories as an administrator would grant read access.
		for _, d := range []string{filepath.Dir(bin), filepath.Dir(filepath.Dir(bin)), dir, filepath.Dir(dir), data} {
			if err := os.Chmod(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		cmd.Path, cmd.Args[0] = bin, bin
		cmd.Dir = "/"
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		cmd.Env = append(cmd.Env, "HOME=/", "GOCACHE=/nonexistent")
	} else {
		for _, p := range []string{filepath.Join(data, sqlite.FileName), data} {
			mode := os.FileMode(0o444)
			if p == data {
				mode = 0o555
			}
			if err := os.Chmod(p, mode); err != nil {
				t.Fatal(err)
			}
		}
		t.Cleanup(func() { os.Chmod(data, 0o755) })
	}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("read commands as a read-only user: %v\n%s", err, out)
	}
	if after := snapshot(t, data); after != before {
		t.Errorf("the store changed under read commands:\nbefore %s\nafter  %s", before, after)
	}

	// Again while a writer (serve) has the store open: its -wal and -shm
	// files exist, owned by the writer.
	if os.Geteuid() != 0 {
		return // a non-root writer could not open the read-only files
	}
	w, err := sqlite.Open(context.Background(), sqlite.Options{Path: data})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	extra := sample.Sample{Series: sample.Series{Measurement: sample.Device, Site: "flat", Device: "pdu-flat", Class: "pdu", Source: "snmp"},
		Time: time.Date(2025, 10, 15, 0, 0, 0, 0, time.UTC), Fields: []sample.Field{sample.B("reachable", true)}}
	if err := w.Write(context.Background(), []sample.Sample{extra}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"-wal", "-shm"} {
		if _, err := os.Stat(filepath.Join(data, sqlite.FileName+f)); err != nil {
			t.Fatalf("no %s file while the writer is open: %v", f, err)
		}
	}
	cmd2 := exec.Command(cmd.Path, cmd.Args[1:]...)
	cmd2.Env, cmd2.Dir, cmd2.SysProcAttr = cmd.Env, cmd.Dir, cmd.SysProcAttr
	if out, err := cmd2.CombinedOutput(); err != nil || !strings.Contains(string(out), "PASS") {
		t.Fatalf("read commands as a read-only user beside a running writer: %v\n%s", err, out)
	}
}

// readOnlyChild runs the read commands; it is the test binary re-run as a
// user who cannot write the store.
func readOnlyChild(t *testing.T) {
	cfg := os.Getenv("ECOMETER_TEST_READONLY_CONFIG")
	if f, err := os.OpenFile(filepath.Join(filepath.Dir(cfg), "data", sqlite.FileName), os.O_WRONLY, 0); err == nil {
		f.Close()
		t.Fatal("the child can write the store: the test would prove nothing")
	}
	for _, args := range [][]string{
		{"co2", "--config", cfg, "--month", "2025-10"},
		{"energy", "--config", cfg, "--month", "2025-10", "--by", "rack"},
		{"readings", "--config", cfg, "--since", "8760h"},
		{"co2", "target", "--config", cfg},
		{"grid", "stats", "--config", cfg, "--month", "2025-10"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), append([]string{"ecometer"}, args...), &stdout, &stderr)
		// co2 target (no 2020 baseline) and grid stats (no grid data)
		// answer exit 1 with their reason; none may fail to open the store.
		if s := stderr.String(); strings.Contains(s, "readonly") || strings.Contains(s, "read-only") || strings.Contains(s, "unable to open") ||
			strings.Contains(s, "permission denied") || (code != 0 && args[0] != "grid" && args[1] != "target") {
			t.Errorf("%v: exit %d\nstdout: %s\nstderr: %s", args, code, &stdout, s)
		}
	}
}

// snapshot describes the files of a directory (names, sizes, times).
func snapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s:%d:%d ", e.Name(), fi.Size(), fi.ModTime().UnixNano())
	}
	return b.String()
}

func copyFile(t *testing.T, from, to string, mode os.FileMode) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, mode); err != nil {
		t.Fatal(err)
	}
}

// A read command on a data_dir that does not exist names the path and
// creates nothing.
func TestReadCommandsNeverCreateAStore(t *testing.T) {
	cfg, dataDir := testConfig(t, co2Sites)
	err := runCO2(context.Background(), co2Options{Config: cfg, Month: "2025-10"}, streams{io.Discard, io.Discard})
	if exitCode(err) != exitRuntime || !strings.Contains(err.Error(), filepath.Join(dataDir, sqlite.FileName)) || !strings.Contains(err.Error(), "no store here") {
		t.Errorf("co2 on a missing store: %v", err)
	}
	if _, err := os.Stat(dataDir); err == nil {
		t.Error("a read command created the data directory")
	}
}
