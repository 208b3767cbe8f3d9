// Package server serves ecometer's view of itself over HTTP: Prometheus
// metrics at /metrics and a short health summary at /healthz, for the
// monitoring that watches the service (not the devices' readings, which go
// to the store).
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"net/http/pprof"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// DefaultListen is where the server listens unless told otherwise: loopback,
// so that nothing is exposed to the network without a decision to do so.
const DefaultListen = "127.0.0.1:9641"

// NewRegistry returns a metrics registry holding the Go runtime and process
// collectors; the service registers its own metrics (polls, outbox) in it.
func NewRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return r
}

// Health is the state /healthz and /readyz report.
type Health struct {
	// Store is nil while the store takes samples, else why it does not.
	Store error
	// Ready is false until the service runs and again while it stops.
	Ready bool
	// Devices are the polled devices, in the order they were configured.
	Devices []DevicePoll
	// Outbox is the queue in front of InfluxDB; nil without one.
	Outbox *OutboxState
}

// DevicePoll is a device's latest poll outcomes.
type DevicePoll struct {
	Device string
	LastOK time.Time // zero: not yet
	// LastError is the latest failed poll's error, at LastErrorAt;
	// Failures counts the failed polls since the last good one.
	LastError   string
	LastErrorAt time.Time
	Failures    int
	// Profile is what the device was detected as (SNMP profile, or the
	// Redfish power source), once known.
	Profile string
}

// Failing reports whether the device's latest poll failed.
func (d DevicePoll) Failing() bool { return d.Failures > 0 }

// OutboxState is the outbox's queue, as /healthz shows it.
type OutboxState struct {
	Batches     int
	Bytes       int64
	Quarantined int
	// FailingSince is when forwarding began to fail (zero while it works).
	FailingSince time.Time
	LastError    string
}

// StallAfter is how long forwarding to InfluxDB may fail before /healthz
// says the store does not take samples: the outbox holds them meanwhile, but
// an operator must act (a missing database, a revoked token).
const StallAfter = 5 * time.Minute

// Options configure a Server.
type Options struct {
	// Listen is the TCP address (default DefaultListen).
	Listen string
	// Gatherer provides /metrics (default: a NewRegistry).
	Gatherer prometheus.Gatherer
	// Health is called for every /healthz request (default: healthy, no
	// devices).
	Health func(ctx context.Context) Health
	// Logger (default slog.Default()).
	Logger *slog.Logger
	// Now replaces time.Now (tests).
	Now func() time.Time
	// Pprof serves Go's profiler under /debug/pprof/ (net/http/pprof):
	// CPU, heap, goroutines. Off by default: a profile costs CPU and shows
	// the process's internals.
	Pprof bool
}

// Server is the HTTP server. Its lifecycle is Init (bind the address, so a
// taken port fails the start), Run (serve until the context ends), and
// Shutdown.
type Server struct {
	opts Options
	ln   net.Listener
	srv  *http.Server
}

// New returns a server; it does not listen yet.
func New(opts Options) *Server {
	if opts.Listen == "" {
		opts.Listen = DefaultListen
	}
	if opts.Gatherer == nil {
		opts.Gatherer = NewRegistry()
	}
	if opts.Health == nil {
		opts.Health = func(context.Context) Health { return Health{Ready: true} }
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{opts: opts}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Gatherer, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
		// A failing collector should not hide the others.
		ErrorHandling: promhttp.ContinueOnError,
	}))
	mux.HandleFunc("GET /healthz", s.healthz)
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET /{$}", s.index)
	if opts.Pprof {
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second,
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelWarn)}
	return s
}

// Init binds the listening address.
func (s *Server) Init() error {
	ln, err := net.Listen("tcp", s.opts.Listen)
	if err != nil {
		return fmt.Errorf("server: listen on %s: %w", s.opts.Listen, err)
	}
	s.ln = ln
	return nil
}

// Addr is the address the server listens on (after Init).
func (s *Server) Addr() net.Addr {
	if s.ln == nil {
		return nil
	}
	return s.ln.Addr()
}

// Run serves until ctx ends or Shutdown is called, then returns nil; it
// returns an error only when serving fails.
func (s *Server) Run(ctx context.Context) error {
	if s.ln == nil {
		return errors.New("server: Run before Init")
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		s.Shutdown(sctx)
	})
	defer stop()
	if err := s.srv.Serve(s.ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}

// Shutdown stops accepting requests and waits for those in flight until
// ctx ends.
func (s *Server) Shutdown(ctx context.Context) error {
	return s.srv.Shutdown(ctx)
}

func (s *Server) index(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "ecometer: /metrics (Prometheus), /healthz and /readyz (JSON)")
}

// healthBody is the JSON of /healthz and /readyz.
type healthBody struct {
	Status string `json:"status"` // ok | unavailable
	Error  string `json:"error,omitempty"`
	// Devices counts the devices; Failing those whose latest poll failed.
	Devices int `json:"devices"`
	Failing int `json:"failing_devices"`
	// LastPollAge is, per device, the seconds since its last successful
	// poll; null when it has not had one yet.
	LastPollAge map[string]*float64 `json:"last_ok_poll_age_seconds"`
	// Device is each device's state.
	Device map[string]deviceBody `json:"device_state"`
	Outbox *outboxBody           `json:"outbox,omitempty"`
}

type deviceBody struct {
	LastOK      *time.Time `json:"last_ok,omitempty"`
	LastError   string     `json:"last_error,omitempty"`
	LastErrorAt *time.Time `json:"last_error_at,omitempty"`
	Failures    int        `json:"consecutive_failures"`
	Profile     string     `json:"profile,omitempty"`
}

type outboxBody struct {
	QueuedBatches int        `json:"queued_batches"`
	QueuedBytes   int64      `json:"queued_bytes"`
	Quarantined   int        `json:"quarantined_batches"`
	Forwarding    string     `json:"forwarding"` // ok | failing
	FailingSince  *time.Time `json:"failing_since,omitempty"`
	LastError     string     `json:"last_error,omitempty"`
}

// unhealthy says why the service is not doing its job, or "": the store
// does not take samples, forwarding has failed for StallAfter, or every
// device's latest poll failed.
func unhealthy(h Health, now time.Time) string {
	if h.Store != nil {
		return "store: " + h.Store.Error()
	}
	if o := h.Outbox; o != nil && !o.FailingSince.IsZero() && now.Sub(o.FailingSince) >= StallAfter {
		return fmt.Sprintf("forwarding to InfluxDB has failed for %s: %s", now.Sub(o.FailingSince).Round(time.Second), o.LastError)
	}
	failing := 0
	for _, d := range h.Devices {
		if d.Failing() {
			failing++
		}
	}
	if failing > 0 && failing == len(h.Devices) {
		return fmt.Sprintf("every device's latest poll failed (%d of %d)", failing, len(h.Devices))
	}
	return ""
}

func (s *Server) body(h Health) healthBody {
	now := s.opts.Now()
	body := healthBody{Status: "ok", Devices: len(h.Devices), LastPollAge: map[string]*float64{}, Device: map[string]deviceBody{}}
	for _, d := range h.Devices {
		db := deviceBody{LastError: d.LastError, Failures: d.Failures, Profile: d.Profile}
		if d.Failing() {
			body.Failing++
		}
		if !d.LastErrorAt.IsZero() {
			t := d.LastErrorAt.UTC()
			db.LastErrorAt = &t
		}
		if d.LastOK.IsZero() {
			body.LastPollAge[d.Device] = nil
		} else {
			age := math.Round(now.Sub(d.LastOK).Seconds()*10) / 10
			body.LastPollAge[d.Device] = &age
			t := d.LastOK.UTC()
			db.LastOK = &t
		}
		body.Device[d.Device] = db
	}
	if o := h.Outbox; o != nil {
		ob := &outboxBody{QueuedBatches: o.Batches, QueuedBytes: o.Bytes, Quarantined: o.Quarantined, Forwarding: "ok", LastError: o.LastError}
		if !o.FailingSince.IsZero() {
			t := o.FailingSince.UTC()
			ob.Forwarding, ob.FailingSince = "failing", &t
		}
		body.Outbox = ob
	}
	return body
}

// healthz answers 200 while the service does its job, else 503 with the
// reason: the store does not take samples, forwarding is stalled, or every
// device fails.
func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := s.opts.Health(ctx)
	body := s.body(h)
	code := http.StatusOK
	if why := unhealthy(h, s.opts.Now()); why != "" {
		body.Status, body.Error, code = "unavailable", why, http.StatusServiceUnavailable
	}
	s.writeJSON(w, code, body)
}

// readyz answers 200 once the service runs with a usable store, 503 while
// it starts, stops, or cannot store samples; devices do not count (a load
// balancer or supervisor asks whether this instance works, not the network).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := s.opts.Health(ctx)
	body := s.body(h)
	code := http.StatusOK
	switch {
	case !h.Ready:
		body.Status, body.Error, code = "unavailable", "not running (starting or stopping)", http.StatusServiceUnavailable
	case h.Store != nil:
		body.Status, body.Error, code = "unavailable", "store: "+h.Store.Error(), http.StatusServiceUnavailable
	}
	s.writeJSON(w, code, body)
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, body healthBody) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	if err := json.NewEncoder(w).Encode(body); err != nil {
		s.opts.Logger.Debug("health: write response", "error", err)
	}
}
