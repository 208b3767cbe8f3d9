package redfish

import (
	"bytes"
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/collectors"
	sim "github.com/ecometer/ecometer/internal/sim/redfish"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

const password = "s3cret-Pa55"

var (
	mockMu sync.Mutex
	mocks  = map[string]*sim.Mockup{}
)

func mockup(tb testing.TB, name string) *sim.Mockup {
	tb.Helper()
	dir := testenv.CorpusPath(tb, "redfish", name)
	mockMu.Lock()
	defer mockMu.Unlock()
	if m, ok := mocks[name]; ok {
		return m
	}
	m, err := sim.Load(dir)
	if err != nil {
		tb.Fatal(err)
	}
	mocks[name] = m
	return m
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// bmc starts a simulated BMC on 127.0.0.1 serving a corpus mockup.
func bmc(tb testing.TB, name string, opts sim.Options) (*sim.BMC, *httptest.Server, *clock) {
	tb.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Mockup = mockup(tb, name)
	opts.Username, opts.Password = "admin", password
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	b, err := sim.New(opts)
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(b)
	tb.Cleanup(srv.Close)
	return b, srv, clk
}

func options(url string) Options {
	return Options{Endpoint: url, Username: "admin", Password: password, Timeout: 2 * time.Second,
		MinSpacing: -1, Target: collectors.Target{Site: "odense", Device: "srv1", Class: "server"},
		Logger: slog.New(slog.DiscardHandler)}
}

func collector(t *testing.T, opts Options) *Collector {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

var at = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// field returns a meter's field from the samples.
func field(t *testing.T, ss []sample.Sample, measurement, meter, name string) (sample.Field, bool) {
	t.Helper()
	for i := range ss {
		if ss[i].Measurement == measurement && ss[i].Meter == meter {
			return ss[i].Get(name)
		}
	}
	return sample.Field{}, false
}

func wantPower(t *testing.T, ss []sample.Sample, meter string, want float64) {
	t.Helper()
	f, ok := field(t, ss, sample.Power, meter, "power_w")
	if !ok || f.Num != want {
		t.Fatalf("%s power_w = %v (found %v), want %v; samples %+v", meter, f.Num, ok, want, ss)
	}
}

func validate(t *testing.T, ss []sample.Sample) {
	t.Helper()
	for i := range ss {
		if err := ss[i].Validate(); err != nil {
			t.Fatal(err)
		}
		if ss[i].Source != "redfish" || !ss[i].Time.Equal(at) {
			t.Fatalf("sample tags/time: %+v", ss[i])
		}
	}
}

func TestProbeRackmount(t *testing.T) {
	_, srv, _ := bmc(t, "public-rackmount1", sim.Options{})
	res, err := Probe(context.Background(), options(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Chassis) != 1 || res.Chassis[0].Source != SourceEnvironmentMetrics {
		t.Fatalf("chassis %+v", res.Chassis)
	}
	got := map[string]float64{}
	for _, r := range res.Readings {
		got[string(r.Source)+" "+r.Meter+" "+r.Field] = r.Value
	}
	for k, want := range map[string]float64{
		"EnvironmentMetrics total power_w": 374,
		"Power total power_w":              344, // legacy PowerConsumedWatts
		"Power psu/1/output power_w":       325, // legacy LastPowerOutputWatts: output, not input
		"PowerSubsystem psu/1 power_w":     937.4,
		"PowerSubsystem psu/1 energy_kwh":  325675,
		"PowerSubsystem psu/1 voltage_v":   230.2,
		"Sensors total power_w":            374,
		"Sensors total energy_kwh":         325675,
	} {
		if got[k] != want {
			t.Errorf("%s = %v, want %v", k, got[k], want)
		}
	}
	wantAvail := []Source{SourceEnvironmentMetrics, SourcePowerSubsystem, SourceSensors, SourceLegacyPower}
	if a := res.Chassis[0].Available; len(a) != 4 || a[0] != wantAvail[0] || a[3] != wantAvail[3] {
		t.Errorf("available %v, want %v", a, wantAvail)
	}
	if len(res.Systems) != 1 || res.Systems[0].PowerState != "On" || !strings.Contains(strings.Join(res.Systems[0].AllowedResets, ","), "GracefulShutdown") {
		t.Errorf("systems %+v", res.Systems)
	}
	if len(res.PowerLimits) != 1 || *res.PowerLimits[0].Watts != 500 || res.PowerLimits[0].Property != "SetPoint" || *res.PowerLimits[0].Max != 1000 {
		t.Errorf("limits %+v", res.PowerLimits)
	}
	if res.PollRequests > 3 {
		t.Errorf("requests per poll %d, want ≤ 3", res.PollRequests)
	}
	t.Logf("rackmount1: discovery %d requests, poll %d requests", res.DiscoveryRequests, res.PollRequests)
	for _, asJSON := range []bool{false, true} {
		var buf bytes.Buffer
		if err := WriteProbe(&buf, res, asJSON); err != nil {
			t.Fatal(err)
		}
		out := buf.String()
		if strings.Contains(out, password) {
			t.Fatal("probe output shows the password")
		}
		for _, s := range []string{"EnvironmentMetrics", "374", "344", "/redfish/v1/Chassis/1U/Power", "GracefulShutdown"} {
			if !strings.Contains(out, s) {
				t.Errorf("probe output (json %v) lacks %q:\n%s", asJSON, s, out)
			}
		}
		if !asJSON {
			t.Log("\n" + out)
		}
	}
}

func TestCollectRackmount(t *testing.T) {
	b, srv, _ := bmc(t, "public-rackmount1", sim.Options{})
	c := collector(t, options(srv.URL))
	ctx := context.Background()
	ss, err := c.Collect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	validate(t, ss)
	wantPower(t, ss, "total", 374)
	if f, _ := field(t, ss, sample.Power, "total", "energy_kwh"); f.Num != 0 {
		t.Errorf("rackmount1's EnvironmentMetrics has no energy counter, got %v", f.Num)
	}
	if f, ok := field(t, ss, sample.Device, "", "power_state"); !ok || f.Text != "On" {
		t.Errorf("power_state %+v", f)
	}
	if f, _ := field(t, ss, sample.Device, "", "reachable"); f.Num != 1 {
		t.Error("not reachable")
	}
	if s := c.Sources()["/redfish/v1/Chassis/1U"]; s != SourceEnvironmentMetrics {
		t.Errorf("source %q", s)
	}
	if r := c.AllowedResets(); len(r) != 8 || r[0] != "On" {
		t.Errorf("allowed resets %v", r)
	}
	// Requests per poll after discovery.
	b.ResetRequests()
	if _, err := c.Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	n := b.TotalRequests()
	t.Logf("requests per poll: %d (%v)", n, b.Requests())
	if n > 2 {
		t.Errorf("requests per poll %d, want ≤ 2 (EnvironmentMetrics + system)", n)
	}

	// With the PSU meters: one more request per PSU with Metrics.
	opts := options(srv.URL)
	opts.PSUMeters = true
	c2 := collector(t, opts)
	if _, err := c2.Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	b.ResetRequests()
	ss, err = c2.Collect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 374)
	wantPower(t, ss, "psu/1", 937.4)
	if n := b.TotalRequests(); n > 3 {
		t.Errorf("requests per poll with PSU meters %d, want ≤ 3", n)
	}
}

func TestCollectPDU(t *testing.T) {
	for _, noExpand := range []bool{false, true} {
		t.Run(map[bool]string{false: "expand", true: "no-expand"}[noExpand], func(t *testing.T) {
			b, srv, _ := bmc(t, "public-pdu", sim.Options{NoExpand: noExpand, BasicAuth: true})
			opts := options(srv.URL)
			opts.Target.Class = "pdu"
			c := collector(t, opts)
			ctx := context.Background()
			ss, err := c.Collect(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			validate(t, ss)
			wantPower(t, ss, "total", 6438)
			wantPower(t, ss, "outlet/A1", 197.4)
			wantPower(t, ss, "branch/A", 937.4)
			wantPower(t, ss, "inlet/1", 198.4+231.5+58.1)
			if f, _ := field(t, ss, sample.Power, "outlet/A1", "energy_kwh"); f.Num != 36166 {
				t.Errorf("outlet/A1 energy %v", f.Num)
			}
			if f, _ := field(t, ss, sample.Power, "phase/L1", "voltage_v"); f.Num != 117.8 {
				t.Errorf("phase/L1 voltage %v", f.Num)
			}
			if st := c.OutletStates()["outlet/A1"]; st != "On" {
				t.Errorf("outlet state %q", st)
			}
			b.ResetRequests()
			if _, err := c.Collect(ctx, at); err != nil {
				t.Fatal(err)
			}
			t.Logf("requests per poll: %d", b.TotalRequests())
			if !noExpand && b.TotalRequests() != 1 {
				t.Errorf("requests per poll %d, want 1 (the PDU expanded 2 levels) %v", b.TotalRequests(), b.Requests())
			}
			// An outlet switched off shows in the next poll.
			req := httptest.NewRequest("POST", "/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/A1/Outlet.PowerControl", strings.NewReader(`{"PowerState":"Off"}`))
			req.SetBasicAuth("admin", password)
			rec := httptest.NewRecorder()
			b.ServeHTTP(rec, req)
			if rec.Code != 204 {
				t.Fatalf("outlet off: %d %s", rec.Code, rec.Body)
			}
			ss, err = c.Collect(ctx, at)
			if err != nil {
				t.Fatal(err)
			}
			wantPower(t, ss, "outlet/A1", 0)
			if st := c.OutletStates()["outlet/A1"]; st != "Off" {
				t.Errorf("outlet state after off %q", st)
			}
			if f, _ := field(t, ss, sample.Power, "total", "power_w"); f.Num < 6240.5 || f.Num > 6240.7 {
				t.Errorf("total after outlet off %v, want 6438-197.4", f.Num)
			}
			res, err := Probe(ctx, opts)
			if err != nil || len(res.PDUs) != 1 || res.PDUs[0].Mode != map[bool]string{false: "expand-2", true: "members"}[noExpand] {
				t.Fatalf("probe: %v %+v", err, res)
			}
		})
	}
}

func TestOnlyLegacyPower(t *testing.T) {
	_, srv, _ := bmc(t, "public-rackmount1", sim.Options{Faults: []sim.Fault{sim.FaultLegacyOnly}})
	c := collector(t, options(srv.URL))
	ss, err := c.Collect(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 344)
	// LastPowerOutputWatts is the PSU's output: labelled so, never as its input.
	wantPower(t, ss, "psu/1/output", 325)
	if _, ok := field(t, ss, sample.Power, "psu/1", "power_w"); ok {
		t.Error("psu/1 power_w from an output reading")
	}
	if s := c.Sources()["/redfish/v1/Chassis/1U"]; s != SourceLegacyPower {
		t.Errorf("source %q", s)
	}
	if l := c.PowerLimits(); len(l) != 1 || *l[0].Watts != 500 || !strings.HasSuffix(l[0].Path, "/Power") {
		t.Errorf("legacy limit %+v", l)
	}
}

func TestOnlyNewSchemas(t *testing.T) {
	_, srv, _ := bmc(t, "public-rackmount1", sim.Options{Faults: []sim.Fault{sim.FaultNoLegacy}})
	res, err := Probe(context.Background(), options(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Readings {
		if r.Source == SourceLegacyPower {
			t.Fatalf("legacy reading on a BMC without it: %+v", r)
		}
	}
	if res.Chassis[0].Source != SourceEnvironmentMetrics || len(res.Chassis[0].Available) != 3 {
		t.Fatalf("chassis %+v", res.Chassis[0])
	}
}

func TestRediscoverWhenPathDisappears(t *testing.T) {
	b, srv, _ := bmc(t, "public-rackmount1", sim.Options{})
	c := collector(t, options(srv.URL))
	ctx := context.Background()
	ss, err := c.Collect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 374)
	b.SetFaults(sim.FaultLegacyOnly) // e.g. a firmware downgrade
	ss, err = c.Collect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 344)
}

func TestSessionExpiryAndLogout(t *testing.T) {
	b, srv, clk := bmc(t, "public-rackmount1", sim.Options{SessionIdle: time.Minute})
	c, err := New(options(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := c.Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Minute) // the session expires
	ss, err := c.Collect(ctx, at)
	if err != nil {
		t.Fatalf("after expiry: %v", err)
	}
	wantPower(t, ss, "total", 374)
	if n := b.Requests()["POST /redfish/v1/SessionService/Sessions"]; n != 2 {
		t.Errorf("logins %d, want 2", n)
	}
	b.ExpireSessions() // a BMC reboot
	if _, err := c.Collect(ctx, at); err != nil {
		t.Fatalf("after BMC reboot: %v", err)
	}
	if b.Sessions() != 1 {
		t.Errorf("sessions %d, want 1", b.Sessions())
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	if b.Sessions() != 0 {
		t.Errorf("sessions after Close %d, want 0", b.Sessions())
	}
	// Wrong password: a clear error, no password in it.
	opts := options(srv.URL)
	opts.Password = "wrong-" + password
	bad := collector(t, opts)
	_, err = bad.Collect(ctx, at)
	if err == nil || !strings.Contains(err.Error(), "login") || strings.Contains(err.Error(), password) {
		t.Fatalf("bad password: %v", err)
	}
}

func TestBasicAuth(t *testing.T) {
	b, srv, _ := bmc(t, "public-rackmount1", sim.Options{BasicAuth: true})
	opts := options(srv.URL)
	opts.BasicAuth = true
	c := collector(t, opts)
	ss, err := c.Collect(context.Background(), at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 374)
	if n := b.Requests()["POST /redfish/v1/SessionService/Sessions"]; n != 0 {
		t.Errorf("basic auth logged in %d times", n)
	}
}

func TestErrors500(t *testing.T) {
	b, srv, _ := bmc(t, "public-rackmount1", sim.Options{})
	c := collector(t, options(srv.URL))
	ctx := context.Background()
	if _, err := c.Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	b.SetFaults(sim.FaultError500)
	ss, err := c.Collect(ctx, at)
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Fatalf("want a 500 error, got %v", err)
	}
	if len(ss) != 1 || ss[0].Measurement != sample.Device {
		t.Fatalf("want only the device sample, got %+v", ss)
	}
	if f, _ := ss[0].Get("reachable"); f.Num != 1 {
		t.Error("a BMC answering 500 is reachable")
	}
	// Backing off: the next poll does not touch the BMC.
	b.ResetRequests()
	_, err = c.Collect(ctx, at)
	if !errors.Is(err, ErrUnreachable) || b.TotalRequests() != 0 {
		t.Fatalf("backoff: %v, %d requests", err, b.TotalRequests())
	}
	// Once the backoff has passed and the BMC is healthy, polls resume.
	b.SetFaults()
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	ss, err = c.Collect(ctx, at)
	if err != nil {
		t.Fatal(err)
	}
	wantPower(t, ss, "total", 374)
}

func TestTimeoutDeadBMC(t *testing.T) {
	b, srv, _ := bmc(t, "public-rackmount1", sim.Options{})
	opts := options(srv.URL)
	opts.Timeout = 200 * time.Millisecond
	c := collector(t, opts)
	ctx := context.Background()
	if _, err := c.Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	b.SetFaults(sim.FaultHang)
	t0 := time.Now()
	ss, err := c.Collect(ctx, at)
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("want ErrUnreachable, got %v", err)
	}
	// Bounded by the timeout (two waves of at most 2 requests), not hung.
	if d := time.Since(t0); d > 5*time.Second {
		t.Fatalf("a dead BMC held the poll for %s", d)
	}
	if f, _ := field(t, ss, sample.Device, "", "reachable"); f.Num != 0 {
		t.Error("a BMC that does not answer is unreachable")
	}
	// The slow fault: answers after the timeout are failures too.
	b.SetFaults(sim.FaultSlow)
	c.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := c.Collect(ctx, at); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("slow: %v", err)
	}
}

func TestTLS(t *testing.T) {
	b, err := sim.New(sim.Options{Mockup: mockup(t, "public-rackmount1"), Username: "admin", Password: password})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(b)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshakes are expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	ctx := context.Background()

	// A self-signed certificate is rejected by default.
	c := collector(t, options(srv.URL))
	_, err = c.Collect(ctx, at)
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("want a certificate error, got %v", err)
	}

	// Accepted with its CA file.
	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	opts := options(srv.URL)
	opts.CAFile = ca
	ss, err := collector(t, opts).Collect(ctx, at)
	if err != nil {
		t.Fatalf("with the CA file: %v", err)
	}
	wantPower(t, ss, "total", 374)

	// Accepted without verification only when asked, and that is logged.
	var logBuf bytes.Buffer
	opts = options(srv.URL)
	opts.InsecureSkipVerify = true
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, nil))
	if _, err := collector(t, opts).Collect(ctx, at); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logBuf.String(), "level=WARN") || !strings.Contains(logBuf.String(), "insecure_skip_verify") {
		t.Fatalf("insecure mode not logged: %s", logBuf.String())
	}
	if strings.Contains(logBuf.String(), password) {
		t.Fatal("log shows the password")
	}
}

func TestNoSecretsInLogs(t *testing.T) {
	_, srv, clk := bmc(t, "public-rackmount1", sim.Options{SessionIdle: time.Minute})
	var logBuf bytes.Buffer
	opts := options(srv.URL)
	opts.Logger = slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c := collector(t, opts)
	if _, err := c.Collect(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Hour)
	if _, err := c.Collect(context.Background(), at); err != nil {
		t.Fatal(err)
	}
	c.conn.authMu.Lock()
	token := c.conn.token
	c.conn.authMu.Unlock()
	if token == "" || strings.Contains(logBuf.String(), token) || strings.Contains(logBuf.String(), password) {
		t.Fatalf("log shows a secret:\n%s", logBuf.String())
	}
}

// TestSourcePreference walks the order of preference per chassis by taking
// the preferred resources away one by one: EnvironmentMetrics, then
// PowerSubsystem (PSU Metrics, summed), then Sensors, then legacy Power.
// Values are those of the public-rackmount1 mockup.
func TestSourcePreference(t *testing.T) {
	for _, c := range []struct {
		faults []sim.Fault
		source Source
		watts  float64
	}{
		{nil, SourceEnvironmentMetrics, 374}, // EnvironmentMetrics PowerWatts
		// Bay1 Metrics InputPowerWatts 937.4; Bay2 has no Metrics.
		{[]sim.Fault{sim.FaultNoEnvironmentMetrics}, SourcePowerSubsystem, 937.4},
		{[]sim.Fault{sim.FaultSensorsOnly}, SourceSensors, 374},    // Sensors ReadingType Power
		{[]sim.Fault{sim.FaultLegacyOnly}, SourceLegacyPower, 344}, // PowerControl PowerConsumedWatts
	} {
		t.Run(string(c.source), func(t *testing.T) {
			_, srv, _ := bmc(t, "public-rackmount1", sim.Options{Faults: c.faults})
			col := collector(t, options(srv.URL))
			ss, err := col.Collect(context.Background(), at)
			if err != nil {
				t.Fatal(err)
			}
			if s := col.Sources()["/redfish/v1/Chassis/1U"]; s != c.source {
				t.Fatalf("source %q, want %q", s, c.source)
			}
			f, ok := field(t, ss, sample.Power, "total", "power_w")
			if !ok {
				t.Fatalf("no total power from %s: %+v", c.source, ss)
			}
			t.Logf("%s: total %v W", c.source, f.Num)
			if f.Num != c.watts {
				t.Errorf("total %v W from %s, want %v", f.Num, c.source, c.watts)
			}
		})
	}
}
