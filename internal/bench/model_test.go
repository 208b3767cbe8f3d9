package bench

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestModel(t *testing.T) {
	ctx := context.Background()
	dir := filepath.Join(t.TempDir(), "store")
	opts := ModelOptions{Meters: 9, Days: 50, DataDir: dir}
	res, err := Model(ctx, opts)
	if err != nil {
		t.Fatal(err)
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

	// Again on the loaded store: the same figures, no load.
	opts.Reuse = true
	again, err := Model(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again.EnergyKWh != res.EnergyKWh || again.MeterHours != rows || again.Load != nil {
		t.Errorf("reuse: %v kWh, %d meter-hours (load %+v); first run %v kWh", again.EnergyKWh, again.MeterHours, again.Load, res.EnergyKWh)
	}

	// Loading over a store, reusing a missing one, and no meters are usage errors.
	for name, o := range map[string]ModelOptions{
		"store exists": {Meters: 9, Days: 50, DataDir: dir},
		"no store":     {Meters: 9, Days: 50, DataDir: t.TempDir(), Reuse: true},
		"reuse no dir": {Meters: 9, Days: 50, Reuse: true},
		"no meters":    {Meters: 0, Days: 50},
	} {
		_, err := Model(ctx, o)
		var ue *UsageError
		if !errors.As(err, &ue) {
			t.Errorf("%s: got %v, want a usage error", name, err)
		}
	}
	// Another size over the loaded store does not read what it should.
	_, err = Model(ctx, ModelOptions{Meters: 10, Days: 50, DataDir: dir, Reuse: true})
	var ue *UsageError
	if err == nil || errors.As(err, &ue) || !strings.Contains(err.Error(), "should hold") {
		t.Errorf("reuse with other meters: got %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "ecometer.db")); err != nil {
		t.Errorf("the data directory was not kept: %v", err)
	}
}

func TestModelTempDir(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	res, err := Model(context.Background(), ModelOptions{Meters: 2, Days: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.MeterHours != 48 {
		t.Errorf("%d meter-hours read, want 48", res.MeterHours)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("the temporary store was not removed: %v", left)
	}
}
