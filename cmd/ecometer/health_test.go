package main

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
)

// healthState is /healthz's JSON, as far as these tests read it.
type healthState struct {
	Status  string `json:"status"`
	Error   string `json:"error"`
	Failing int    `json:"failing_devices"`
	Device  map[string]struct {
		LastOK    *time.Time `json:"last_ok"`
		LastError string     `json:"last_error"`
		Failures  int        `json:"consecutive_failures"`
		Profile   string     `json:"profile"`
	} `json:"device_state"`
}

// waitHealth polls /healthz until ok says it is what the test waits for.
func (s *served) waitHealth(t *testing.T, what string, ok func(code int, h healthState) bool) (int, healthState) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		code, body := s.get(t, "/healthz")
		var h healthState
		if err := json.Unmarshal([]byte(body), &h); err != nil {
			t.Fatalf("/healthz: %v\n%s", err, body)
		}
		if ok(code, h) {
			return code, h
		}
		if time.Now().After(deadline) {
			t.Fatalf("/healthz never showed %s: last %d %s\nlogs:\n%s", what, code, body, s.logs)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitMetrics polls /metrics until it contains every one of want.
func (s *served) waitMetrics(t *testing.T, want ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, metrics := s.get(t, "/metrics")
		var missing []string
		for _, w := range want {
			if !strings.Contains(metrics, w) {
				missing = append(missing, w)
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks\n%s\nafter 10 s:\n%s", strings.Join(missing, "\n"), grepLines(metrics, "ecometer_"))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// closedPort returns a loopback UDP port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := c.LocalAddr().(*net.UDPAddr).Port
	c.Close()
	return port
}

// Every device dead: /healthz is 503 and names the devices' errors; /readyz
// stays 200 (the instance works, the network does not).
func TestHealthzAllDevicesDead(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("TEST_DEAD_COMMUNITY", "public")
	file := filepath.Join(dir, "site.yaml")
	src := fmt.Sprintf(`sites: [{name: lab}]
x-dead: &dead {site: lab, class: pdu, protocol: snmp, interval: 1s, snmp: {community: env:TEST_DEAD_COMMUNITY, timeout: 200ms, retries: 0}}
devices:
  - {<<: *dead, name: pdu-a, address: "127.0.0.1:%d"}
  - {<<: *dead, name: pdu-b, address: "127.0.0.1:%d"}
storage: {data_dir: data}
`, closedPort(t), closedPort(t))
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startServe(t, serveOptions{ConfigFile: file})
	code, h := s.waitHealth(t, "every device failing", func(code int, h healthState) bool { return h.Failing == 2 })
	if code != http.StatusServiceUnavailable || h.Status != "unavailable" || !strings.Contains(h.Error, "every device's latest poll failed (2 of 2)") {
		t.Errorf("/healthz = %d %+v, want 503 naming every device", code, h)
	}
	for _, d := range []string{"pdu-a", "pdu-b"} {
		if st := h.Device[d]; st.LastError == "" || st.Failures < 1 || st.LastOK != nil {
			t.Errorf("%s: %+v, want its error and no success", d, st)
		}
	}
	if code, body := s.get(t, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d %s, want 200: the instance itself works", code, body)
	}
	// The data_dir was relative: it is next to the config, not in the
	// working directory.
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		t.Errorf("relative data_dir not created beside the config: %v", err)
	}
	if !strings.Contains(s.logs.String(), `msg="poll failed" device=pdu-a`) {
		t.Errorf("logs lack the first failure of pdu-a:\n%s", s.logs)
	}
}

// A bucket (InfluxDB 1.8: database) that does not exist: serve starts and
// keeps the samples in the outbox, but says so at once, and /healthz is 503
// naming the bucket, against a real influxd.
func TestHealthzMissingInfluxDatabase(t *testing.T) {
	influx := testenv.Influx(t)
	site := startServedSite(t)
	file := site.config(t, fmt.Sprintf(`  influxdb: {url: %s, bucket: no_such_db/autogen}
  outbox: {dir: %s}
`, influx.URL, filepath.Join(t.TempDir(), "outbox")))
	s := startServe(t, serveOptions{ConfigFile: file, FlushTimeout: time.Second})
	code, h := s.waitHealth(t, "the missing bucket", func(code int, h healthState) bool { return code != http.StatusOK })
	if code != http.StatusServiceUnavailable || !strings.Contains(h.Error, `bucket "no_such_db/autogen" not found`) {
		t.Errorf("/healthz = %d %+v, want 503 naming the bucket", code, h)
	}
	if code, body := s.get(t, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d %s, want 503 without a usable store", code, body)
	}
	if logs := s.logs.String(); !strings.Contains(logs, "InfluxDB cannot be used yet") || !strings.Contains(logs, "no_such_db/autogen") {
		t.Errorf("logs do not name the problem at start-up:\n%s", logs)
	}
}

// /metrics carries the latest readings, labelled per meter, and /healthz
// the detected profile of each device.
func TestMetricsLatestReadings(t *testing.T) {
	site := startServedSite(t)
	s := startServe(t, serveOptions{ConfigFile: site.config(t, "")})
	s.waitPolled(t, 3)
	_, h := s.waitHealth(t, "profiles", func(_ int, h healthState) bool { return h.Device["ups-a"].Profile != "" })
	if p := h.Device["pdu-a"].Profile; p != "lab-rpdu" {
		t.Errorf("pdu-a profile %q, want lab-rpdu", p)
	}
	if p := h.Device["srv-1"].Profile; !strings.Contains(p, "Chassis") {
		t.Errorf("srv-1 profile %q, want its chassis power source", p)
	}
	// /healthz counts a poll when the device answered; its readings reach
	// /metrics once they are stored, a moment later.
	s.waitMetrics(t,
		`ecometer_power_watts{class="pdu",device="pdu-a",meter="total",rack="R1",room="",site="lab",source="snmp"} `,
		`ecometer_power_watts{class="server",device="srv-1",meter="total",rack="",room="",site="lab",source="redfish"} 374`,
		`ecometer_device_reachable{class="pdu",device="pdu-a",meter="",rack="R1",room="",site="lab",source="snmp"} 1`,
		`ecometer_ups_battery_charge_ratio{class="ups",device="ups-a"`,
		`# TYPE ecometer_energy_joules_total counter`,
	)
	if logs := s.logs.String(); !strings.Contains(logs, `msg="first successful poll" device=pdu-a profile=lab-rpdu`) {
		t.Errorf("logs lack the first successful poll with its profile:\n%s", logs)
	}
}
