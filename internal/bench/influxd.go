package bench

import (
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
	"time"
)

// influxd is an InfluxDB 1.8 server the bench starts for its InfluxDB
// runs: its own data directory, loopback ports, no authentication.
type influxd struct {
	url  string
	cmd  *exec.Cmd
	done chan struct{}
	log  string
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// startInfluxd starts bin with a configuration in dir and waits for /ping.
func startInfluxd(ctx context.Context, bin, dir string) (*influxd, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	httpPort, err1 := freeTCPPort()
	rpcPort, err2 := freeTCPPort()
	if err := errors.Join(err1, err2); err != nil {
		return nil, err
	}
	q := func(p string) string { return strconv.Quote(filepath.Join(dir, p)) }
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
[retention]
  enabled = false
[monitor]
  store-enabled = false
[subscriber]
  enabled = false
[continuous_queries]
  enabled = false
[http]
  enabled = true
  bind-address = "127.0.0.1:` + strconv.Itoa(httpPort) + `"
  auth-enabled = false
  log-enabled = false
  suppress-write-log = true
  flux-enabled = true
[logging]
  level = "warn"
  suppress-logo = true
`
	cfgPath := filepath.Join(dir, "influxd.conf")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return nil, err
	}
	logPath := filepath.Join(dir, "influxd.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "run", "-config", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("bench serve: start influxd %s: %w", bin, err)
	}
	s := &influxd{url: "http://127.0.0.1:" + strconv.Itoa(httpPort), cmd: cmd, done: make(chan struct{}), log: logPath}
	go func() { _ = cmd.Wait(); logf.Close(); close(s.done) }()
	c := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		select {
		case <-s.done:
			tail, _ := os.ReadFile(logPath)
			return nil, fmt.Errorf("bench serve: influxd exited at start:\n%s", tail)
		case <-ctx.Done():
			s.stop()
			return nil, ctx.Err()
		default:
		}
		if resp, err := c.Get(s.url + "/ping"); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusNoContent {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			s.stop()
			return nil, errors.New("bench serve: influxd did not answer /ping within 60 s")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// newDatabase creates a database named after the run (letters and digits)
// and returns its name.
func (s *influxd) newDatabase(ctx context.Context, run string) string {
	name := "bench_" + strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			return r
		}
		return '_'
	}, strings.ToLower(run))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/query", strings.NewReader(url.Values{"q": {"CREATE DATABASE " + name}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	return name
}

func (s *influxd) stop() {
	if s == nil {
		return
	}
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(15 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}
