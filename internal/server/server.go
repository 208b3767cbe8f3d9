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

// Health is the state /healthz reports.
type Health struct {
	// Store is nil while the store takes samples, else why it does not;
	// /healthz then answers 503.
	Store error
	// Devices are the polled devices, in the order they were configured.
	Devices []DevicePoll
	// Outbox is the queue in front of InfluxDB; nil without one.
	Outbox *OutboxState
}

// DevicePoll is when a device was last polled successfully.
type DevicePoll struct {
	Device string
	LastOK time.Time // zero: not yet
}

// OutboxState is the outbox's queue, as /healthz shows it.
type OutboxState struct {
	Batches     int
	Bytes       int64
	Quarantined int
}

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
		opts.Health = func(context.Context) Health { return Health{} }
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
	mux.HandleFunc("GET /{$}", s.index)
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
	fmt.Fprintln(w, "ecometer: /metrics (Prometheus), /healthz (JSON)")
}

// healthBody is the JSON of /healthz.
type healthBody struct {
	Status  string `json:"status"` // ok | unavailable
	Error   string `json:"error,omitempty"`
	Devices int    `json:"devices"`
	// LastPollAge is, per device, the seconds since its last successful
	// poll; null when it has not had one yet.
	LastPollAge map[string]*float64 `json:"last_ok_poll_age_seconds"`
	Outbox      *outboxBody         `json:"outbox,omitempty"`
}

type outboxBody struct {
	QueuedBatches int   `json:"queued_batches"`
	QueuedBytes   int64 `json:"queued_bytes"`
	Quarantined   int   `json:"quarantined_batches"`
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := s.opts.Health(ctx)
	now := s.opts.Now()
	body := healthBody{Status: "ok", Devices: len(h.Devices), LastPollAge: map[string]*float64{}}
	for _, d := range h.Devices {
		if d.LastOK.IsZero() {
			body.LastPollAge[d.Device] = nil
			continue
		}
		age := math.Round(now.Sub(d.LastOK).Seconds()*10) / 10
		body.LastPollAge[d.Device] = &age
	}
	if o := h.Outbox; o != nil {
		body.Outbox = &outboxBody{QueuedBatches: o.Batches, QueuedBytes: o.Bytes, Quarantined: o.Quarantined}
	}
	code := http.StatusOK
	if h.Store != nil {
		body.Status, body.Error, code = "unavailable", "store: "+h.Store.Error(), http.StatusServiceUnavailable
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	if err := enc.Encode(body); err != nil {
		s.opts.Logger.Debug("healthz: write response", "error", err)
	}
}
