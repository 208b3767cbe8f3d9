package outbox

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// The loss test: a child process writes lossTotal samples through the outbox
// into a real InfluxDB. InfluxDB is stopped for part of the run, the child is
// killed with SIGKILL while the backlog waits, then restarted; at the end
// InfluxDB must hold every sample exactly once.
const (
	lossTotal   = 100_000
	lossBatch   = 500
	lossDevices = 100
	childEnv    = "ECOMETER_OUTBOX_LOSS_CHILD"
)

var lossBase = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)

// lossSample is sample i of the run: lossDevices devices, one sample per device
// per minute, power_w = i and load_pct = i mod 997 (the checksums).
func lossSample(i int) sample.Sample {
	return sample.Sample{
		Series: sample.Series{Measurement: sample.Power, Site: "loss", Device: fmt.Sprintf("pdu-%03d", i%lossDevices),
			Class: "pdu", Meter: "total", Source: "snmp"},
		Time:   lossBase.Add(time.Duration(i/lossDevices) * time.Minute),
		Fields: []sample.Field{sample.F("power_w", float64(i)), sample.F("load_pct", float64(i%997))},
	}
}

func TestLossChild(t *testing.T) {
	if os.Getenv(childEnv) == "" {
		return // only the child process of TestNoLossAcrossOutageAndKill does anything
	}
	dir, url, bucket := os.Getenv("LOSS_DIR"), os.Getenv("LOSS_URL"), os.Getenv("LOSS_BUCKET")
	ctx := context.Background()
	down, err := influx.New(influx.Options{URL: url, Bucket: bucket, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ob, err := Open(ctx, down, Options{Dir: dir, MinBackoff: 50 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	go ob.Run(ctx) //nolint:errcheck // runs until the process ends

	// progress holds the index of the first sample not yet committed; it is
	// written after the outbox commit, so a kill in between re-sends a batch
	// (harmless: same points) but never skips one.
	progress := filepath.Join(dir, "progress")
	next := 0
	if b, err := os.ReadFile(progress); err == nil {
		next, _ = strconv.Atoi(strings.TrimSpace(string(b)))
	}
	for i := next; i < lossTotal; i += lossBatch {
		batch := make([]sample.Sample, 0, lossBatch)
		for j := i; j < i+lossBatch && j < lossTotal; j++ {
			batch = append(batch, lossSample(j))
		}
		if err := ob.Write(ctx, batch); err != nil {
			t.Fatalf("outbox write at %d: %v", i, err)
		}
		if err := writeFileSync(progress, strconv.Itoa(i+len(batch))); err != nil {
			t.Fatal(err)
		}
		fmt.Printf("committed %d\n", i+len(batch))
		time.Sleep(3 * time.Millisecond) // a pace the parent can act on
	}
	for ob.Stats().Batches > 0 {
		time.Sleep(20 * time.Millisecond)
	}
	fmt.Println("drained")
}

func writeFileSync(path, content string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(content); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// child runs TestLossChild in a new process; lines of its stdout go to ch.
func startChild(t *testing.T, srv *testenv.InfluxServer, dir string, ch chan<- string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLossChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"=1", "LOSS_DIR="+dir, "LOSS_URL="+srv.URL, "LOSS_BUCKET="+srv.Bucket)
	cmd.Stderr = &prefixWriter{t: t}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	return cmd
}

type prefixWriter struct{ t *testing.T }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Logf("child: %s", strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func committed(line string) int {
	n, err := strconv.Atoi(strings.TrimPrefix(line, "committed "))
	if err != nil || !strings.HasPrefix(line, "committed ") {
		return -1
	}
	return n
}

func TestNoLossAcrossOutageAndKill(t *testing.T) {
	if testing.Short() {
		testenv.RequireOrSkip(t, "-short: the loss test takes about a minute")
	}
	srv := testenv.Influx(t)
	dir := t.TempDir()

	// Run 1: InfluxDB goes away at 20 %, the child is killed at 50 %.
	lines := make(chan string, 1024)
	cmd := startChild(t, srv, dir, lines)
	stopped := false
	killedAt := -1
	deadline := time.After(3 * time.Minute)
	for killedAt < 0 {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("child 1 ended before it was killed")
			}
			n := committed(line)
			if n >= lossTotal/5 && !stopped {
				srv.Stop()
				stopped = true
				t.Logf("InfluxDB stopped after %d committed samples", n)
			}
			if n >= lossTotal/2 {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killedAt = n
			}
		case <-deadline:
			t.Fatal("child 1 too slow")
		}
	}
	_ = cmd.Wait()
	for range lines {
	}
	t.Logf("child 1 killed (SIGKILL) after %d committed samples, InfluxDB down", killedAt)

	// The backlog is on disk, waiting.
	ob, err := Open(context.Background(), nil, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	backlog := ob.Stats()
	ob.Close()
	if backlog.Samples == 0 {
		t.Fatal("no backlog after the kill: the test did not exercise resuming")
	}
	t.Logf("backlog on disk after the kill: %d batches, %d samples", backlog.Batches, backlog.Samples)
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}

	// Run 2: resumes the backlog and the rest of the samples.
	lines = make(chan string, 1024)
	cmd = startChild(t, srv, dir, lines)
	drained := false
	deadline = time.After(4 * time.Minute)
	for !drained {
		select {
		case line, ok := <-lines:
			if !ok {
				t.Fatal("child 2 ended before draining the outbox")
			}
			drained = line == "drained"
		case <-deadline:
			t.Fatal("child 2 did not drain the outbox in time")
		}
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child 2: %v", err)
	}

	// Every sample exactly once: count and two checksums.
	body, err := srv.Query(`SELECT count(power_w), sum(power_w), sum(load_pct) FROM power WHERE site = 'loss'`)
	if err != nil {
		t.Fatal(err)
	}
	count, sumPower, sumLoad := parseAgg(t, body)
	wantPower, wantLoad := 0.0, 0.0
	for i := 0; i < lossTotal; i++ {
		wantPower += float64(i)
		wantLoad += float64(i % 997)
	}
	t.Logf("InfluxDB holds %d samples, Σpower_w=%.0f, Σload_pct=%.0f", count, sumPower, sumLoad)
	if count != lossTotal || sumPower != wantPower || sumLoad != wantLoad {
		t.Fatalf("InfluxDB holds %d samples (Σpower_w=%.0f, Σload_pct=%.0f); want %d (%.0f, %.0f)",
			count, sumPower, sumLoad, lossTotal, wantPower, wantLoad)
	}
}

func parseAgg(t *testing.T, body []byte) (int, float64, float64) {
	t.Helper()
	var r struct {
		Results []struct {
			Series []struct {
				Values [][]json.RawMessage `json:"values"`
			} `json:"series"`
			Error string `json:"error"`
		} `json:"results"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatalf("parse %s: %v", body, err)
	}
	if len(r.Results) != 1 || r.Results[0].Error != "" || len(r.Results[0].Series) != 1 || len(r.Results[0].Series[0].Values) != 1 {
		t.Fatalf("unexpected answer: %s", body)
	}
	v := r.Results[0].Series[0].Values[0] // time, count, sum, sum
	var c int
	var p, l float64
	for i, dst := range []any{&c, &p, &l} {
		if err := json.Unmarshal(v[i+1], dst); err != nil {
			t.Fatalf("parse %s: %v", body, err)
		}
	}
	return c, p, l
}
