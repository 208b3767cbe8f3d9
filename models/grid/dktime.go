package grid

import "time"

// Danish time is CET (+01:00), with summer time CEST (+02:00) from the last
// Sunday of March to the last Sunday of October, switching at 01:00 UTC (the EU
// rule, in force in Denmark since 1996). It is computed here rather than read
// from the system's time zone database, so results do not depend on the machine.

var (
	cet  = time.FixedZone("CET", 3600)
	cest = time.FixedZone("CEST", 7200)
)

// lastSunday01UTC is 01:00 UTC on the last Sunday of the month.
func lastSunday01UTC(year int, month time.Month) time.Time {
	d := time.Date(year, month+1, 0, 1, 0, 0, 0, time.UTC) // last day of month
	return d.AddDate(0, 0, -int(d.Weekday()))
}

func summerTime(t time.Time) bool {
	t = t.UTC()
	return !t.Before(lastSunday01UTC(t.Year(), time.March)) && t.Before(lastSunday01UTC(t.Year(), time.October))
}

// Danish returns t in Danish time (a fixed zone CET or CEST, whichever applies).
func Danish(t time.Time) time.Time {
	if summerTime(t) {
		return t.In(cest)
	}
	return t.In(cet)
}

// DanishMonth returns the month of Danish time as a UTC interval [from, to).
func DanishMonth(year int, month time.Month) (from, to time.Time) {
	return danishMidnight(year, month, 1), danishMidnight(year, month+1, 1)
}

func danishMidnight(year int, month time.Month, day int) time.Time {
	// Midnight is never in a clock change, so exactly one reading applies.
	return fromDanishWall(time.Date(year, month, day, 0, 0, 0, 0, time.UTC))[0]
}

// fromDanishWall converts a Danish wall-clock time (given with UTC as its
// nominal zone) to the UTC instants it can mean, in time order: one normally,
// two for the repeated hour in October (CEST, then CET), none for the hour
// skipped in March.
func fromDanishWall(wall time.Time) []time.Time {
	var out []time.Time
	if u := wall.Add(-2 * time.Hour); summerTime(u) {
		out = append(out, u)
	}
	if u := wall.Add(-time.Hour); !summerTime(u) {
		out = append(out, u)
	}
	return out
}
