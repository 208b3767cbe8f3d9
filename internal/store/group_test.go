package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/sample"
)

// countingWriter counts the writes that reach the store.
type countingWriter struct {
	w      store.Writer
	writes atomic.Int64
}

func (c *countingWriter) Write(ctx context.Context, b []sample.Sample) error {
	c.writes.Add(1)
	return c.w.Write(ctx, b)
}

func poll(device string, at time.Time) []sample.Sample {
	return []sample.Sample{
		{Series: sample.Series{Measurement: sample.Power, Device: device, Meter: "total", Source: "snmp"}, Time: at,
			Fields: []sample.Field{sample.F("power_w", 100)}},
		{Series: sample.Series{Measurement: sample.Device, Device: device, Source: "snmp"}, Time: at,
			Fields: []sample.Field{sample.B("reachable", true)}},
	}
}

func TestGroupWriterStoresEverySampleInFewWrites(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	cw := &countingWriter{w: st}
	g := store.NewGroupWriter(cw, store.GroupOptions{Linger: 20 * time.Millisecond, MaxSamples: 400})
	const devices, polls = 200, 3
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	for d := range devices {
		wg.Go(func() {
			for p := range polls {
				if err := g.Write(ctx, poll(fmt.Sprintf("pdu-%03d", d), at.Add(time.Duration(p)*time.Minute))); err != nil {
					t.Error(err)
				}
			}
		})
	}
	// A malformed batch fails alone and spoils no group.
	bad := []sample.Sample{{Series: sample.Series{Measurement: "nope", Device: "x"}, Time: at}}
	var rejected *store.RejectedError
	if err := g.Write(ctx, bad); !errors.As(err, &rejected) {
		t.Errorf("malformed batch: %v, want a RejectedError", err)
	}
	wg.Wait()
	if err := g.Close(); err != nil {
		t.Fatal(err)
	}
	if err := g.Write(ctx, poll("late", at)); err == nil {
		t.Error("write after Close succeeded")
	}
	n := 0
	if err := st.Range(ctx, store.Query{Measurement: sample.Device}, func(sample.Sample) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != devices*polls {
		t.Fatalf("%d device samples stored, want %d", n, devices*polls)
	}
	t.Logf("%d batches went down in %d writes", devices*polls, cw.writes.Load())
	if w := cw.writes.Load(); w >= devices*polls/2 {
		t.Errorf("%d writes for %d batches: no grouping", w, devices*polls)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write(context.Context, []sample.Sample) error { return errors.New("disk full") }

func TestGroupWriterReportsTheStoresError(t *testing.T) {
	g := store.NewGroupWriter(failingWriter{}, store.GroupOptions{Linger: time.Millisecond})
	defer g.Close()
	if err := g.Write(context.Background(), poll("a", time.Unix(0, 0))); err == nil || err.Error() != "disk full" {
		t.Fatalf("Write = %v, want the store's error", err)
	}
}
