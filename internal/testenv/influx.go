package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// InfluxDatabase is the database every InfluxServer starts with.
const InfluxDatabase = "ecometer"

// influxdEnv names the environment variable that points at an influxd binary.
const influxdEnv = "ECOMETER_INFLUXD"

const (
	influxReadyTimeout = 30 * time.Second
	influxStopTimeout  = 15 * time.Second
	influxStartTries   = 3
)

// InfluxServer is a private InfluxDB 1.8 server (influxd) for one test: its own
// data directory, free loopback ports, Flux enabled, no authentication.
type InfluxServer struct {
	URL      string // http://127.0.0.1:PORT
	Database string // "ecometer"
	Bucket   string // "ecometer/autogen" (v2 API bucket name of Database)

	bin     string
	dir     string
	cfgPath string
	logPath string
	client  *http.Client

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{} // closed when cmd has exited
}

// Influx starts influxd for the test t and stops it (and removes its data) when
// the test ends. The binary is taken from $ECOMETER_INFLUXD, else
// <module root>/.tools/bin/influxd, else PATH; when none exists the test is
// skipped (failed when CI=true).
func Influx(t testing.TB) *InfluxServer {
	t.Helper()
	bin, err := findInfluxd()
	if err != nil {
		RequireOrSkip(t, "influxd not found; run `make test` to build it into .tools/bin, or set "+
			influxdEnv+" to an influxd 1.8 binary ("+err.Error()+")")
	}
	dir := t.TempDir()
	s := &InfluxServer{
		Database: InfluxDatabase,
		Bucket:   InfluxDatabase + "/autogen",
		bin:      bin,
		dir:      dir,
		cfgPath:  filepath.Join(dir, "influxd.conf"),
		logPath:  filepath.Join(dir, "influxd.log"),
		client:   &http.Client{Timeout: 30 * time.Second},
	}
	t.Cleanup(s.kill)

	var lastErr error
	for try := 0; try < influxStartTries; try++ {
		// Ports are picked by binding :0 and closing; another process may
		// take them before influxd binds, so a failed start is retried with
		// fresh ports.
		httpPort, err1 := freePort()
		rpcPort, err2 := freePort()
		if err := errors.Join(err1, err2); err != nil {
			t.Fatalf("testenv: influxd: pick free ports: %v", err)
		}
		if httpPort == rpcPort {
			continue
		}
		if err := s.writeConfig(httpPort, rpcPort); err != nil {
			t.Fatalf("testenv: influxd: %v", err)
		}
		s.URL = "http://127.0.0.1:" + strconv.Itoa(httpPort)
		if lastErr = s.Start(); lastErr == nil {
			break
		}
		s.kill()
	}
	if lastErr != nil {
		t.Fatalf("testenv: %v", lastErr)
	}
	if _, err := s.Query("CREATE DATABASE " + InfluxDatabase); err != nil {
		t.Fatalf("testenv: influxd: %v", err)
	}
	return s
}

// findInfluxd locates the influxd binary.
func findInfluxd() (string, error) {
	if p := os.Getenv(influxdEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("%s=%s: %w", influxdEnv, p, err)
		}
		return p, nil
	}
	var tried []string
	if root, err := ModuleRoot(); err == nil {
		p := filepath.Join(root, ".tools", "bin", "influxd")
		if st, err := os.Stat(p); err == nil && !st.IsDir() {
			return p, nil
		}
		tried = append(tried, p)
	}
	p, err := exec.LookPath("influxd")
	if err == nil {
		return p, nil
	}
	tried = append(tried, "$PATH")
	return "", fmt.Errorf("looked in %s", strings.Join(tried, ", "))
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *InfluxServer) writeConfig(httpPort, rpcPort int) error {
	q := func(p string) string { return strconv.Quote(filepath.Join(s.dir, p)) }
	cfg := `reporting-disabled = true
bind-address = "127.0.0.1:` + strconv.Itoa(rpcPort) + `"

[meta]
  dir = ` + q("meta") + `
  logging-enabled = false

[data]
  dir = ` + q("data") + `
  wal-dir = ` + q("wal") + `
  query-log-enabled = false
  trace-logging-enabled = false

[coordinator]
  log-queries-after = "0s"

[retention]
  enabled = false

[shard-precreation]
  enabled = false

[monitor]
  store-enabled = false

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
  log-enabled = false

[http]
  enabled = true
  bind-address = "127.0.0.1:` + strconv.Itoa(httpPort) + `"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  flux-enabled = true
  flux-log-enabled = false
  pprof-enabled = false

[logging]
  level = "warn"
  suppress-logo = true
`
	if err := os.WriteFile(s.cfgPath, []byte(cfg), 0o600); err != nil {
		return fmt.Errorf("write config: %w", err)
	}
	return nil
}

// Start starts influxd (again) with the same ports and data directory and
// waits until it answers /ping. Influx calls it; tests call it after Stop to
// simulate an outage and recovery.
func (s *InfluxServer) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return fmt.Errorf("influxd %s: already running", s.URL)
	}
	var err error
	// After Stop the port may linger briefly; retry binding on the same port.
	for try := 0; try < influxStartTries; try++ {
		if err = s.startLocked(); err == nil || !strings.Contains(err.Error(), "address already in use") {
			return err
		}
		time.Sleep(time.Duration(try+1) * 300 * time.Millisecond)
	}
	return err
}

func (s *InfluxServer) startLocked() error {
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("influxd: open log: %w", err)
	}
	fmt.Fprintf(logf, "--- testenv: starting %s at %s\n", s.bin, time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(s.bin, "run", "-config", s.cfgPath)
	cmd.Dir = s.dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.Env = append(os.Environ(), "INFLUXDB_REPORTING_DISABLED=true")
	cmd.SysProcAttr = sysProcAttr()
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("influxd %s: start: %w", s.bin, err)
	}
	done := make(chan struct{})
	s.cmd, s.done = cmd, done
	go func() {
		cmd.Wait() // the exit status of a stopped test server is of no interest
		logf.Close()
		close(done)
	}()

	if err := s.waitReady(done); err != nil {
		s.stopLocked(true)
		return fmt.Errorf("influxd %s: %w\n--- influxd log (tail):\n%s", s.URL, err, s.logTail(4096))
	}
	return nil
}

// waitReady polls /ping until it answers 204, influxd exits or the timeout.
func (s *InfluxServer) waitReady(done <-chan struct{}) error {
	deadline := time.Now().Add(influxReadyTimeout)
	ping := &http.Client{Timeout: time.Second}
	var lastErr error
	for time.Now().Before(deadline) {
		select {
		case <-done:
			return errors.New("exited during startup")
		default:
		}
		resp, err := ping.Get(s.URL + "/ping")
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return nil
			}
			err = fmt.Errorf("/ping: %s", resp.Status)
		}
		lastErr = err
		select {
		case <-done:
			return errors.New("exited during startup")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("not ready after %s: %v", influxReadyTimeout, lastErr)
}

// Stop stops influxd gracefully (SIGTERM, SIGKILL after a timeout) and waits
// for it to exit. The data directory is kept, so Start brings the same
// database back.
func (s *InfluxServer) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(false)
}

// kill stops influxd at once; used by cleanup.
func (s *InfluxServer) kill() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stopLocked(true)
}

func (s *InfluxServer) stopLocked(force bool) {
	if s.cmd == nil {
		return
	}
	cmd, done := s.cmd, s.done
	s.cmd, s.done = nil, nil
	// Release the lock while waiting: the Wait goroutine takes it.
	s.mu.Unlock()
	defer s.mu.Lock()
	if !force {
		terminate(cmd)
		select {
		case <-done:
			return
		case <-time.After(influxStopTimeout):
		}
	}
	killGroup(cmd)
	<-done
}

// Running reports whether influxd is running.
func (s *InfluxServer) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cmd != nil
}

// PID returns the process id of the running influxd, 0 when stopped (for
// benchmarks that measure the server's CPU use).
func (s *InfluxServer) PID() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return 0
	}
	return s.cmd.Process.Pid
}

// Query runs an InfluxQL statement (against Database) through the 1.x /query
// endpoint and returns the JSON response; an error reported in the response is
// returned as an error.
func (s *InfluxServer) Query(influxql string) ([]byte, error) {
	form := url.Values{"q": {influxql}, "db": {s.Database}}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.URL+"/query", strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("influxql %q: %w", influxql, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("influxql %q: read response: %w", influxql, err)
	}
	if resp.StatusCode != http.StatusOK || bytes.Contains(body, []byte(`"error":`)) {
		return body, fmt.Errorf("influxql %q: %s: %s", influxql, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

// Log returns the end of influxd's log (at most n bytes), for failure messages.
func (s *InfluxServer) Log(n int) string { return s.logTail(n) }

func (s *InfluxServer) logTail(n int) string {
	b, err := os.ReadFile(s.logPath)
	if err != nil {
		return "(no log: " + err.Error() + ")"
	}
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}

// ProcessCPU returns the user+system CPU time of a process from /proc
// (Linux), or -1: benchmarks report the CPU each side spends per point,
// which does not depend on what else runs on the machine.
func ProcessCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return -1
	}
	// The fields after the command name (in parentheses): utime and stime
	// are the 14th and 15th of the line, in clock ticks (100 per second).
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return -1
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return -1
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond
}
