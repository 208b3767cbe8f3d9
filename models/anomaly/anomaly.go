// Package anomaly finds what is unusual in a meter's hours and says why in
// plain language: deviations from the meter's hour-of-week baseline
// (modified z-score with persistence), slow drift (CUSUM), and domain rules
// (flat-lined meter, counter reset, PUE step, UPS efficiency drop, power
// drawn while the BMC says Off, phase imbalance). Every detector works on one
// meter (or one device, or one site) at a time, is deterministic and reads no
// clock: the caller says which period to check.
package anomaly

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/energy"
)

// Kind names what an anomaly is.
type Kind string

// Kinds of anomaly.
const (
	Deviation      Kind = "deviation"           // hours far from the hour-of-week baseline
	Drift          Kind = "drift"               // a small shift sustained long enough (CUSUM)
	Flatline       Kind = "flatline"            // the same reading for hours
	CounterReset   Kind = "counter_reset"       // the energy counter went backwards
	PUEStep        Kind = "pue_step"            // a site's PUE changed level
	UPSEfficiency  Kind = "ups_efficiency_drop" // a UPS converts less efficiently than it did at the same load
	PowerWhileOff  Kind = "power_while_off"     // power drawn while the BMC reports PowerState Off
	PhaseImbalance Kind = "phase_imbalance"     // a three-phase device's load is unevenly spread
)

// Kinds lists every kind, in the order reports show them.
var Kinds = []Kind{Deviation, Drift, Flatline, CounterReset, PUEStep, UPSEfficiency, PowerWhileOff, PhaseImbalance}

// Anomaly is one finding.
type Anomaly struct {
	Kind   Kind   `json:"kind"`
	Site   string `json:"site"`
	Device string `json:"device,omitempty"` // empty for a site (PUE)
	Meter  string `json:"meter,omitempty"`  // empty for a site or a whole device
	// Detail qualifies the finding: the field that flat-lined, the busiest
	// phase, the device an outlet feeds, …
	Detail string `json:"detail,omitempty"`
	// Start is the first hour it was seen in; End the end of the last one
	// (exclusive). A one-off event (a counter reset) has End = Start + 1 h.
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
	// Open means it was still going in the last hours checked.
	Open      bool   `json:"open"`
	Direction string `json:"direction,omitempty"` // up or down, where it applies
	// Explanation says in plain language what was seen, what it usually
	// means and what to check.
	Explanation string `json:"explanation"`
	// Evidence holds the figures behind it; keys carry their unit
	// (observed_w, peak_z, hours, …).
	Evidence map[string]float64 `json:"evidence"`
}

// Meter is what the detectors know about the meter they look at.
type Meter struct {
	Ref   energy.MeterRef
	Class string         // device class: pdu, ups, switch, server, facility
	Loc   *time.Location // the site's time zone, for hours of the week and for messages
}

func (m Meter) name() string {
	if m.Ref.Meter == "" {
		return m.Ref.Device
	}
	return m.Ref.Device + "/" + m.Ref.Meter
}

func (m Meter) anomaly(k Kind, start, end time.Time) Anomaly {
	return Anomaly{Kind: k, Site: m.Ref.Site, Device: m.Ref.Device, Meter: m.Ref.Meter,
		Start: start, End: end, Evidence: map[string]float64{}}
}

// when formats an hour for a person, in the site's local time.
func when(t time.Time, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("Mon 2006-01-02 15:04 MST")
}

// Sort orders anomalies by start, then kind, site, device, meter and detail.
func Sort(list []Anomaly) {
	slices.SortStableFunc(list, func(a, b Anomaly) int {
		return cmp.Or(a.Start.Compare(b.Start), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Site, b.Site),
			cmp.Compare(a.Device, b.Device), cmp.Compare(a.Meter, b.Meter), cmp.Compare(a.Detail, b.Detail))
	})
}

// Reconcile drops the deviations and drifts of a meter that overlap a
// flatline of the same meter: a frozen reading says nothing about the load,
// so what it seems to say is not reported twice. list is reordered.
func Reconcile(list []Anomaly) []Anomaly {
	type key struct{ site, device, meter string }
	flat := map[key][]Anomaly{}
	for _, a := range list {
		if a.Kind == Flatline {
			k := key{a.Site, a.Device, a.Meter}
			flat[k] = append(flat[k], a)
		}
	}
	if len(flat) == 0 {
		return list
	}
	out := list[:0]
	for _, a := range list {
		if a.Kind == Deviation || a.Kind == Drift {
			if slices.ContainsFunc(flat[key{a.Site, a.Device, a.Meter}], func(f Anomaly) bool {
				return a.Start.Before(f.End) && f.Start.Before(a.End)
			}) {
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// span is a run of items, first and last index included.
type span struct{ first, last int }

// runs finds runs among n items in hour order. A run starts where
// persistence items in a row satisfy enter, and ends where persistence items
// in a row fail stay (so that one odd item neither starts nor ends one), or
// at a gap of more than maxGap hours without items; its last item is the
// last that satisfied stay.
func runs(n int, hour func(int) time.Time, enter, stay func(int) bool, persistence, maxGap int) []span {
	var out []span
	near := func(i int) bool {
		return i > 0 && hour(i).Sub(hour(i-1)) <= time.Duration(maxGap+1)*time.Hour
	}
	active := false
	start, count, fails := -1, 0, 0
	for i := 0; i < n; i++ {
		if active && near(i) {
			if stay(i) {
				out[len(out)-1].last, fails = i, 0
			} else if fails++; fails >= persistence {
				active = false
			}
			continue
		}
		active = false
		switch {
		case !enter(i):
			start, count = -1, 0
			continue
		case start >= 0 && near(i):
			count++
		default:
			start, count = i, 1
		}
		if count >= persistence {
			out = append(out, span{start, i})
			active, start, count, fails = true, -1, 0, 0
		}
	}
	return out
}

// isOpen reports whether a run that ends with hour last was still going:
// it reaches the last hour with data, and that hour is within slack of the
// period's end.
func isOpen(last, lastData, to time.Time, slack time.Duration) bool {
	return last.Equal(lastData) && !last.Add(time.Hour).Before(to.Add(-slack))
}

// openSlack is how far before the period's end the last hour with data may
// lie for a run reaching it to count as open (data arrives late, the last
// hour may be incomplete).
const openSlack = 3 * time.Hour

func pct(obs, exp float64) float64 {
	if exp == 0 {
		return math.NaN()
	}
	return 100 * (obs - exp) / exp
}

// watts formats a power for a person.
func watts(w float64) string {
	switch a := math.Abs(w); {
	case a >= 10000:
		return fmt.Sprintf("%.1f kW", w/1000)
	case a >= 1000:
		return fmt.Sprintf("%.2f kW", w/1000)
	case a >= 10:
		return fmt.Sprintf("%.0f W", w)
	default:
		return fmt.Sprintf("%.1f W", w)
	}
}

func hoursText(n int) string {
	if n == 1 {
		return "1 hour"
	}
	return fmt.Sprintf("%d hours", n)
}

func sentence(parts ...string) string {
	return strings.Join(slices.DeleteFunc(parts, func(s string) bool { return s == "" }), " ")
}
