package store

import (
	"context"
	"time"
)

// Span bounds the times of a store's power samples: every power sample that
// carries power_w or energy_kwh (what HourlyEach reads) lies in
// [First, Last]. A backend may give wider bounds (a rollup counts as its
// whole hour), never narrower.
type Span struct {
	First, Last time.Time
}

// Overlaps reports whether [from, to) may hold a power sample.
func (s Span) Overlaps(from, to time.Time) bool {
	return !s.Last.Before(from) && s.First.Before(to)
}

// Spanner is a Reader that can bound its power samples' times cheaply (an
// index lookup per series, not a scan), so that callers can skip reading
// periods with no data at all.
type Spanner interface {
	// PowerSpan returns the bounds of the power samples; ok is false when
	// the store has none.
	PowerSpan(ctx context.Context) (span Span, ok bool, err error)
}
