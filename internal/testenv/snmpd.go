package testenv

import (
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// SnmpdUser is an SNMPv3 USM user for Snmpd. Protocols are net-snmp's names
// (SHA, SHA-256, SHA-512; AES, AES-256 …); passphrases are at least 8
// characters.
type SnmpdUser struct {
	Name, AuthProto, AuthPass, PrivProto, PrivPass string
}

// Snmpd starts net-snmp's snmpd (Debian package snmpd) on a free loopback UDP
// port with the given v3 users (read-only, at the security level their
// protocols imply) and a v2c community "public", and stops it when the test
// ends. It serves the agent's own system MIBs, which is what v3 security
// tests need. Missing snmpd skips the test (fails when CI=true; .ci/run
// installs it).
func Snmpd(t testing.TB, users ...SnmpdUser) netip.AddrPort {
	t.Helper()
	bin, err := exec.LookPath("snmpd")
	if err != nil {
		for _, p := range []string{"/usr/sbin/snmpd", "/sbin/snmpd"} {
			if _, serr := os.Stat(p); serr == nil {
				bin, err = p, nil
				break
			}
		}
	}
	if err != nil {
		RequireOrSkip(t, "snmpd not found (apt-get install snmpd): "+err.Error())
	}
	dir := t.TempDir()
	for try := 0; try < 3; try++ {
		port, err := freeUDPPort()
		if err != nil {
			t.Fatalf("testenv: snmpd: %v", err)
		}
		addr := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(port))
		conf := fmt.Sprintf("agentAddress udp:%s\nrocommunity public 127.0.0.1\n", addr)
		for _, u := range users {
			level := "noauth"
			line := "createUser " + u.Name
			if u.AuthProto != "" {
				level = "auth"
				line += fmt.Sprintf(" %s %q", u.AuthProto, u.AuthPass)
				if u.PrivProto != "" {
					level = "priv"
					line += fmt.Sprintf(" %s %q", u.PrivProto, u.PrivPass)
				}
			}
			conf += line + "\nrouser " + u.Name + " " + level + "\n"
		}
		confPath := filepath.Join(dir, fmt.Sprintf("snmpd-%d.conf", try))
		if err := os.WriteFile(confPath, []byte(conf), 0o600); err != nil {
			t.Fatal(err)
		}
		logPath := filepath.Join(dir, fmt.Sprintf("snmpd-%d.log", try))
		// -f foreground, -C only our config, -Lf log file; the persistent
		// directory (where createUser keys are stored) is the test's own.
		cmd := exec.Command(bin, "-f", "-C", "-c", confPath, "-Lf", logPath, "-p", filepath.Join(dir, "snmpd.pid"))
		cmd.Env = append(os.Environ(), "SNMP_PERSISTENT_DIR="+filepath.Join(dir, fmt.Sprintf("persist-%d", try)), "MIBS=")
		cmd.SysProcAttr = sysProcAttr()
		if err := cmd.Start(); err != nil {
			t.Fatalf("testenv: start snmpd: %v", err)
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
		if err := waitSNMP(addr, "public", exited, 30*time.Second); err != nil {
			stop()
			log, _ := os.ReadFile(logPath)
			if try < 2 {
				continue
			}
			t.Fatalf("testenv: snmpd on %s: %v\n%s", addr, err, tail(string(log), 20))
		}
		t.Cleanup(stop)
		return addr
	}
	t.Fatal("testenv: snmpd did not start")
	return netip.AddrPort{}
}
