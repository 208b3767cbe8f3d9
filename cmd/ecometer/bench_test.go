package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/bench"
	"github.com/ecometer/ecometer/internal/testenv"
)

// benchChildEnv makes the test binary run ecometer's main: bench redfish
// re-executes os.Executable() (here the test binary) for its simulators.
const benchChildEnv = "ECOMETER_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(benchChildEnv) == "1" {
		main()
	}
	os.Exit(m.Run())
}

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

func TestBenchRedfish(t *testing.T) {
	mockup := testenv.CorpusPath(t, "redfish", "public-rackmount1")
	t.Setenv(benchChildEnv, "1")
	opts := benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 3, Rounds: 2, Mockup: mockup}, JSON: true}
	var out, progress bytes.Buffer
	if err := runBenchRedfish(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res benchRedfishResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	if res.BMCs != 3 || res.Rounds != 2 || res.Polls != 6 || res.Errors != 0 || res.PollsPerSec <= 0 {
		t.Errorf("result %+v, want 6 polls without errors", res)
	}
	// Requests are the child's count; the collectors' own count must agree.
	if res.RequestsPerPoll < 1 || res.RequestsPerPoll > 3 || res.RequestsPerPoll != res.ClientRequestsPerPoll {
		t.Errorf("requests per poll: %v by the simulators, %v by the collectors, want 1-3 and equal",
			res.RequestsPerPoll, res.ClientRequestsPerPoll)
	}
	if res.DiscoveryRequests < 3*2 || res.DiscoveryRequestsPerBMC != float64(res.DiscoveryRequests)/3 {
		t.Errorf("discovery: %d requests, %v per BMC", res.DiscoveryRequests, res.DiscoveryRequestsPerBMC)
	}
	if res.CPUSeconds < 0 || res.PeakRSSMiB <= 0 || res.SimPeakRSSMiB <= 0 || res.Resources < 10 {
		t.Errorf("result %+v", res)
	}
	if want := 3.0 / 60 * res.CPUSeconds / 6; res.Cores != want || res.CorePercent != want*100 {
		t.Errorf("cores %v (%v %%), want %v", res.Cores, res.CorePercent, want)
	}

	opts.JSON, opts.Progress = false, &progress
	out.Reset()
	if err := runBenchRedfish(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"3 simulated BMCs on 127.0.0.1 serving public-rackmount1 (",
		"polls:               6, 0 errors,",
		"requests per poll:   2.00 per BMC after discovery (goal ≤ 3)",
		"for 3 BMCs polled every 60 s",
		"the simulators run in a child process",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
	if strings.Contains(out.String(), "warning") {
		t.Errorf("output warns:\n%s", &out)
	}
	if !strings.Contains(progress.String(), "starting 3 simulated BMCs") {
		t.Errorf("progress = %q", &progress)
	}
}

func TestBenchRedfishUsage(t *testing.T) {
	t.Setenv(benchChildEnv, "1")
	notMockup := t.TempDir()
	if err := os.WriteFile(filepath.Join(notMockup, "index.json"), []byte("not json"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		opts benchRedfishOptions
		want string
	}{
		// The test runs in cmd/ecometer, where the default path does not exist.
		{benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 1, Rounds: 1}}, "(the default, relative to the working directory): pass --mockup DIR"},
		{benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 1, Rounds: 1, Mockup: t.TempDir()}}, "no index.json"},
		{benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 0, Rounds: 1}}, "--bmcs and --rounds must be at least 1"},
		{benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 1, Rounds: 0}}, "--bmcs and --rounds must be at least 1"},
		// Found by the child, which exits 2: still a usage error here.
		{benchRedfishOptions{RedfishOptions: bench.RedfishOptions{BMCs: 1, Rounds: 1, Mockup: notMockup}}, "--mockup"},
	}
	for _, tt := range tests {
		err := runBenchRedfish(context.Background(), tt.opts, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runBenchRedfish(%+v) = %v, want exit 2 with %q", tt.opts, err, tt.want)
		}
	}
}

// The command line reaches the child and back: exit 2 and the message for a
// missing default mockup, through run() as a user would see it.
func TestBenchRedfishCommandLine(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"ecometer", "bench", "redfish", "--bmcs", "1"}, &out, &errOut)
	if code != exitBadUse || !strings.Contains(errOut.String(), "no mockup at") {
		t.Errorf("exit %d, stderr %q", code, &errOut)
	}
}

func TestBenchServe(t *testing.T) {
	dir := testenv.CorpusPath(t, "snmp")
	mockup := testenv.CorpusPath(t, "redfish", "public-rackmount1")
	t.Setenv(benchChildEnv, "1")
	// Three cycles: a dead device backs off (skipped 1, 3, … intervals
	// after its second failure), so one measured cycle may hold none of
	// its polls, depending on where its name puts its slot.
	opts := benchServeOptions{ServeOptions: bench.ServeOptions{Devices: 6, BMCs: 1, Cycles: 3, Interval: 2 * time.Second,
		DeadPct: 34, Timeout: 300 * time.Millisecond, Retries: 0, Mockup: mockup, Stores: []string{"sqlite"},
		Recordings: []string{filepath.Join(dir, "apc_ap8959eu3.snmprec"), filepath.Join(dir, "eaton-mgeups_93ps.snmprec")}}, JSON: true}
	var out bytes.Buffer
	if err := runBenchServe(context.Background(), opts, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	var res bench.ServeResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, &out)
	}
	if len(res.Runs) != 2 {
		t.Fatalf("%d runs, want one without and one with dead devices:\n%s", len(res.Runs), &out)
	}
	live, dead := res.Runs[0], res.Runs[1]
	if live.DeadDevices != 0 || dead.DeadDevices != 2 {
		t.Errorf("dead devices %d and %d, want 0 and 2", live.DeadDevices, dead.DeadDevices)
	}
	for _, r := range res.Runs {
		if r.Polls < 5 || r.LiveErrors != 0 || r.Points <= 0 || r.CPUSeconds <= 0 || r.PeakRSSMiB <= 0 || r.LiveP99ms <= 0 {
			t.Errorf("run %+v", r)
		}
		// The memory figures fit in each other: the live heap within the
		// GC's goal and within the runtime's memory.
		if r.HeapLiveMiB <= 0 || r.HeapLiveMiB > r.HeapGoalMiB || r.HeapLiveMiB > r.GoRuntimeMiB || r.Goroutines <= 0 {
			t.Errorf("memory: live %.1f, goal %.1f, runtime %.1f, RSS %.1f MiB, %d goroutines", r.HeapLiveMiB, r.HeapGoalMiB, r.GoRuntimeMiB, r.PeakRSSMiB, r.Goroutines)
		}
	}
	// A dead device's poll lasts its timeout; the live ones answer in far less.
	if dead.DeadP50ms < 250 || dead.LiveP50ms > 250 {
		t.Errorf("dead devices p50 %v ms, live %v ms", dead.DeadP50ms, dead.LiveP50ms)
	}
	out.Reset()
	if err := writeBenchServe(&out, res); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"6 SNMP agents (2 recordings mixed) and 1 BMCs", "sqlite     0", "sqlite     2", "goal < 0.3", "sqlite, 0 dead: peak RSS "} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, &out)
		}
	}
}

func TestBenchServeUsage(t *testing.T) {
	for _, tc := range []struct {
		opts bench.ServeOptions
		want string
	}{
		{bench.ServeOptions{Devices: 0, Cycles: 1, Interval: time.Second}, "--devices + --bmcs ≥ 1"},
		{bench.ServeOptions{Devices: 1, Cycles: 1, Interval: time.Millisecond}, "--interval"},
		{bench.ServeOptions{Devices: 1, Cycles: 1, Interval: time.Second, DeadPct: 100}, "--dead-pct"},
		{bench.ServeOptions{Devices: 1, Cycles: 1, Interval: time.Second}, "no recording at"},
	} {
		err := runBenchServe(context.Background(), benchServeOptions{ServeOptions: tc.opts}, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want exit 2 with %q", tc.opts, err, tc.want)
		}
	}
}
