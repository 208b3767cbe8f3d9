package anomaly

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
)

// SiteHour is a site's metered energy in one hour, at both accounting
// levels; only hours in which every accounting meter of both levels reported
// belong here.
type SiteHour struct {
	Hour        time.Time // UTC
	ITKWh       float64
	FacilityKWh float64
}

// PUEOptions set the PUE step rule. Zero fields take the defaults.
type PUEOptions struct {
	// RefDays is how many days before a day its reference is taken from
	// (default 28); MinRefDays the fewest usable ones it needs (default 14).
	RefDays, MinRefDays int
	// Persistence is how many days in a row must be off the reference
	// (default 3).
	Persistence int
	// MinStep is the smallest change of PUE reported (default 0.1), and
	// Threshold the modified z-score the change must also pass (default
	// 3.5), against the spread of the reference days (at least MinSpread,
	// default 0.01).
	MinStep, Threshold, MinSpread float64
	// MinHours is how many complete hours a day needs to count (default 20).
	MinHours int
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o PUEOptions) WithDefaults() PUEOptions {
	if o.RefDays <= 0 {
		o.RefDays = 28
	}
	if o.MinRefDays <= 0 {
		o.MinRefDays = min(14, o.RefDays)
	}
	if o.Persistence <= 0 {
		o.Persistence = 3
	}
	if o.MinStep <= 0 {
		o.MinStep = 0.1
	}
	if o.Threshold <= 0 {
		o.Threshold = DefaultThreshold
	}
	if o.MinSpread <= 0 {
		o.MinSpread = 0.01
	}
	if o.MinHours <= 0 {
		o.MinHours = 20
	}
	return o
}

type pueDay struct {
	day     time.Time // local midnight
	pue     float64
	it, fac float64
	hours   int
}

// PUESteps finds the days in [from, to) on which a site's PUE (facility
// energy ÷ IT energy, ISO/IEC 30134-2; daily, over the complete hours of
// the site's local day) moved away from the median of the RefDays days
// before by at least MinStep and a modified z-score of Threshold, for
// Persistence days in a row. While a step lasts its reference stays the one
// from before it, so a new level is compared with the old one. hours must
// be sorted and may start before from (the reference days).
func PUESteps(site string, hours []SiteHour, from, to time.Time, loc *time.Location, o PUEOptions) []Anomaly {
	o = o.WithDefaults()
	if loc == nil {
		loc = time.UTC
	}
	var days []pueDay
	for _, h := range hours {
		if !h.Hour.Before(to) {
			break
		}
		l := h.Hour.In(loc)
		d := time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, loc)
		if len(days) == 0 || !days[len(days)-1].day.Equal(d) {
			days = append(days, pueDay{day: d})
		}
		cur := &days[len(days)-1]
		cur.it += h.ITKWh
		cur.fac += h.FacilityKWh
		cur.hours++
	}
	usable := days[:0]
	for _, d := range days {
		if d.hours >= o.MinHours && d.it > 0 {
			d.pue = d.fac / d.it
			usable = append(usable, d)
		}
	}
	days = usable

	m := Meter{Ref: energy.MeterRef{Site: site}, Loc: loc}
	var out []Anomaly
	// While a run is open its reference stays the one of its first day.
	var runRef, runMAD float64
	runStart, runSign, runRefDays := -1, 0, 0
	buf := make([]float64, 0, o.RefDays)
	closeRun := func(last int, open bool) {
		if runStart >= 0 && last-runStart+1 >= o.Persistence {
			out = append(out, pueStep(m, days, runStart, last, runRef, runMAD, runRefDays, open, o))
		}
		runStart, runSign = -1, 0
	}
	// judge compares day i with a reference: the run's while one is open
	// (frozen), else the RefDays before it.
	judge := func(i int, frozen bool) (sign int, ref, mad float64, n int, ok bool) {
		if frozen {
			ref, mad, n = runRef, runMAD, runRefDays
		} else {
			buf = buf[:0]
			for j := i - 1; j >= 0 && !days[j].day.Before(days[i].day.AddDate(0, 0, -o.RefDays)); j-- {
				buf = append(buf, days[j].pue)
			}
			n = len(buf)
			if n < o.MinRefDays {
				return 0, 0, 0, n, false
			}
			ref = baseline.Median(buf)
			for k := range buf {
				buf[k] = math.Abs(buf[k] - ref)
			}
			mad = math.Max(baseline.Median(buf), o.MinSpread)
		}
		diff := days[i].pue - ref
		if math.Abs(diff) >= o.MinStep && math.Abs(baseline.ZConstant*diff/mad) >= o.Threshold {
			sign = 1
			if diff < 0 {
				sign = -1
			}
		}
		return sign, ref, mad, n, true
	}
	for i := range days {
		if days[i].day.Before(from) {
			continue // a reference day, not checked
		}
		if runStart >= 0 {
			sign, _, _, _, _ := judge(i, true)
			if sign == runSign && days[i].day.Sub(days[i-1].day) <= 25*time.Hour {
				continue
			}
			closeRun(i-1, false)
		}
		sign, ref, mad, n, ok := judge(i, false)
		if ok && sign != 0 {
			runRef, runMAD, runRefDays = ref, mad, n
			runStart, runSign = i, sign
		}
	}
	if runStart >= 0 {
		last := len(days) - 1
		closeRun(last, !days[last].day.AddDate(0, 0, 2).Before(to))
	}
	return out
}

func pueStep(m Meter, days []pueDay, first, last int, ref, mad float64, refDays int, open bool, o PUEOptions) Anomaly {
	a := m.anomaly(PUEStep, days[first].day.UTC(), days[last].day.AddDate(0, 0, 1).UTC())
	a.Open = open
	var it, fac float64
	vals := make([]float64, 0, last-first+1)
	for i := first; i <= last; i++ {
		it += days[i].it
		fac += days[i].fac
		vals = append(vals, days[i].pue)
	}
	level := baseline.Median(vals)
	a.Direction = direction(level - ref)
	n := last - first + 1
	a.Evidence = map[string]float64{"pue_before": ref, "pue_after": level, "pue_change": level - ref,
		"days": float64(n), "reference_days": float64(refDays), "reference_mad": mad,
		"it_kwh": it, "facility_kwh": fac, "extra_facility_kwh": fac - ref*it}
	state := fmt.Sprintf("for %d days, until %s", n, days[last].day.AddDate(0, 0, 1).Format("2006-01-02"))
	if open {
		state = fmt.Sprintf("and has stayed there (%d days)", n)
	}
	cause := "A rise means the cooling and power infrastructure now uses more per kWh of IT: a cooling unit or chiller that failed or changed mode, free cooling that stopped, a changed set-point, or a change in what the facility or IT meters cover."
	if level < ref {
		cause = "A fall means less overhead per kWh of IT: a cooling improvement, free cooling starting, or a change in what the facility or IT meters cover (check before reporting it as a saving)."
	}
	a.Explanation = sentence(
		fmt.Sprintf("The PUE of site %s stepped from %.2f (median of the %d days before) to %.2f from %s %s:",
			m.Ref.Site, ref, refDays, level, days[first].day.Format("2006-01-02"), state),
		fmt.Sprintf("%.2f kWh more facility energy per kWh of IT, %s over those days.", level-ref, fmtValue(fac-ref*it, "kWh")),
		cause)
	return a
}
