package main

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// syncBuffer is a bytes.Buffer the service's goroutines can log to while
// the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// servedSite is a config of real simulated devices on loopback: two SNMP
// agents' recordings (one with a user profile from profiles_dir) and a
// Redfish BMC over TLS.
type servedSite struct {
	dir     string // the test's temporary directory
	snmp    string // 127.0.0.1:PORT of the SNMP agent
	redfish string // https://127.0.0.1:PORT
	ca      string // PEM file of the BMC's certificate
}

func startServedSite(t *testing.T) servedSite {
	t.Helper()
	site := servedSite{dir: t.TempDir()}
	a := startAgent(t, nil, "apc_ap8959eu3", "eaton-mgeups_93ps")
	site.snmp = a.Addr().String()

	m, err := simredfish.Load(testenv.CorpusPath(t, "redfish", "public-rackmount1"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := simredfish.New(simredfish.Options{Mockup: m, Username: "monitor", Password: "bmc-secret-value"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(b)
	t.Cleanup(srv.Close)
	site.redfish = srv.URL
	site.ca = filepath.Join(site.dir, "bmc-ca.pem")
	if err := os.WriteFile(site.ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}

	// A user profile: the built-in apc-rpdu2 under another name, which
	// only collection.profiles_dir makes known.
	profiles := filepath.Join(site.dir, "profiles")
	data, err := os.ReadFile(filepath.Join("..", "..", "collectors", "snmp", "profiles", "apc-rpdu2.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	data = bytes.Replace(data, []byte("\nname: apc-rpdu2\n"), []byte("\nname: lab-rpdu\n"), 1)
	if err := os.MkdirAll(profiles, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(profiles, "lab-rpdu.yaml"), data, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Setenv("TEST_PDU_COMMUNITY", "apc_ap8959eu3")
	t.Setenv("TEST_UPS_COMMUNITY", "eaton-mgeups_93ps")
	t.Setenv("TEST_BMC_PASSWORD", "bmc-secret-value")
	return site
}

// config writes a config for the site; storage is appended as given.
func (s servedSite) config(t *testing.T, storage string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(s.snmp)
	src := fmt.Sprintf(`sites:
  - name: lab
devices:
  - name: pdu-a
    site: lab
    rack: R1
    class: pdu
    protocol: snmp
    address: %[1]s:%[2]s
    profile: lab-rpdu
    interval: 1s
    snmp: {community: env:TEST_PDU_COMMUNITY, timeout: 500ms}
  - name: ups-a
    site: lab
    class: ups
    protocol: snmp
    address: %[1]s
    interval: 1s
    snmp: {community: env:TEST_UPS_COMMUNITY, port: %[2]s, timeout: 500ms}
  - name: srv-1
    site: lab
    class: server
    protocol: redfish
    address: %[3]s
    interval: 2s
    redfish: {user: monitor, password: env:TEST_BMC_PASSWORD, ca_file: %[4]s}
collection:
  profiles_dir: %[5]s
storage:
  data_dir: %[6]s
%[7]s`, host, port, s.redfish, s.ca, filepath.Join(s.dir, "profiles"), filepath.Join(s.dir, "data"), storage)
	file := filepath.Join(s.dir, "site.yaml")
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	return file
}

// served is a running runServe.
type served struct {
	base   string // http://ADDR
	logs   *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startServe(t *testing.T, opts serveOptions) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{logs: &syncBuffer{}, cancel: cancel, done: make(chan error, 1)}
	addr := make(chan net.Addr, 1)
	opts.Listen = "127.0.0.1:0"
	opts.started = func(a net.Addr) { addr <- a }
	go func() { s.done <- runServe(ctx, opts, streams{Out: io.Discard, ErrOut: s.logs}) }()
	select {
	case a := <-addr:
		s.base = "http://" + a.String()
	case err := <-s.done:
		cancel()
		t.Fatalf("runServe ended before serving: %v\n%s", err, s.logs)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatalf("runServe did not start\n%s", s.logs)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels the service (as SIGTERM does) and waits for a clean exit.
func (s *served) stop(t *testing.T) {
	t.Helper()
	if s.done == nil {
		return
	}
	s.cancel()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("runServe = %v, want nil after a shutdown\n%s", err, s.logs)
		}
	case <-time.After(20 * time.Second):
		t.Errorf("runServe did not stop\n%s", s.logs)
	}
	s.done = nil
}

type healthz struct {
	Status  string              `json:"status"`
	Error   string              `json:"error"`
	Devices int                 `json:"devices"`
	Ages    map[string]*float64 `json:"last_ok_poll_age_seconds"`
	Outbox  *struct {
		QueuedBatches int   `json:"queued_batches"`
		QueuedBytes   int64 `json:"queued_bytes"`
		Quarantined   int   `json:"quarantined_batches"`
	} `json:"outbox"`
}

func (s *served) get(t *testing.T, path string) (int, string) {
	t.Helper()
	resp, err := http.Get(s.base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitPolled waits until /healthz shows a successful poll of every device.
func (s *served) waitPolled(t *testing.T, devices int) healthz {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, body := s.get(t, "/healthz")
		var h healthz
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("/healthz: %v\n%s", err, body)
		}
		if code != http.StatusOK || h.Status != "ok" {
			t.Fatalf("/healthz = %d %s", code, body)
		}
		polled := 0
		for _, age := range h.Ages {
			if age != nil {
				polled++
			}
		}
		if h.Devices == devices && polled == devices {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("devices not all polled within 10 s: /healthz %s\nlogs:\n%s", body, s.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func TestServeEmbedded(t *testing.T) {
	site := startServedSite(t)
	file := site.config(t, "")
	s := startServe(t, serveOptions{ConfigFile: file})

	h := s.waitPolled(t, 3)
	if h.Outbox != nil {
		t.Errorf("/healthz shows an outbox without InfluxDB: %+v", h.Outbox)
	}
	time.Sleep(1500 * time.Millisecond) // a few more polls

	code, metrics := s.get(t, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`ecometer_polls_total{outcome="ok",source="snmp"}`,
		`ecometer_polls_total{outcome="ok",source="redfish"}`,
		`ecometer_device_reachable{class="pdu",device="pdu-a",meter="",rack="R1",room="",site="lab",source="snmp"} 1`,
		`ecometer_device_reachable{class="ups",device="ups-a",meter="",rack="",room="",site="lab",source="snmp"} 1`,
		`ecometer_device_reachable{class="server",device="srv-1",meter="",rack="",room="",site="lab",source="redfish"} 1`,
		`ecometer_poll_duration_seconds_count{source="snmp"}`,
		"go_goroutines ",
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if strings.Contains(metrics, `outcome="error"`) {
		t.Errorf("/metrics shows failed polls:\n%s\nlogs:\n%s", grepLines(metrics, "ecometer_polls_total"), s.logs)
	}
	s.stop(t)

	logs := s.logs.String()
	for _, want := range []string{
		"msg=\"device added\" device=pdu-a protocol=snmp address=" + site.snmp + " interval=1s profile=lab-rpdu",
		"msg=\"device added\" device=ups-a protocol=snmp address=127.0.0.1 interval=1s profile=(detect)",
		"msg=\"device added\" device=srv-1 protocol=redfish address=" + site.redfish + " interval=2s",
		"msg=\"ecometer serving\" devices=3 snmp=2 redfish=1 store=\"embedded SQLite in ",
		"msg=stopped",
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s\n%s", want, logs)
		}
	}
	for _, secret := range []string{"bmc-secret-value", "apc_ap8959eu3", "eaton-mgeups_93ps"} {
		if strings.Contains(logs, secret) {
			t.Errorf("logs contain the secret %q", secret)
		}
	}

	// The samples are in the embedded store.
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(site.dir, "data")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	power := map[string]int{}
	latest, err := st.Latest(context.Background(), store.Query{Measurement: sample.Power})
	if err != nil {
		t.Fatal(err)
	}
	for _, smp := range latest {
		power[smp.Device+" "+smp.Source]++
	}
	for _, want := range []string{"pdu-a snmp", "ups-a snmp", "srv-1 redfish"} {
		if power[want] == 0 {
			t.Errorf("no power samples of %s in the store (have %v)", want, power)
		}
	}
	var polls, reachable int
	err = st.Range(context.Background(), store.Query{Measurement: sample.Device, Device: "pdu-a"}, func(smp sample.Sample) error {
		polls++
		for _, f := range smp.Fields {
			if f.Name == "reachable" && f.Num == 1 {
				reachable++
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if polls < 2 || reachable != polls {
		t.Errorf("pdu-a: %d device points, %d reachable; want ≥ 2, all reachable", polls, reachable)
	}
}

func TestServeInfluxThroughOutbox(t *testing.T) {
	influx := testenv.Influx(t)
	site := startServedSite(t)
	t.Setenv("TEST_INFLUX_TOKEN", "unused-by-influxdb-1.8")
	outboxDir := filepath.Join(t.TempDir(), "outbox")
	file := site.config(t, fmt.Sprintf(`  influxdb: {url: %s, bucket: %s, token: env:TEST_INFLUX_TOKEN}
  outbox: {dir: %s}
`, influx.URL, influx.Bucket, outboxDir))
	s := startServe(t, serveOptions{ConfigFile: file, FlushTimeout: 5 * time.Second})

	h := s.waitPolled(t, 3)
	if h.Outbox == nil {
		t.Fatal("/healthz shows no outbox with InfluxDB configured")
	}
	code, metrics := s.get(t, "/metrics")
	if code != http.StatusOK || !strings.Contains(metrics, "ecometer_outbox_forwarded_samples_total ") {
		t.Errorf("/metrics = %d, want the outbox metrics:\n%s", code, grepLines(metrics, "ecometer_outbox"))
	}
	s.stop(t)

	logs := s.logs.String()
	if !strings.Contains(logs, "store=\"InfluxDB at "+influx.URL+", bucket "+influx.Bucket+", through the outbox in "+outboxDir+"\"") ||
		!strings.Contains(logs, "msg=\"outbox flushed\"") {
		t.Errorf("logs lack the store and the flush:\n%s", logs)
	}
	// InfluxDB 1.x: the leader keeps the hourly rollups, and the samples
	// forwarded through the outbox left their hours' write tokens.
	if !strings.Contains(logs, "job=influxdb-rollups") {
		t.Errorf("the rollup job was not scheduled:\n%s", grepLines(logs, "singleton"))
	}
	if out, err := influx.Query(`SELECT count(token) FROM ecometer_power_writes`); err != nil || !strings.Contains(string(out), `"count"`) {
		t.Errorf("no write tokens in InfluxDB: %s %v", out, err)
	}
	if _, err := os.Stat(filepath.Join(outboxDir, "outbox.db")); err != nil {
		t.Errorf("no outbox on disk: %v", err)
	}
	if _, err := os.Stat(filepath.Join(site.dir, "data", sqlite.FileName)); err == nil {
		t.Error("the embedded store was created although InfluxDB is configured")
	}
	for _, dev := range []string{"pdu-a", "ups-a", "srv-1"} {
		out, err := influx.Query(fmt.Sprintf(`SELECT count(reachable) FROM device WHERE device = '%s'`, dev))
		if err != nil {
			t.Fatal(err)
		}
		var res struct {
			Results []struct {
				Series []struct {
					Values [][]any `json:"values"`
				} `json:"series"`
			} `json:"results"`
		}
		if err := json.Unmarshal(out, &res); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		if len(res.Results) == 0 || len(res.Results[0].Series) == 0 || res.Results[0].Series[0].Values[0][1].(float64) < 1 {
			t.Errorf("InfluxDB holds no device points of %s: %s", dev, out)
		}
		out, err = influx.Query(fmt.Sprintf(`SELECT count(power_w) FROM power WHERE device = '%s'`, dev))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(out), `"count"`) {
			t.Errorf("InfluxDB holds no power samples of %s: %s", dev, out)
		}
	}
}

func TestServeRefusesBadSetups(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		f := filepath.Join(dir, name)
		if err := os.WriteFile(f, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	device := `sites: [{name: lab}]
devices:
  - {name: pdu-a, site: lab, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: env:TEST_SERVE_UNSET}}
  - {name: srv-1, site: lab, class: server, protocol: redfish, address: 127.0.0.1:8443,
     redfish: {user: u, password: "file:` + filepath.Join(dir, "no-such-file") + `"}}
storage: {data_dir: ` + filepath.Join(dir, "data") + `}
`
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"invalid config", []string{"--config", write("bad.yaml", "sites: [{name: lab}]\ndevices:\n  - {name: x, site: nowhere}\n")},
			[]string{"bad.yaml:3:", "unknown site", "invalid config"}},
		{"unknown profile", []string{"--config", write("prof.yaml", "sites: [{name: lab}]\ndevices:\n  - {name: x, site: lab, class: pdu, protocol: snmp, address: 127.0.0.1, profile: apc-rpdu9, snmp: {community: env:C}}\n")},
			[]string{`unknown SNMP profile "apc-rpdu9"`}},
		{"missing profiles dir", []string{"--config", write("pdir.yaml", "sites: [{name: lab}]\ncollection: {profiles_dir: "+filepath.Join(dir, "nope")+"}\n")},
			[]string{"collection.profiles_dir: stat " + filepath.Join(dir, "nope")}},
		{"unresolvable secret", []string{"--config", write("secret.yaml", device)},
			[]string{"devices[0] pdu-a: snmp.community: ", "TEST_SERVE_UNSET"}},
		{"no config", nil, []string{`"config" not set`}},
		{"bad log format", []string{"--config", write("ok.yaml", "sites: [{name: lab}]\n"), "--log-format", "xml"},
			[]string{`--log-format "xml": want text or json`}},
		{"stray argument", []string{"--config", write("ok2.yaml", "sites: [{name: lab}]\n"), "extra"},
			[]string{`unexpected argument "extra"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), append([]string{"ecometer", "serve"}, tt.args...), &out, &errOut)
			if code != exitBadUse {
				t.Errorf("exit code %d, want %d\n%s", code, exitBadUse, &errOut)
			}
			for _, want := range tt.want {
				if !strings.Contains(errOut.String(), want) {
					t.Errorf("stderr lacks %q:\n%s", want, &errOut)
				}
			}
		})
	}

	// The redfish password file is named; the SNMP device comes first, so
	// give it its community and look at the second device.
	t.Setenv("TEST_SERVE_UNSET", "public")
	var errOut bytes.Buffer
	code := run(context.Background(), []string{"ecometer", "serve", "--config", filepath.Join(dir, "secret.yaml")}, io.Discard, &errOut)
	if code != exitBadUse || !strings.Contains(errOut.String(), "devices[1] srv-1: redfish.password: ") ||
		strings.Contains(errOut.String(), "public") {
		t.Errorf("exit %d, stderr %s; want 2 naming srv-1's redfish.password and no secret value", code, &errOut)
	}
}

func TestServeHTTPAddressTaken(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	dir := t.TempDir()
	file := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(file, []byte("sites: [{name: lab}]\nstorage: {data_dir: "+filepath.Join(dir, "data")+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	err = runServe(context.Background(), serveOptions{ConfigFile: file, Listen: ln.Addr().String()}, streams{Out: io.Discard, ErrOut: &logs})
	if err == nil || !strings.Contains(err.Error(), "listen on "+ln.Addr().String()) {
		t.Errorf("runServe = %v, want a listen error", err)
	}
}

// grepLines returns the lines of s containing sub.
func grepLines(s, sub string) string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if strings.Contains(line, sub) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}
