package main

import (
	"math"
	"os"
	"runtime/debug"
	"strings"
	"testing"
)

// TestTuneGC: serve's GOGC is 50 unless the environment sets GOGC, which
// wins; --memory-limit sets the soft limit and refuses what is not a size.
func TestTuneGC(t *testing.T) {
	before := debug.SetGCPercent(100)
	t.Cleanup(func() { debug.SetGCPercent(before); debug.SetMemoryLimit(math.MaxInt64) })

	t.Setenv("GOGC", "")
	os.Unsetenv("GOGC") // restored by t.Setenv's cleanup
	if err := tuneGC("serve", ""); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != serveGCPercent {
		t.Errorf("GOGC unset: GC percent %d, want %d", got, serveGCPercent)
	}
	if got := debug.SetMemoryLimit(-1); got != math.MaxInt64 {
		t.Errorf("no --memory-limit: limit %d, want none", got)
	}

	t.Setenv("GOGC", "200")
	debug.SetGCPercent(200) // as the runtime does at start with GOGC=200
	if err := tuneGC("serve", "300MiB"); err != nil {
		t.Fatal(err)
	}
	if got := debug.SetGCPercent(100); got != 200 {
		t.Errorf("GOGC=200: GC percent %d, want the environment's 200", got)
	}
	if got := debug.SetMemoryLimit(-1); got != 300<<20 {
		t.Errorf("--memory-limit 300MiB: limit %d", got)
	}

	if err := tuneGC("serve", "lots"); err == nil || !strings.Contains(err.Error(), `serve: --memory-limit "lots": want a size such as 256MiB`) {
		t.Errorf("--memory-limit lots: %v", err)
	}
}
