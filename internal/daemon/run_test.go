package daemon

import (
	"context"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/collection"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// The daemon is tested as it runs: real simulated devices on loopback,
// the configuration read from a file, the embedded store on disk.

// logBuffer collects the service's log lines.
type logBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// agent starts a simulated SNMP agent serving corpus recordings, each under
// its name as community.
func agent(t *testing.T, names ...string) *simsnmp.Agent {
	t.Helper()
	var recs []*simsnmp.Recording
	for _, n := range names {
		f, err := os.Open(testenv.CorpusPath(t, "snmp", n+".snmprec"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := simsnmp.Parse(n, f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	a, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// snmpDevice is one device entry of a test configuration.
func snmpDevice(name string, a *simsnmp.Agent, community, interval, extra string) string {
	return fmt.Sprintf(`  - name: %s
    site: lab
    class: pdu
    protocol: snmp
    address: %s
    interval: %s
    snmp: {community: %s, timeout: 500ms%s}
`, name, a.Addr(), interval, community, extra)
}

// writeConfig writes a configuration with the given device entries and
// extra top-level YAML.
func writeConfig(t *testing.T, file, dataDir, devices, extra string) {
	t.Helper()
	src := "allow_inline_secrets: true\nsites: [{name: lab}]\ndevices:\n" + devices +
		"storage:\n  data_dir: " + dataDir + "\n" + extra
	if devices == "" {
		src = strings.Replace(src, "devices:\n", "devices: []\n", 1)
	}
	if err := os.WriteFile(file, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
}

// running is a daemon.Run in a goroutine.
type running struct {
	cancel   context.CancelFunc
	done     chan struct{} // closed when Run returned err
	err      error
	logs     *logBuffer
	reload   chan struct{}
	reloaded chan ReloadResult
	dataDir  string
}

func run(t *testing.T, file string, opts Options) *running {
	t.Helper()
	cfg, err := collection.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	profiles, err := collection.Profiles(cfg)
	if err != nil {
		t.Fatal(err)
	}
	r := &running{done: make(chan struct{}), logs: &logBuffer{}, reload: make(chan struct{}),
		reloaded: make(chan ReloadResult, 1), dataDir: cfg.Storage.DataDir}
	opts.Config, opts.Profiles, opts.ConfigFile = cfg, profiles, file
	opts.Listen = "127.0.0.1:0"
	opts.Logger = slog.New(slog.NewTextHandler(r.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	opts.Reload = r.reload
	opts.Reloaded = func(res ReloadResult) { r.reloaded <- res }
	started := make(chan struct{})
	opts.Started = func(net.Addr) { close(started) }
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.err = Run(ctx, opts); close(r.done) }()
	select {
	case <-started:
	case <-r.done:
		t.Fatalf("daemon stopped at start: %v\n%s", r.err, r.logs)
	case <-time.After(30 * time.Second):
		t.Fatalf("daemon did not start\n%s", r.logs)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(time.Minute):
		}
	})
	return r
}

func (r *running) stop(t *testing.T) time.Duration {
	t.Helper()
	begin := time.Now()
	r.cancel()
	select {
	case <-r.done:
		if r.err != nil {
			t.Fatalf("daemon stopped with %v\n%s", r.err, r.logs)
		}
	case <-time.After(2 * time.Minute):
		t.Fatalf("daemon did not stop\n%s", r.logs)
	}
	return time.Since(begin)
}

func (r *running) doReload(t *testing.T) ReloadResult {
	t.Helper()
	r.reload <- struct{}{}
	select {
	case res := <-r.reloaded:
		return res
	case <-time.After(time.Minute):
		t.Fatalf("no reload result\n%s", r.logs)
	}
	return ReloadResult{}
}

// deviceSlots returns the device samples' times per device, read from the
// embedded store after the daemon stopped.
func deviceSlots(t *testing.T, dataDir string) map[string][]sample.Sample {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[string][]sample.Sample{}
	err = st.Range(context.Background(), store.Query{Measurement: sample.Device}, func(s sample.Sample) error {
		out[s.Device] = append(out[s.Device], s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// waitFor polls cond every 50 ms until it holds or limit passes.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// contiguous checks that times are one interval apart: no slot lost, none
// repeated.
func contiguous(t *testing.T, device string, ss []sample.Sample, interval time.Duration) {
	t.Helper()
	for i := 1; i < len(ss); i++ {
		if d := ss[i].Time.Sub(ss[i-1].Time); d != interval {
			t.Errorf("%s: samples at %s and %s are %s apart, want %s (a slot lost or repeated)", device,
				ss[i-1].Time.Format("15:04:05.000"), ss[i].Time.Format("15:04:05.000"), d, interval)
		}
	}
}

func TestReloadAddsRemovesAndChangesDevices(t *testing.T) {
	a := agent(t, "apc_ap8959eu3", "eaton-mgeups_93ps")
	dir := t.TempDir()
	file, data := filepath.Join(dir, "site.yaml"), filepath.Join(dir, "data")
	const iv = time.Second
	keep := snmpDevice("pdu-keep", a, "apc_ap8959eu3", "1s", "")
	change := snmpDevice("pdu-change", a, "apc_ap8959eu3", "1s", "")
	gone := snmpDevice("ups-gone", a, "eaton-mgeups_93ps", "1s", "")
	writeConfig(t, file, data, keep+change+gone, "")
	r := run(t, file, Options{})
	waitFor(t, 30*time.Second, "first polls", func() bool {
		l := r.logs.String()
		return strings.Contains(l, "first successful poll\" device=pdu-keep") &&
			strings.Contains(l, "first successful poll\" device=pdu-change") &&
			strings.Contains(l, "first successful poll\" device=ups-gone")
	})
	time.Sleep(2 * iv)

	// An invalid configuration is rejected and nothing changes.
	writeConfig(t, file, data, keep+snmpDevice("pdu-bad", a, "x", "-1s", ""), "")
	bad := r.doReload(t)
	if bad.Err == nil || !strings.Contains(bad.Err.Error(), "devices[1].interval") {
		t.Fatalf("invalid reload: %+v, want the interval problem", bad)
	}
	if !strings.Contains(r.logs.String(), "configuration reload rejected; the running configuration stays") {
		t.Errorf("rejection not logged:\n%s", r.logs)
	}
	// A device whose secret cannot be read is rejected too, before anything stops.
	writeConfig(t, file, data, keep+strings.Replace(change, "community: apc_ap8959eu3", "community: env:ECOMETER_TEST_UNSET_SECRET", 1), "")
	if res := r.doReload(t); res.Err == nil || !strings.Contains(res.Err.Error(), "ECOMETER_TEST_UNSET_SECRET") {
		t.Fatalf("reload with an unreadable secret: %+v", res)
	}

	// Remove one, change one (a setting that keeps its slots), add one.
	added := snmpDevice("pdu-new", a, "apc_ap8959eu3", "1s", "")
	writeConfig(t, file, data, keep+strings.Replace(change, "timeout: 500ms", "timeout: 700ms", 1)+added, "")
	reloadAt := time.Now()
	res := r.doReload(t)
	if res.Err != nil {
		t.Fatalf("reload: %v\n%s", res.Err, r.logs)
	}
	if !slices.Equal(res.Added, []string{"pdu-new"}) || !slices.Equal(res.Removed, []string{"ups-gone"}) ||
		!slices.Equal(res.Changed, []string{"pdu-change"}) || res.Unchanged != 1 {
		t.Fatalf("reload did %+v", res)
	}
	waitFor(t, 30*time.Second, "the new device's first poll", func() bool {
		return strings.Contains(r.logs.String(), "first successful poll\" device=pdu-new")
	})
	time.Sleep(3 * iv)
	r.stop(t)

	slots := deviceSlots(t, data)
	for _, d := range []string{"pdu-keep", "pdu-change"} {
		ss := slots[d]
		if len(ss) < 5 {
			t.Fatalf("%s: %d samples", d, len(ss))
		}
		// Polled before and after the reload, without a slot lost or
		// repeated across it.
		if !ss[0].Time.Before(reloadAt.Add(-iv)) || !ss[len(ss)-1].Time.After(reloadAt.Add(iv)) {
			t.Errorf("%s: samples from %s to %s do not span the reload at %s", d, ss[0].Time, ss[len(ss)-1].Time, reloadAt)
		}
		contiguous(t, d, ss, iv)
		for _, s := range ss {
			if f, _ := s.Get("reachable"); f.Num != 1 {
				t.Errorf("%s at %s: reachable = %v", d, s.Time, f.Num)
			}
		}
	}
	if ss := slots["ups-gone"]; len(ss) == 0 || ss[len(ss)-1].Time.After(reloadAt.Add(iv)) {
		t.Errorf("removed device: %d samples, polled after the reload", len(ss))
	}
	if ss := slots["pdu-new"]; len(ss) < 2 || ss[0].Time.Before(reloadAt.Add(-iv)) {
		t.Errorf("added device: %d samples, the first at %v", len(ss), ss)
	} else {
		contiguous(t, "pdu-new", ss, iv)
	}
}

func TestShutdownFinishesPollsInFlight(t *testing.T) {
	m, err := simredfish.Load(testenv.CorpusPath(t, "redfish", "public-rackmount1"))
	if err != nil {
		t.Fatal(err)
	}
	bmc, err := simredfish.New(simredfish.Options{Mockup: m, Username: "u", Password: "p",
		Faults: []simredfish.Fault{simredfish.FaultSlow}, SlowDelay: 150 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(bmc)
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	file, data := filepath.Join(dir, "site.yaml"), filepath.Join(dir, "data")
	writeConfig(t, file, data, fmt.Sprintf(`  - name: srv-slow
    site: lab
    class: server
    protocol: redfish
    address: %s
    interval: 4s
    redfish: {user: u, password: p, ca_file: %s}
`, srv.URL, ca), "")
	r := run(t, file, Options{StopTimeout: 20 * time.Second})
	waitFor(t, 60*time.Second, "the first poll", func() bool {
		return strings.Contains(r.logs.String(), "first successful poll\" device=srv-slow")
	})
	// The next poll starts: the BMC sees requests again after a pause.
	settled := bmc.TotalRequests()
	waitFor(t, 30*time.Second, "the second poll to start", func() bool { return bmc.TotalRequests() > settled })
	inFlight := time.Now()
	took := r.stop(t)
	t.Logf("stopped %s after SIGTERM-equivalent with a poll in flight (%d requests served)", took, bmc.TotalRequests()-settled)

	slots := deviceSlots(t, data)["srv-slow"]
	if len(slots) < 2 {
		t.Fatalf("%d device samples, want the first poll and the one in flight at shutdown", len(slots))
	}
	last := slots[len(slots)-1]
	if f, _ := last.Get("reachable"); f.Num != 1 {
		t.Errorf("the poll in flight at shutdown was stored as reachable=%v (cancelled), want 1", f.Num)
	}
	if last.Time.After(inFlight) || inFlight.Sub(last.Time) > 4*time.Second {
		t.Errorf("last sample at %s, the poll in flight began at %s", last.Time, inFlight)
	}
	// Its power readings are there, at the same slot.
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: data})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	power, err := st.Latest(context.Background(), store.Query{Measurement: sample.Power, Device: "srv-slow"})
	if err != nil || len(power) == 0 || !power[0].Time.Equal(last.Time) {
		t.Errorf("power of the last poll: %v (err %v), want samples at %s", power, err, last.Time)
	}
}

func readFile(name string) (string, error) {
	b, err := os.ReadFile(name)
	return string(b), err
}

func writeFile(name, s string) error { return os.WriteFile(name, []byte(s), 0o600) }
