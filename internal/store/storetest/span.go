package storetest

import (
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/sample"
)

// SpanStore is a store that bounds its power samples.
type SpanStore interface {
	store.Store
	store.Spanner
}

// RunSpan runs the conformance suite for store.Spanner. open must return a
// fresh, empty store.
func RunSpan(t *testing.T, open func(t *testing.T) SpanStore) {
	t.Run("Empty", func(t *testing.T) {
		s := open(t)
		// Samples of other measurements are no power samples.
		write(t, s, Samples()[240:])
		if span, ok, err := s.PowerSpan(ctx(t)); err != nil || ok {
			t.Fatalf("power span of a store without power samples: %+v, %v, %v; want none", span, ok, err)
		}
	})
	t.Run("Bounds", func(t *testing.T) {
		s := open(t)
		in := Samples()
		// A later sample of another series, off the minute, and an
		// earlier one with the counter only.
		late, early := in[0], in[1]
		late.Device, late.Time = "pdu-z", Base.Add(49*time.Hour+17*time.Second+3)
		early.Time, early.Fields = Base.Add(-36*time.Hour-time.Second), []sample.Field{sample.F("energy_kwh", 1)}
		write(t, s, append(in, late, early))
		span, ok, err := s.PowerSpan(ctx(t))
		if err != nil || !ok {
			t.Fatalf("power span: %+v, %v, %v", span, ok, err)
		}
		// Within the hours of the first and the last sample (a backend may
		// widen a bound to its hour), and holding both.
		first, last := early.Time, late.Time
		if span.First.After(first) || span.First.Before(first.Truncate(time.Hour)) {
			t.Errorf("span starts %s, want %s (or the start of its hour)", span.First, first)
		}
		if span.Last.Before(last) || !span.Last.Before(last.Truncate(time.Hour).Add(time.Hour)) {
			t.Errorf("span ends %s, want %s (or within its hour)", span.Last, last)
		}
		for _, c := range []struct {
			from, to time.Time
			want     bool
		}{
			{first.Add(-time.Hour), first, false},
			{first.Add(-time.Hour), first.Add(1), true},
			{last, last.Add(time.Hour), true},
			{last.Truncate(time.Hour).Add(time.Hour), last.Add(48 * time.Hour), false},
			{Base, Base.Add(time.Hour), true},
		} {
			if got := span.Overlaps(c.from, c.to); got != c.want {
				t.Errorf("span %s..%s overlaps [%s, %s) = %v, want %v", span.First, span.Last, c.from, c.to, got, c.want)
			}
		}
	})
}
