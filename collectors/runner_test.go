package collectors_test

import (
	"context"
	"log/slog"
	"net"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// The runner is tested with real parts: the Redfish collector polling the BMC
// simulator over loopback HTTP, writing into the embedded store.

func bmcURL(t *testing.T) string {
	t.Helper()
	b, err := simredfish.New(simredfish.Options{MockupDir: testenv.CorpusPath(t, "redfish", "public-rackmount1"),
		Username: "admin", Password: "pw"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return srv.URL
}

// deadURL is a loopback port nothing listens on.
func deadURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func job(t *testing.T, url string, interval time.Duration) collectors.Job {
	t.Helper()
	target := collectors.Target{Site: "odense-dc1", Room: "s1", Rack: "R01", Device: "srv-1", Class: "server"}
	c, err := redfish.New(redfish.Options{Endpoint: url, Username: "admin", Password: "pw", Timeout: time.Second,
		MinSpacing: -1, BackoffMin: time.Nanosecond, BackoffMax: time.Nanosecond, Target: target,
		Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	return collectors.Job{Target: target, Source: "redfish", Interval: interval, Collector: c}
}

func openStore(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func deviceSamples(t *testing.T, s store.Reader) []sample.Sample {
	t.Helper()
	var out []sample.Sample
	q := store.Query{Measurement: sample.Device, Device: "srv-1"}
	if err := s.Range(context.Background(), q, func(x sample.Sample) error { out = append(out, x); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPollWritesReadingsAtTheSlotTime(t *testing.T) {
	st := openStore(t)
	r, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	j := job(t, bmcURL(t), time.Minute)
	at := time.Date(2025, 10, 1, 12, 3, 0, 0, time.UTC)
	r.Poll(context.Background(), j, at)

	power, err := st.Latest(context.Background(), store.Query{Measurement: sample.Power, Device: "srv-1"})
	if err != nil || len(power) == 0 {
		t.Fatalf("no power samples stored: %v", err)
	}
	for _, p := range power {
		if !p.Time.Equal(at) || p.Site != "odense-dc1" || p.Source != "redfish" {
			t.Errorf("sample %s at %s tagged %+v; want time %s and the target's tags", p.Meter, p.Time, p.Series, at)
		}
	}
	dev := deviceSamples(t, st)
	if len(dev) != 1 {
		t.Fatalf("%d device samples, want 1", len(dev))
	}
	if f, _ := dev[0].Get("reachable"); f.Num != 1 {
		t.Errorf("reachable = %v, want 1", f.Num)
	}
}

func TestUnreachableDeviceBacksOff(t *testing.T) {
	st := openStore(t)
	reg := prometheus.NewPedanticRegistry()
	r, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: slog.New(slog.DiscardHandler), MaxBackoff: 4, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	j := job(t, deadURL(t), time.Minute)
	base := time.Date(2025, 10, 1, 12, 0, 0, 0, time.UTC)
	for i := 0; i < 12; i++ {
		r.Poll(context.Background(), j, base.Add(time.Duration(i)*time.Minute))
	}
	// Backoff doubles from one interval, capped at 4: polls 1, 2, 4, 8 and 12
	// try the device (skipping 0, 1, 3, 3 polls in between).
	errs, skipped := polls(t, reg, "error"), polls(t, reg, "skipped")
	if errs != 5 || skipped != 7 {
		t.Fatalf("%v failed and %v skipped polls, want 5 and 7", errs, skipped)
	}
	dev := deviceSamples(t, st)
	if len(dev) != 5 {
		t.Fatalf("%d device samples, want one per tried poll (5)", len(dev))
	}
	for _, d := range dev {
		if f, _ := d.Get("reachable"); f.Num != 0 {
			t.Errorf("reachable = %v at %s, want 0", f.Num, d.Time)
		}
		if _, ok := d.Get("poll_ms"); !ok {
			t.Errorf("no poll_ms at %s", d.Time)
		}
	}
}

// polls sums ecometer_polls_total for one outcome.
func polls(t *testing.T, reg *prometheus.Registry, outcome string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var n float64
	for _, mf := range mfs {
		if mf.GetName() != "ecometer_polls_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "outcome" && l.GetValue() == outcome {
					n += m.GetCounter().GetValue()
				}
			}
		}
	}
	return n
}

func TestScheduledPollsLandOnSlotBoundaries(t *testing.T) {
	st := openStore(t)
	r, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const interval = 200 * time.Millisecond
	if err := r.Add(job(t, bmcURL(t), interval)); err != nil {
		t.Fatal(err)
	}
	r.Start()
	deadline := time.Now().Add(20 * time.Second)
	for len(deviceSamples(t, st)) < 4 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := r.Shutdown(); err != nil {
		t.Fatal(err)
	}
	dev := deviceSamples(t, st)
	if len(dev) < 4 {
		t.Fatalf("%d scheduled polls stored, want at least 4", len(dev))
	}
	for i, d := range dev {
		if d.Time.UnixNano()%int64(interval) != 0 {
			t.Errorf("poll %d at %s is not on a %s boundary", i, d.Time.Format(time.RFC3339Nano), interval)
		}
		if i > 0 && !d.Time.After(dev[i-1].Time) {
			t.Errorf("poll %d at %s does not follow %s: slots repeat", i, d.Time, dev[i-1].Time)
		}
	}
}

func TestReAddedDeviceNeitherLosesNorRepeatsASlot(t *testing.T) {
	st := openStore(t)
	r, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	const interval = 300 * time.Millisecond
	url := bmcURL(t)
	if err := r.Add(job(t, url, interval)); err != nil {
		t.Fatal(err)
	}
	if err := r.Add(job(t, url, interval)); err == nil {
		t.Fatal("the same device was scheduled twice")
	}
	r.Start()
	waitSamples := func(n int) {
		deadline := time.Now().Add(20 * time.Second)
		for len(deviceSamples(t, st)) < n && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitSamples(3)
	// A reload that changes the device: removed (its poll in flight is
	// written) and added again with a new collector.
	if err := r.Remove("srv-1"); err != nil {
		t.Fatal(err)
	}
	if got := r.Devices(); len(got) != 0 {
		t.Fatalf("after Remove: %v scheduled", got)
	}
	j := job(t, url, interval)
	if err := r.Add(j); err != nil {
		t.Fatal(err)
	}
	waitSamples(6)
	if err := r.Shutdown(); err != nil {
		t.Fatal(err)
	}
	dev := deviceSamples(t, st)
	if len(dev) < 6 {
		t.Fatalf("%d polls stored", len(dev))
	}
	for i := 1; i < len(dev); i++ {
		if d := dev[i].Time.Sub(dev[i-1].Time); d != interval {
			t.Errorf("polls at %s and %s are %s apart, want %s: a slot lost or repeated across the re-add",
				dev[i-1].Time.Format("15:04:05.000"), dev[i].Time.Format("15:04:05.000"), d, interval)
		}
	}
	// A second poll of a slot already stored (a retry, a failover, a
	// re-added device polling its slot again) overwrites it: the store
	// keeps one point per slot, not two.
	c, err := redfish.New(redfish.Options{Endpoint: url, Username: "admin", Password: "pw", Timeout: time.Second,
		MinSpacing: -1, Target: j.Target, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	j.Collector = c
	again := dev[2].Time
	r2, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	r2.Poll(context.Background(), j, again)
	after := deviceSamples(t, st)
	if len(after) != len(dev) {
		t.Fatalf("a repeated poll of slot %s made %d device samples out of %d", again, len(after), len(dev))
	}
	if !after[2].Time.Equal(again) {
		t.Fatalf("slot %s moved", again)
	}
}
