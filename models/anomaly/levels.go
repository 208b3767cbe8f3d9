package anomaly

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
)

// LevelOptions set the deviation and drift tests. Zero fields take the
// defaults.
type LevelOptions struct {
	// Threshold is the |modified z-score| an hour must pass (default 3.5,
	// Iglewicz and Hoaglin's recommendation).
	Threshold float64
	// Persistence is how many hours in a row must pass it before a
	// deviation is reported (default 3), so one odd reading never is.
	Persistence int
	// Continue is the |score| that keeps a reported deviation going
	// (default 2.5); it ends only after Persistence hours in a row under it,
	// so a step does not end each time noise pulls an hour under the
	// threshold.
	Continue float64
	// MaxGap is how many hours without data may lie inside a run (default 2).
	MaxGap int
	// CUSUMK is the CUSUM reference value and CUSUMH its decision interval,
	// in units of the spread of a day's mean score (defaults 0.5 and 8):
	// the CUSUM runs on daily means, because hourly readings are
	// autocorrelated and a CUSUM of them raises false alarms (batch means,
	// Runger and Willemain, "Batch-means control charts for autocorrelated
	// data", IIE Transactions 28, 1996). k = 0.5 tunes it to a shift of one
	// such spread; h = 8 puts the in-control average run length of each side
	// near 19,000 days (Siegmund's approximation).
	CUSUMK, CUSUMH float64
	// Clip bounds each hour's score before it enters a day's mean (default:
	// Threshold), so one odd reading cannot make a day by itself.
	Clip float64
	// MinDriftPct is the smallest change worth calling a drift: some day of
	// the episode must be this far from the expected level (default 5 %).
	// On a steady meter a CUSUM finds changes too small to matter.
	MinDriftPct float64
}

// Defaults of LevelOptions.
const (
	DefaultThreshold   = 3.5
	DefaultPersistence = 3
	DefaultContinue    = 2.5
	DefaultMaxGap      = 2
	DefaultCUSUMK      = 0.5
	DefaultCUSUMH      = 8
	DefaultMinDriftPct = 5
)

// WithDefaults returns o with its zero fields set to the defaults.
func (o LevelOptions) WithDefaults() LevelOptions {
	if o.Threshold <= 0 {
		o.Threshold = DefaultThreshold
	}
	if o.Persistence <= 0 {
		o.Persistence = DefaultPersistence
	}
	if o.Continue <= 0 {
		o.Continue = min(DefaultContinue, o.Threshold)
	}
	if o.MaxGap <= 0 {
		o.MaxGap = DefaultMaxGap
	}
	if o.CUSUMK <= 0 {
		o.CUSUMK = DefaultCUSUMK
	}
	if o.CUSUMH <= 0 {
		o.CUSUMH = DefaultCUSUMH
	}
	if o.Clip <= 0 {
		o.Clip = o.Threshold
	}
	if o.MinDriftPct <= 0 {
		o.MinDriftPct = DefaultMinDriftPct
	}
	return o
}

// Levels finds a meter's deviations and drifts among its scored hours
// (sorted, from baseline.Builder.Score) of a period ending at to.
//
// A deviation is a run of at least Persistence hours whose modified z-score
// passes ±Threshold, going on until Persistence hours in a row fall within
// ±Continue. A drift is an episode of the two-sided tabular CUSUM (Page,
// "Continuous inspection schemes", Biometrika 41, 1954; as in Montgomery,
// "Introduction to Statistical Quality Control", ch. 9) on the daily means
// of the clipped scores: from the day after its sum was last 0 to the last
// day before it is 0 again, once the sum passed h. When a deviation in the
// same direction is under way between an episode's onset and its alarm and
// began abruptly (see creeping), the change was a step, reported as one
// deviation from the first to the last of the episode's deviations. Otherwise the same-direction deviations within the episode
// are part of it, and it is a drift when its daily changes grow like a ramp
// (see growing), else a level shift too small for the hourly test,
// reported as a deviation.
func Levels(m Meter, res []baseline.Residual, to time.Time, o LevelOptions) []Anomaly {
	o = o.WithDefaults()
	if len(res) == 0 {
		return nil
	}
	hour := func(i int) time.Time { return res[i].Hour }
	lastData := res[len(res)-1].Hour
	ds := days(res, o.Clip)
	var out []Anomaly
	for _, sign := range []float64{1, -1} {
		devs := runs(len(res), hour,
			func(i int) bool { return sign*res[i].Z > o.Threshold },
			func(i int) bool { return sign*res[i].Z > o.Continue },
			o.Persistence, o.MaxGap)
		eps := cusum(res, ds, sign, o)
		absorbed := make([]bool, len(devs))
		for _, ep := range eps {
			step := false
			var later []int
			for j, d := range devs {
				switch {
				case d.first <= ep.alarm && d.last >= ep.first && !creeping(res, d, sign, o.Clip):
					step = true // under way before the CUSUM alarmed, and abrupt
				case d.last >= ep.first && d.first <= ep.last:
					later = append(later, j)
				}
			}
			if step {
				// One change: the deviations within the episode are its
				// pieces, split where noise pulled hours back for a while.
				merged := span{first: -1, last: ep.last}
				for j, d := range devs {
					if d.last >= ep.first && d.first <= ep.last {
						if merged.first < 0 {
							merged.first = d.first
						}
						merged.last = max(merged.last, d.last)
						absorbed[j] = true
					}
				}
				out = append(out, deviation(m, res, merged, sign, lastData, to, o))
				continue
			}
			peak := 0.0
			for _, j := range later {
				absorbed[j] = true
				for i := devs[j].first; i <= devs[j].last; i++ {
					peak = max(peak, sign*res[i].Z)
				}
			}
			if grows, tau := growing(ds[ep.dFirst:ep.dLast+1], sign); grows {
				out = append(out, drift(m, res, ep, sign, peak, lastData, to, o))
			} else {
				// A level shift starts where the best step does, which the
				// CUSUM's onset (its sum wanders off 0 in noise) only bounds.
				ep.first = ds[ep.dFirst+tau].first
				out = append(out, shift(m, res, ep, sign, peak, lastData, to, o))
			}
		}
		for j, d := range devs {
			if !absorbed[j] {
				out = append(out, deviation(m, res, d, sign, lastData, to, o))
			}
		}
	}
	Sort(out)
	return out
}

// creeping reports whether deviation d crept in rather than stepped: the
// 24 hours before it already showed, on average, a clear change in its
// direction (a mean clipped score of at least 1) of at least 40 % of its
// first 12 hours'. A step shows nothing before it; a meter with little
// noise crosses the threshold partway through a drift.
func creeping(res []baseline.Residual, d span, sign, clip float64) bool {
	start := res[d.first].Hour
	var lz, lw, le, fw, fe float64
	n := 0
	for i := d.first - 1; i >= 0 && !res[i].Hour.Before(start.Add(-24*time.Hour)); i-- {
		c := math.Max(-clip, math.Min(clip, res[i].Z))
		lz += c
		lw += c * res[i].Scale / baseline.ZConstant
		le += res[i].Expected
		n++
	}
	if n < 12 || sign*lz/float64(n) < 1 {
		return false
	}
	for i := d.first; i <= d.last && res[i].Hour.Before(start.Add(12*time.Hour)); i++ {
		c := math.Max(-clip, math.Min(clip, res[i].Z))
		fw += c * res[i].Scale / baseline.ZConstant
		fe += res[i].Expected
	}
	if le == 0 || fe == 0 {
		return false
	}
	return sign*lw/le >= 0.4*sign*fw/fe
}

// episode is a CUSUM episode: onset, alarm and last hour, as indexes, and
// its first and last day.
type episode struct{ first, alarm, last, dFirst, dLast int }

// growing reports whether the episode's daily changes (medians; at least 3
// days) grow like a ramp rather than jump like a step: a least-squares line
// fits them more closely than the best single step from 0 to a level, and
// rises over the episode by at least half of where it ends. It also
// returns the day that best step starts on.
func growing(ds []day, sign float64) (bool, int) {
	n := len(ds)
	if n < 3 {
		return false, 0
	}
	c := make([]float64, n)
	var sx, sy, sxx, sxy float64
	for i, d := range ds {
		c[i] = sign * d.median
		x := float64(i)
		sx, sy, sxx, sxy = sx+x, sy+c[i], sxx+x*x, sxy+x*c[i]
	}
	fn := float64(n)
	b := (fn*sxy - sx*sy) / (fn*sxx - sx*sx)
	a := (sy - b*sx) / fn
	var ramp float64
	for i, y := range c {
		e := y - (a + b*float64(i))
		ramp += e * e
	}
	stepSSE, best := math.Inf(1), 0
	for tau := 0; tau < n; tau++ {
		var level, sse float64
		for _, y := range c[tau:] {
			level += y
		}
		level /= float64(n - tau)
		for i, y := range c {
			e := y
			if i >= tau {
				e = y - level
			}
			sse += e * e
		}
		if sse < stepSSE {
			stepSSE, best = sse, tau
		}
	}
	grown := b * float64(n-1)
	return grown > 0 && grown >= 0.5*(a+grown) && ramp < stepSSE, best
}

// day is one 24-hour block of residuals, as indexes, and its mean score.
type day struct {
	first, last int
	z           float64 // mean clipped score
	change      float64 // mean reading over mean expected, − 1, readings clipped as the scores
	median      float64 // median of the hours' reading over expected, − 1: the day's change, robust to odd hours
}

// days cuts res into 24-hour blocks from its first hour; a block needs 12
// hours.
func days(res []baseline.Residual, clip float64) []day {
	var out []day
	var rel []float64
	for i := 0; i < len(res); {
		end := res[i].Hour.Add(24 * time.Hour)
		d := day{first: i}
		var z, w, e float64
		n := 0
		for ; i < len(res) && res[i].Hour.Before(end); i++ {
			r := &res[i]
			c := math.Max(-clip, math.Min(clip, r.Z))
			z += c
			// The reading as far from expected as its clipped score says.
			w += r.Expected + c*r.Scale/baseline.ZConstant
			e += r.Expected
			n++
		}
		d.last = i - 1
		if n >= 12 {
			d.z = z / float64(n)
			if e != 0 {
				d.change = w/e - 1
			}
			rel = rel[:0]
			for _, r := range res[d.first:i] {
				if r.Expected != 0 {
					rel = append(rel, r.W/r.Expected-1)
				}
			}
			if len(rel) > 0 {
				d.median = baseline.Median(rel)
			}
			out = append(out, d)
		}
	}
	return out
}

// cusum runs the one-sided CUSUM in direction sign over the daily means,
// and returns its episodes as hour indexes; those whose change never
// reached MinDriftPct (as a mean over 3 days) are left out.
func cusum(res []baseline.Residual, ds []day, sign float64, o LevelOptions) []episode {
	type ep struct{ first, alarm, last int } // day indexes
	var eps []ep
	s := 0.0
	first := 0
	alarmed := false
	for i, d := range ds {
		s = math.Max(0, s+sign*d.z/res[d.first].DaySpread-o.CUSUMK)
		switch {
		case alarmed && s == 0:
			alarmed = false
			first = i + 1
		case alarmed:
			eps[len(eps)-1].last = i
		case s == 0:
			first = i + 1
		case s > o.CUSUMH:
			eps = append(eps, ep{first, i, i})
			alarmed = true
		}
	}
	var out []episode
	for _, e := range eps {
		peak := math.Inf(-1)
		for i := e.first; i <= e.last; i++ {
			j := min(i+3, e.last+1)
			k := max(e.first, j-3)
			sum := 0.0
			for _, d := range ds[k:j] {
				sum += sign * d.median
			}
			peak = math.Max(peak, sum/float64(j-k))
		}
		if 100*peak >= o.MinDriftPct {
			out = append(out, episode{first: ds[e.first].first, alarm: ds[e.alarm].last, last: ds[e.last].last,
				dFirst: e.first, dLast: e.last})
		}
	}
	return out
}

func direction(sign float64) string {
	if sign > 0 {
		return "up"
	}
	return "down"
}

func deviation(m Meter, res []baseline.Residual, d span, sign float64, lastData, to time.Time, o LevelOptions) Anomaly {
	var obs, exp, peak float64
	n := 0
	for i := d.first; i <= d.last; i++ {
		obs += res[i].W
		exp += res[i].Expected
		peak = max(peak, sign*res[i].Z)
		n++
	}
	obs, exp = obs/float64(n), exp/float64(n)
	first, last := res[d.first], res[d.last]
	a := m.anomaly(Deviation, first.Hour, last.Hour.Add(time.Hour))
	a.Direction = direction(sign)
	a.Open = isOpen(last.Hour, lastData, to, openSlack)
	hours := int(last.Hour.Sub(first.Hour)/time.Hour) + 1
	a.Evidence = map[string]float64{"observed_w": obs, "expected_w": exp, "change_pct": pct(obs, exp),
		"peak_z": sign * peak, "hours": float64(hours), "hours_scored": float64(n), "threshold_z": o.Threshold,
		"spread_w": first.Scale}
	more := "more"
	cause := "A rise like this is new or moved load, a fan or power-supply fault, or equipment that did not go idle as it usually does."
	if sign < 0 {
		more = "less"
		cause = "A fall like this is load that went away (equipment switched off, failed or moved) or a meter that lost part of what it measures."
	}
	until := "until " + when(a.End, m.Loc)
	if a.Open {
		until = "and is still doing so at the end of the period"
	}
	a.Explanation = sentence(
		fmt.Sprintf("%s drew %.0f %% %s than usual from %s %s (%s): %s on average against %s expected,",
			m.name(), math.Abs(pct(obs, exp)), more, when(first.Hour, m.Loc), until, hoursText(hours), watts(obs), watts(exp)),
		fmt.Sprintf("the median of the same hours of the week over the weeks before; modified z-score up to %+.1f (flagged beyond ±%.1f for %d hours in a row).",
			sign*peak, o.Threshold, o.Persistence),
		cause)
	return a
}

// shift reports a CUSUM episode whose change is level, not growing: a step
// too small to pass the threshold hour by hour, reported as a deviation.
func shift(m Meter, res []baseline.Residual, ep episode, sign, peak float64, lastData, to time.Time, o LevelOptions) Anomaly {
	first, last := res[ep.first], res[ep.last]
	var obs, exp float64
	for i := ep.first; i <= ep.last; i++ {
		obs += res[i].W
		exp += res[i].Expected
	}
	n := float64(ep.last - ep.first + 1)
	obs, exp = obs/n, exp/n
	a := m.anomaly(Deviation, first.Hour, last.Hour.Add(time.Hour))
	a.Direction = direction(sign)
	a.Open = isOpen(last.Hour, lastData, to, openSlack)
	hours := int(last.Hour.Sub(first.Hour)/time.Hour) + 1
	a.Evidence = map[string]float64{"observed_w": obs, "expected_w": exp, "change_pct": pct(obs, exp),
		"hours": float64(hours), "cusum_k": o.CUSUMK, "cusum_h": o.CUSUMH, "threshold_z": o.Threshold}
	if peak > 0 {
		a.Evidence["peak_z"] = sign * peak
	}
	more, cause := "more", "A small rise like this is added or moved load, or equipment that no longer goes idle."
	if sign < 0 {
		more, cause = "less", "A small fall like this is load that went away (equipment switched off or moved)."
	}
	until := "until " + when(a.End, m.Loc)
	if a.Open {
		until = "and is still doing so at the end of the period"
	}
	a.Explanation = sentence(
		fmt.Sprintf("%s has drawn %.0f %% %s than usual since about %s %s (%s): %s on average against %s expected.",
			m.name(), math.Abs(pct(obs, exp)), more, when(first.Hour, m.Loc), until, hoursText(hours), watts(obs), watts(exp)),
		fmt.Sprintf("Few hours were far enough off to stand out by themselves (modified z-score beyond ±%.1f), but together they are beyond chance: the CUSUM of its daily mean scores (k = %g, h = %g) alarmed on the day to %s.",
			o.Threshold, o.CUSUMK, o.CUSUMH, when(res[ep.alarm].Hour.Add(time.Hour), m.Loc)),
		cause)
	return a
}

func drift(m Meter, res []baseline.Residual, ep episode, sign, peak float64, lastData, to time.Time, o LevelOptions) Anomaly {
	first, last := res[ep.first], res[ep.last]
	var obs, exp float64
	for i := ep.first; i <= ep.last; i++ {
		obs += res[i].W
		exp += res[i].Expected
	}
	n := float64(ep.last - ep.first + 1)
	obs, exp = obs/n, exp/n
	// The last day of the episode says where it has got to.
	var lo, le float64
	ln := 0
	for i := ep.last; i >= ep.first && !res[i].Hour.Before(last.Hour.Add(-23*time.Hour)); i-- {
		lo += res[i].W
		le += res[i].Expected
		ln++
	}
	lo, le = lo/float64(ln), le/float64(ln)
	a := m.anomaly(Drift, first.Hour, last.Hour.Add(time.Hour))
	a.Direction = direction(sign)
	a.Open = isOpen(last.Hour, lastData, to, openSlack)
	hours := int(last.Hour.Sub(first.Hour)/time.Hour) + 1
	a.Evidence = map[string]float64{"observed_w": obs, "expected_w": exp, "change_pct": pct(obs, exp),
		"last_day_observed_w": lo, "last_day_expected_w": le, "last_day_change_pct": pct(lo, le),
		"hours": float64(hours), "cusum_k": o.CUSUMK, "cusum_h": o.CUSUMH}
	if peak > 0 {
		a.Evidence["peak_z"] = sign * peak
	}
	verb, cause := "crept up", "Slow rises are often fans working harder (dust, a warmer room, a cooling fault), growing load or an ageing power supply."
	if sign < 0 {
		verb, cause = "crept down", "Slow falls are load moving away, or part of a meter's load being switched off bit by bit."
	}
	since := "since about " + when(first.Hour, m.Loc)
	state := fmt.Sprintf("until %s", when(a.End, m.Loc))
	if a.Open {
		state = "and has not come back"
	}
	grown := ""
	if peak > o.Threshold {
		grown = fmt.Sprintf("It has since grown into hours beyond the deviation threshold (modified z-score up to %+.1f).", sign*peak)
	}
	a.Explanation = sentence(
		fmt.Sprintf("%s has %s %s %s: %+.0f %% against its usual level on average, %+.0f %% over its last day (%s against %s expected).",
			m.name(), verb, since, state, pct(obs, exp), pct(lo, le), watts(lo), watts(le)),
		fmt.Sprintf("At first too small to stand out hour by hour, but sustained beyond chance: the CUSUM of its daily mean modified z-scores (k = %g, h = %g) alarmed on the day to %s.",
			o.CUSUMK, o.CUSUMH, when(res[ep.alarm].Hour.Add(time.Hour), m.Loc)),
		grown, cause)
	return a
}
