package energy

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// HourlyAggregate is one meter's readings summarised over one clock hour (UTC),
// as the store returns them (it mirrors store.Hourly without depending on it).
type HourlyAggregate struct {
	Meter MeterRef
	Hour  time.Time // start of the hour, UTC

	PowerSamples int     // samples with power_w
	PowerMeanW   float64 // their mean (0 when none)

	CounterSamples  int // samples with energy_kwh
	CounterFirstKWh float64
	CounterLastKWh  float64
	CounterFirstAt  time.Time
	CounterLastAt   time.Time
}

// FromAggregates is the result of HourlyFromAggregates.
type FromAggregates struct {
	Hours  []Hourly
	Wraps  int
	Resets int
	// Events are the hours whose counter delta was a wrap or a reset, in
	// hour order, with the readings the delta was taken between.
	Events []HourEvent
}

// HourEvent is a counter wrap or reset found in one hour's delta.
type HourEvent struct {
	Hour           time.Time // start of the hour, UTC
	Event          CounterEvent
	FromKWh, ToKWh float64 // the readings the delta went from and to
	FromAt, ToAt   time.Time
	Energy         units.KWh // what the hour was given (rules of FromCounter)
}

// HourlyFromAggregates turns one meter's hourly aggregates (sorted by hour, one
// meter) into hourly energy. The counter wins: the energy of an hour is the
// delta from the previous hour's last counter reading to this hour's last
// (wrap and reset rules as in FromCounter); when the previous hour has no
// counter reading, it is last − first within the hour. Coverage is the time the
// delta spans, as a share of the hour (at most 100 %).
// Without a counter, energy = mean power × covered share of the hour, where
// coverage = min(1, PowerSamples × interval / 1 h): hours are not extrapolated.
// Hours with neither are left out.
func HourlyFromAggregates(rows []HourlyAggregate, interval time.Duration, widthKWh float64) (FromAggregates, error) {
	var out FromAggregates
	if interval <= 0 {
		return out, fmt.Errorf("hourly energy: poll interval must be positive, got %s", interval)
	}
	out.Hours = make([]Hourly, 0, len(rows)) // at most one hour per row
	var prev *HourlyAggregate
	for i := range rows {
		r := &rows[i]
		if err := checkAggregate(r); err != nil {
			return FromAggregates{}, fmt.Errorf("hourly energy: meter %s hour %s: %w", r.Meter, r.Hour.Format(time.RFC3339), err)
		}
		if i > 0 {
			if r.Meter != rows[0].Meter {
				return FromAggregates{}, fmt.Errorf("hourly energy: rows of two meters, %s and %s", rows[0].Meter, r.Meter)
			}
			if !r.Hour.After(rows[i-1].Hour) {
				return FromAggregates{}, fmt.Errorf("hourly energy: meter %s: hour %s does not follow hour %s",
					r.Meter, r.Hour.Format(time.RFC3339), rows[i-1].Hour.Format(time.RFC3339))
			}
		}
		h := Hourly{Meter: r.Meter, Hour: r.Hour.UTC()}
		switch {
		case r.CounterSamples > 0:
			h.Method = Counter
			start, startKWh := r.CounterFirstAt, r.CounterFirstKWh
			if prev != nil && prev.CounterSamples > 0 && prev.Hour.Add(time.Hour).Equal(r.Hour) {
				start, startKWh = prev.CounterLastAt, prev.CounterLastKWh
			}
			e, ev := counterDelta(startKWh, r.CounterLastKWh, widthKWh)
			switch ev {
			case Wrap:
				out.Wraps++
			case Reset:
				out.Resets++
			}
			if ev != NoEvent {
				out.Events = append(out.Events, HourEvent{Hour: h.Hour, Event: ev, FromKWh: startKWh, ToKWh: r.CounterLastKWh,
					FromAt: start.UTC(), ToAt: r.CounterLastAt.UTC(), Energy: units.KWh(e)})
			}
			h.Energy = units.KWh(e)
			h.CoveragePct = 100 * math.Min(1, r.CounterLastAt.Sub(start).Hours())
		case r.PowerSamples > 0:
			h.Method = Integrated
			covered := math.Min(1, float64(r.PowerSamples)*interval.Hours())
			h.Energy = units.KWh(r.PowerMeanW * covered / 1000)
			h.CoveragePct = 100 * covered
		default:
			prev = r
			continue
		}
		out.Hours = append(out.Hours, h)
		prev = r
	}
	return out, nil
}

func checkAggregate(r *HourlyAggregate) error {
	if r.PowerSamples < 0 || r.CounterSamples < 0 {
		return fmt.Errorf("negative sample count")
	}
	if r.PowerSamples > 0 && !(r.PowerMeanW >= 0) || math.IsInf(r.PowerMeanW, 0) {
		return fmt.Errorf("invalid mean power %v W", r.PowerMeanW)
	}
	if r.CounterSamples > 0 {
		for _, v := range []float64{r.CounterFirstKWh, r.CounterLastKWh} {
			if !(v >= 0) || math.IsInf(v, 0) {
				return fmt.Errorf("invalid counter value %v kWh", v)
			}
		}
		if r.CounterLastAt.Before(r.CounterFirstAt) {
			return fmt.Errorf("last counter reading before the first")
		}
	}
	return nil
}
