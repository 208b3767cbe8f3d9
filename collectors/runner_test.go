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
