package anomaly

import (
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
)

// PowerStateOff is the Redfish power state of a system that is off
// (Resource.PowerState enum, DSP0268: On, Off, PoweringOn, PoweringOff,
// Paused). PoweringOff is not Off: a system shutting down still draws.
const PowerStateOff = "Off"

// Interval is a period [From, To).
type Interval struct{ From, To time.Time }

// OffPeriods turns a device's power_state readings (the device
// measurement, DESIGN.md) into the periods it reported Off. A reading holds
// until the next one, but at most maxHold: a device no longer polled has an
// unknown state. Add readings in time order, then call Periods.
type OffPeriods struct {
	maxHold time.Duration
	out     []Interval
	offAt   time.Time // start of the open Off period; zero when none
	last    time.Time // time of the last reading
}

// NewOffPeriods returns an empty OffPeriods whose readings hold for at
// most maxHold (the poll interval × the max gap factor).
func NewOffPeriods(maxHold time.Duration) *OffPeriods { return &OffPeriods{maxHold: maxHold} }

// Add takes the reading state at t.
func (p *OffPeriods) Add(t time.Time, state string) {
	if !p.offAt.IsZero() {
		end := earliest(t, p.last.Add(p.maxHold))
		if state != PowerStateOff || t.Sub(p.last) > p.maxHold {
			p.out = append(p.out, Interval{p.offAt, end})
			p.offAt = time.Time{}
		}
	}
	if state == PowerStateOff && p.offAt.IsZero() {
		p.offAt = t
	}
	p.last = t
}

// Periods returns the Off periods, the last one held for maxHold after its
// last reading.
func (p *OffPeriods) Periods() []Interval {
	if !p.offAt.IsZero() {
		p.out = append(p.out, Interval{p.offAt, p.last.Add(p.maxHold)})
		p.offAt = time.Time{}
	}
	return p.out
}

// Covered returns how much of [from, to) the sorted intervals cover.
func Covered(iv []Interval, from, to time.Time) time.Duration {
	var d time.Duration
	for _, x := range iv {
		if !x.From.Before(to) {
			break
		}
		a, b := latest(x.From, from), earliest(x.To, to)
		if b.After(a) {
			d += b.Sub(a)
		}
	}
	return d
}

// OffOptions set the power-while-Off rule. Zero fields take the defaults.
type OffOptions struct {
	// StandbyW is what a system that is off may draw (default 30 W): its
	// BMC, and power supplies in standby, draw some.
	StandbyW float64
	// Persistence is how many hours in a row must pass it (default 2).
	Persistence int
	// MinOffShare is the share of an hour that must have been Off for the
	// hour to be judged (default 0.9).
	MinOffShare float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o OffOptions) WithDefaults() OffOptions {
	if o.StandbyW <= 0 {
		o.StandbyW = 30
	}
	if o.Persistence <= 0 {
		o.Persistence = 2
	}
	if o.MinOffShare <= 0 {
		o.MinOffShare = 0.9
	}
	return o
}

// PowerWhileOffRuns finds the runs of hours in [from, to) that the device
// spent (almost) wholly Off while the meter drew more than StandbyW. points
// is the meter's hourly power (sorted), off the device's Off periods
// (sorted). offDevice names the device whose state it is, when the meter is
// not the device's own (an outlet feeding it).
func PowerWhileOffRuns(m Meter, points []baseline.Point, off []Interval, offDevice string, from, to time.Time, o OffOptions) []Anomaly {
	o = o.WithDefaults()
	if len(off) == 0 {
		return nil
	}
	type hourOff struct {
		p     baseline.Point
		share float64
	}
	var hs []hourOff
	for _, p := range points {
		if p.Hour.Before(from) || !p.Hour.Before(to) {
			continue
		}
		share := float64(Covered(off, p.Hour, p.Hour.Add(time.Hour))) / float64(time.Hour)
		hs = append(hs, hourOff{p, share})
	}
	if len(hs) == 0 {
		return nil
	}
	lastData := hs[len(hs)-1].p.Hour
	bad := func(i int) bool { return hs[i].share >= o.MinOffShare && hs[i].p.W > o.StandbyW }
	var out []Anomaly
	for _, s := range runs(len(hs), func(i int) time.Time { return hs[i].p.Hour }, bad, bad, o.Persistence, 0) {
		var w, peak float64
		for i := s.first; i <= s.last; i++ {
			w += hs[i].p.W
			peak = max(peak, hs[i].p.W)
		}
		n := s.last - s.first + 1
		w /= float64(n)
		a := m.anomaly(PowerWhileOff, hs[s.first].p.Hour, hs[s.last].p.Hour.Add(time.Hour))
		a.Open = isOpen(hs[s.last].p.Hour, lastData, to, openSlack)
		a.Evidence = map[string]float64{"mean_w": w, "peak_w": peak, "hours": float64(n), "standby_allowance_w": o.StandbyW}
		dev := m.Ref.Device
		measured := ""
		if offDevice != "" && offDevice != m.Ref.Device {
			dev = offDevice
			a.Detail = "feeds " + offDevice
			measured = fmt.Sprintf(" (measured at %s, which feeds it)", m.name())
		}
		until := "until " + when(a.End, m.Loc)
		if a.Open {
			until = "to the end of the period"
		}
		a.Explanation = sentence(
			fmt.Sprintf("%s drew %s on average%s from %s %s (%s) while its BMC reported PowerState Off;",
				dev, watts(w), measured, when(a.Start, m.Loc), until, hoursText(n)),
			fmt.Sprintf("a system that is off draws only standby power (up to %s allowed here).", watts(o.StandbyW)),
			"Either the reported state is wrong or stale (some BMCs report Off early or late), or the power reading belongs to other equipment (check which outlet feeds it).",
			"Power actions must not rely on this state until it is explained.")
		out = append(out, a)
	}
	return out
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
