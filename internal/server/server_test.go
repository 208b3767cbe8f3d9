package server

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

func get(t *testing.T, url string) (int, string, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

func TestMetrics(t *testing.T) {
	reg := NewRegistry()
	polls := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "ecometer_polls_total", Help: "test"}, []string{"source", "outcome"})
	reg.MustRegister(polls)
	polls.WithLabelValues("snmp", "ok").Add(3)
	srv := httptest.NewServer(New(Options{Gatherer: reg}).srv.Handler)
	defer srv.Close()

	code, _, body := get(t, srv.URL+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics = %d", code)
	}
	want := []string{`ecometer_polls_total{outcome="ok",source="snmp"} 3`, "go_goroutines "}
	if runtime.GOOS == "linux" { // the process collector needs procfs
		want = append(want, "process_start_time_seconds ")
	}
	for _, want := range want {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestHealthz(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	polls := NewPolls("ups-a", "pdu-b")
	polls.OK("ups-a", now.Add(-1500*time.Millisecond))
	polls.SetProfile("ups-a", "ups-mib")
	dead := NewPolls("ups-a", "pdu-b")
	dead.Fail("ups-a", now.Add(-time.Second), errors.New("timeout"))
	dead.Fail("pdu-b", now.Add(-2*time.Second), errors.New("connection refused"))
	oneDead := NewPolls("ups-a", "pdu-b")
	oneDead.OK("ups-a", now.Add(-time.Second))
	oneDead.Fail("pdu-b", now.Add(-2*time.Second), errors.New("connection refused"))
	const okDevices = `"devices":2,"failing_devices":0,"last_ok_poll_age_seconds":{"pdu-b":null,"ups-a":1.5},` +
		`"device_state":{"pdu-b":{"consecutive_failures":0},"ups-a":{"last_ok":"2026-03-01T11:59:58.5Z","consecutive_failures":0,"profile":"ups-mib"}}`
	tests := []struct {
		name     string
		health   Health
		wantCode int
		want     string
	}{
		{"healthy without outbox",
			Health{Ready: true, Devices: polls.Devices()}, http.StatusOK,
			`{"status":"ok",` + okDevices + `}`},
		{"healthy with outbox",
			Health{Ready: true, Devices: polls.Devices(), Outbox: &OutboxState{Batches: 2, Bytes: 512, Quarantined: 1}}, http.StatusOK,
			`{"status":"ok",` + okDevices + `,"outbox":{"queued_batches":2,"queued_bytes":512,"quarantined_batches":1,"forwarding":"ok"}}`},
		{"store unusable",
			Health{Ready: true, Store: errors.New("disk I/O error")}, http.StatusServiceUnavailable,
			`{"status":"unavailable","error":"store: disk I/O error","devices":0,"failing_devices":0,"last_ok_poll_age_seconds":{},"device_state":{}}`},
		{"every device fails",
			Health{Ready: true, Devices: dead.Devices()}, http.StatusServiceUnavailable,
			`{"status":"unavailable","error":"every device's latest poll failed (2 of 2)","devices":2,"failing_devices":2,"last_ok_poll_age_seconds":{"pdu-b":null,"ups-a":null},` +
				`"device_state":{"pdu-b":{"last_error":"connection refused","last_error_at":"2026-03-01T11:59:58Z","consecutive_failures":1},"ups-a":{"last_error":"timeout","last_error_at":"2026-03-01T11:59:59Z","consecutive_failures":1}}}`},
		{"one device of two fails",
			Health{Ready: true, Devices: oneDead.Devices()}, http.StatusOK,
			`{"status":"ok","devices":2,"failing_devices":1,"last_ok_poll_age_seconds":{"pdu-b":null,"ups-a":1},` +
				`"device_state":{"pdu-b":{"last_error":"connection refused","last_error_at":"2026-03-01T11:59:58Z","consecutive_failures":1},"ups-a":{"last_ok":"2026-03-01T11:59:59Z","consecutive_failures":0}}}`},
		{"forwarding failing briefly",
			Health{Ready: true, Outbox: &OutboxState{FailingSince: now.Add(-StallAfter + time.Second), LastError: "HTTP 404: database not found"}}, http.StatusOK,
			`{"status":"ok","devices":0,"failing_devices":0,"last_ok_poll_age_seconds":{},"device_state":{},"outbox":{"queued_batches":0,"queued_bytes":0,"quarantined_batches":0,"forwarding":"failing","failing_since":"2026-03-01T11:55:01Z","last_error":"HTTP 404: database not found"}}`},
		{"forwarding stalled",
			Health{Ready: true, Outbox: &OutboxState{FailingSince: now.Add(-StallAfter), LastError: "HTTP 404: database not found"}}, http.StatusServiceUnavailable,
			`{"status":"unavailable","error":"forwarding to InfluxDB has failed for 5m0s: HTTP 404: database not found","devices":0,"failing_devices":0,"last_ok_poll_age_seconds":{},"device_state":{},"outbox":{"queued_batches":0,"queued_bytes":0,"quarantined_batches":0,"forwarding":"failing","failing_since":"2026-03-01T11:55:00Z","last_error":"HTTP 404: database not found"}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Health: func(context.Context) Health { return tt.health }, Now: func() time.Time { return now }})
			srv := httptest.NewServer(s.srv.Handler)
			defer srv.Close()
			code, ctype, body := get(t, srv.URL+"/healthz")
			if code != tt.wantCode || ctype != "application/json" {
				t.Errorf("GET /healthz = %d %s, want %d application/json", code, ctype, tt.wantCode)
			}
			if strings.TrimSpace(body) != tt.want {
				t.Errorf("body:\n got %s\nwant %s", strings.TrimSpace(body), tt.want)
			}
			var v map[string]any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Errorf("not JSON: %v", err)
			}
		})
	}
}

func TestReadyz(t *testing.T) {
	dead := NewPolls("a")
	dead.Fail("a", time.Now(), errors.New("timeout"))
	tests := []struct {
		name   string
		health Health
		want   int
	}{
		{"running", Health{Ready: true}, http.StatusOK},
		{"every device dead is still ready", Health{Ready: true, Devices: dead.Devices()}, http.StatusOK},
		{"starting or stopping", Health{}, http.StatusServiceUnavailable},
		{"store unusable", Health{Ready: true, Store: errors.New("disk full")}, http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := httptest.NewServer(New(Options{Health: func(context.Context) Health { return tt.health }}).srv.Handler)
			defer srv.Close()
			if code, _, body := get(t, srv.URL+"/readyz"); code != tt.want {
				t.Errorf("GET /readyz = %d (%s), want %d", code, body, tt.want)
			}
		})
	}
}

func TestRunAndShutdown(t *testing.T) {
	s := New(Options{Listen: "127.0.0.1:0"})
	if err := s.Init(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()

	base := "http://" + s.Addr().String()
	if code, _, _ := get(t, base+"/healthz"); code != http.StatusOK {
		t.Errorf("GET /healthz = %d", code)
	}
	if code, _, _ := get(t, base+"/nothing"); code != http.StatusNotFound {
		t.Errorf("GET /nothing = %d, want 404", code)
	}
	resp, err := http.Post(base+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d, want 405", resp.StatusCode)
	}

	// A second server cannot take the same address: Init says so.
	if err := New(Options{Listen: s.Addr().String()}).Init(); err == nil || !strings.Contains(err.Error(), "listen on") {
		t.Errorf("Init on a taken address = %v, want a listen error", err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run = %v, want nil after cancel", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("server still answers after shutdown")
	}
}

func TestPolls(t *testing.T) {
	p := NewPolls("a", "b")
	t0 := time.Unix(100, 0)
	if !p.OK("b", t0) {
		t.Error("first OK of b not reported as first")
	}
	if p.OK("b", t0) {
		t.Error("second OK of b reported as first")
	}
	p.OK("c", t0.Add(time.Second)) // not configured up front: appended
	if n := p.Fail("a", t0, errors.New("x")); n != 1 {
		t.Errorf("first Fail = %d", n)
	}
	if n := p.Fail("a", t0, errors.New("y")); n != 2 {
		t.Errorf("second Fail = %d", n)
	}
	got := p.Devices()
	want := []DevicePoll{{Device: "a", Failures: 2, LastError: "y", LastErrorAt: t0}, {Device: "b", LastOK: t0}, {Device: "c", LastOK: t0.Add(time.Second)}}
	if len(got) != len(want) {
		t.Fatalf("Devices = %v, want %v", got, want)
	}
	for i := range want {
		if got[i].Device != want[i].Device || !got[i].LastOK.Equal(want[i].LastOK) || got[i].Failures != want[i].Failures || got[i].LastError != want[i].LastError {
			t.Errorf("Devices[%d] = %+v, want %+v", i, got[i], want[i])
		}
	}
	p.OK("a", t0)
	if d := p.Devices()[0]; d.Failing() {
		t.Errorf("a still failing after a good poll: %+v", d)
	}
	p.Remove("b")
	if n := len(p.Devices()); n != 2 {
		t.Errorf("after Remove: %d devices", n)
	}
}
