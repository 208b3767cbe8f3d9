package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/internal/bench"
)

// TestBenchModel: the command prints the bench's figures as text and JSON
// (the computation is tested in internal/bench) and maps bad options to
// exit 2.
func TestBenchModel(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	opts := benchModelOptions{ModelOptions: bench.ModelOptions{Meters: 9, Days: 50, DataDir: dir}, JSON: true}
	var out bytes.Buffer
	if err := runBenchModel(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res benchModelResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	if res.MeterHours != 9*1200-9 || res.Load == nil {
		t.Errorf("--json: %+v", res)
	}

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

	err := runBenchModel(context.Background(), benchModelOptions{ModelOptions: bench.ModelOptions{Meters: 9, Days: 50, DataDir: dir}},
		streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != exitBadUse || !strings.Contains(err.Error(), "already holds a store") {
		t.Errorf("loading over a store: got %v, want exit 2", err)
	}
}
