package anomalies

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/sample"
)

// minCoverage is the share of an hour its energy must cover for the hour's
// mean power to count as a reading: a few minutes say little about an hour.
const minCoverage = 50.0

// meterHours is one meter's hours, as scan hands them over. Its slices are
// reused for the next meter: keep copies, not the slices.
type meterHours struct {
	Series sample.Series
	Ref    energy.MeterRef
	Rows   []energy.HourlyAggregate // as read
	Energy energy.FromAggregates    // the energy model's result
	// Points are the hours' mean power (energy over the time it covers),
	// for hours covering at least minCoverage % and without a counter reset.
	Points []baseline.Point
}

// scan reads the power measurement's hourly aggregates of [from, to) one
// series at a time (store.Reader.HourlyEach), turns each series into energy
// with the energy model and passes it to fn. Memory holds one series.
func scan(ctx context.Context, rd store.Reader, p *plant, from, to time.Time, fn func(*meterHours) error) error {
	var m meterHours
	flush := func() error {
		if len(m.Rows) == 0 {
			return nil
		}
		res, err := energy.HourlyFromAggregates(m.Rows, p.interval(m.Series), 0)
		if err != nil {
			return err
		}
		m.Energy = res
		m.Points = m.Points[:0]
		ev := 0
		for _, h := range res.Hours {
			for ev < len(res.Events) && res.Events[ev].Hour.Before(h.Hour) {
				ev++
			}
			if ev < len(res.Events) && res.Events[ev].Hour.Equal(h.Hour) && res.Events[ev].Event == energy.Reset {
				continue // the hour's energy is only what came after the reset
			}
			if h.CoveragePct < minCoverage {
				continue
			}
			m.Points = append(m.Points, baseline.Point{Hour: h.Hour, W: float64(h.Energy) * 1000 / (h.CoveragePct / 100)})
		}
		if err := fn(&m); err != nil {
			return err
		}
		m.Rows = m.Rows[:0]
		return nil
	}
	err := rd.HourlyEach(ctx, store.Query{From: from, To: to}, func(h store.Hourly) error {
		if h.Series != m.Series {
			if err := flush(); err != nil {
				return err
			}
			m.Series = h.Series
			m.Ref = energy.MeterRef{Site: h.Series.Site, Device: h.Series.Device, Meter: h.Series.Meter}
		}
		m.Rows = append(m.Rows, energy.HourlyAggregate{Meter: m.Ref, Hour: h.Hour,
			PowerSamples: h.PowerSamples, PowerMeanW: h.PowerMeanW, CounterSamples: h.CounterSamples,
			CounterFirstKWh: h.CounterFirstKWh, CounterLastKWh: h.CounterLastKWh,
			CounterFirstAt: h.CounterFirstAt, CounterLastAt: h.CounterLastAt})
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return fmt.Errorf("hourly power %s – %s: %w", from.Format(time.RFC3339), to.Format(time.RFC3339), err)
	}
	return nil
}

// isPhase, isPSU, isOutlet and isPoE classify a meter by its name
// (DESIGN.md, data model: total, inlet/1, phase/L1, outlet/12, psu/1,
// poe/Gi1/0/5).
func isPhase(meter string) bool  { return strings.HasPrefix(meter, "phase/") }
func isPSU(meter string) bool    { return strings.HasPrefix(meter, "psu/") }
func isOutlet(meter string) bool { return strings.HasPrefix(meter, "outlet/") }
func isPoE(meter string) bool    { return strings.HasPrefix(meter, "poe/") }

// device gathers what is needed from the meters of one device, which both
// stores stream one after another: its phases and its power (the total
// meter, else the sum of its PSUs).
type device struct {
	site, name, class string
	phases            []phaseHours
	total             []baseline.Point
	psus              [][]baseline.Point
}

type phaseHours struct {
	meter  string
	points []baseline.Point
}

func (d *device) reset(site, name, class string) {
	*d = device{site: site, name: name, class: class, phases: d.phases[:0], total: d.total[:0], psus: d.psus[:0]}
}

// keep records what the device needs of meter m, copying points from from on.
func (d *device) keep(m *meterHours, from time.Time, phases, power bool) {
	pts := m.Points
	for len(pts) > 0 && pts[0].Hour.Before(from) {
		pts = pts[1:]
	}
	switch {
	case phases && isPhase(m.Ref.Meter):
		d.phases = append(d.phases, phaseHours{m.Ref.Meter, append([]baseline.Point(nil), pts...)})
	case power && m.Ref.Meter == "total":
		d.total = append(d.total[:0], pts...)
	case power && isPSU(m.Ref.Meter):
		d.psus = append(d.psus, append([]baseline.Point(nil), pts...))
	}
}

// power returns the device's hourly power: its total meter's, else the sum
// of its PSUs' in the hours all of them have; and which it used.
func (d *device) power() ([]baseline.Point, string) {
	if len(d.total) > 0 {
		return d.total, "total"
	}
	if len(d.psus) == 0 {
		return nil, ""
	}
	sum := map[time.Time]float64{}
	n := map[time.Time]int{}
	for _, ps := range d.psus {
		for _, p := range ps {
			sum[p.Hour] += p.W
			n[p.Hour]++
		}
	}
	var out []baseline.Point
	for _, p := range d.psus[0] {
		if n[p.Hour] == len(d.psus) {
			out = append(out, baseline.Point{Hour: p.Hour, W: sum[p.Hour]})
		}
	}
	return out, fmt.Sprintf("the sum of its %d PSU meters", len(d.psus))
}
