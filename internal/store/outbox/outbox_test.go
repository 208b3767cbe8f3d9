package outbox

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/internal/store/storetest"
	"github.com/ecometer/ecometer/models/sample"
)

// The downstream in these tests is the real embedded store: what the outbox
// forwards can be read back. InfluxDB itself is exercised in influx_test.go
// and the loss test.
func openSQLite(t *testing.T) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Options{Path: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func countPower(t *testing.T, r store.Reader) int {
	t.Helper()
	n := 0
	q := store.Query{Measurement: sample.Power, From: storetest.Base, To: storetest.Base.Add(24 * time.Hour)}
	if err := r.Range(context.Background(), q, func(sample.Sample) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestQueueSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	down := openSQLite(t)
	in := storetest.Samples()

	ob, err := Open(ctx, down, Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(ctx, in[:100]); err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(ctx, in[100:]); err != nil {
		t.Fatal(err)
	}
	// Nothing forwarded yet: the process "dies" here.
	if err := ob.Close(); err != nil {
		t.Fatal(err)
	}
	if n := countPower(t, down); n != 0 {
		t.Fatalf("%d samples reached the store before forwarding", n)
	}

	ob, err = Open(ctx, down, Options{Dir: dir, BatchSize: 50})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	st := ob.Stats()
	if st.Batches != 2 || st.Samples != len(in) || st.Bytes <= 0 {
		t.Fatalf("after reopen: %+v, want 2 batches of %d samples", st, len(in))
	}
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if st := ob.Stats(); st.Batches != 0 || st.Samples != 0 || st.Bytes != 0 || st.Forwarded != int64(len(in)) {
		t.Fatalf("after flush: %+v", st)
	}
	if n := countPower(t, down); n != 240 {
		t.Fatalf("store holds %d power samples, want 240", n)
	}
}

func TestInvalidSampleIsRefusedWhole(t *testing.T) {
	ctx := context.Background()
	ob, err := Open(ctx, openSQLite(t), Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	batch := storetest.Samples()[:3]
	batch[2].Fields = []sample.Field{sample.F("watts", 1)}
	if err := ob.Write(ctx, batch); err == nil || !strings.Contains(err.Error(), "sample 3 of 3") {
		t.Fatalf("Write = %v, want an error naming sample 3 of 3", err)
	}
	if st := ob.Stats(); st.Batches != 0 {
		t.Fatalf("refused batch was queued: %+v", st)
	}
}

func TestDiskBudget(t *testing.T) {
	ctx := context.Background()
	var logs bytes.Buffer
	reg := prometheus.NewPedanticRegistry()
	batch := storetest.Samples()[:100]
	size := int64(len(encode(nil, batch)))
	// Room for exactly three batches; warn from the second.
	ob, err := Open(ctx, openSQLite(t), Options{Dir: t.TempDir(), DiskBudget: 3 * size, WarnAtPct: 50,
		Logger: slog.New(slog.NewTextHandler(&logs, nil)), Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	for i := 0; i < 3; i++ {
		if err := ob.Write(ctx, batch); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
		if i == 0 && strings.Contains(logs.String(), "filling up") {
			t.Fatal("warned below the threshold")
		}
	}
	if !strings.Contains(logs.String(), "queue is filling up") {
		t.Errorf("no warning past warn_at_pct; log:\n%s", logs.String())
	}
	err = ob.Write(ctx, batch)
	if !errors.Is(err, ErrFull) {
		t.Fatalf("write past the budget = %v, want ErrFull", err)
	}
	if !strings.Contains(logs.String(), "disk budget reached") {
		t.Errorf("refusal was not logged; log:\n%s", logs.String())
	}
	if got := testutil.ToFloat64(ob.m.full); got != 1 {
		t.Errorf("rejected_writes_total = %v, want 1", got)
	}
	if got := testutil.ToFloat64(ob.m.bytes); got != float64(3*size) {
		t.Errorf("outbox_bytes = %v, want %d", got, 3*size)
	}
	// Forwarding frees the budget again.
	if err := ob.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ob.Write(ctx, batch); err != nil {
		t.Fatalf("write after flush: %v", err)
	}
}

func TestRunForwardsInBackground(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	down := openSQLite(t)
	ob, err := Open(ctx, down, Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer ob.Close()
	done := make(chan error, 1)
	go func() { done <- ob.Run(ctx) }()
	if err := ob.Write(ctx, storetest.Samples()); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for ob.Stats().Batches > 0 {
		if time.Now().After(deadline) {
			t.Fatal("Run did not forward the batch")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if n := countPower(t, down); n != 240 {
		t.Fatalf("store holds %d power samples, want 240", n)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("Run returned %v, want context.Canceled", err)
	}
}
