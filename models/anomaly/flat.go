package anomaly

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/energy"
)

// FlatOptions set the flat-line rule. Zero fields take the defaults.
type FlatOptions struct {
	// Hours is how long a reading must stay exactly the same (default 6).
	Hours int
	// MinW: a power reading at or below it is equipment drawing nothing,
	// not a frozen meter (default 1 W).
	MinW float64
	// MaxRepeatShare: a meter whose history repeats its hourly value in
	// more than this share of consecutive hours is steady at its resolution
	// (a small load read in whole watts), and a repeat says nothing
	// (default 0.1).
	MaxRepeatShare float64
	// MinKWh is the energy the power readings must imply over a stuck
	// counter's run before it counts, so that a coarse counter (0.1 kWh
	// steps) under a small load is not taken for a stuck one (default 1 kWh).
	MinKWh float64
}

// Defaults of FlatOptions.
const (
	DefaultFlatHours      = 6
	DefaultFlatMinW       = 1.0
	DefaultMaxRepeatShare = 0.1
	DefaultStuckMinKWh    = 1.0
	// minPairs is the fewest consecutive-hour pairs of history that can say
	// whether a meter normally repeats itself.
	minPairs = 24
)

// WithDefaults returns o with its zero fields set to the defaults.
func (o FlatOptions) WithDefaults() FlatOptions {
	if o.Hours <= 1 {
		o.Hours = DefaultFlatHours
	}
	if o.MinW <= 0 {
		o.MinW = DefaultFlatMinW
	}
	if o.MaxRepeatShare <= 0 {
		o.MaxRepeatShare = DefaultMaxRepeatShare
	}
	if o.MinKWh <= 0 {
		o.MinKWh = DefaultStuckMinKWh
	}
	return o
}

func same(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(a)) }

// Flatlines finds the runs in [from, to) in which a meter reported exactly
// the same value hour after hour (rows sorted by hour; those before from are
// its history):
//   - power_w: the same hourly mean, above MinW, from at least two samples
//     an hour, for Hours or more, in a meter whose history normally changes
//     from hour to hour;
//   - energy_kwh: the counter did not move for Hours or more while the
//     meter's power readings say it drew at least MinKWh meanwhile, or,
//     without power readings, in a meter whose counter normally moves every
//     hour.
func Flatlines(m Meter, rows []energy.HourlyAggregate, from, to time.Time, o FlatOptions) []Anomaly {
	o = o.WithDefaults()
	var out []Anomaly
	consecutive := func(i int) bool { return i > 0 && rows[i].Hour.Sub(rows[i-1].Hour) == time.Hour }
	lastData := time.Time{}
	if len(rows) > 0 {
		lastData = rows[len(rows)-1].Hour
	}

	// How often the history repeats itself.
	var pPairs, pSame, cPairs, cSame int
	for i := 1; i < len(rows) && rows[i].Hour.Before(from); i++ {
		a, b := &rows[i-1], &rows[i]
		if !consecutive(i) {
			continue
		}
		if a.PowerSamples > 0 && b.PowerSamples > 0 {
			pPairs++
			if same(a.PowerMeanW, b.PowerMeanW) {
				pSame++
			}
		}
		if a.CounterSamples > 0 && b.CounterSamples > 0 {
			cPairs++
			if same(a.CounterLastKWh, b.CounterLastKWh) {
				cSame++
			}
		}
	}
	powerVaries := pPairs >= minPairs && float64(pSame) <= o.MaxRepeatShare*float64(pPairs)
	counterMoves := cPairs >= minPairs && float64(cSame) <= o.MaxRepeatShare*float64(cPairs)

	// power_w
	if powerVaries {
		flatPower := func(i int) bool {
			r := &rows[i]
			return r.PowerSamples >= 2 && r.PowerMeanW > o.MinW
		}
		start := -1
		emit := func(last int) {
			if start < 0 {
				return
			}
			n := last - start + 1
			if n >= o.Hours && !rows[last].Hour.Before(from) {
				out = append(out, flatPower0(m, rows, start, last, lastData, to, o))
			}
			start = -1
		}
		for i := range rows {
			if start >= 0 && consecutive(i) && flatPower(i) && same(rows[i].PowerMeanW, rows[start].PowerMeanW) {
				continue
			}
			emit(i - 1)
			if flatPower(i) && rows[i].Hour.Before(to) {
				start = i
			}
		}
		emit(len(rows) - 1)
	}

	// energy_kwh
	stuck := func(i int) bool {
		r := &rows[i]
		return r.CounterSamples >= 2 && same(r.CounterFirstKWh, r.CounterLastKWh)
	}
	start := -1
	emit := func(last int) {
		if start < 0 {
			return
		}
		defer func() { start = -1 }()
		n := last - start + 1
		if n < o.Hours || rows[last].Hour.Before(from) {
			return
		}
		var kwh float64
		withPower := 0
		for i := start; i <= last; i++ {
			if rows[i].PowerSamples > 0 {
				kwh += rows[i].PowerMeanW / 1000
				withPower++
			}
		}
		switch {
		case withPower == n && kwh >= o.MinKWh:
		case withPower == 0 && counterMoves:
		default:
			return
		}
		out = append(out, stuckCounter(m, rows, start, last, kwh, withPower > 0, lastData, to))
	}
	for i := range rows {
		if start >= 0 && consecutive(i) && stuck(i) && same(rows[i].CounterLastKWh, rows[start].CounterLastKWh) {
			continue
		}
		emit(i - 1)
		if stuck(i) && rows[i].Hour.Before(to) {
			start = i
		}
	}
	emit(len(rows) - 1)
	return out
}

func flatPower0(m Meter, rows []energy.HourlyAggregate, first, last int, lastData, to time.Time, o FlatOptions) Anomaly {
	a := m.anomaly(Flatline, rows[first].Hour, rows[last].Hour.Add(time.Hour))
	a.Detail = "power_w"
	a.Open = isOpen(rows[last].Hour, lastData, to, openSlack)
	hours := last - first + 1
	samples := 0
	for i := first; i <= last; i++ {
		samples += rows[i].PowerSamples
	}
	v := rows[first].PowerMeanW
	a.Evidence = map[string]float64{"value_w": v, "hours": float64(hours), "samples": float64(samples), "min_hours": float64(o.Hours)}
	until := "until " + when(a.End, m.Loc)
	if a.Open {
		until = "to the end of the period"
	}
	a.Explanation = sentence(
		fmt.Sprintf("%s has read exactly %s in every hour from %s %s (%s, %d samples),", m.name(), fmtValue(v, "W"), when(a.Start, m.Loc), until, hoursText(hours), samples),
		"while its readings normally change from hour to hour.",
		"A live power reading always moves a little: the device's agent is probably returning a cached or stuck value (a hung management card, a sensor fault). Its energy and anything computed from it are not to be trusted for these hours; restart or check the management card.")
	return a
}

func stuckCounter(m Meter, rows []energy.HourlyAggregate, first, last int, kwh float64, withPower bool, lastData, to time.Time) Anomaly {
	a := m.anomaly(Flatline, rows[first].Hour, rows[last].Hour.Add(time.Hour))
	a.Detail = "energy_kwh"
	a.Open = isOpen(rows[last].Hour, lastData, to, openSlack)
	hours := last - first + 1
	v := rows[first].CounterLastKWh
	a.Evidence = map[string]float64{"counter_kwh": v, "hours": float64(hours)}
	until := "until " + when(a.End, m.Loc)
	if a.Open {
		until = "to the end of the period"
	}
	why := "while its power readings say it drew " + fmtValue(kwh, "kWh") + " meanwhile."
	if withPower {
		a.Evidence["implied_kwh"] = kwh
	} else {
		why = "while it normally moves every hour; the meter reports no power to tell a stuck counter from a load that stopped."
	}
	a.Explanation = sentence(
		fmt.Sprintf("The energy counter of %s stayed at %s from %s %s (%s),", m.name(), fmtValue(v, "kWh"), when(a.Start, m.Loc), until, hoursText(hours)),
		why,
		"A stuck counter makes the hours' energy zero: check the meter, and expect ecometer's energy for them to be too low.")
	return a
}

func fmtValue(v float64, unit string) string {
	switch {
	case v == math.Trunc(v) && math.Abs(v) < 1e9:
		return fmt.Sprintf("%.0f %s", v, unit)
	case math.Abs(v) >= 100:
		return fmt.Sprintf("%.1f %s", v, unit)
	default:
		return fmt.Sprintf("%.3g %s", v, unit)
	}
}
