package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
)

func TestBenchSNMP(t *testing.T) {
	rec := filepath.Join(testenv.CorpusPath(t, "snmp"), "apc_ap8959eu3.snmprec")
	opts := benchOptions{Devices: 3, Rounds: 2, Recording: rec, MaxRepetitions: 10, Timeout: 2 * time.Second, JSON: true}
	var out, progress bytes.Buffer
	if err := runBenchSNMP(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res benchResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	if res.Profile != "apc-rpdu2" || res.RequestsPerPoll < 1 || res.VarbindsPerPoll < 10 {
		t.Errorf("result %+v", res)
	}
	for _, p := range []benchPass{res.Replay, res.Floor, res.Collector} {
		if p.Polls != 6 || p.Errors != 0 || p.PollsPerSec <= 0 || p.CPUSeconds < 0 {
			t.Errorf("%s pass: %+v, want 6 polls without errors", p.Name, p)
		}
	}
	if res.PeakRSSMiB <= 0 || res.PeakRSSMiB < res.SimRSSMiB {
		t.Errorf("peak RSS %v MiB (simulators %v MiB)", res.PeakRSSMiB, res.SimRSSMiB)
	}

	opts.JSON, opts.Progress = false, &progress
	out.Reset()
	if err := runBenchSNMP(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"3 simulated agents on 127.0.0.1 serving apc_ap8959eu3.snmprec (profile apc-rpdu2)",
		"     replay      6       0",
		"      floor      6       0",
		"  collector      6       0",
		"collector − floor:",
		"The simulators run in this process",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if !strings.Contains(progress.String(), "starting 3 simulated agents") {
		t.Errorf("progress = %q", &progress)
	}
}

func TestBenchSNMPUsage(t *testing.T) {
	tests := []struct {
		opts benchOptions
		want string
	}{
		// The test runs in cmd/ecometer, where the default path does not exist.
		{benchOptions{Devices: 1, Rounds: 1, MaxRepetitions: 10}, "(the default, relative to the working directory): pass --recording FILE"},
		{benchOptions{Devices: 0, Rounds: 1, MaxRepetitions: 10}, "--devices and --rounds must be at least 1"},
		{benchOptions{Devices: 1, Rounds: 1, MaxRepetitions: 0}, "--max-repetitions 0"},
	}
	for _, tt := range tests {
		err := runBenchSNMP(context.Background(), tt.opts, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runBenchSNMP(%+v) = %v, want exit 2 with %q", tt.opts, err, tt.want)
		}
	}
}
