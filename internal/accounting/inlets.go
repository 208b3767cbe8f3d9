package accounting

import (
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/topology"
	"github.com/ecometer/ecometer/models/units"
)

// Some PDUs have no meter for the whole unit, only one per inlet: the
// PDU2-MIB (Raritan), the Sentry3 and Sentry4 MIBs, Eaton and Liebert
// ePDUs give inlet/1, inlet/AA, … but no total. The power chain is built on
// each device's total meter (TotalMeter), so such a PDU is totalled from its
// inlets, hour by hour: what it draws is what comes in through them. A
// device that reports a total keeps it; phases of an inlet (inlet/1/L1) are
// not inlets.

// isInlet reports whether a meter is a whole inlet (inlet/X).
func isInlet(meter string) bool {
	rest, ok := strings.CutPrefix(meter, "inlet/")
	return ok && rest != "" && !strings.Contains(rest, "/")
}

// withInlets extends keep to the inlets of a device whose total keep
// accepts, so that the total can be made from them.
func withInlets(keep func(energy.MeterRef) bool) func(energy.MeterRef) bool {
	return func(ref energy.MeterRef) bool {
		if keep(ref) {
			return true
		}
		if !isInlet(ref.Meter) {
			return false
		}
		total := ref
		total.Meter = TotalMeter
		return keep(total)
	}
}

// totalsFromInlets adds, for every device of hours that has inlet meters
// but no total, its total: the inlets' energy summed per hour, with the
// coverage of the least covered inlet (an hour an inlet lacks counts as not
// covered) and the inlets' method. It returns the totals it made.
func totalsFromInlets(hours map[energy.MeterRef][]energy.Hourly) map[energy.MeterRef]bool {
	inlets := map[energy.MeterRef][]energy.MeterRef{}
	for ref := range hours {
		if isInlet(ref.Meter) {
			total := ref
			total.Meter = TotalMeter
			inlets[total] = append(inlets[total], ref)
		}
	}
	made := map[energy.MeterRef]bool{}
	for total, refs := range inlets {
		if _, ok := hours[total]; ok {
			continue
		}
		type acc struct {
			e      units.KWh
			cov    float64
			n      int
			method energy.Method
		}
		byHour := map[time.Time]*acc{}
		for _, r := range refs {
			for _, h := range hours[r] {
				a := byHour[h.Hour]
				if a == nil {
					a = &acc{cov: h.CoveragePct, method: h.Method}
					byHour[h.Hour] = a
				}
				a.e += h.Energy
				a.cov = min(a.cov, h.CoveragePct)
				a.n++
			}
		}
		out := make([]energy.Hourly, 0, len(byHour))
		for at, a := range byHour {
			cov := a.cov
			if a.n < len(refs) {
				cov = 0 // an inlet has nothing for this hour
			}
			out = append(out, energy.Hourly{Meter: total, Hour: at, Energy: a.e, CoveragePct: cov, Method: a.method})
		}
		slices.SortFunc(out, func(x, y energy.Hourly) int { return x.Hour.Compare(y.Hour) })
		hours[total] = out
		made[total] = true
	}
	return made
}

// measuredAtOutlet gives a device that meters nothing of its own draw (a
// PoE switch that reports only the power it delivers, pse/1) the energy of
// the outlet or port that feeds it alone: that is where its draw is
// metered. A device with a total of its own keeps it.
func measuredAtOutlet(chain topology.Chain, hours map[energy.MeterRef][]energy.Hourly) {
	fed := map[energy.MeterRef]int{}
	for _, m := range chain {
		if m.FedBy != (energy.MeterRef{}) {
			fed[m.FedBy]++
		}
	}
	for _, m := range chain {
		f := m.FedBy
		if len(hours[m.Ref]) > 0 || f == (energy.MeterRef{}) || f.Meter == TotalMeter || fed[f] != 1 || len(hours[f]) == 0 {
			continue
		}
		if m.Ref.Meter != TotalMeter {
			continue
		}
		out := make([]energy.Hourly, len(hours[f]))
		for i, h := range hours[f] {
			h.Meter = m.Ref
			out[i] = h
		}
		hours[m.Ref] = out
	}
}
