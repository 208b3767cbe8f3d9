package daemon

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/testenv"
)

// The leader election is tested with two real processes (this test binary
// run again as `ecometer serve` would run) and a real redis-server.

// childEnv makes the test binary a daemon: it runs Run with the
// configuration named by the variable and one singleton job, every second,
// that appends "<name> <unix ms>" to ECOMETER_TEST_RUNS.
const childEnv = "ECOMETER_TEST_DAEMON_CONFIG"

func TestMain(m *testing.M) {
	if file := os.Getenv(childEnv); file != "" {
		os.Exit(child(file, os.Getenv("ECOMETER_TEST_NAME"), os.Getenv("ECOMETER_TEST_RUNS")))
	}
	os.Exit(m.Run())
}

func child(file, name, runs string) int {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("instance", name)
	cfg, err := collection.Load(file)
	if err != nil {
		log.Error("config", "error", err)
		return 2
	}
	profiles, err := collection.Profiles(cfg)
	if err != nil {
		log.Error("profiles", "error", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	var mu sync.Mutex
	job := SingletonJob{Name: "tick", Cron: "* * * * * *", Run: func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		f, err := os.OpenFile(runs, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = fmt.Fprintf(f, "%s %d\n", name, time.Now().UnixMilli())
		return err
	}}
	err = Run(ctx, Options{Config: cfg, Profiles: profiles, ConfigFile: file, Listen: "127.0.0.1:0", Logger: log,
		Singletons: []SingletonJob{job}})
	if err != nil {
		log.Error("run", "error", err)
		return 1
	}
	return 0
}

// instance is a child daemon process.
type instance struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	logs *logBuffer
}

func startInstance(t *testing.T, name, file, runs string) *instance {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in := &instance{name: name, cmd: exec.Command(exe, "-test.run=^$"), done: make(chan struct{}), logs: &logBuffer{}}
	in.cmd.Env = append(os.Environ(), childEnv+"="+file, "ECOMETER_TEST_NAME="+name, "ECOMETER_TEST_RUNS="+runs)
	in.cmd.Stderr = in.logs
	in.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := in.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = in.cmd.Wait(); close(in.done) }()
	t.Cleanup(func() {
		_ = in.cmd.Process.Kill()
		<-in.done
	})
	return in
}

// jobRun is one of the singleton job's runs: instance name and time.
type jobRun struct {
	name string
	at   time.Time
}

func readRuns(t *testing.T, file string) []jobRun {
	t.Helper()
	f, err := os.Open(file)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []jobRun
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r jobRun
		var ms int64
		if _, err := fmt.Sscanf(sc.Text(), "%s %d", &r.name, &ms); err != nil {
			continue // a line being written
		}
		r.at = time.UnixMilli(ms)
		out = append(out, r)
	}
	return out
}

func TestLeaderFailoverBetweenTwoProcesses(t *testing.T) {
	if testing.Short() {
		testenv.RequireOrSkip(t, "two daemon processes and redis-server: not in -short")
	}
	redis := testenv.Redis(t)
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs.log")
	const lease = 2 * time.Second
	files := map[string]string{}
	for _, name := range []string{"a", "b"} {
		files[name] = filepath.Join(dir, name+".yaml")
		writeConfig(t, files[name], filepath.Join(dir, "data-"+name), "",
			fmt.Sprintf("coordination:\n  redis: {address: %q}\n  key_prefix: test/failover\n  lease: %s\n", redis.Addr, lease))
	}
	ins := map[string]*instance{"a": startInstance(t, "a", files["a"], runs)}
	// a starts first and leads; b follows.
	waitFor(t, 30*time.Second, "a to run the job", func() bool { return len(readRuns(t, runs)) > 0 })
	ins["b"] = startInstance(t, "b", files["b"], runs)
	waitFor(t, 30*time.Second, "b to start", func() bool { return strings.Contains(ins["b"].logs.String(), "ecometer serving") })

	// Both run: only the leader runs the job, once a second.
	time.Sleep(4 * time.Second)
	for _, r := range readRuns(t, runs) {
		if r.name != "a" {
			t.Fatalf("%s ran the job while a leads:\n%s\n%s", r.name, ins["a"].logs, ins["b"].logs)
		}
	}
	perSecond := map[int64]int{}
	for _, r := range readRuns(t, runs) {
		perSecond[r.at.Unix()]++
	}
	for sec, n := range perSecond {
		if n > 1 {
			t.Errorf("the job ran %d times in second %d", n, sec)
		}
	}

	// The leader is killed: no chance to release its lease.
	killed := time.Now()
	if err := ins["a"].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-ins["a"].done
	bound := lease + lease/3
	var first time.Time
	waitFor(t, 30*time.Second, "b to take over", func() bool {
		for _, r := range readRuns(t, runs) {
			if r.name == "b" {
				first = r.at
				return true
			}
		}
		return false
	})
	failover := first.Sub(killed)
	t.Logf("failover after SIGKILL of the leader: b ran the job %s later (lease %s, stated bound %s plus the 1 s schedule)",
		failover.Round(time.Millisecond), lease, bound)
	if failover > bound+time.Second+500*time.Millisecond {
		t.Errorf("b took over after %s, beyond the stated lease + lease/3 = %s (+1 s schedule)\n%s", failover, bound, ins["b"].logs)
	}
	if !strings.Contains(ins["b"].logs.String(), "this instance is now the leader") {
		t.Errorf("b does not log its leadership:\n%s", ins["b"].logs)
	}

	// b stops cleanly (SIGTERM): exit 0, lease released.
	if err := ins["b"].cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ins["b"].done:
	case <-time.After(30 * time.Second):
		t.Fatal("b did not stop on SIGTERM")
	}
	if code := ins["b"].cmd.ProcessState.ExitCode(); code != 0 {
		t.Errorf("b exited %d after SIGTERM, want 0\n%s", code, ins["b"].logs)
	}
}

func TestSingletonsRunWithoutCoordination(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	writeConfig(t, file, filepath.Join(dir, "data"), "", "")
	var mu sync.Mutex
	ran := 0
	r := run(t, file, Options{Singletons: []SingletonJob{{Name: "tick", Cron: "* * * * * *", Run: func(context.Context) error {
		mu.Lock()
		ran++
		mu.Unlock()
		return nil
	}}}})
	waitFor(t, 10*time.Second, "the job to run twice", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return ran >= 2
	})
	r.stop(t)
	if !strings.Contains(r.logs.String(), "singleton job scheduled") || !strings.Contains(r.logs.String(), "coordinated=false") {
		t.Errorf("schedule not logged:\n%s", r.logs)
	}
}

func TestSingletonJobsAreChecked(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	writeConfig(t, file, filepath.Join(dir, "data"), "", "")
	cfg, err := collection.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	noop := func(context.Context) error { return nil }
	for _, tc := range []struct {
		name string
		jobs []SingletonJob
		want string
	}{
		{"no name", []SingletonJob{{Cron: "0 6 1 * *", Run: noop}}, "without a name"},
		{"twice", []SingletonJob{{Name: "r", Cron: "0 6 1 * *", Run: noop}, {Name: "r", Cron: "0 7 1 * *", Run: noop}}, "defined twice"},
		{"no run", []SingletonJob{{Name: "r", Cron: "0 6 1 * *"}}, "no Run function"},
		{"bad cron", []SingletonJob{{Name: "r", Cron: "0 25 1 * *", Run: noop}}, `singleton job "r": schedule "0 25 1 * *"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := Run(t.Context(), Options{Config: cfg, ConfigFile: file, Listen: "127.0.0.1:0",
				Logger: slog.New(slog.DiscardHandler), Singletons: tc.jobs})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Run = %v, want an error with %q", err, tc.want)
			}
		})
	}
}
