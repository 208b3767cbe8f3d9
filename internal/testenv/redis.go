package testenv

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// RedisServer is a private redis-server for one test.
type RedisServer struct {
	Addr string // 127.0.0.1:PORT
}

// Redis starts Debian's redis-server on a free loopback TCP port, without
// persistence, in the test's temporary directory, and stops it when the
// test ends. Missing redis-server skips the test (fails when CI=true;
// .ci/run installs it).
func Redis(t testing.TB) *RedisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if _, serr := os.Stat("/usr/bin/redis-server"); serr == nil {
			bin, err = "/usr/bin/redis-server", nil
		}
	}
	if err != nil {
		RequireOrSkip(t, "redis-server not found (apt-get install redis-server): "+err.Error())
	}
	dir := t.TempDir()
	for try := 0; try < 3; try++ {
		port, err := freePort()
		if err != nil {
			t.Fatalf("testenv: redis-server: %v", err)
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
		logPath := filepath.Join(dir, fmt.Sprintf("redis-%d.log", try))
		// The configuration is given as arguments: loopback only, no
		// snapshots or append-only file, the working directory the test's.
		cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
			"--appendonly", "no", "--dir", dir, "--logfile", logPath, "--daemonize", "no")
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			t.Fatalf("testenv: start redis-server: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); close(exited) }()
		stop := func() {
			terminate(cmd)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				killGroup(cmd)
				<-exited
			}
		}
		if err := waitRedis(addr, exited, 30*time.Second); err != nil {
			stop()
			log, _ := os.ReadFile(logPath)
			if try < 2 {
				continue
			}
			t.Fatalf("testenv: redis-server on %s: %v\n%s", addr, err, tail(string(log), 20))
		}
		t.Cleanup(stop)
		return &RedisServer{Addr: addr}
	}
	t.Fatal("testenv: redis-server did not start")
	return nil
}

// waitRedis sends PING (RESP inline command) until the server answers
// +PONG.
func waitRedis(addr string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("redis-server exited during start-up (last probe error: %v)", last)
		default:
		}
		if last = ping(addr); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("no answer to PING within %s: %v", limit, last)
}

func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line != "+PONG\r\n" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}
