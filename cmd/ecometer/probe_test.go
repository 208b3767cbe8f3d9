package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/internal/testenv"

	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// startAgent serves the named corpus recordings on a free loopback port.
func startAgent(t *testing.T, users []simsnmp.V3User, names ...string) *simsnmp.Agent {
	t.Helper()
	dir := testenv.CorpusPath(t, "snmp")
	var recs []*simsnmp.Recording
	for _, n := range names {
		rec, err := loadRecording(filepath.Join(dir, n+".snmprec"))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	a, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs, Users: users})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func probeAt(a *simsnmp.Agent) probeOptions {
	return probeOptions{Target: "127.0.0.1", Port: int(a.Addr().Port()), PortSet: true, Timeout: time.Second, Retries: 1}
}

func runProbeT(t *testing.T, opts probeOptions) (stdout, stderr string, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = runProbe(context.Background(), opts, streams{Out: &out, ErrOut: &errOut})
	return out.String(), errOut.String(), err
}

func TestProbeSNMP(t *testing.T) {
	a := startAgent(t, nil, "apc_ap8959eu3")
	t.Setenv("TEST_PDU_COMMUNITY", "apc_ap8959eu3")
	opts := probeAt(a)
	opts.Community = "env:TEST_PDU_COMMUNITY"

	out, errOut, err := runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if errOut != "" {
		t.Errorf("stderr = %q, want nothing for a community reference", errOut)
	}
	for _, want := range []string{
		"profile:  apc-rpdu2 (sysObjectID .1.3.6.1.4.1.318.1.3.4.6)",
		"power        total     power_w      270     W     .1.3.6.1.4.1.318.1.1.26.4.3.1.5.1",
		"phase/L1  power_w      250     W     .1.3.6.1.4.1.318.1.1.26.6.3.1.7.1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("probe output lacks %q:\n%s", want, out)
		}
	}

	opts.JSON = true
	out, _, err = runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Profile  string
		Readings []struct {
			Meter, Field, OID string
			Value             float64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out)
	}
	if res.Profile != "apc-rpdu2" || len(res.Readings) == 0 || res.Readings[0].Value != 270 || res.Readings[0].OID == "" {
		t.Errorf("json = %+v", res)
	}
}

func TestProbeSNMPLiteralCommunityWarns(t *testing.T) {
	a := startAgent(t, nil, "apc_ap8959eu3")
	opts := probeAt(a)
	opts.Community = "apc_ap8959eu3"
	out, errOut, err := runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errOut, "warning: --community is a literal value") || strings.Contains(errOut, "apc_ap8959eu3") {
		t.Errorf("stderr = %q, want a warning that does not repeat the community", errOut)
	}
	if strings.Contains(out, "apc_ap8959eu3") {
		t.Errorf("stdout shows the community:\n%s", out)
	}
}

func TestProbeSNMPErrors(t *testing.T) {
	// A bound socket that never answers: a silent agent.
	silent, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	silentPort := silent.LocalAddr().(*net.UDPAddr).Port
	// A port nothing listens on: the kernel answers port unreachable.
	closed, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := closed.LocalAddr().(*net.UDPAddr).Port
	closed.Close()
	// A device no profile knows.
	rec, err := simsnmp.Parse("mystery.snmprec", strings.NewReader(
		"1.3.6.1.2.1.1.1.0|4|Mystery box\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n"))
	if err != nil {
		t.Fatal(err)
	}
	unknown, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: []*simsnmp.Recording{rec}})
	if err != nil {
		t.Fatal(err)
	}
	defer unknown.Close()

	tests := []struct {
		name     string
		opts     probeOptions
		wantCode int
		want     string
	}{
		{"timeout", probeOptions{Target: "127.0.0.1", Port: silentPort, Community: "env:TEST_COMMUNITY", Timeout: 100 * time.Millisecond}, 1,
			"127.0.0.1:" + strconv.Itoa(silentPort) + ": no answer within 100ms (1 try): check the address and port, that an SNMP agent runs there"},
		{"refused", probeOptions{Target: "127.0.0.1:" + strconv.Itoa(closedPort), Community: "env:TEST_COMMUNITY", Timeout: time.Second}, 1,
			"connection refused (nothing listens on that UDP port): check the address and --port"},
		{"unknown device", probeOptions{Target: "127.0.0.1", Port: int(unknown.Addr().Port()), Community: "env:TEST_MYSTERY", Timeout: time.Second}, 1,
			"no profile matches the device (sysObjectID .1.3.6.1.4.1.99999.1, sysDescr \"Mystery box\"): name one with --profile"},
		{"unknown profile", probeOptions{Target: "127.0.0.1", Port: 161, Community: "env:TEST_COMMUNITY", Profile: "nope"}, 2,
			`probe: no profile named "nope" (profiles: apc-`},
		{"no community", probeOptions{Target: "127.0.0.1", Port: 161}, 2,
			"probe: SNMP v2c needs --community env:NAME or file:/path"},
		{"literal v3 key", probeOptions{Target: "127.0.0.1", Port: 161, V3User: "u", V3AuthProto: "SHA", V3AuthKey: "hunter22"}, 2,
			"--v3-auth-key must be a reference, env:NAME or file:/path"},
		{"v3 key without protocol", probeOptions{Target: "127.0.0.1", Port: 161, V3User: "u", V3AuthKey: "env:TEST_COMMUNITY"}, 2,
			"--v3-auth-key needs --v3-auth-proto"},
		{"unset env", probeOptions{Target: "127.0.0.1", Port: 161, Community: "env:ECOMETER_TEST_UNSET"}, 2,
			"environment variable ECOMETER_TEST_UNSET is not set"},
		{"port twice", probeOptions{Target: "127.0.0.1:1161", Port: 161, PortSet: true, Community: "env:TEST_COMMUNITY"}, 2,
			`"127.0.0.1:1161" names port 1161 but --port is 161`},
		{"redfish flag on snmp", probeOptions{Target: "127.0.0.1", Port: 161, Community: "env:TEST_COMMUNITY", CAFile: "ca.pem"}, 2,
			"are for Redfish"},
		{"snmp flag on redfish", probeOptions{Target: "redfish://127.0.0.1", Community: "env:TEST_COMMUNITY"}, 2,
			"are for SNMP"},
		{"unknown scheme", probeOptions{Target: "ftp://127.0.0.1"}, 2,
			"want HOST for SNMP, or redfish://HOST[:PORT]"},
	}
	t.Setenv("TEST_MYSTERY", "mystery")
	t.Setenv("TEST_COMMUNITY", "public")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runProbeT(t, tt.opts)
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("runProbe() = %v (exit %d), want exit %d", err, got, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error has more than one line: %q", err)
			}
		})
	}
}

func TestProbeSNMPv3(t *testing.T) {
	user := simsnmp.V3User{Name: "lab", Auth: gosnmp.SHA256, AuthPass: "auth-pass-123", Priv: gosnmp.AES, PrivPass: "priv-pass-456"}
	a := startAgent(t, []simsnmp.V3User{user}, "apc_ap8959eu3")
	t.Setenv("TEST_AUTH", user.AuthPass)
	t.Setenv("TEST_PRIV", user.PrivPass)
	t.Setenv("TEST_WRONG", "wrong-pass-789")
	opts := probeAt(a)
	opts.V3User, opts.V3AuthProto, opts.V3AuthKey, opts.V3PrivProto, opts.V3PrivKey = "lab", "SHA256", "env:TEST_AUTH", "AES", "env:TEST_PRIV"
	out, _, err := runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "apc-rpdu2") {
		t.Errorf("v3 probe output:\n%s", out)
	}
	if strings.Contains(out, user.AuthPass) || strings.Contains(out, user.PrivPass) {
		t.Fatal("probe output shows a key")
	}

	opts.V3AuthKey = "env:TEST_WRONG"
	_, _, err = runProbeT(t, opts)
	if exitCode(err) != 1 || !strings.Contains(err.Error(), "the SNMPv3 agent refused the credentials: check --v3-user, the protocols and both keys") {
		t.Errorf("wrong key: %v", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrong-pass-789") {
		t.Fatal("error shows the key")
	}
}

const bmcPassword = "bmc-Pa55-word"

// startBMC serves a corpus mockup over HTTPS on 127.0.0.1 and returns the
// server and a file holding its certificate.
func startBMC(t *testing.T, mockup string) (*httptest.Server, string) {
	t.Helper()
	m, err := simredfish.Load(testenv.CorpusPath(t, "redfish", mockup))
	if err != nil {
		t.Fatal(err)
	}
	b, err := simredfish.New(simredfish.Options{Mockup: m, Username: "admin", Password: bmcPassword})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(b)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return srv, ca
}

func TestProbeRedfish(t *testing.T) {
	srv, ca := startBMC(t, "public-rackmount1")
	pwFile := writeFile(t, "bmc.pw", bmcPassword+"\n")
	target := "redfish://" + strings.TrimPrefix(srv.URL, "https://")
	opts := probeOptions{Target: target, User: "admin", PasswordFile: pwFile, CAFile: ca, Timeout: 5 * time.Second}

	out, errOut, err := runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"meter total from EnvironmentMetrics",
		"EnvironmentMetrics  total",
		"374",
		"Power               total",
		"344",
		"/redfish/v1/Chassis/1U/Power",
		"GracefulShutdown",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("redfish probe output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out+errOut, bmcPassword) {
		t.Fatal("output shows the password")
	}

	opts.JSON = true
	out, _, err = runProbeT(t, opts)
	if err != nil {
		t.Fatal(err)
	}
	var res struct {
		Readings []struct {
			Source, Meter, Field string
			Value                float64
		}
	}
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("--json: %v\n%s", err, out)
	}
	got := map[string]float64{}
	for _, r := range res.Readings {
		got[r.Source+" "+r.Meter+" "+r.Field] = r.Value
	}
	if got["EnvironmentMetrics total power_w"] != 374 || got["Power total power_w"] != 344 {
		t.Errorf("readings %v, want EnvironmentMetrics 374 W and legacy Power 344 W", got)
	}

	t.Run("password from the environment", func(t *testing.T) {
		t.Setenv(redfishPasswordEnv, bmcPassword)
		o := opts
		o.PasswordFile, o.JSON = "", false
		if _, _, err := runProbeT(t, o); err != nil {
			t.Fatal(err)
		}
	})
}

func TestProbeRedfishErrors(t *testing.T) {
	srv, ca := startBMC(t, "public-rackmount1")
	host := strings.TrimPrefix(srv.URL, "https://")
	good := writeFile(t, "good.pw", bmcPassword)
	bad := writeFile(t, "bad.pw", "not-the-password")
	tests := []struct {
		name     string
		opts     probeOptions
		wantCode int
		want     string
	}{
		{"untrusted certificate", probeOptions{Target: "redfish://" + host, User: "admin", PasswordFile: good}, 1,
			"the BMC's certificate is not trusted: pass its CA with --ca FILE, or --insecure-skip-verify in a lab"},
		{"wrong password", probeOptions{Target: "https://" + host, User: "admin", PasswordFile: bad, CAFile: ca}, 1,
			"the BMC refused the login (HTTP 401): check --user and the password"},
		{"no password", probeOptions{Target: "redfish://" + host, User: "admin", CAFile: ca}, 2,
			"--user admin needs a password: --password-file FILE or $" + redfishPasswordEnv},
		{"path in URL", probeOptions{Target: "redfish://" + host + "/redfish/v1"}, 2,
			"want redfish://HOST[:PORT] (no user, no path)"},
		{"https to a plain HTTP port", probeOptions{Target: "redfish://" + plainHTTP(t), Timeout: 2 * time.Second}, 1,
			"the port speaks plain HTTP, not HTTPS: use http://HOST:PORT (labs only), or the BMC's HTTPS port"},
		{"http to an HTTPS port", probeOptions{Target: "http://" + host, User: "admin", PasswordFile: good, Timeout: 2 * time.Second}, 1,
			"the port does not answer plain HTTP (it likely speaks TLS): use https://HOST:PORT or redfish://HOST:PORT"},
		{"session login refused with 405", probeOptions{Target: "http://" + noSessions(t), User: "admin", PasswordFile: good, Timeout: 2 * time.Second}, 1,
			"the BMC does not take session logins (HTTP 405 on POST /redfish/v1/SessionService/Sessions): use basic auth (redfish.auth: basic in the config; --auth basic with probe)"},
		{"bad --auth", probeOptions{Target: "redfish://" + host, Auth: "digest"}, 2, `--auth "digest": want session or basic`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := runProbeT(t, tt.opts)
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("runProbe() = %v (exit %d), want exit %d", err, got, tt.wantCode)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q\nwant it to contain %q", err, tt.want)
			}
			if strings.Contains(err.Error(), bmcPassword) || strings.Contains(err.Error(), "not-the-password") {
				t.Fatal("error shows a password")
			}
		})
	}
}

// noSessions is a BMC that answers 405 to a session login but takes basic
// auth (some older firmware); it returns its host:port.
func noSessions(t *testing.T) string {
	t.Helper()
	b, err := simredfish.New(simredfish.Options{MockupDir: testenv.CorpusPath(t, "redfish", "public-rackmount1"), Username: "admin", Password: bmcPassword,
		BasicAuth: true})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/redfish/v1/SessionService/Sessions" {
			http.Error(w, "sessions not supported", http.StatusMethodNotAllowed)
			return
		}
		b.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// With --auth basic, the BMC that refuses sessions answers.
func TestProbeRedfishBasicAuth(t *testing.T) {
	pw := writeFile(t, "bmc.pw", bmcPassword)
	out, _, err := runProbeT(t, probeOptions{Target: "http://" + noSessions(t), User: "admin", PasswordFile: pw, Auth: "basic", Timeout: 5 * time.Second})
	if err != nil || !strings.Contains(out, "374") {
		t.Errorf("basic auth probe: %v\n%s", err, out)
	}
}

// plainHTTP serves a mockup over plain HTTP and returns its host:port.
func plainHTTP(t *testing.T) string {
	t.Helper()
	b, err := simredfish.New(simredfish.Options{MockupDir: testenv.CorpusPath(t, "redfish", "public-rackmount1")})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// TestProbeSNMPNoPower: a device from which no candidate profile reads
// power prints what it found and the candidates tried, and exits 1 with one
// line naming each candidate and what it read.
func TestProbeSNMPNoPower(t *testing.T) {
	a := startAgent(t, nil, "apc_smt750x-nmc2", "apc_masterswitch2")
	for _, tt := range []struct {
		community string
		wantOut   []string
		wantErr   string
	}{
		{"apc_smt750x-nmc2", []string{"candidates tried:", "* apc-ups (sysObjectID .1.3.6.1.4.1.318.1.3.27)", "battery_charge_pct"},
			"no power reading: apc-ups (sysObjectID .1.3.6.1.4.1.318.1.3.27): 9 readings, none of power (power_w, energy_kwh, input_w, output_w)"},
		{"apc_masterswitch2", []string{"candidates tried:", "no power sensors found"},
			"no power reading: apc-rpdu (sysObjectID .1.3.6.1.4.1.318.1.3.4.2): no readings"},
	} {
		t.Run(tt.community, func(t *testing.T) {
			t.Setenv("TEST_COMMUNITY", tt.community)
			opts := probeAt(a)
			opts.Community = "env:TEST_COMMUNITY"
			out, _, err := runProbeT(t, opts)
			if exitCode(err) != 1 || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("runProbe() = %v (exit %d), want exit 1 with %q", err, exitCode(err), tt.wantErr)
			}
			for _, w := range tt.wantOut {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
		})
	}
}

// TestProbeRedfishNoPower: a service with no power reading prints why per
// chassis and exits 1 with one line naming each.
func TestProbeRedfishNoPower(t *testing.T) {
	m, err := simredfish.Load(filepath.Join("..", "..", "collectors", "redfish", "testdata", "mockups", "no-power"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := simredfish.New(simredfish.Options{Mockup: m, Username: "admin", Password: bmcPassword})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	opts := probeOptions{Target: srv.URL, User: "admin", PasswordFile: writeFile(t, "bmc.pw", bmcPassword), Timeout: 5 * time.Second}
	out, _, err := runProbeT(t, opts)
	if exitCode(err) != 1 || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "no power reading: chassis /redfish/v1/Chassis/Blade7: EnvironmentMetrics /redfish/v1/Chassis/Blade7/EnvironmentMetrics: no PowerWatts reading") {
		t.Fatalf("runProbe() = %v (exit %d), want exit 1 naming the chassis", err, exitCode(err))
	}
	if !strings.Contains(out, "chassis /redfish/v1/Chassis/Blade7: no power reading") {
		t.Errorf("output:\n%s", out)
	}
}
