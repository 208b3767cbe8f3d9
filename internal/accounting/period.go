package accounting

import (
	"fmt"
	"time"

	"github.com/ecometer/ecometer/models/grid"
)

// Period is a Danish calendar month, the unit every report is made of.
type Period struct {
	Year  int
	Month time.Month
	From  time.Time // UTC start, Danish midnight of the 1st
	To    time.Time // UTC end, exclusive
}

// Label is YYYY-MM.
func (p Period) Label() string { return fmt.Sprintf("%d-%02d", p.Year, int(p.Month)) }

// Complete reports whether the month has ended at now.
func (p Period) Complete(now time.Time) bool { return !now.Before(p.To) }

// MonthOf returns the Danish calendar month year-m.
func MonthOf(year int, m time.Month) Period {
	from, to := grid.DanishMonth(year, m)
	return Period{Year: year, Month: m, From: from, To: to}
}

// Previous is the month before p.
func (p Period) Previous() Period { y, m := AddMonths(p.Year, p.Month, -1); return MonthOf(y, m) }

// YearBefore is the same month a year earlier.
func (p Period) YearBefore() Period { return MonthOf(p.Year-1, p.Month) }

// ParseMonth reads YYYY-MM as a Danish calendar month. A month that has not
// begun at now is refused: there is nothing to account yet, and "0 kWh"
// would read as a measurement.
func ParseMonth(s string, now time.Time) (Period, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return Period{}, fmt.Errorf("month %q: want YYYY-MM, e.g. 2025-10", s)
	}
	p := MonthOf(t.Year(), t.Month())
	if !now.IsZero() && !now.After(p.From) {
		cur := grid.Danish(now)
		return Period{}, fmt.Errorf("month %s is in the future (it is %s in Denmark)", s, cur.Format("2006-01-02"))
	}
	return p, nil
}

// LastFullMonth is the last Danish calendar month that has ended at now.
func LastFullMonth(now time.Time) Period {
	d := grid.Danish(now)
	y, m := AddMonths(d.Year(), d.Month(), -1)
	return MonthOf(y, m)
}

// AddMonths returns the month k months after (before, for k < 0) year-m.
func AddMonths(year int, m time.Month, k int) (int, time.Month) {
	i := year*12 + int(m) - 1 + k
	return i / 12, time.Month(i%12 + 1)
}
