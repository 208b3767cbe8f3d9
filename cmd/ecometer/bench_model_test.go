package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBenchModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	opts := benchModelOptions{Meters: 9, Days: 50, DataDir: dir, JSON: true}
	var out bytes.Buffer
	if err := runBenchModel(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res benchModelResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	// 9 meters × 1,200 hours, less the missing ones: (h + 37m) % 1000 == 999
	// once per meter in 1,200 hours, except for those whose hour 999 - 37m
	// (mod 1000) is ≥ 1,200, which none is.
	const rows = 9*1200 - 9
	if res.Load == nil || res.Load.Rows != rows || res.MeterHours != rows {
		t.Fatalf("loaded %+v, read %d meter-hours; want %d", res.Load, res.MeterHours, rows)
	}
	// Meters 3 and 7 report power only.
	if res.EnergyHours != rows || res.IntegratedHrs != 2*1200-2 || res.CounterHours != 7*1200-7 {
		t.Errorf("hourly energies %d (counter %d, integrated %d)", res.EnergyHours, res.CounterHours, res.IntegratedHrs)
	}
	if res.Sites != 1 || res.SiteHours != 1200 || res.EnergyKWh <= 0 || res.ElapsedSeconds <= 0 {
		t.Errorf("result %+v", res)
	}
	if res.PeakRSSMiB <= 0 || res.PeakHeapMiB <= 0 || !res.GoalMet {
		t.Errorf("memory %+v", res)
	}
	energy := res.EnergyKWh

	// Again on the loaded store, as text: the same figures.
	opts.Reuse, opts.JSON = true, false
	out.Reset()
	if err := runBenchModel(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"9 meters × 50 days of hourly rollups, 1 sites",
		"load: reused the store an earlier run loaded",
		"meter-hours read  10791",
		"hourly energies   10791 (counter 8393, integrated 2398)",
		"goal (≤ 30 s, ≤ 2048 MiB): met",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	opts.JSON = true
	out.Reset()
	if err := runBenchModel(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var again benchModelResult
	if err := json.Unmarshal(out.Bytes(), &again); err != nil {
		t.Fatal(err)
	}
	if again.EnergyKWh != energy || again.Load != nil {
		t.Errorf("reuse: %v kWh (load %+v), first run %v kWh", again.EnergyKWh, again.Load, energy)
	}

	// Loading over a store, reusing a missing one, and another size are refused.
	for name, o := range map[string]benchModelOptions{
		"store exists": {Meters: 9, Days: 50, DataDir: dir},
		"no store":     {Meters: 9, Days: 50, DataDir: t.TempDir(), Reuse: true},
		"reuse no dir": {Meters: 9, Days: 50, Reuse: true},
		"no meters":    {Meters: 0, Days: 50},
	} {
		err := runBenchModel(context.Background(), o, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		var ee *exitError
		if !errors.As(err, &ee) || ee.code != exitBadUse {
			t.Errorf("%s: got %v, want a usage error", name, err)
		}
	}
	err := runBenchModel(context.Background(), benchModelOptions{Meters: 10, Days: 50, DataDir: dir, Reuse: true},
		streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	if err == nil || !strings.Contains(err.Error(), "should hold") {
		t.Errorf("reuse with other --meters: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ecometer.db")); err != nil {
		t.Errorf("--data-dir not kept: %v", err)
	}
}

func TestBenchModelTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	var out bytes.Buffer
	if err := runBenchModel(context.Background(), benchModelOptions{Meters: 2, Days: 1},
		streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "meter-hours read  48") {
		t.Errorf("output:\n%s", &out)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the temporary store was not removed: %v", left)
	}
}
