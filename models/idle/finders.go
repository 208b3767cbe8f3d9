package idle

import (
	"fmt"
	"math"
	"time"

	"github.com/ecometer/ecometer/models/baseline"
	"github.com/ecometer/ecometer/models/energy"
)

// ServerOptions set the idle-server finder. Zero fields take the defaults.
type ServerOptions struct {
	// MinCoverage is the share of the period's hours that must have a
	// reading (default 0.8).
	MinCoverage float64
	// Margin and MarginW say how near the idle level is near: the 95th
	// percentile of the period's hourly power must stay at or below
	// idle × (1 + Margin) + MarginW (defaults 0.10 and 5 W).
	Margin, MarginW float64
	// Percentile is the percentile of its own hourly power that a server's
	// idle level is learned from when no datasheet figure is given
	// (default 2).
	Percentile float64
	// MinIdleW: an idle level below it is a server that is off, drawing
	// standby power, which switching off would not save (default 20 W).
	MinIdleW float64
	// ActiveRatio: history hours above idle × ActiveRatio show the server
	// working (default 1.3).
	ActiveRatio float64
	// Night and MinNightShare set the night-idle finder: the share of the
	// night's hours that must be near idle (default 0.9).
	Night         Night
	MinNightShare float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o ServerOptions) WithDefaults() ServerOptions {
	if o.MinCoverage <= 0 {
		o.MinCoverage = 0.8
	}
	if o.Margin <= 0 {
		o.Margin = 0.10
	}
	if o.MarginW <= 0 {
		o.MarginW = 5
	}
	if o.Percentile <= 0 {
		o.Percentile = 2
	}
	if o.MinIdleW <= 0 {
		o.MinIdleW = 20
	}
	if o.ActiveRatio <= 1 {
		o.ActiveRatio = 1.3
	}
	o.Night = o.Night.WithDefaults()
	if o.MinNightShare <= 0 {
		o.MinNightShare = 0.9
	}
	return o
}

// ServerIdle judges a server from its hourly power: points (sorted) are its
// history, and those in [from, to) the period judged. It is a candidate
// when the 95th percentile of the period stays near its idle level:
// datasheetIdleW when > 0, else the Percentile of all its points. With a
// learned level the confidence is Medium when its history shows it working
// harder (above ActiveRatio × idle), else Low.
func ServerIdle(ref energy.MeterRef, points []baseline.Point, from, to time.Time, datasheetIdleW float64, o ServerOptions) (Candidate, bool) {
	o = o.WithDefaults()
	win, hours := window(points, from, to)
	if hours <= 0 || float64(len(win)) < o.MinCoverage*float64(hours) {
		return Candidate{}, false
	}
	c := newCandidate(Server, ref, from, to)
	c.Action = "switch off, or move its workload to another server and switch it off"
	c.Confidence = High
	idle, basis := idleLevel(points, to, datasheetIdleW, o)
	if idle < o.MinIdleW {
		return Candidate{}, false
	}
	wv := values(win)
	p95 := baseline.Percentile(wv, 95)
	near := idle*(1+o.Margin) + o.MarginW
	if p95 > near {
		return Candidate{}, false
	}
	c.MeanW = mean(wv)
	c.SavedKWhPerYear = c.MeanW * HoursPerYear / 1000
	var lastActive time.Time
	active := idle * o.ActiveRatio
	peak := 0.0
	for _, p := range points {
		if p.Hour.Before(to) {
			peak = math.Max(peak, p.W)
			if p.W > active {
				lastActive = p.Hour
			}
		}
	}
	c.Facts = map[string]float64{"idle_w": idle, "p95_w": p95, "max_w": wv[len(wv)-1], "mean_w": c.MeanW,
		"days": days(from, to), "coverage_pct": 100 * float64(len(win)) / float64(hours), "near_idle_w": near,
		"history_days": days(points[0].Hour, to), "history_max_w": peak}
	var conf string
	switch {
	case datasheetIdleW > 0:
	case !lastActive.IsZero():
		c.Confidence = Medium
		conf = fmt.Sprintf("It last drew more than %s (%.1f × idle) on %s, so it is idle now compared with then.",
			watts(active), o.ActiveRatio, lastActive.Format("2006-01-02"))
	default:
		c.Confidence = Low
		conf = fmt.Sprintf("Its power never rose above %s in the %.0f days looked at: a server under a constant load looks the same, so check its utilisation (or give its datasheet idle power as tag idle_w) before acting.",
			watts(peak), days(points[0].Hour, to))
	}
	c.Evidence = fmt.Sprintf("%s drew %s on average (95th percentile %s, highest hour %s) over the %.0f days to %s, within %.0f %% + %s of its idle level %s (%s). %s Switching it off saves %.0f kWh a year.",
		ref.Device, watts(c.MeanW), watts(p95), watts(wv[len(wv)-1]), days(from, to), to.Format("2006-01-02"),
		100*o.Margin, watts(o.MarginW), watts(idle), basis, conf, c.SavedKWhPerYear)
	return c, true
}

// idleLevel returns a server's idle level and where it comes from.
func idleLevel(points []baseline.Point, to time.Time, datasheetIdleW float64, o ServerOptions) (float64, string) {
	if datasheetIdleW > 0 {
		return datasheetIdleW, "its datasheet idle power (tag idle_w)"
	}
	return baseline.Percentile(values(points), o.Percentile),
		fmt.Sprintf("learned: the %s percentile of its own hourly power over the %.0f days looked at", ordinal(o.Percentile), days(points[0].Hour, to))
}

// ServerNightIdle judges a server that is not idle all the time: a
// candidate for a power-down schedule when at least MinNightShare of the
// night hours (site local time) in [from, to) stayed near its idle level
// (as in ServerIdle) while its day hours did not.
func ServerNightIdle(ref energy.MeterRef, points []baseline.Point, from, to time.Time, loc *time.Location, datasheetIdleW float64, o ServerOptions) (Candidate, bool) {
	o = o.WithDefaults()
	if loc == nil {
		loc = time.UTC
	}
	win, hours := window(points, from, to)
	if hours <= 0 || len(win) == 0 || float64(len(win)) < o.MinCoverage*float64(hours) {
		return Candidate{}, false
	}
	idle, basis := idleLevel(points, to, datasheetIdleW, o)
	if idle < o.MinIdleW {
		return Candidate{}, false
	}
	near := idle*(1+o.Margin) + o.MarginW
	var nightW, dayW float64
	var nights, atIdle int
	var day []float64
	for _, p := range win {
		if o.Night.Has(p.Hour, loc) {
			nights++
			nightW += p.W
			if p.W <= near {
				atIdle++
			}
		} else {
			day = append(day, p.W)
			dayW += p.W
		}
	}
	if nights == 0 || len(day) == 0 || float64(atIdle) < o.MinNightShare*float64(nights) {
		return Candidate{}, false
	}
	dayP95 := baseline.Percentile(day, 95)
	if dayP95 <= near {
		return Candidate{}, false // idle all day too: ServerIdle's case
	}
	nightW /= float64(nights)
	dayW /= float64(len(day))
	c := newCandidate(ServerNight, ref, from, to)
	c.Confidence = High
	if datasheetIdleW <= 0 {
		c.Confidence = Medium
	}
	c.Action = fmt.Sprintf("power down at night (%s): graceful shutdown, power on in the morning", o.Night)
	c.MeanW = mean(values(win))
	c.SavedKWhPerYear = nightW * float64(o.Night.Hours()) * 365 / 1000
	c.Facts = map[string]float64{"idle_w": idle, "near_idle_w": near, "night_mean_w": nightW, "day_mean_w": dayW,
		"day_p95_w": dayP95, "night_hours": float64(nights), "night_hours_at_idle": float64(atIdle), "days": days(from, to),
		"night_start_hour": float64(o.Night.Start), "night_end_hour": float64(o.Night.End)}
	c.Evidence = fmt.Sprintf("%s stays at its idle level at night: %d of %d night hours (%s local time) within %.0f %% + %s of %s (%s); %s on average at night against %s by day (95th percentile %s), over the %.0f days to %s. A power-down schedule for the night saves %.0f kWh a year; check that nothing runs at night (backups, batch jobs, patching) first.",
		ref.Device, atIdle, nights, o.Night, 100*o.Margin, watts(o.MarginW), watts(idle), basis, watts(nightW), watts(dayW), watts(dayP95),
		days(from, to), to.Format("2006-01-02"), c.SavedKWhPerYear)
	return c, true
}

// OutletOptions set the low-draw outlet finder. Zero fields take the
// defaults.
type OutletOptions struct {
	// MaxW: every hour of the period must stay below it (default 10 W).
	MaxW float64
	// MinW: an outlet drawing less on average is empty or switched off,
	// with nothing to save (default 0.5 W).
	MinW float64
	// MinDays is the shortest period that counts as weeks (default 14).
	MinDays int
	// MinCoverage is the share of the period's hours that must have a
	// reading (default 0.8).
	MinCoverage float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o OutletOptions) WithDefaults() OutletOptions {
	if o.MaxW <= 0 {
		o.MaxW = 10
	}
	if o.MinW <= 0 {
		o.MinW = 0.5
	}
	if o.MinDays <= 0 {
		o.MinDays = 14
	}
	if o.MinCoverage <= 0 {
		o.MinCoverage = 0.8
	}
	return o
}

// OutletLow judges an outlet over [from, to): a candidate when every hour
// drew less than MaxW and the mean at least MinW. load is the configured
// device the outlet feeds, if any.
func OutletLow(ref energy.MeterRef, points []baseline.Point, from, to time.Time, load string, o OutletOptions) (Candidate, bool) {
	o = o.WithDefaults()
	win, hours := window(points, from, to)
	if days(from, to) < float64(o.MinDays) || len(win) == 0 || float64(len(win)) < o.MinCoverage*float64(hours) {
		return Candidate{}, false
	}
	wv := values(win)
	m := mean(wv)
	top := baseline.Percentile(wv, 100)
	if top >= o.MaxW || m < o.MinW {
		return Candidate{}, false
	}
	c := newCandidate(Outlet, ref, from, to)
	c.Load = load
	c.Confidence = High
	c.Action = "switch the outlet off"
	c.MeanW = m
	c.SavedKWhPerYear = m * HoursPerYear / 1000
	c.Facts = map[string]float64{"mean_w": m, "max_w": top, "below_w": o.MaxW, "days": days(from, to),
		"coverage_pct": 100 * float64(len(win)) / float64(hours)}
	feeds := ""
	if load != "" {
		feeds = fmt.Sprintf(" It feeds %s (config): check that it is no longer needed, or that it is off and only its standby draw remains.", load)
	}
	c.Evidence = fmt.Sprintf("%s/%s drew %s on average and never more than %s in an hour over the %.0f days to %s, below %s throughout: equipment in standby, or a charger or adapter left plugged in.%s Switching the outlet off saves %.1f kWh a year.",
		ref.Device, ref.Meter, watts(m), watts(top), days(from, to), to.Format("2006-01-02"), watts(o.MaxW), feeds, c.SavedKWhPerYear)
	return c, true
}

// Night is the night's local hours, [Start, End), across midnight when
// Start > End. The zero Night is 22:00–06:00.
type Night struct{ Start, End int }

// WithDefaults returns n, or 22:00–06:00 for the zero Night.
func (n Night) WithDefaults() Night {
	if n.Start == 0 && n.End == 0 {
		return Night{22, 6}
	}
	return n
}

// Has reports whether t falls in the night, in loc.
func (n Night) Has(t time.Time, loc *time.Location) bool {
	h := t.In(loc).Hour()
	if n.Start > n.End {
		return h >= n.Start || h < n.End
	}
	return h >= n.Start && h < n.End
}

// Hours is the night's length in hours.
func (n Night) Hours() int {
	if n.Start > n.End {
		return 24 - n.Start + n.End
	}
	return n.End - n.Start
}

func (n Night) String() string { return fmt.Sprintf("%02d:00–%02d:00", n.Start, n.End) }

// PoEOptions set the PoE night finder. Zero fields take the defaults.
type PoEOptions struct {
	Night Night
	// MinW is the power that counts as drawing (default 1 W).
	MinW float64
	// MinNightShare is the share of night hours that must draw (default 0.9).
	MinNightShare float64
	// MinCoverage is the share of the period's hours that must have a
	// reading (default 0.8).
	MinCoverage float64
}

// WithDefaults returns o with its zero fields set to the defaults.
func (o PoEOptions) WithDefaults() PoEOptions {
	o.Night = o.Night.WithDefaults()
	if o.MinW <= 0 {
		o.MinW = 1
	}
	if o.MinNightShare <= 0 {
		o.MinNightShare = 0.9
	}
	if o.MinCoverage <= 0 {
		o.MinCoverage = 0.8
	}
	return o
}

// PoENightDraw judges a PoE port over [from, to): a candidate for switching
// off at night when it drew at least MinW in MinNightShare of the night
// hours (site local time). ecometer reads PoE power per port
// (CISCO-POWER-ETHERNET-EXT-MIB cpeExtPsePortPwrConsumption; RFC 3621's
// POWER-ETHERNET-MIB has no per-port power) but not link activity (IF-MIB
// traffic counters), so the evidence says that whether the port is used at
// night is not known, and compares night and day power instead.
func PoENightDraw(ref energy.MeterRef, points []baseline.Point, from, to time.Time, loc *time.Location, o PoEOptions) (Candidate, bool) {
	o = o.WithDefaults()
	if loc == nil {
		loc = time.UTC
	}
	win, hours := window(points, from, to)
	if len(win) == 0 || float64(len(win)) < o.MinCoverage*float64(hours) {
		return Candidate{}, false
	}
	var nightW, dayW float64
	var nights, drawing, daysN int
	for _, p := range win {
		if o.Night.Has(p.Hour, loc) {
			nights++
			nightW += p.W
			if p.W >= o.MinW {
				drawing++
			}
		} else {
			daysN++
			dayW += p.W
		}
	}
	if nights == 0 || float64(drawing) < o.MinNightShare*float64(nights) {
		return Candidate{}, false
	}
	nightW /= float64(nights)
	if daysN > 0 {
		dayW /= float64(daysN)
	}
	c := newCandidate(PoENight, ref, from, to)
	c.Confidence = Low
	c.Action = fmt.Sprintf("switch the PoE port off %s", o.Night)
	c.MeanW = mean(values(win))
	c.SavedKWhPerYear = nightW * float64(o.Night.Hours()) * 365 / 1000
	c.Facts = map[string]float64{"night_mean_w": nightW, "day_mean_w": dayW, "night_hours": float64(nights),
		"night_hours_drawing": float64(drawing), "days": days(from, to), "night_start_hour": float64(o.Night.Start),
		"night_end_hour": float64(o.Night.End)}
	same := ""
	if dayW > 0 && math.Abs(nightW-dayW) <= 0.1*dayW {
		same = " It draws the same by night as by day, so nothing suggests more use by day."
	}
	c.Evidence = fmt.Sprintf("Port %s of %s drew %s on average at night (%s local time; %d of %d night hours at %s or more) against %s by day, over the %.0f days to %s.%s Link activity is not collected (ecometer reads PoE power per port, not traffic counters), so whether the connected device is used at night is not known: check what it is (a phone, an access point, a camera) before scheduling it off. Switching it off at night saves %.1f kWh a year.",
		ref.Meter, ref.Device, watts(nightW), o.Night, drawing, nights, watts(o.MinW), watts(dayW),
		days(from, to), to.Format("2006-01-02"), same, c.SavedKWhPerYear)
	return c, true
}

// ordinal writes 1 as "1st", 2 as "2nd", 5 as "5th", 2.5 as "2.5th".
func ordinal(p float64) string {
	n := int(p)
	if float64(n) != p {
		return fmt.Sprintf("%gth", p)
	}
	suffix := "th"
	switch {
	case n%100 >= 11 && n%100 <= 13:
	case n%10 == 1:
		suffix = "st"
	case n%10 == 2:
		suffix = "nd"
	case n%10 == 3:
		suffix = "rd"
	}
	return fmt.Sprintf("%d%s", n, suffix)
}
