// Package outbox puts a durable local queue in front of a remote store
// (InfluxDB): every batch is committed to disk before Write returns, forwarded
// in the background, and deleted only after the remote store acknowledged it.
// It survives outages of the remote store and kill -9 of ecometer, and resumes
// on the next start. Re-sending a batch after a crash is harmless: a sample's
// time is its scheduled poll time, so the remote store overwrites it.
package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// ErrFull is returned by Write when the batch would take the queue past its
// disk budget. The batch is not stored; the caller still holds it.
var ErrFull = errors.New("outbox full: disk budget reached")

// Options configure an Outbox. Zero values take the defaults.
type Options struct {
	Dir        string // where outbox.db lives (required)
	DiskBudget int64  // bytes of queued batches; default 2 GiB
	WarnAtPct  int    // warn when the queue passes this share of the budget; default 80
	BatchSize  int    // samples per forwarded write; default 5000
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Logger     *slog.Logger
	// Registerer receives the outbox metrics; nil registers nowhere.
	Registerer prometheus.Registerer
}

func (o *Options) defaults() {
	if o.DiskBudget <= 0 {
		o.DiskBudget = 2 << 30
	}
	if o.WarnAtPct <= 0 || o.WarnAtPct > 100 {
		o.WarnAtPct = 80
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 5000
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = time.Second
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Stats is a snapshot of the queue.
type Stats struct {
	Batches     int   // batches waiting to be forwarded
	Samples     int   // samples in them
	Bytes       int64 // their size on disk (payload bytes)
	Quarantined int   // batches the remote store rejected, kept aside
	Forwarded   int64 // samples forwarded since Open
	// FailingSince is when forwarding started to fail, zero while it
	// works; LastError is the latest failure.
	FailingSince time.Time
	LastError    string
	// LastForwarded is when a batch was last acknowledged by the store.
	LastForwarded time.Time
}

// Outbox is a durable queue in front of a store.Writer. Write is safe for
// concurrent use; Run forwards.
type Outbox struct {
	opts Options
	db   *sql.DB
	path string
	down store.Writer
	wake chan struct{}

	mu     sync.Mutex
	stats  Stats
	warned bool

	m metrics
}

type metrics struct {
	bytes, batches, quarantined prometheus.Gauge
	budget                      prometheus.Gauge
	forwarded, errors, full     prometheus.Counter
}

func newMetrics(r prometheus.Registerer) metrics {
	g := func(name, help string) prometheus.Gauge {
		return prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "ecometer", Subsystem: "outbox", Name: name, Help: help})
	}
	c := func(name, help string) prometheus.Counter {
		return prometheus.NewCounter(prometheus.CounterOpts{Namespace: "ecometer", Subsystem: "outbox", Name: name, Help: help})
	}
	m := metrics{
		bytes:       g("bytes", "Bytes of batches queued for the remote store."),
		budget:      g("budget_bytes", "Disk budget of the outbox."),
		batches:     g("batches", "Batches queued for the remote store."),
		quarantined: g("quarantined_batches", "Batches the remote store rejected as malformed, kept for inspection."),
		forwarded:   c("forwarded_samples_total", "Samples acknowledged by the remote store."),
		errors:      c("forward_errors_total", "Failed forwarding attempts (retried with backoff)."),
		full:        c("rejected_writes_total", "Writes refused because the disk budget was reached."),
	}
	if r != nil {
		for _, col := range []prometheus.Collector{m.bytes, m.budget, m.batches, m.quarantined, m.forwarded, m.errors, m.full} {
			r.MustRegister(col)
		}
	}
	return m
}

const schema = `
CREATE TABLE IF NOT EXISTS batches (
	id      INTEGER PRIMARY KEY AUTOINCREMENT,
	samples INTEGER NOT NULL,
	payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS quarantine (
	id      INTEGER PRIMARY KEY,
	samples INTEGER NOT NULL,
	payload BLOB NOT NULL,
	error   TEXT NOT NULL,
	at      TEXT NOT NULL
);`

// Open opens (or creates) the outbox in opts.Dir and loads its state; call Run
// to start forwarding to down.
func Open(ctx context.Context, down store.Writer, opts Options) (*Outbox, error) {
	opts.defaults()
	if opts.Dir == "" {
		return nil, errors.New("outbox: no directory configured")
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	path := filepath.Join(opts.Dir, "outbox.db")
	// synchronous=FULL: a batch is on disk (fsync) before Write returns, so it
	// survives a crash of the machine, not only of the process.
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=busy_timeout(10000)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: %w", path, err)
	}
	db.SetMaxOpenConns(1) // one writer; SQLite serialises writes anyway
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox %s: create schema: %w", path, err)
	}
	o := &Outbox{opts: opts, db: db, path: path, down: down, wake: make(chan struct{}, 1), m: newMetrics(opts.Registerer)}
	o.m.budget.Set(float64(opts.DiskBudget))
	row := db.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(samples),0), coalesce(sum(length(payload)),0) FROM batches`)
	if err := row.Scan(&o.stats.Batches, &o.stats.Samples, &o.stats.Bytes); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox %s: read state: %w", path, err)
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM quarantine`).Scan(&o.stats.Quarantined); err != nil {
		db.Close()
		return nil, fmt.Errorf("outbox %s: read state: %w", path, err)
	}
	o.publish()
	if o.stats.Batches > 0 {
		opts.Logger.Info("outbox: resuming", "path", path, "batches", o.stats.Batches, "samples", o.stats.Samples, "bytes", o.stats.Bytes)
	}
	if o.stats.Quarantined > 0 {
		opts.Logger.Warn("outbox: batches in quarantine (rejected by the remote store)", "path", path, "batches", o.stats.Quarantined)
	}
	return o, nil
}

// publish updates the gauges; o.mu must be held or o not yet shared.
func (o *Outbox) publish() {
	o.m.bytes.Set(float64(o.stats.Bytes))
	o.m.batches.Set(float64(o.stats.Batches))
	o.m.quarantined.Set(float64(o.stats.Quarantined))
}

// Stats returns a snapshot of the queue.
func (o *Outbox) Stats() Stats {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.stats
}

// Write validates the batch and commits it to disk. When Write returns nil the
// batch will reach the remote store, whatever happens to this process.
func (o *Outbox) Write(ctx context.Context, batch []sample.Sample) error {
	if len(batch) == 0 {
		return nil
	}
	for i := range batch {
		if err := batch[i].Validate(); err != nil {
			return fmt.Errorf("outbox: sample %d of %d: %w", i+1, len(batch), err)
		}
	}
	payload := encode(nil, batch)
	size := int64(len(payload))

	o.mu.Lock()
	if o.stats.Bytes+size > o.opts.DiskBudget {
		o.mu.Unlock()
		o.m.full.Inc()
		o.opts.Logger.Error("outbox: disk budget reached, refusing new samples until the remote store accepts the backlog",
			"path", o.path, "budget_bytes", o.opts.DiskBudget, "queued_bytes", o.stats.Bytes, "refused_samples", len(batch))
		return fmt.Errorf("outbox %s: %d samples: %w (%d of %d bytes queued)", o.path, len(batch), ErrFull, o.stats.Bytes, o.opts.DiskBudget)
	}
	o.mu.Unlock()

	if _, err := o.db.ExecContext(ctx, `INSERT INTO batches(samples, payload) VALUES(?, ?)`, len(batch), payload); err != nil {
		return fmt.Errorf("outbox %s: commit %d samples: %w", o.path, len(batch), err)
	}

	o.mu.Lock()
	o.stats.Batches++
	o.stats.Samples += len(batch)
	o.stats.Bytes += size
	o.publish()
	if warnAt := o.opts.DiskBudget * int64(o.opts.WarnAtPct) / 100; o.stats.Bytes >= warnAt && !o.warned {
		o.warned = true
		o.opts.Logger.Warn("outbox: queue is filling up; the remote store is not keeping up or is down",
			"path", o.path, "queued_bytes", o.stats.Bytes, "budget_bytes", o.opts.DiskBudget, "warn_at_pct", o.opts.WarnAtPct)
	}
	o.mu.Unlock()

	select {
	case o.wake <- struct{}{}:
	default:
	}
	return nil
}

type queued struct {
	id      int64
	samples int
	size    int64
	payload []byte
}

// next reads the oldest batches, up to BatchSize samples (at least one batch).
func (o *Outbox) next(ctx context.Context) ([]queued, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT id, samples, payload FROM batches ORDER BY id LIMIT 64`)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: read queue: %w", o.path, err)
	}
	defer rows.Close()
	var out []queued
	total := 0
	for rows.Next() {
		var q queued
		if err := rows.Scan(&q.id, &q.samples, &q.payload); err != nil {
			return nil, fmt.Errorf("outbox %s: read queue: %w", o.path, err)
		}
		q.size = int64(len(q.payload))
		if len(out) > 0 && total+q.samples > o.opts.BatchSize {
			break
		}
		out = append(out, q)
		total += q.samples
	}
	return out, rows.Err()
}

// forward sends qs as one write. On a rejection of a combined write it retries
// the batches one by one, so only the malformed one is quarantined.
func (o *Outbox) forward(ctx context.Context, qs []queued) error {
	var all []sample.Sample
	for _, q := range qs {
		b, err := decode(q.payload)
		if err != nil {
			// Cannot happen unless the disk corrupted the file; keep the
			// bytes for inspection instead of blocking the queue.
			return o.quarantine(ctx, q, err)
		}
		all = append(all, b...)
	}
	err := o.down.Write(ctx, all)
	var rej *store.RejectedError
	switch {
	case err == nil:
		return o.done(ctx, qs)
	case errors.As(err, &rej) && len(qs) > 1:
		for _, q := range qs {
			if err := o.forward(ctx, []queued{q}); err != nil {
				return err
			}
		}
		return nil
	case errors.As(err, &rej):
		return o.quarantine(ctx, qs[0], err)
	default:
		return err
	}
}

func (o *Outbox) done(ctx context.Context, qs []queued) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox %s: %w", o.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	n, size := 0, int64(0)
	for _, q := range qs {
		if _, err := tx.ExecContext(ctx, `DELETE FROM batches WHERE id = ?`, q.id); err != nil {
			return fmt.Errorf("outbox %s: delete forwarded batch: %w", o.path, err)
		}
		n += q.samples
		size += q.size
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox %s: delete forwarded batches: %w", o.path, err)
	}
	o.mu.Lock()
	o.stats.Batches -= len(qs)
	o.stats.Samples -= n
	o.stats.Bytes -= size
	o.stats.Forwarded += int64(n)
	o.stats.LastForwarded = time.Now()
	if o.stats.Bytes < o.opts.DiskBudget*int64(o.opts.WarnAtPct)/100/2 {
		o.warned = false
	}
	o.publish()
	o.mu.Unlock()
	o.m.forwarded.Add(float64(n))
	return nil
}

func (o *Outbox) quarantine(ctx context.Context, q queued, cause error) error {
	tx, err := o.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("outbox %s: %w", o.path, err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if _, err := tx.ExecContext(ctx, `INSERT INTO quarantine(id, samples, payload, error, at) VALUES(?,?,?,?,?)`,
		q.id, q.samples, q.payload, cause.Error(), time.Now().UTC().Format(time.RFC3339)); err != nil {
		return fmt.Errorf("outbox %s: quarantine batch %d: %w", o.path, q.id, err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM batches WHERE id = ?`, q.id); err != nil {
		return fmt.Errorf("outbox %s: quarantine batch %d: %w", o.path, q.id, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("outbox %s: quarantine batch %d: %w", o.path, q.id, err)
	}
	o.mu.Lock()
	o.stats.Batches--
	o.stats.Samples -= q.samples
	o.stats.Bytes -= q.size
	o.stats.Quarantined++
	o.publish()
	o.mu.Unlock()
	o.opts.Logger.Error("outbox: remote store rejected a batch; kept in quarantine, the queue goes on",
		"path", o.path, "batch", q.id, "samples", q.samples, "error", cause)
	return nil
}

// Quarantined returns the rejected batches with the reason each was rejected.
func (o *Outbox) Quarantined(ctx context.Context) ([]Rejected, error) {
	rows, err := o.db.QueryContext(ctx, `SELECT id, samples, error, at FROM quarantine ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("outbox %s: read quarantine: %w", o.path, err)
	}
	defer rows.Close()
	var out []Rejected
	for rows.Next() {
		var r Rejected
		if err := rows.Scan(&r.ID, &r.Samples, &r.Error, &r.At); err != nil {
			return nil, fmt.Errorf("outbox %s: read quarantine: %w", o.path, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Rejected describes a quarantined batch.
type Rejected struct {
	ID      int64
	Samples int
	Error   string
	At      string
}

// Flush forwards until the queue is empty. It returns the first forwarding
// error instead of retrying; Run is the retrying loop.
func (o *Outbox) Flush(ctx context.Context) error {
	for {
		qs, err := o.next(ctx)
		if err != nil {
			return err
		}
		if len(qs) == 0 {
			return nil
		}
		if err := o.forward(ctx, qs); err != nil {
			return err
		}
	}
}

// Run forwards queued batches until ctx is cancelled, retrying failed writes
// with exponential backoff and jitter. It returns ctx's error.
func (o *Outbox) Run(ctx context.Context) error {
	backoff := time.Duration(0)
	for {
		err := o.Flush(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var wait <-chan time.Time
		if err != nil {
			o.m.errors.Inc()
			backoff = min(max(2*backoff, o.opts.MinBackoff), o.opts.MaxBackoff)
			d := backoff/2 + rand.N(backoff/2+1)
			o.mu.Lock()
			if o.stats.FailingSince.IsZero() {
				o.stats.FailingSince = time.Now()
			}
			o.stats.LastError = err.Error()
			st := o.stats
			o.mu.Unlock()
			o.opts.Logger.Warn("outbox: forwarding failed; will retry", "error", err, "retry_in", d.Round(time.Millisecond),
				"failing_for", time.Since(st.FailingSince).Round(time.Second).String(),
				"queued_batches", st.Batches, "queued_samples", st.Samples)
			wait = time.After(d)
		} else {
			backoff = 0
			o.mu.Lock()
			since := o.stats.FailingSince
			o.stats.FailingSince, o.stats.LastError = time.Time{}, ""
			forwarded := o.stats.Forwarded
			o.mu.Unlock()
			if !since.IsZero() {
				o.opts.Logger.Info("outbox: forwarding recovered", "after", time.Since(since).Round(time.Second).String(),
					"forwarded_samples", forwarded)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-wait:
		case <-o.wake:
			if err != nil {
				// New data does not cut a backoff short.
				select {
				case <-ctx.Done():
					return ctx.Err()
				case <-wait:
				}
			}
		}
	}
}

// Close closes the local queue. Queued batches stay on disk for the next Open.
func (o *Outbox) Close() error {
	return o.db.Close()
}
