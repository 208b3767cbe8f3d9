package energy

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// WrapZone is the top share of a counter's range in which a previous reading
// must lie for a drop to count as a wrap; a drop from lower down is a reset
// (the device restarted its counter at 0).
const WrapZone = 0.1

// CounterReading is one reading of a cumulative energy counter, scaled to kWh.
type CounterReading struct {
	At  time.Time
	KWh float64
}

// CounterEvent says what happened to the counter in an interval.
type CounterEvent string

const (
	NoEvent CounterEvent = ""
	Wrap    CounterEvent = "wrap"  // passed its maximum: delta + width
	Reset   CounterEvent = "reset" // restarted from 0: delta = the new value
)

// Interval is the energy between two consecutive counter readings.
type Interval struct {
	Start, End time.Time
	Energy     units.KWh
	Event      CounterEvent
}

// CounterDeltas is the result of FromCounter.
type CounterDeltas struct {
	Intervals []Interval
	Wraps     int
	Resets    int
}

// FromCounter turns consecutive counter readings into per-interval energy.
// widthKWh is the counter's range (its maximum + 1 step) expressed in kWh, 0 when
// unknown. A drop in the counter is a wrap when the width is known and the
// previous reading lay within WrapZone of it (energy = delta + width); otherwise
// it is a reset (energy = the new reading). Energy is never negative.
func FromCounter(readings []CounterReading, widthKWh float64) (CounterDeltas, error) {
	var out CounterDeltas
	if widthKWh < 0 || math.IsNaN(widthKWh) || math.IsInf(widthKWh, 0) {
		return out, fmt.Errorf("counter: invalid width %v kWh", widthKWh)
	}
	for i, r := range readings {
		if r.KWh < 0 || math.IsNaN(r.KWh) || math.IsInf(r.KWh, 0) {
			return CounterDeltas{}, fmt.Errorf("counter: reading %d at %s: invalid value %v kWh", i, r.At.Format(time.RFC3339), r.KWh)
		}
		if i == 0 {
			continue
		}
		prev := readings[i-1]
		if !r.At.After(prev.At) {
			return CounterDeltas{}, fmt.Errorf("counter: reading %d at %s is not after reading %d at %s",
				i, r.At.Format(time.RFC3339), i-1, prev.At.Format(time.RFC3339))
		}
		e, ev := counterDelta(prev.KWh, r.KWh, widthKWh)
		switch ev {
		case Wrap:
			out.Wraps++
		case Reset:
			out.Resets++
		}
		out.Intervals = append(out.Intervals, Interval{Start: prev.At, End: r.At, Energy: units.KWh(e), Event: ev})
	}
	return out, nil
}

// counterDelta applies the wrap and reset rules to one pair of readings.
func counterDelta(prev, cur, width float64) (float64, CounterEvent) {
	d := cur - prev
	if d >= 0 {
		return d, NoEvent
	}
	if width > 0 && prev >= width*(1-WrapZone) && prev <= width {
		return d + width, Wrap
	}
	return cur, Reset
}
