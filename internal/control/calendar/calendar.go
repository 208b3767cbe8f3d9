// Package calendar is the controller's calendar: Danish public holidays
// (github.com/rickar/cal/v2/dk, which knows that Store Bededag was abolished
// after 2023 by lov nr. 207 of 28/02/2023), the sites' extra closed days and
// maintenance windows from the config, and the weekly off-windows of a
// policy, all in Europe/Copenhagen local time.
package calendar

import (
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/rickar/cal/v2/dk"

	"github.com/ecometer/ecometer/config"
)

// Zone is the time zone of every schedule.
const Zone = "Europe/Copenhagen"

// Interval is [From, To).
type Interval struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Why says what made it ("mon-fri 19:00-07:00", "Juledag").
	Why string `json:"why,omitempty"`
}

// Contains reports whether t is in [From, To).
func (i Interval) Contains(t time.Time) bool { return !t.Before(i.From) && t.Before(i.To) }

// Day is a closed day.
type Day struct {
	Date time.Time // local midnight
	Name string
	// Public: a Danish public holiday (else a closed day from the config).
	Public bool
}

// Calendar answers the controller's questions about dates and times.
type Calendar struct {
	loc         *time.Location
	closed      []config.ClosedDay
	maintenance []maintenance
}

type maintenance struct {
	config.Maintenance
	from, to time.Time
}

// New builds the calendar of the config's control section.
func New(ctl config.Control) (*Calendar, error) {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		return nil, fmt.Errorf("calendar: time zone %s: %w", Zone, err)
	}
	c := &Calendar{loc: loc, closed: ctl.ClosedDays}
	for _, m := range ctl.Maintenance {
		from, err1 := time.ParseInLocation(config.MaintenanceLayout, m.From, loc)
		to, err2 := time.ParseInLocation(config.MaintenanceLayout, m.To, loc)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("calendar: maintenance %q: from/to must be %q", m.Name, config.MaintenanceLayout)
		}
		c.maintenance = append(c.maintenance, maintenance{Maintenance: m, from: from, to: to})
	}
	return c, nil
}

// Location is Europe/Copenhagen.
func (c *Calendar) Location() *time.Location { return c.loc }

// PublicHolidays returns the Danish public holidays of a year, in date
// order (rickar/cal dk.Holidays: the days off by law, Sundays such as
// Easter Sunday excluded since every Sunday is closed anyway).
func PublicHolidays(year int, loc *time.Location) []Day {
	var out []Day
	for _, h := range dk.Holidays {
		actual, _ := h.Calc(year)
		if actual.IsZero() {
			continue // not in force that year (Store Bededag after 2023)
		}
		out = append(out, Day{Date: time.Date(year, actual.Month(), actual.Day(), 0, 0, 0, 0, loc), Name: h.Name, Public: true})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Before(out[j].Date) })
	return out
}

// Closed says whether the local date of t is a public holiday or a closed
// day of site, and which.
func (c *Calendar) Closed(t time.Time, site string) (Day, bool) {
	t = t.In(c.loc)
	y, m, d := t.Date()
	for _, h := range PublicHolidays(y, c.loc) {
		if h.Date.Month() == m && h.Date.Day() == d {
			return h, true
		}
	}
	date := t.Format("2006-01-02")
	for _, cd := range c.closed {
		if cd.Date == date && (len(cd.Sites) == 0 || slices.Contains(cd.Sites, site)) {
			return Day{Date: time.Date(y, m, d, 0, 0, 0, 0, c.loc), Name: cd.Name}, true
		}
	}
	return Day{}, false
}

// Maintenance returns the maintenance window covering device (of site) at t.
func (c *Calendar) Maintenance(t time.Time, site, device string) (config.Maintenance, bool) {
	for _, m := range c.maintenance {
		if t.Before(m.from) || !t.Before(m.to) {
			continue
		}
		if len(m.Sites) > 0 && !slices.Contains(m.Sites, site) {
			continue
		}
		if len(m.Devices) > 0 && !matchAny(m.Devices, device) {
			continue
		}
		return m.Maintenance, true
	}
	return config.Maintenance{}, false
}

// MaintenanceOverlapping returns the maintenance window of device that
// overlaps [from, to), if any.
func (c *Calendar) MaintenanceOverlapping(from, to time.Time, site, device string) (config.Maintenance, bool) {
	for _, m := range c.maintenance {
		if !m.from.Before(to) || !from.Before(m.to) {
			continue
		}
		if len(m.Sites) > 0 && !slices.Contains(m.Sites, site) {
			continue
		}
		if len(m.Devices) > 0 && !matchAny(m.Devices, device) {
			continue
		}
		return m.Maintenance, true
	}
	return config.Maintenance{}, false
}

func matchAny(patterns []string, name string) bool {
	for _, p := range patterns {
		if ok, _ := path.Match(p, name); ok || p == name {
			return true
		}
	}
	return false
}

// At returns local date day at minute-of-day min (24:00 is the next
// midnight). A time skipped by the spring clock change is moved forward, as
// time.Date does.
func (c *Calendar) At(day time.Time, min int) time.Time {
	y, m, d := day.In(c.loc).Date()
	return time.Date(y, m, d+min/(24*60), (min%(24*60))/60, min%60, 0, 0, c.loc)
}

// Windows returns the off-windows of a weekly schedule for site that
// overlap [from, to), merged and ordered: each weekly window on its days
// (one ending at or before its start ends the next day), and, with
// Holidays, every public holiday and closed day of site as a whole day.
func (c *Calendar) Windows(s config.Schedule, site string, from, to time.Time) ([]Interval, error) {
	type win struct {
		days     map[time.Weekday]bool
		from, to int
		why      string
	}
	var ws []win
	for _, w := range s.Weekly {
		days := map[time.Weekday]bool{}
		for _, d := range w.Days {
			list, err := config.ParseDays(d)
			if err != nil {
				return nil, err
			}
			for _, x := range list {
				days[x] = true
			}
		}
		f, err := config.ParseClock(w.From)
		if err != nil {
			return nil, err
		}
		t, err := config.ParseClock(w.To)
		if err != nil {
			return nil, err
		}
		ws = append(ws, win{days: days, from: f, to: t, why: fmt.Sprintf("%v %s-%s", w.Days, w.From, w.To)})
	}
	var out []Interval
	// A window may start the day before from and reach into the range.
	start := from.In(c.loc).AddDate(0, 0, -1)
	for day := c.At(start, 0); day.Before(to); day = c.At(day, 24*60) {
		if s.Holidays {
			if cd, ok := c.Closed(day, site); ok {
				out = append(out, Interval{From: day, To: c.At(day, 24*60), Why: "closed day: " + cd.Name})
			}
		}
		for _, w := range ws {
			if !w.days[day.Weekday()] {
				continue
			}
			end := w.to
			if end <= w.from {
				end += 24 * 60
			}
			out = append(out, Interval{From: c.At(day, w.from), To: c.At(day, end), Why: "weekly " + w.why})
		}
	}
	out = Merge(out)
	kept := out[:0]
	for _, iv := range out {
		if iv.From.Before(to) && from.Before(iv.To) {
			kept = append(kept, iv)
		}
	}
	return kept, nil
}

// Merge orders intervals and joins those that overlap or touch; the
// reasons of joined ones are joined with "; ".
func Merge(in []Interval) []Interval {
	if len(in) == 0 {
		return nil
	}
	s := slices.Clone(in)
	sort.Slice(s, func(i, j int) bool { return s[i].From.Before(s[j].From) })
	out := []Interval{s[0]}
	for _, iv := range s[1:] {
		last := &out[len(out)-1]
		if !iv.From.After(last.To) {
			if iv.To.After(last.To) {
				last.To = iv.To
			}
			if iv.Why != "" && !strings.Contains(last.Why, iv.Why) {
				last.Why += "; " + iv.Why
			}
			continue
		}
		out = append(out, iv)
	}
	return out
}
