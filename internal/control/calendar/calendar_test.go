package calendar

import (
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
)

func cph(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// Easter Sundays 2023–2030 (Gregorian computus, as published in almanacs);
// every movable Danish holiday is fixed relative to it.
var easter = map[int]string{
	2023: "2023-04-09", 2024: "2024-03-31", 2025: "2025-04-20", 2026: "2026-04-05",
	2027: "2027-03-28", 2028: "2028-04-16", 2029: "2029-04-01", 2030: "2030-04-21",
}

func TestPublicHolidays2024To2030(t *testing.T) {
	loc := cph(t)
	for year := 2024; year <= 2030; year++ {
		e, _ := time.ParseInLocation("2006-01-02", easter[year], loc)
		want := map[string]string{
			"Nytårsdag":             time.Date(year, 1, 1, 0, 0, 0, 0, loc).Format("2006-01-02"),
			"Skærtorsdag":           e.AddDate(0, 0, -3).Format("2006-01-02"),
			"Langfredag":            e.AddDate(0, 0, -2).Format("2006-01-02"),
			"Anden påskedag":        e.AddDate(0, 0, 1).Format("2006-01-02"),
			"Kristi Himmelfartsdag": e.AddDate(0, 0, 39).Format("2006-01-02"),
			"Anden Pinsedag":        e.AddDate(0, 0, 50).Format("2006-01-02"),
			"Grundlovsdag":          time.Date(year, 6, 5, 0, 0, 0, 0, loc).Format("2006-01-02"),
			"Juledag":               time.Date(year, 12, 25, 0, 0, 0, 0, loc).Format("2006-01-02"),
			"Anden juledag":         time.Date(year, 12, 26, 0, 0, 0, 0, loc).Format("2006-01-02"),
		}
		got := PublicHolidays(year, loc)
		if len(got) != len(want) {
			var names []string
			for _, d := range got {
				names = append(names, d.Name+" "+d.Date.Format("01-02"))
			}
			t.Errorf("%d: %d holidays %v, want %d (Store Bededag is abolished from 2024)", year, len(got), names, len(want))
		}
		for _, d := range got {
			if w, ok := want[d.Name]; !ok || w != d.Date.Format("2006-01-02") {
				t.Errorf("%d: %s on %s, want %q", year, d.Name, d.Date.Format("2006-01-02"), w)
			}
		}
		// Store Bededag would have been the fourth Friday after Easter.
		bede := e.AddDate(0, 0, 26)
		c, _ := New(config.Control{})
		if day, closed := c.Closed(bede.Add(12*time.Hour), "dc1"); closed {
			t.Errorf("%d: %s is closed (%s), but Store Bededag was abolished after 2023", year, bede.Format("2006-01-02"), day.Name)
		}
	}
}

func TestExplicitDates(t *testing.T) {
	c, err := New(config.Control{ClosedDays: []config.ClosedDay{{Date: "2026-12-24", Name: "Juleaftensdag"},
		{Date: "2026-12-31", Name: "Nytårsaftensdag", Sites: []string{"dc2"}}}})
	if err != nil {
		t.Fatal(err)
	}
	loc := c.Location()
	tests := []struct {
		date, site string
		closed     bool
		name       string
	}{
		{"2023-05-05", "dc1", true, "Store bededag"}, // the last one
		{"2024-04-26", "dc1", false, ""},             // would have been Store Bededag
		{"2025-05-16", "dc1", false, ""},
		{"2026-05-14", "dc1", true, "Kristi Himmelfartsdag"},
		{"2027-03-25", "dc1", true, "Skærtorsdag"},
		{"2030-06-10", "dc1", true, "Anden Pinsedag"},
		{"2026-12-24", "dc1", true, "Juleaftensdag"},
		{"2026-12-31", "dc1", false, ""},
		{"2026-12-31", "dc2", true, "Nytårsaftensdag"},
		{"2026-06-04", "dc1", false, ""},
	}
	for _, tt := range tests {
		d, _ := time.ParseInLocation("2006-01-02", tt.date, loc)
		day, closed := c.Closed(d.Add(23*time.Hour+30*time.Minute), tt.site)
		if closed != tt.closed || day.Name != tt.name {
			t.Errorf("%s %s: closed %v %q, want %v %q", tt.date, tt.site, closed, day.Name, tt.closed, tt.name)
		}
	}
}

func TestWindows(t *testing.T) {
	c, err := New(config.Control{ClosedDays: []config.ClosedDay{{Date: "2026-12-24", Name: "Juleaftensdag"}}})
	if err != nil {
		t.Fatal(err)
	}
	loc := c.Location()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	night := config.Schedule{Weekly: []config.WeeklyWindow{{Days: []string{"mon-fri"}, From: "19:00", To: "07:00"},
		{Days: []string{"sat", "sun"}, From: "00:00", To: "24:00"}}, Holidays: true}
	tests := []struct {
		name     string
		s        config.Schedule
		from, to string
		want     []string
	}{
		{"weekday night into the weekend", night, "2026-03-05 12:00", "2026-03-09 12:00",
			[]string{"2026-03-05 19:00 2026-03-06 07:00", "2026-03-06 19:00 2026-03-09 00:00"}}, // sunday night is not mon-fri
		{"spring clock change: 03-29 02:00 does not exist", night, "2026-03-27 12:00", "2026-03-30 12:00",
			[]string{"2026-03-27 19:00 2026-03-30 00:00"}},
		{"christmas: holidays join the nights", night, "2026-12-23 12:00", "2026-12-28 12:00",
			[]string{"2026-12-23 19:00 2026-12-28 00:00"}},
		{"ascension day thursday", night, "2026-05-13 12:00", "2026-05-15 12:00",
			[]string{"2026-05-13 19:00 2026-05-15 07:00"}},
		{"without holidays", config.Schedule{Weekly: night.Weekly}, "2026-05-13 12:00", "2026-05-15 12:00",
			[]string{"2026-05-13 19:00 2026-05-14 07:00", "2026-05-14 19:00 2026-05-15 07:00"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.Windows(tt.s, "dc1", at(tt.from), at(tt.to))
			if err != nil {
				t.Fatal(err)
			}
			var s []string
			for _, iv := range got {
				s = append(s, iv.From.Format("2006-01-02 15:04")+" "+iv.To.Format("2006-01-02 15:04"))
			}
			if strings.Join(s, "|") != strings.Join(tt.want, "|") {
				t.Errorf("windows\n got %v\nwant %v", s, tt.want)
			}
		})
	}
	// The night of the autumn clock change is an hour longer.
	got, _ := c.Windows(config.Schedule{Weekly: []config.WeeklyWindow{{Days: []string{"sat"}, From: "22:00", To: "06:00"}}}, "dc1",
		at("2026-10-24 12:00"), at("2026-10-25 12:00"))
	if len(got) != 1 || got[0].To.Sub(got[0].From) != 9*time.Hour {
		t.Errorf("autumn night = %v, want one window of 9 h", got)
	}
}

func TestMaintenance(t *testing.T) {
	c, err := New(config.Control{Maintenance: []config.Maintenance{{Name: "UPS service", From: "2026-03-03 06:00", To: "2026-03-03 14:00",
		Devices: []string{"srv-*"}}}})
	if err != nil {
		t.Fatal(err)
	}
	loc := c.Location()
	in := time.Date(2026, 3, 3, 7, 0, 0, 0, loc)
	if _, ok := c.Maintenance(in, "dc1", "srv-1"); !ok {
		t.Error("srv-1 at 07:00 not in maintenance")
	}
	if _, ok := c.Maintenance(in, "dc1", "pdu-1"); ok {
		t.Error("pdu-1 in maintenance, but only srv-* is")
	}
	if _, ok := c.Maintenance(in.Add(7*time.Hour), "dc1", "srv-1"); ok {
		t.Error("srv-1 at 14:00 in maintenance; To is exclusive")
	}
	if _, ok := c.MaintenanceOverlapping(in.Add(-3*time.Hour), in.Add(-30*time.Minute), "dc1", "srv-1"); !ok {
		t.Error("04:00-06:30 does not overlap 06:00-14:00")
	}
}
