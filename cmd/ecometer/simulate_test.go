package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/internal/testenv"
)

// serve runs a simulate command in a goroutine until the test's context is
// cancelled; it returns the address the command reports and a function that
// stops it and returns its output.
func serve(t *testing.T, run func(ctx context.Context, started func(string), s streams) error) (string, func() string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var out, errOut bytes.Buffer
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(a string) { addr <- a }, streams{Out: &out, ErrOut: &errOut})
	}()
	stop := func() string {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("simulate: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("simulate did not stop when its context ended")
		}
		return out.String() + errOut.String()
	}
	select {
	case a := <-addr:
		t.Cleanup(func() { cancel() })
		return a, stop
	case err := <-done:
		cancel()
		t.Fatalf("simulate ended before serving: %v\n%s%s", err, &out, &errOut)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("simulate did not start")
	}
	return "", nil
}

func TestSimulateSNMP(t *testing.T) {
	dir := testenv.CorpusPath(t, "snmp")
	addr, stop := serve(t, func(ctx context.Context, started func(string), s streams) error {
		return runSimulateSNMP(ctx, simulateSNMPOptions{Dir: dir, Listen: "127.0.0.1:0", Variation: 5, Started: started}, s)
	})
	t.Setenv("TEST_COMMUNITY", "apc_ap8959eu3")
	out, _, err := runProbeT(t, probeOptions{Target: addr, Community: "env:TEST_COMMUNITY", Timeout: time.Second})
	if err != nil || !strings.Contains(out, "apc-rpdu2") {
		t.Errorf("probe: %v\n%s", err, out)
	}
	got := stop()
	for _, want := range []string{
		"ecometer simulate snmp: 10 recordings on udp " + addr,
		"power and current values vary by up to ±5 %",
		"communities:\n  apc_ap8959eu3\n  apc_masterswitch2\n",
		"try: ecometer probe 127.0.0.1 --port ",
		"stopped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
}

// With one recording, a v3 request without a context name gets it.
func TestSimulateSNMPv3(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile(filepath.Join(testenv.CorpusPath(t, "snmp"), "apc_ap8959eu3.snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "pdu.snmprec"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("TEST_AUTH", "auth-pass-123")
	t.Setenv("TEST_PRIV", "priv-pass-456")
	v3 := simulateSNMPOptions{Dir: dir, Listen: "127.0.0.1:0",
		V3User: "lab", V3AuthProto: "SHA", V3AuthKey: "env:TEST_AUTH", V3PrivProto: "AES", V3PrivKey: "env:TEST_PRIV"}
	addr, stop := serve(t, func(ctx context.Context, started func(string), s streams) error {
		o := v3
		o.Started = started
		return runSimulateSNMP(ctx, o, s)
	})
	out, _, err := runProbeT(t, probeOptions{Target: addr, V3User: v3.V3User, V3AuthProto: v3.V3AuthProto, V3AuthKey: v3.V3AuthKey,
		V3PrivProto: v3.V3PrivProto, V3PrivKey: v3.V3PrivKey, Timeout: time.Second})
	if err != nil || !strings.Contains(out, "apc-rpdu2") {
		t.Errorf("v3 probe: %v\n%s", err, out)
	}
	got := stop()
	if !strings.Contains(got, `SNMPv3 user "lab" (authPriv)`) {
		t.Errorf("output:\n%s", got)
	}
	if strings.Contains(got, "auth-pass-123") || strings.Contains(got, "priv-pass-456") {
		t.Fatal("output shows a key")
	}
}

func TestSimulateSNMPErrors(t *testing.T) {
	empty := t.TempDir()
	tests := []struct {
		opts simulateSNMPOptions
		want string
	}{
		{simulateSNMPOptions{Dir: empty, Listen: "127.0.0.1:0"}, "no *.snmprec recordings in it"},
		{simulateSNMPOptions{Dir: empty + "/nope", Listen: "127.0.0.1:0"}, "no such file or directory"},
		{simulateSNMPOptions{Dir: testenv.CorpusPath(t, "snmp"), Listen: "127.0.0.1:0", V3AuthKey: "env:X"}, "the --v3-* options need --v3-user"},
		{simulateSNMPOptions{Dir: testenv.CorpusPath(t, "snmp"), Listen: "127.0.0.1:0", Variation: 150}, "--variation 150: want 0-100"},
	}
	for _, tt := range tests {
		err := runSimulateSNMP(context.Background(), tt.opts, streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
		if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("runSimulateSNMP(%+v) = %v, want exit 2 with %q", tt.opts, err, tt.want)
		}
	}
}

func TestPowerPrefixes(t *testing.T) {
	reg, err := snmp.Embedded()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, o := range powerPrefixes(reg) {
		got[o.String()] = true
	}
	if !got[".1.3.6.1.4.1.318.1.1.26.4.3.1.5"] {
		t.Errorf("rPDU2DeviceStatusPower is not varied; prefixes %v", got)
	}
	if got[".1.3.6.1.4.1.318.1.1.26.4.3.1.9"] {
		t.Error("rPDU2DeviceStatusEnergy (a counter) is varied as a gauge")
	}
}

func TestSimulateRedfish(t *testing.T) {
	mockup := testenv.CorpusPath(t, "redfish", "public-rackmount1")
	certFile := t.TempDir() + "/bmc.pem"
	pw := writeFile(t, "pw", bmcPassword)
	base, stop := serve(t, func(ctx context.Context, started func(string), s streams) error {
		return runSimulateRedfish(ctx, simulateRedfishOptions{Mockup: mockup, Listen: "127.0.0.1:0", TLS: true,
			CertOut: certFile, User: "ops", PasswordFile: pw, Started: started}, s)
	})
	out, _, err := runProbeT(t, probeOptions{Target: "redfish://" + strings.TrimPrefix(base, "https://"),
		User: "ops", PasswordFile: pw, CAFile: certFile, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "meter total from EnvironmentMetrics") || !strings.Contains(out, "374") {
		t.Errorf("probe of the simulator:\n%s", out)
	}
	got := stop()
	for _, want := range []string{
		"at " + base + "/redfish/v1 (Ctrl-C to stop)",
		"account: ops (password as given)",
		"--ca " + certFile,
		"stopped",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, bmcPassword) {
		t.Fatal("output shows the password")
	}
}

func TestSimulateRedfishFaultAndDefaults(t *testing.T) {
	mockup := testenv.CorpusPath(t, "redfish", "public-rackmount1")
	err := runSimulateRedfish(context.Background(), simulateRedfishOptions{Mockup: mockup, Listen: "127.0.0.1:0", Faults: []string{"explode"}},
		streams{Out: &bytes.Buffer{}, ErrOut: &bytes.Buffer{}})
	if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), "explode") {
		t.Errorf("unknown fault: %v", err)
	}

	base, stop := serve(t, func(ctx context.Context, started func(string), s streams) error {
		return runSimulateRedfish(ctx, simulateRedfishOptions{Mockup: mockup, Listen: "127.0.0.1:0",
			Faults: []string{"legacy-only"}, Started: started}, s)
	})
	t.Setenv(redfishPasswordEnv, simDefaultPassword)
	out, _, err := runProbeT(t, probeOptions{Target: base, User: simDefaultUser, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "meter total from Power") || !strings.Contains(out, "344") {
		t.Errorf("legacy-only BMC:\n%s", out)
	}
	if got := stop(); !strings.Contains(got, "faults: legacy-only") || !strings.Contains(got, "account: admin / password") {
		t.Errorf("output:\n%s", got)
	}
}
