package sqlite

import (
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// TestPowerSpanRollups: rolled-up hours count as whole hours, and a
// compaction keeps the bounds of what it rolls up.
func TestPowerSpanRollups(t *testing.T) {
	now := t0
	s := openTest(t, Options{RawRetention: 24 * time.Hour, Now: func() time.Time { return now }})
	span := func() store.Span {
		t.Helper()
		sp, ok, err := s.PowerSpan(context.Background())
		if err != nil || !ok {
			t.Fatalf("power span: %v, %v", ok, err)
		}
		return sp
	}
	first := t0.Add(-72*time.Hour + 90*time.Second)
	write(t, s, pw(pdu("pdu1", "total"), first, sample.F("power_w", 1)), pw(pdu("pdu2", "total"), t0.Add(-time.Minute), sample.F("power_w", 1)))
	if sp := span(); !sp.First.Equal(first) || !sp.Last.Equal(t0.Add(-time.Minute)) {
		t.Fatalf("raw rows: span %+v", sp)
	}
	if err := s.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	if sp := span(); !sp.First.Equal(first.Truncate(time.Hour)) || !sp.Last.Equal(t0.Add(-time.Minute)) {
		t.Errorf("after compaction: span %+v, want from the start of %s", sp, first)
	}
	later := t0.Add(5 * time.Hour)
	if err := s.WriteHourly(context.Background(), benchHours(pdu("pdu3", "total"), 5, 1, 0)); err != nil {
		t.Fatal(err)
	}
	if sp := span(); !sp.Last.Equal(later.Add(time.Hour - 1)) {
		t.Errorf("with a rollup of %s: span %+v, want to the end of its hour", later, sp)
	}
}
