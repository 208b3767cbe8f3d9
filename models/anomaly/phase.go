package anomaly

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
)

// Phase is one phase meter of a device (phase/L1, phase/L2, …) and its
// hourly power, sorted.
type Phase struct {
	Meter  string
	Points []baseline.Point
}

// PhaseOptions set the phase imbalance rule. Zero fields take the defaults.
type PhaseOptions struct {
	// Threshold is the unbalance that counts (default 0.2, i.e. 20 %); it is
	// a choice, not a standard's limit: breakers and the neutral are what an
	// unbalance loads, and their margins differ per installation.
	Threshold float64
	// MinMeanW: hours whose mean phase load is below it are not judged
	// (default 200 W): on a lightly loaded device an unbalance is harmless.
	MinMeanW float64
	// Persistence is how many hours in a row it must last (default 24): an
	// unbalance is a matter of how equipment is plugged in, not of an hour.
	Persistence int
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o PhaseOptions) WithDefaults() PhaseOptions {
	if o.Threshold <= 0 {
		o.Threshold = 0.2
	}
	if o.MinMeanW <= 0 {
		o.MinMeanW = 200
	}
	if o.Persistence <= 0 {
		o.Persistence = 24
	}
	return o
}

// Unbalance returns the maximum deviation of the loads from their mean,
// divided by the mean: the definition of percent unbalance of NEMA MG 1
// (Part 14, voltage unbalance), applied to the phases' power. It is 0 for
// no load.
func Unbalance(loads []float64) float64 {
	var mean float64
	for _, l := range loads {
		mean += l
	}
	mean /= float64(len(loads))
	if mean <= 0 {
		return 0
	}
	var dev float64
	for _, l := range loads {
		dev = max(dev, math.Abs(l-mean))
	}
	return dev / mean
}

// PhaseImbalances finds the runs of hours in [from, to) in which a device's
// phases (at least two) were unbalanced by more than Threshold. Only hours
// in which every phase has a reading are judged.
func PhaseImbalances(m Meter, phases []Phase, from, to time.Time, o PhaseOptions) []Anomaly {
	o = o.WithDefaults()
	if len(phases) < 2 {
		return nil
	}
	phases = slices.Clone(phases)
	slices.SortFunc(phases, func(a, b Phase) int { return strings.Compare(a.Meter, b.Meter) })
	type hourLoads struct {
		hour  time.Time
		loads []float64
		unb   float64
	}
	// Merge the phases' points by hour.
	idx := make([]int, len(phases))
	var hs []hourLoads
	for {
		var next time.Time
		for k, p := range phases {
			if idx[k] < len(p.Points) && (next.IsZero() || p.Points[idx[k]].Hour.Before(next)) {
				next = p.Points[idx[k]].Hour
			}
		}
		if next.IsZero() || !next.Before(to) {
			break
		}
		loads := make([]float64, len(phases))
		all := true
		for k, p := range phases {
			if idx[k] < len(p.Points) && p.Points[idx[k]].Hour.Equal(next) {
				loads[k] = p.Points[idx[k]].W
				idx[k]++
			} else {
				all = false
			}
		}
		if all && !next.Before(from) {
			hs = append(hs, hourLoads{hour: next, loads: loads, unb: Unbalance(loads)})
		}
	}
	if len(hs) == 0 {
		return nil
	}
	lastData := hs[len(hs)-1].hour
	bad := func(i int) bool {
		var mean float64
		for _, l := range hs[i].loads {
			mean += l
		}
		return mean/float64(len(hs[i].loads)) >= o.MinMeanW && hs[i].unb > o.Threshold
	}
	var out []Anomaly
	for _, s := range runs(len(hs), func(i int) time.Time { return hs[i].hour }, bad, bad, o.Persistence, DefaultMaxGap) {
		mean := make([]float64, len(phases))
		var peak float64
		n := s.last - s.first + 1
		for i := s.first; i <= s.last; i++ {
			for k, l := range hs[i].loads {
				mean[k] += l / float64(n)
			}
			peak = max(peak, hs[i].unb)
		}
		unb := Unbalance(mean)
		busiest, idlest := 0, 0
		for k := range mean {
			if mean[k] > mean[busiest] {
				busiest = k
			}
			if mean[k] < mean[idlest] {
				idlest = k
			}
		}
		a := m.anomaly(PhaseImbalance, hs[s.first].hour, hs[s.last].hour.Add(time.Hour))
		a.Meter = ""
		a.Detail = phases[busiest].Meter
		a.Open = isOpen(hs[s.last].hour, lastData, to, openSlack)
		hours := int(a.End.Sub(a.Start) / time.Hour)
		a.Evidence = map[string]float64{"unbalance_pct": 100 * unb, "peak_unbalance_pct": 100 * peak,
			"threshold_pct": 100 * o.Threshold, "hours": float64(hours)}
		var loads []string
		for k, p := range phases {
			name := strings.TrimPrefix(p.Meter, "phase/")
			a.Evidence["mean_w_"+name] = mean[k]
			loads = append(loads, fmt.Sprintf("%s %s", name, watts(mean[k])))
		}
		until := "until " + when(a.End, m.Loc)
		if a.Open {
			until = "to the end of the period"
		}
		a.Explanation = sentence(
			fmt.Sprintf("The phases of %s were unbalanced by %.0f %% from %s %s (%s): %s on average.",
				m.Ref.Device, 100*unb, when(a.Start, m.Loc), until, hoursText(hours), strings.Join(loads, ", ")),
			fmt.Sprintf("(Unbalance: the largest deviation from the mean phase load over the mean, as NEMA MG 1 defines it; flagged above %.0f %%.)", 100*o.Threshold),
			fmt.Sprintf("The busiest phase's breaker trips first and the neutral carries more current; move equipment from %s to %s.",
				strings.TrimPrefix(phases[busiest].Meter, "phase/"), strings.TrimPrefix(phases[idlest].Meter, "phase/")))
		out = append(out, a)
	}
	return out
}
