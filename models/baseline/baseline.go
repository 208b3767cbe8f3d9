// Package baseline says what a meter usually draws at each hour of the week
// and how far an hour's reading is from that, as a robust score: the median
// of the same hour of the week over the last weeks is the expected value, the
// median absolute deviation (MAD) of the history from it the spread.
//
// The spread is taken relative to the expected value: a meter's noise grows
// with its load (more equipment running, more variation), so a slot that
// usually draws twice as much gets twice the spread.
package baseline

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"time"
)

// HoursPerWeek is the number of hour-of-week slots.
const HoursPerWeek = 7 * 24

// ZConstant scales a deviation divided by the MAD into the modified z-score
// of Iglewicz and Hoaglin ("How to Detect and Handle Outliers", ASQC Basic
// References in Quality Control 16, 1993): 0.6745 is the 0.75 quantile of the
// standard normal distribution, so that for normal data the score has the
// spread of an ordinary z-score. They recommend flagging |score| > 3.5.
const ZConstant = 0.6745

const week = 7 * 24 * time.Hour

// Point is one meter's mean power over one clock hour.
type Point struct {
	Hour time.Time // start of the hour, UTC
	W    float64
}

// Options set how a baseline is built. Zero fields take the defaults.
type Options struct {
	// Weeks of history the baseline is taken from (default 8).
	Weeks int
	// MinWeeks is the fewest weeks with data a baseline needs (default 4);
	// a week counts when at least half its hours have a reading.
	MinWeeks int
	// MinSlot is the fewest readings an hour-of-week slot needs to have an
	// expected value (default 3).
	MinSlot int
	// FloorFrac and FloorW bound the spread from below, as a share of the
	// meter's median level (default 0.01) and in watts (default 0.5): a very
	// steady meter would otherwise score its own meter resolution as an
	// anomaly.
	FloorFrac float64
	FloorW    float64
	// Clip bounds each hour's score (default 3.5) when the history's daily
	// means of scores are taken for DaySpread, and DayFloor bounds
	// DaySpread from below (default 0.2, the spread of a mean of 24
	// independent scores).
	Clip, DayFloor float64
}

// Defaults of Options.
const (
	DefaultWeeks     = 8
	DefaultMinWeeks  = 4
	DefaultMinSlot   = 3
	DefaultFloorFrac = 0.01
	DefaultFloorW    = 0.5
	DefaultClip      = 3.5
	DefaultDayFloor  = 0.2
	// minDays is the fewest daily means DaySpread is taken from.
	minDays = 14
)

// WithDefaults returns o with its zero fields set to the defaults.
func (o Options) WithDefaults() Options {
	if o.Weeks <= 0 {
		o.Weeks = DefaultWeeks
	}
	if o.MinWeeks <= 0 {
		o.MinWeeks = DefaultMinWeeks
	}
	if o.MinWeeks > o.Weeks {
		o.MinWeeks = o.Weeks
	}
	if o.MinSlot <= 0 {
		o.MinSlot = DefaultMinSlot
	}
	if o.FloorFrac <= 0 {
		o.FloorFrac = DefaultFloorFrac
	}
	if o.FloorW <= 0 {
		o.FloorW = DefaultFloorW
	}
	if o.Clip <= 0 {
		o.Clip = DefaultClip
	}
	if o.DayFloor <= 0 {
		o.DayFloor = DefaultDayFloor
	}
	return o
}

// ErrShortHistory means the history holds fewer weeks with data than
// Options.MinWeeks.
var ErrShortHistory = errors.New("baseline: not enough history")

// Baseline is a meter's usual power for each hour of the week.
type Baseline struct {
	From, To time.Time // the history it was built from, [From, To)
	Weeks    int       // weeks of the history with data
	Median   [HoursPerWeek]float64
	Count    [HoursPerWeek]int // readings behind each slot's median
	// RelMAD is the median of every history reading's absolute deviation
	// from the median of the other readings of its slot, relative to the
	// slot's median (or to a tenth of Level, when the median is smaller: a
	// slot near zero would otherwise make every deviation huge). Leaving the
	// reading out makes the deviation what a new reading's is: measured
	// against a median it took no part in. (Against the slot's own median,
	// 8 weeks understate the spread by about a fifth, 4 weeks by more.)
	// Slots whose readings are all at or below Options.FloorW (equipment
	// switched off in that hour every week) are left out.
	RelMAD float64
	// Scale is each slot's spread, RelMAD × its median, at least the floor.
	Scale [HoursPerWeek]float64
	Level float64 // median of all history readings
	// DaySpread is the spread (1.4826 × MAD) of the history's daily means
	// of clipped scores, at least Options.DayFloor: what a day's mean score
	// varies by without any change. Hourly readings are autocorrelated, so
	// it is wider than 1/√24; tests that add scores up over days (CUSUM)
	// need it.
	DaySpread float64
	loc       *time.Location
	minN      int
}

// HourOfWeek returns t's slot: Monday 00:00–01:00 local time is 0, Sunday
// 23:00–24:00 is 167. Load follows local time, so the slots do too; in the
// October week with the repeated hour both 02:00 hours share a slot.
func HourOfWeek(t time.Time, loc *time.Location) int {
	l := t.In(loc)
	return (int(l.Weekday())+6)%7*24 + l.Hour()
}

// Builder builds baselines, reusing its buffers: one Builder serves any
// number of meters, one at a time.
type Builder struct {
	slots [HoursPerWeek][]float64
	dev   []float64
	all   []float64
}

// Build returns the baseline of the points in [to − Weeks, to), which must
// be sorted by hour. Points outside that range are ignored.
func Build(points []Point, to time.Time, loc *time.Location, o Options) (Baseline, error) {
	var b Builder
	return b.Build(points, to, loc, o)
}

// Build is the package function Build, with b's buffers.
func (b *Builder) Build(points []Point, to time.Time, loc *time.Location, o Options) (Baseline, error) {
	o = o.WithDefaults()
	if loc == nil {
		return Baseline{}, fmt.Errorf("baseline: no time zone")
	}
	from := to.Add(-time.Duration(o.Weeks) * week)
	bl := Baseline{From: from, To: to, loc: loc, minN: o.MinSlot}
	for i := range b.slots {
		b.slots[i] = b.slots[i][:0]
	}
	b.all = b.all[:0]
	perWeek := make([]int, o.Weeks)
	lo, _ := slices.BinarySearchFunc(points, from, func(p Point, t time.Time) int { return p.Hour.Compare(t) })
	for _, p := range points[lo:] {
		if !p.Hour.Before(to) {
			break
		}
		if math.IsNaN(p.W) || math.IsInf(p.W, 0) {
			continue
		}
		s := HourOfWeek(p.Hour, loc)
		b.slots[s] = append(b.slots[s], p.W)
		b.all = append(b.all, p.W)
		perWeek[int(p.Hour.Sub(from)/week)]++
	}
	for _, n := range perWeek {
		if n >= HoursPerWeek/2 {
			bl.Weeks++
		}
	}
	if bl.Weeks < o.MinWeeks {
		return bl, fmt.Errorf("%w: %d of the %d weeks before %s have data, %d needed", ErrShortHistory,
			bl.Weeks, o.Weeks, to.UTC().Format("2006-01-02T15:04Z"), o.MinWeeks)
	}
	bl.Level = Median(b.all)
	b.dev = b.dev[:0]
	for s := range b.slots {
		v := b.slots[s]
		bl.Count[s] = len(v)
		if len(v) < o.MinSlot {
			bl.Median[s] = math.NaN()
			continue
		}
		m := Median(v) // sorts v
		bl.Median[s] = m
		if v[len(v)-1] <= o.FloorW {
			// Equipment off in this hour every week (an outlet a power
			// policy switches off): its readings have no spread to tell,
			// and pooled in they would make the spread of the hours it is
			// on look like none.
			continue
		}
		for i, x := range v {
			b.dev = append(b.dev, math.Abs(x-medianWithout(v, i))/bl.ref(m))
		}
	}
	if len(b.dev) > 0 {
		bl.RelMAD = Median(b.dev)
	}
	floor := max(o.FloorFrac*math.Abs(bl.Level), o.FloorW)
	for s := range bl.Scale {
		bl.Scale[s] = max(bl.RelMAD*bl.ref(bl.Median[s]), floor)
	}
	bl.DaySpread = b.daySpread(&bl, points[lo:], o)
	return bl, nil
}

// daySpread returns DaySpread for bl from its history points.
func (b *Builder) daySpread(bl *Baseline, points []Point, o Options) float64 {
	b.all = b.all[:0] // daily means
	sum, n, day := 0.0, 0, -1
	flush := func() {
		if n >= 12 {
			b.all = append(b.all, sum/float64(n))
		}
		sum, n = 0, 0
	}
	for _, p := range points {
		if !p.Hour.Before(bl.To) {
			break
		}
		// The score against the slot's median without the reading, as in
		// RelMAD: a reading inside its own median would look too normal.
		slot := HourOfWeek(p.Hour, bl.loc)
		v := b.slots[slot]
		if len(v) < o.MinSlot || math.IsNaN(p.W) {
			continue
		}
		i, _ := slices.BinarySearch(v, p.W)
		z := ZConstant * (p.W - medianWithout(v, min(i, len(v)-1))) / bl.Scale[slot]
		if d := int(p.Hour.Sub(bl.From) / (24 * time.Hour)); d != day {
			flush()
			day = d
		}
		sum += math.Max(-o.Clip, math.Min(o.Clip, z))
		n++
	}
	flush()
	if len(b.all) < minDays {
		return o.DayFloor
	}
	m := Median(b.all)
	for i := range b.all {
		b.all[i] = math.Abs(b.all[i] - m)
	}
	return max(1.4826*Median(b.all), o.DayFloor)
}

// ref is what a slot's deviations are relative to.
func (b *Baseline) ref(median float64) float64 {
	return max(math.Abs(median), 0.1*math.Abs(b.Level), 1e-9)
}

// Expected returns the usual power at hour t, and false when t's slot had
// too few readings.
func (b *Baseline) Expected(t time.Time) (float64, bool) {
	s := HourOfWeek(t, b.loc)
	if b.Count[s] < b.minN {
		return 0, false
	}
	return b.Median[s], true
}

// Score returns the modified z-score of reading w at hour t,
// ZConstant × (w − expected) / the slot's scale, with the expected value
// and the scale.
func (b *Baseline) Score(t time.Time, w float64) (z, expected, scale float64, ok bool) {
	s := HourOfWeek(t, b.loc)
	if b.Count[s] < b.minN {
		return 0, 0, 0, false
	}
	e, scale := b.Median[s], b.Scale[s]
	return ZConstant * (w - e) / scale, e, scale, true
}

// medianWithout returns the median of sorted v without its element i
// (len(v) ≥ 2).
func medianWithout(v []float64, i int) float64 {
	at := func(k int) float64 { // k-th of the rest
		if k >= i {
			return v[k+1]
		}
		return v[k]
	}
	n := len(v) - 1
	if n%2 == 1 {
		return at(n / 2)
	}
	return (at(n/2-1) + at(n/2)) / 2
}

// Median returns the median of v, reordering v; NaN when v is empty.
func Median(v []float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

// Percentile returns the p-th percentile (0..100) of v by linear
// interpolation between closest ranks, reordering v; NaN when v is empty.
func Percentile(v []float64, p float64) float64 {
	n := len(v)
	if n == 0 {
		return math.NaN()
	}
	slices.Sort(v)
	r := p / 100 * float64(n-1)
	i := int(math.Floor(r))
	if i >= n-1 {
		return v[n-1]
	}
	if i < 0 {
		return v[0]
	}
	return v[i] + (r-float64(i))*(v[i+1]-v[i])
}
