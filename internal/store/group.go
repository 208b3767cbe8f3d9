package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ecometer/ecometer/models/sample"
)

// GroupOptions configure a GroupWriter.
type GroupOptions struct {
	// Linger is how long the first batch of a group waits for others
	// (default 50 ms); MaxSamples ends the wait early (default 5,000).
	Linger     time.Duration
	MaxSamples int
	// Timeout bounds one write of a group (default 30 s).
	Timeout time.Duration
}

// GroupWriter is group commit in front of a Writer: the batches written
// within Linger of each other go down in one Write (one transaction of the
// embedded store, one outbox row), and each Write returns once its samples
// are stored, with the group's error. Thousands of devices polled a minute
// cost one transaction per group instead of one per poll; no sample is
// acknowledged before it is stored.
//
// A batch with a malformed sample is rejected on its own (a
// *RejectedError), before it can spoil a group. Close flushes what waits.
type GroupWriter struct {
	w      Writer
	opts   GroupOptions
	linger atomic.Int64 // the current Linger, in nanoseconds

	mu     sync.Mutex
	cur    *group
	closed bool
	kick   chan struct{} // a group is waiting
	full   chan struct{} // the waiting group reached MaxSamples
	done   chan struct{} // the flusher has ended
}

type group struct {
	samples []sample.Sample
	done    chan struct{}
	err     error
}

// errGroupClosed is returned by Write after Close.
var errGroupClosed = errors.New("store: writer closed")

// NewGroupWriter starts a GroupWriter in front of w.
func NewGroupWriter(w Writer, opts GroupOptions) *GroupWriter {
	if opts.Linger <= 0 {
		opts.Linger = 50 * time.Millisecond
	}
	if opts.MaxSamples <= 0 {
		opts.MaxSamples = 5000
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 30 * time.Second
	}
	g := &GroupWriter{w: w, opts: opts, kick: make(chan struct{}, 1), full: make(chan struct{}, 1), done: make(chan struct{})}
	g.linger.Store(int64(opts.Linger))
	go g.flusher()
	return g
}

// Write queues batch in the current group and waits until the group is
// stored (or ctx ends: the samples may still be stored then).
func (g *GroupWriter) Write(ctx context.Context, batch []sample.Sample) error {
	for i := range batch {
		if err := batch[i].Validate(); err != nil {
			return &RejectedError{Err: fmt.Errorf("sample %d of %d: %w", i, len(batch), err)}
		}
	}
	if len(batch) == 0 {
		return nil
	}
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return errGroupClosed
	}
	cur := g.cur
	if cur == nil {
		cur = &group{done: make(chan struct{})}
		g.cur = cur
		select {
		case g.kick <- struct{}{}:
		default:
		}
	}
	cur.samples = append(cur.samples, batch...)
	if len(cur.samples) >= g.opts.MaxSamples {
		select {
		case g.full <- struct{}{}:
		default:
		}
	}
	g.mu.Unlock()
	select {
	case <-cur.done:
		return cur.err
	case <-ctx.Done():
		return fmt.Errorf("store: waiting for a group write: %w", ctx.Err())
	}
}

// flusher writes one group at a time: the group lingers for others, then
// goes down while the next one gathers.
func (g *GroupWriter) flusher() {
	defer close(g.done)
	linger := time.NewTimer(0)
	<-linger.C
	for range g.kick {
		linger.Reset(time.Duration(g.linger.Load()))
		select {
		case <-linger.C:
		case <-g.full:
			linger.Stop() // Go ≥ 1.23: no stale tick after Stop
		}
		g.mu.Lock()
		cur := g.cur
		g.cur = nil
		select { // a stale "full" belongs to the group just taken
		case <-g.full:
		default:
		}
		g.mu.Unlock()
		if cur == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), g.opts.Timeout)
		cur.err = g.w.Write(ctx, cur.samples)
		cancel()
		close(cur.done)
	}
}

// SetLinger changes Linger for the groups to come (d > 0).
func (g *GroupWriter) SetLinger(d time.Duration) {
	if d > 0 {
		g.linger.Store(int64(d))
	}
}

// Close writes what waits and stops; later writes fail. It does not close
// the Writer behind it.
func (g *GroupWriter) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return nil
	}
	g.closed = true
	g.mu.Unlock()
	close(g.kick)
	<-g.done
	// A group queued after the flusher's last kick was read.
	g.mu.Lock()
	cur := g.cur
	g.cur = nil
	g.mu.Unlock()
	if cur != nil {
		ctx, cancel := context.WithTimeout(context.Background(), g.opts.Timeout)
		cur.err = g.w.Write(ctx, cur.samples)
		cancel()
		close(cur.done)
		return cur.err
	}
	return nil
}
