package testenv

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Snmpsimd starts Debian's snmpsimd (package snmpsim) serving the .snmprec
// recordings in dataDir on a free loopback UDP port, and stops it when the test
// ends. The community of each recording is its file name without .snmprec;
// probe names one of them, used to wait until snmpsimd has indexed the
// recordings and answers. When snmpsimd is not installed the test is skipped
// (failed when CI=true; .ci/run installs it).
func Snmpsimd(t testing.TB, dataDir, probe string) netip.AddrPort {
	t.Helper()
	bin, err := exec.LookPath("snmpsimd")
	if err != nil {
		RequireOrSkip(t, "snmpsimd not found (apt-get install snmpsim): "+err.Error())
	}
	// snmpsimd drops privileges to nobody, which must be able to reach and
	// write its index cache (t.TempDir's parent is private to root); the data
	// dir may be read-only.
	tmp, err := os.MkdirTemp("", "ecometer-snmpsimd-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(tmp) })
	cache := filepath.Join(tmp, "cache")
	for _, d := range []string{tmp, cache} {
		if err := os.MkdirAll(d, 0o777); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(d, 0o777); err != nil {
			t.Fatal(err)
		}
	}
	for try := 0; try < 3; try++ {
		port, err := freeUDPPort()
		if err != nil {
			t.Fatalf("testenv: snmpsimd: %v", err)
		}
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		logPath := filepath.Join(tmp, fmt.Sprintf("snmpsimd-%d.log", try))
		logf, err := os.Create(logPath)
		if err != nil {
			t.Fatal(err)
		}
		args := []string{"--data-dir=" + dataDir, "--agent-udpv4-endpoint=" + addr.String(),
			"--cache-dir=" + cache, "--logging-method=stderr"}
		if os.Geteuid() == 0 {
			args = append(args, "--process-user=nobody", "--process-group=nogroup")
		}
		cmd := exec.Command(bin, args...)
		cmd.Stdout, cmd.Stderr = logf, logf
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			logf.Close()
			t.Fatalf("testenv: start snmpsimd: %v", err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
		stop := func() {
			terminate(cmd)
			select {
			case <-exited:
			case <-time.After(10 * time.Second):
				killGroup(cmd)
				<-exited
			}
		}
		if err := waitSNMP(addr, probe, exited, 90*time.Second); err != nil {
			stop()
			log, _ := os.ReadFile(logPath)
			if strings.Contains(string(log), "Address already in use") {
				continue
			}
			t.Fatalf("testenv: snmpsimd on %s: %v\n%s", addr, err, tail(string(log), 20))
		}
		t.Cleanup(stop)
		return addr
	}
	t.Fatal("testenv: snmpsimd: no free port after 3 tries")
	return netip.AddrPort{}
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}

// waitSNMP polls addr with a GET of sysObjectID until it answers.
func waitSNMP(addr netip.AddrPort, community string, exited <-chan struct{}, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last error
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("snmpsimd exited during start-up (last probe error: %v)", last)
		default:
		}
		g := &gosnmp.GoSNMP{Target: addr.Addr().String(), Port: addr.Port(), Community: community,
			Version: gosnmp.Version2c, Timeout: time.Second, Retries: 0}
		if last = g.Connect(); last == nil {
			_, last = g.Get([]string{".1.3.6.1.2.1.1.2.0"})
			g.Conn.Close()
			if last == nil {
				return nil
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	return fmt.Errorf("no answer within %s: %v", limit, last)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
