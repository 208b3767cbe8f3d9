package grid

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// Source says where an hour's intensity came from.
type Source string

const (
	Measured       Source = "measured"          // the area's imported data for that hour
	SameHourOfWeek Source = "same-hour-of-week" // the same hour of the nearest week with imported data
	BuiltInHourly  Source = "built-in-hourly"   // ecometer's built-in hourly data for that hour
	AnnualFactor   Source = "annual-factor"     // a configured annual factor
	BuiltInAnnual  Source = "built-in-annual"   // ecometer's built-in annual mean
)

// SourceOrder lists the sources in the order Resolve tries them.
var SourceOrder = []Source{Measured, SameHourOfWeek, BuiltInHourly, AnnualFactor, BuiltInAnnual}

// Factor is an annual intensity for a price area, used when no hourly data is
// near; Source cites where it comes from (it is printed with every use).
type Factor struct {
	Area      string
	Year      int
	Intensity units.GramsPerKWh
	Source    string
}

// BuiltIn is grid data shipped with the program (package grid/builtin):
// hourly series of whole years and annual means, each labelled with where it
// comes from. It is used only where the imported data has nothing near an
// hour (see Resolve).
type BuiltIn struct {
	Hourly []BuiltInYear
	Annual []BuiltInMean
}

// BuiltInYear is one area's hourly intensity over a year: Values[i] is the
// hour First + i h (UTC); NaN is an hour without data.
type BuiltInYear struct {
	Area   string
	Year   int       // the Danish calendar year
	First  time.Time // UTC
	Values []units.GramsPerKWh
	// Label names the data in every result that uses it, e.g. "built-in
	// Energinet CO2EmisProg DK1 2025 (Energinet's forecast dataset)".
	Label string
}

// BuiltInMean is one area's annual mean intensity in one Danish calendar year.
type BuiltInMean struct {
	Area      string
	Year      int
	Intensity units.GramsPerKWh
	Label     string
}

// at returns the year's value for hour h (UTC, on the hour).
func (y BuiltInYear) at(h time.Time) (units.GramsPerKWh, bool) {
	if h.Before(y.First) {
		return 0, false
	}
	i := int(h.Sub(y.First) / time.Hour)
	if i >= len(y.Values) || math.IsNaN(float64(y.Values[i])) {
		return 0, false
	}
	return y.Values[i], true
}

// Years returns the years of area's built-in annual means, in order.
func (b BuiltIn) Years(area string) []int {
	var out []int
	for _, m := range b.Annual {
		if m.Area == area {
			out = append(out, m.Year)
		}
	}
	sort.Ints(out)
	return out
}

// Intensity is the intensity used for one hour and how it was obtained.
type Intensity struct {
	Hour   time.Time // UTC
	Value  units.GramsPerKWh
	Source Source
	// Basis is, for a fallback, what it used: the hour taken
	// (same-hour-of-week), the built-in data's label, or the factor's year
	// and source (annual-factor, built-in-annual).
	Basis string
}

const week = 7 * 24 * time.Hour

// Sources are what an hour's intensity may be taken from.
type Sources struct {
	Imported []HourValue // hourly data imported into the store (all areas)
	Factors  []Factor    // the configured annual factors
	BuiltIn  BuiltIn     // the data shipped with the program
}

// NoIntensityError is an hour for which no source has an intensity.
type NoIntensityError struct {
	Area string
	Hour time.Time // UTC
	Year int       // the hour's Danish calendar year
	// BuiltInYears are the years of the area's built-in annual means (none:
	// the program ships no data for the area).
	BuiltInYears []int
}

func (e *NoIntensityError) Error() string {
	msg := fmt.Sprintf("grid %s: no intensity for %s: no imported data, no annual factor", e.Area, e.Hour.Format(time.RFC3339))
	switch n := len(e.BuiltInYears); {
	case n == 0:
		return msg + fmt.Sprintf(", and no built-in data for %s", e.Area)
	default:
		return msg + fmt.Sprintf(", and no built-in data for %d (built-in %s data: %d–%d; a year before them is never filled from a later one)",
			e.Year, e.Area, e.BuiltInYears[0], e.BuiltInYears[n-1])
	}
}

// Resolve returns an intensity for every hour of [from, to) (truncated to the
// hour) for area, from imported data and configured factors only; see
// Sources.Resolve.
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
	return Sources{Imported: values, Factors: factors}.Resolve(area, hours)
}

// Resolve returns an intensity for each of the given hours (truncated to
// the hour, in the order given) of area, trying in turn:
//
//  1. the imported value of that hour (measured);
//  2. the imported value of the same hour of the nearest week with data
//     (the earlier on a tie);
//  3. the built-in hourly value of that hour;
//  4. the configured annual factor of the hour's year (Danish time);
//  5. the built-in annual mean of that year;
//  6. the nearest year of the configured factors and of the built-in means
//     (a configured factor on a tie, then the earlier year), the basis
//     saying which year stood in. A built-in mean stands in only for a
//     later year (one not yet published), never for a year before the
//     built-in data begins: a past year such as a target's baseline must be
//     imported or configured.
//
// An hour that none of them covers is a *NoIntensityError.
func (s Sources) Resolve(area string, hours []time.Time) ([]Intensity, error) {
	have := make(map[time.Time]units.GramsPerKWh)
	var first, last time.Time
	for _, v := range s.Imported {
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
	var hourly []BuiltInYear
	for _, y := range s.BuiltIn.Hourly {
		if y.Area == area {
			hourly = append(hourly, y)
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
		if in, ok := builtInHour(hourly, h); ok {
			out = append(out, in)
			continue
		}
		in, ok := s.annual(area, h)
		if !ok {
			return nil, &NoIntensityError{Area: area, Hour: h, Year: Danish(h).Year(), BuiltInYears: s.BuiltIn.Years(area)}
		}
		out = append(out, in)
	}
	return out, nil
}

func builtInHour(years []BuiltInYear, h time.Time) (Intensity, bool) {
	for _, y := range years {
		if v, ok := y.at(h); ok {
			return Intensity{Hour: h, Value: v, Source: BuiltInHourly, Basis: y.Label + ", hourly"}, true
		}
	}
	return Intensity{}, false
}

// annual is steps 4 to 6 of Resolve.
func (s Sources) annual(area string, h time.Time) (Intensity, bool) {
	year := Danish(h).Year()
	factor := func(f Factor) Intensity {
		basis := fmt.Sprintf("%d: %s", f.Year, f.Source)
		if f.Year != year {
			basis = fmt.Sprintf("%d (no factor for %d; the nearest year's stands in): %s", f.Year, year, f.Source)
		}
		return Intensity{Hour: h, Value: f.Intensity, Source: AnnualFactor, Basis: basis}
	}
	mean := func(m BuiltInMean) Intensity {
		basis := m.Label + ", annual mean"
		if m.Year != year {
			basis = fmt.Sprintf("%s, annual mean (no imported data or factor for %d; the nearest year's stands in)", m.Label, year)
		}
		return Intensity{Hour: h, Value: m.Intensity, Source: BuiltInAnnual, Basis: basis}
	}
	f, hasF := annualFactor(s.Factors, area, year)
	if hasF && f.Year == year {
		return factor(f), true
	}
	var m BuiltInMean
	hasM := false
	for _, c := range s.BuiltIn.Annual {
		if c.Area != area || c.Year > year {
			continue
		}
		if !hasM || c.Year > m.Year {
			m, hasM = c, true
		}
	}
	if hasM && m.Year == year {
		return mean(m), true
	}
	switch {
	case hasF && hasM:
		if abs(f.Year-year) <= year-m.Year {
			return factor(f), true
		}
		return mean(m), true
	case hasF:
		return factor(f), true
	case hasM:
		return mean(m), true
	}
	return Intensity{}, false
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
