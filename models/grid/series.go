package grid

import (
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// Source says where an hour's intensity came from.
type Source string

const (
	Measured       Source = "measured"          // the area's data for that hour
	SameHourOfWeek Source = "same-hour-of-week" // the same hour of the nearest week with data
	AnnualFactor   Source = "annual-factor"     // a configured annual factor
)

// Factor is an annual intensity for a price area, used when no hourly data is
// near; Source cites where it comes from (it is printed with every use).
type Factor struct {
	Area      string
	Year      int
	Intensity units.GramsPerKWh
	Source    string
}

// Intensity is the intensity used for one hour and how it was obtained.
type Intensity struct {
	Hour   time.Time // UTC
	Value  units.GramsPerKWh
	Source Source
	// Basis is, for a fallback, what it used: the hour taken
	// (same-hour-of-week) or the factor's year and source (annual-factor).
	Basis string
}

const week = 7 * 24 * time.Hour

// Resolve returns an intensity for every hour of [from, to) (truncated to the
// hour) for area. An hour with data uses it; otherwise the same hour of the
// nearest week with data (the earlier on a tie); otherwise the annual factor of
// the hour's year (Danish time), or of the nearest year (the earlier on a tie),
// whose basis then says which year stood in. Hours with no data and no factor
// are an error.
func Resolve(area string, values []HourValue, factors []Factor, from, to time.Time) ([]Intensity, error) {
	from, to = from.UTC().Truncate(time.Hour), to.UTC().Truncate(time.Hour)
	if to.Before(from) {
		return nil, fmt.Errorf("grid %s: period ends (%s) before it starts (%s)", area, to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	var hours []time.Time
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		hours = append(hours, h)
	}
	return ResolveHours(area, values, factors, hours)
}

// ResolveHours is Resolve for the given hours only (each truncated to the
// hour, in the order given): a period's hours without energy need no
// intensity.
func ResolveHours(area string, values []HourValue, factors []Factor, hours []time.Time) ([]Intensity, error) {
	have := make(map[time.Time]units.GramsPerKWh)
	var first, last time.Time
	for _, v := range values {
		if v.Area != area {
			continue
		}
		h := v.Hour.UTC()
		have[h] = v.Intensity
		if first.IsZero() || h.Before(first) {
			first = h
		}
		if h.After(last) {
			last = h
		}
	}
	out := make([]Intensity, 0, len(hours))
	for _, h := range hours {
		h = h.UTC().Truncate(time.Hour)
		if v, ok := have[h]; ok {
			out = append(out, Intensity{Hour: h, Value: v, Source: Measured})
			continue
		}
		if v, at, ok := sameHourOfWeek(have, h, first, last); ok {
			out = append(out, Intensity{Hour: h, Value: v, Source: SameHourOfWeek, Basis: at.Format(time.RFC3339)})
			continue
		}
		year := Danish(h).Year()
		f, ok := annualFactor(factors, area, year)
		if !ok {
			return nil, fmt.Errorf("grid %s: no intensity for %s: no data and no annual factor", area, h.Format(time.RFC3339))
		}
		basis := fmt.Sprintf("%d: %s", f.Year, f.Source)
		if f.Year != year {
			basis = fmt.Sprintf("%d (no factor for %d; the nearest year's stands in): %s", f.Year, year, f.Source)
		}
		out = append(out, Intensity{Hour: h, Value: f.Intensity, Source: AnnualFactor, Basis: basis})
	}
	return out, nil
}

func sameHourOfWeek(have map[time.Time]units.GramsPerKWh, h, first, last time.Time) (units.GramsPerKWh, time.Time, bool) {
	if len(have) == 0 {
		return 0, time.Time{}, false
	}
	for k := time.Duration(1); ; k++ {
		before, after := h.Add(-k*week), h.Add(k*week)
		if before.Before(first) && after.After(last) {
			return 0, time.Time{}, false
		}
		if v, ok := have[before]; ok {
			return v, before, true
		}
		if v, ok := have[after]; ok {
			return v, after, true
		}
	}
}

func annualFactor(factors []Factor, area string, year int) (Factor, bool) {
	var best Factor
	found := false
	for _, f := range factors {
		if f.Area != area {
			continue
		}
		d, bd := abs(f.Year-year), abs(best.Year-year)
		if !found || d < bd || (d == bd && f.Year < best.Year) {
			best, found = f, true
		}
	}
	return best, found
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// Stats summarises an area's data over a period.
type Stats struct {
	Area          string
	From, To      time.Time
	Mean          units.GramsPerKWh // plain mean of the hourly values
	Min, Max      units.GramsPerKWh
	Hours         int // hours with data
	HoursInPeriod int
	Intervals     int // records behind those hours (5-minute intervals, or hours)
}

// PeriodStats returns the plain mean, min and max of area's hourly values in
// [from, to) and how many hours and intervals they cover. Use DanishMonth for a
// calendar month. A period without data is an error.
func PeriodStats(area string, values []HourValue, from, to time.Time) (Stats, error) {
	s := Stats{Area: area, From: from.UTC(), To: to.UTC(), HoursInPeriod: int(to.Sub(from) / time.Hour)}
	var sum float64
	for _, v := range values {
		if v.Area != area || v.Hour.Before(from) || !v.Hour.Before(to) {
			continue
		}
		if s.Hours == 0 || v.Intensity < s.Min {
			s.Min = v.Intensity
		}
		if s.Hours == 0 || v.Intensity > s.Max {
			s.Max = v.Intensity
		}
		sum += float64(v.Intensity)
		s.Hours++
		s.Intervals += v.Intervals
	}
	if s.Hours == 0 {
		return s, fmt.Errorf("grid %s: no data from %s to %s", area, from.UTC().Format(time.RFC3339), to.UTC().Format(time.RFC3339))
	}
	s.Mean = units.GramsPerKWh(sum / float64(s.Hours))
	return s, nil
}
