package energy

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// PowerSample is one power reading.
type PowerSample struct {
	At time.Time
	W  units.Watts
}

// Span is energy integrated over a period and how much of it was covered by
// valid intervals (two valid samples no more than maxGap apart).
type Span struct {
	Energy  units.KWh
	Covered time.Duration
}

// Integrate integrates power samples (sorted by time) by trapezoid over
// [from, to). A pair of samples further apart than maxGap is a gap: missing, not
// interpolated. A sample whose power is negative, NaN or infinite is invalid and
// the intervals touching it are missing; the count of such samples is returned.
// Intervals that cross from or to are cut there, interpolating power linearly,
// so integrating [a, m) and [m, b) sums to [a, b).
func Integrate(samples []PowerSample, maxGap time.Duration, from, to time.Time) (Span, int, error) {
	spans, invalid, err := integrate(samples, maxGap, []time.Time{from, to})
	if err != nil {
		return Span{}, 0, err
	}
	return spans[0], invalid, nil
}

// HourlyFromPower integrates one meter's power samples into hourly energy for
// every clock hour in [from, to) (both truncated to the hour, UTC), including
// hours with no coverage, so missing hours stay visible.
func HourlyFromPower(meter MeterRef, samples []PowerSample, maxGap time.Duration, from, to time.Time) ([]Hourly, int, error) {
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	var edges []time.Time
	for h := from; !h.After(to); h = h.Add(time.Hour) {
		edges = append(edges, h)
	}
	if len(edges) < 2 {
		return nil, 0, nil
	}
	spans, invalid, err := integrate(samples, maxGap, edges)
	if err != nil {
		return nil, 0, fmt.Errorf("meter %s: %w", meter, err)
	}
	out := make([]Hourly, len(spans))
	for i, s := range spans {
		out[i] = Hourly{
			Meter:       meter,
			Hour:        edges[i],
			Energy:      s.Energy,
			CoveragePct: 100 * s.Covered.Hours(),
			Method:      Integrated,
		}
	}
	return out, invalid, nil
}

// integrate does one pass over the samples, distributing each valid interval
// over the bins [edges[i], edges[i+1]).
func integrate(samples []PowerSample, maxGap time.Duration, edges []time.Time) ([]Span, int, error) {
	if maxGap <= 0 {
		return nil, 0, fmt.Errorf("integrate: max gap must be positive, got %s", maxGap)
	}
	for i := 1; i < len(edges); i++ {
		if edges[i].Before(edges[i-1]) {
			return nil, 0, fmt.Errorf("integrate: period ends (%s) before it starts (%s)",
				edges[i].Format(time.RFC3339), edges[i-1].Format(time.RFC3339))
		}
	}
	spans := make([]Span, len(edges)-1)
	invalid := 0
	bin := 0
	for i := range samples {
		if !valid(samples[i].W) {
			invalid++
		}
		if i == 0 {
			continue
		}
		a, b := samples[i-1], samples[i]
		if !b.At.After(a.At) {
			return nil, 0, fmt.Errorf("integrate: sample %d at %s is not after sample %d at %s",
				i, b.At.Format(time.RFC3339Nano), i-1, a.At.Format(time.RFC3339Nano))
		}
		if b.At.Sub(a.At) > maxGap || !valid(a.W) || !valid(b.W) {
			continue
		}
		// Advance to the first bin that ends after the interval starts.
		for bin < len(spans) && !edges[bin+1].After(a.At) {
			bin++
		}
		for k := bin; k < len(spans) && edges[k].Before(b.At); k++ {
			s, e := later(a.At, edges[k]), earlier(b.At, edges[k+1])
			if !e.After(s) {
				continue
			}
			ps, pe := interpolate(a, b, s), interpolate(a, b, e)
			d := e.Sub(s)
			spans[k].Energy += units.KWh((ps + pe) / 2 * d.Hours() / 1000)
			spans[k].Covered += d
		}
	}
	return spans, invalid, nil
}

func valid(w units.Watts) bool {
	f := float64(w)
	return f >= 0 && !math.IsNaN(f) && !math.IsInf(f, 0)
}

// interpolate returns the power in watts at t on the straight line from a to b.
func interpolate(a, b PowerSample, t time.Time) float64 {
	switch {
	case t.Equal(a.At):
		return float64(a.W)
	case t.Equal(b.At):
		return float64(b.W)
	}
	f := float64(t.Sub(a.At)) / float64(b.At.Sub(a.At))
	return float64(a.W) + f*float64(b.W-a.W)
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
