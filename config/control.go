package config

import (
	"fmt"
	"path"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// ClosedDay is a day a site is closed besides the Danish public holidays:
// policies with schedule.holidays treat it like one.
type ClosedDay struct {
	// Date is YYYY-MM-DD (local date of the site).
	Date string `yaml:"date" json:"date"`
	Name string `yaml:"name" json:"name"`
	// Sites it applies to; empty: all.
	Sites []string `yaml:"sites,omitempty" json:"sites,omitempty"`
}

// Maintenance is a period in which the controller leaves the selected
// devices alone: staff are working on them.
type Maintenance struct {
	Name string `yaml:"name" json:"name"`
	// From and To are local times "YYYY-MM-DD HH:MM" in Europe/Copenhagen
	// (To exclusive).
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
	// Sites and Devices limit it; both empty: everything.
	Sites   []string `yaml:"sites,omitempty" json:"sites,omitempty"`
	Devices []string `yaml:"devices,omitempty" json:"devices,omitempty"`
}

// PolicyAction is what a policy does to its targets in its windows.
type PolicyAction string

// Policy actions.
const (
	// ActionShutdown shuts a Redfish server down (GracefulShutdown, then
	// ForceOff after shutdown_timeout) and powers it on at the window's end.
	ActionShutdown PolicyAction = "shutdown"
	// ActionOutletOff switches PDU outlets off: the listed outlets of the
	// selected PDUs, or the outlet feeding each selected device.
	ActionOutletOff PolicyAction = "outlet-off"
	// ActionPoEOff disables PoE on the listed ports of the selected switches.
	ActionPoEOff PolicyAction = "poe-off"
	// ActionCap sets a Redfish server's power limit to cap_w in the window
	// and restores the previous limit after.
	ActionCap PolicyAction = "cap"
)

// Policy is one power-down schedule.
type Policy struct {
	Name        string       `yaml:"name" json:"name"`
	Description string       `yaml:"description,omitempty" json:"description,omitempty"`
	Select      Selector     `yaml:"select" json:"select"`
	Action      PolicyAction `yaml:"action" json:"action"`
	// Outlets (outlet-off on PDUs) are outlet names as in the meter
	// outlet/<name>; Ports (poe-off) are ifName patterns (path.Match, e.g.
	// "Gi1/0/*") or a PSE port "pse:GROUP.PORT".
	Outlets []string `yaml:"outlets,omitempty" json:"outlets,omitempty"`
	Ports   []string `yaml:"ports,omitempty" json:"ports,omitempty"`
	// SwitchOutlet (shutdown): once the server is confirmed off, switch
	// off the outlet that feeds it (its feeds), and on again before it.
	SwitchOutlet bool        `yaml:"switch_outlet,omitempty" json:"switch_outlet,omitempty"`
	CapW         float64     `yaml:"cap_w,omitempty" json:"cap_w,omitempty"`
	Schedule     Schedule    `yaml:"schedule" json:"schedule"`
	Conditions   *Conditions `yaml:"conditions,omitempty" json:"conditions,omitempty"`
	// PowerOnLead powers the targets on this long before a window ends
	// (default 15m).
	PowerOnLead Duration `yaml:"power_on_lead,omitempty" json:"power_on_lead,omitempty"`
	// Delay is the time between two actions of the policy (default 10s).
	Delay Duration `yaml:"delay,omitempty" json:"delay,omitempty"`
	// ShutdownTimeout is how long a GracefulShutdown may take before
	// ForceOff (default 5m).
	ShutdownTimeout Duration `yaml:"shutdown_timeout,omitempty" json:"shutdown_timeout,omitempty"`
	// MaxOffPct is the largest share of a group that may be off at once
	// (default 100); GroupBy says what a group is: policy (all its
	// targets, default), site, room, rack or class.
	MaxOffPct float64 `yaml:"max_off_pct,omitempty" json:"max_off_pct,omitempty"`
	GroupBy   string  `yaml:"group_by,omitempty" json:"group_by,omitempty"`
}

// Selector picks devices; every criterion given must match.
type Selector struct {
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	Classes []DeviceClass     `yaml:"classes,omitempty" json:"classes,omitempty"`
	Sites   []string          `yaml:"sites,omitempty" json:"sites,omitempty"`
	Rooms   []string          `yaml:"rooms,omitempty" json:"rooms,omitempty"`
	Racks   []string          `yaml:"racks,omitempty" json:"racks,omitempty"`
	// Devices are names or path.Match patterns ("test-*").
	Devices []string `yaml:"devices,omitempty" json:"devices,omitempty"`
	// IdleCandidates keeps only what the idle-equipment finder (`ecometer
	// idle`) names at the time of planning: servers near their idle level,
	// outlets drawing a few watts, PoE ports drawing at night.
	IdleCandidates bool `yaml:"idle_candidates,omitempty" json:"idle_candidates,omitempty"`
}

// Empty reports whether the selector has no criterion (it would select
// everything, which a policy may not do).
func (s Selector) Empty() bool {
	return len(s.Tags) == 0 && len(s.Classes) == 0 && len(s.Sites) == 0 && len(s.Rooms) == 0 &&
		len(s.Racks) == 0 && len(s.Devices) == 0 && !s.IdleCandidates
}

// Schedule says when a policy's targets are off: weekly windows (with
// closed days off all day when Holidays is set), or carbon-aware.
type Schedule struct {
	Weekly      []WeeklyWindow `yaml:"weekly,omitempty" json:"weekly,omitempty"`
	Holidays    bool           `yaml:"holidays,omitempty" json:"holidays,omitempty"`
	CarbonAware *CarbonAware   `yaml:"carbon_aware,omitempty" json:"carbon_aware,omitempty"`
}

// WeeklyWindow is off from From to To (local "HH:MM"; To ≤ From ends the
// next day; "24:00" is midnight at the end) on the given days.
type WeeklyWindow struct {
	// Days are mon…sun or ranges "mon-fri".
	Days []string `yaml:"days" json:"days"`
	From string   `yaml:"from" json:"from"`
	To   string   `yaml:"to" json:"to"`
}

// CarbonAware keeps the targets on for OnHours between From and To (local
// "HH:MM", To ≤ From: the next day), at the hours of the lowest forecast
// grid intensity, and off for the rest of that span.
type CarbonAware struct {
	OnHours int    `yaml:"on_hours" json:"on_hours"`
	From    string `yaml:"from" json:"from"`
	To      string `yaml:"to" json:"to"`
}

// Conditions are the hysteresis of a policy: a target is switched off only
// if its mean power over OffWindow was below OffBelowW; inside a window the
// group is powered on early when its targets still on drew more than
// OnAboveW on average over OnWindow.
type Conditions struct {
	OffBelowW float64  `yaml:"off_below_w,omitempty" json:"off_below_w,omitempty"`
	OffWindow Duration `yaml:"off_window,omitempty" json:"off_window,omitempty"`
	OnAboveW  float64  `yaml:"on_above_w,omitempty" json:"on_above_w,omitempty"`
	OnWindow  Duration `yaml:"on_window,omitempty" json:"on_window,omitempty"`
}

// PolicyFile is a YAML file of policies (ecometer power plan --policy).
type PolicyFile struct {
	Policies []Policy `yaml:"policies" json:"policies"`
}

// ParsePolicies decodes and validates a policy file against cfg (device,
// site names). Problems name the policy file, line and key path.
func ParsePolicies(name string, data []byte, cfg *Config) ([]Policy, error) {
	pf := &PolicyFile{}
	pos, bad := map[string]Position{}, map[string]bool{}
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return nil, Problems{syntaxProblem(name, err)}
	}
	d := &decoder{file: name, pos: pos, bad: bad, anchors: map[string]ast.Node{}}
	if len(file.Docs) > 1 {
		d.problems = append(d.problems, Problem{File: name, Message: fmt.Sprintf("a policy file holds one YAML document, found %d", len(file.Docs))})
	}
	if len(file.Docs) == 0 || file.Docs[0].Body == nil {
		return nil, Problems{{File: name, Message: "empty policy file: want a mapping with key policies"}}
	}
	ast.Walk(d, file.Docs[0].Body)
	d.decode(file.Docs[0].Body, reflect.ValueOf(pf).Elem(), "")
	shadow := &Config{file: name, pos: pos, bad: bad, Sites: cfg.Sites, Devices: cfg.Devices}
	v := &validator{c: shadow}
	v.indexNames()
	if len(pf.Policies) == 0 && !v.failedDecode("policies") {
		v.add("policies", "no policies in the file")
	}
	v.policies("policies", pf.Policies)
	problems := append(d.problems, v.problems...)
	if len(problems) > 0 {
		problems.sort()
		return pf.Policies, problems
	}
	return pf.Policies, nil
}

// indexNames fills the site and device indexes without reporting (for
// validating a policy file against an already validated config).
func (v *validator) indexNames() {
	v.siteIdx, v.devs = map[string]int{}, map[string]int{}
	for i, s := range v.c.Sites {
		if _, dup := v.siteIdx[s.Name]; !dup {
			v.siteIdx[s.Name] = i
		}
	}
	for i, d := range v.c.Devices {
		if _, dup := v.devs[d.Name]; !dup {
			v.devs[d.Name] = i
		}
	}
}

// controlSettings checks the controller section beyond the deny list.
func (v *validator) controlSettings() {
	c := v.c.Control
	for _, k := range []struct {
		key string
		d   Duration
	}{{"min_command_interval", c.MinCommandInterval}, {"verify_timeout", c.VerifyTimeout}, {"verify_interval", c.VerifyInterval}} {
		if v.present("control."+k.key) && k.d <= 0 {
			v.add("control."+k.key, "must be a positive duration, got %s", k.d)
		}
	}
	if c.VerifyTimeout > 0 && c.VerifyInterval > 0 && c.VerifyInterval*2 > c.VerifyTimeout {
		v.add("control.verify_interval", "%s leaves no room for two reads within verify_timeout %s", c.VerifyInterval, c.VerifyTimeout)
	}
	dates := map[string]int{}
	for i, cd := range c.ClosedDays {
		p := fmt.Sprintf("control.closed_days[%d]", i)
		if v.required(p+".date", cd.Date) {
			if _, err := time.Parse("2006-01-02", cd.Date); err != nil {
				v.add(p+".date", "invalid date %q (want YYYY-MM-DD)", cd.Date)
			} else if first, dup := dates[cd.Date+strings.Join(cd.Sites, ",")]; dup {
				v.add(p+".date", "duplicate closed day %s (%s)", cd.Date, v.firstDefined(fmt.Sprintf("control.closed_days[%d].date", first)))
			} else {
				dates[cd.Date+strings.Join(cd.Sites, ",")] = i
			}
		}
		v.required(p+".name", cd.Name)
		v.knownSites(p+".sites", cd.Sites)
	}
	for i, m := range c.Maintenance {
		p := fmt.Sprintf("control.maintenance[%d]", i)
		v.required(p+".name", m.Name)
		from, okF := v.localTime(p+".from", m.From)
		to, okT := v.localTime(p+".to", m.To)
		if okF && okT && !to.After(from) {
			v.add(p+".to", "must be after from (%s)", m.From)
		}
		v.knownSites(p+".sites", m.Sites)
		v.knownDevices(p+".devices", m.Devices)
	}
	v.policies("control.policies", c.Policies)
}

// MaintenanceLayout is how maintenance from/to are written.
const MaintenanceLayout = "2006-01-02 15:04"

func (v *validator) localTime(path, s string) (time.Time, bool) {
	if !v.required(path, s) {
		return time.Time{}, false
	}
	t, err := time.Parse(MaintenanceLayout, s)
	if err != nil {
		v.add(path, "invalid time %q (want \"YYYY-MM-DD HH:MM\", Danish local time)", s)
		return time.Time{}, false
	}
	return t, true
}

func (v *validator) knownSites(path string, sites []string) {
	for i, s := range sites {
		if _, ok := v.siteIdx[s]; !ok {
			v.add(fmt.Sprintf("%s[%d]", path, i), "unknown site %q (sites: %s)", s, strings.Join(v.siteNames(), ", "))
		}
	}
}

// knownDevices checks names; a pattern (with * ? or [) must be valid and
// match at least one device.
func (v *validator) knownDevices(p string, names []string) {
	for i, n := range names {
		q := fmt.Sprintf("%s[%d]", p, i)
		if strings.ContainsAny(n, "*?[") {
			if _, err := path.Match(n, ""); err != nil {
				v.add(q, "invalid pattern %q: %v", n, err)
				continue
			}
			matched := false
			for _, d := range v.c.Devices {
				if ok, _ := path.Match(n, d.Name); ok {
					matched = true
					break
				}
			}
			if !matched {
				v.add(q, "pattern %q matches no device", n)
			}
			continue
		}
		if _, ok := v.devs[n]; !ok {
			v.add(q, "unknown device %q", n)
		}
	}
}

var policyName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func (v *validator) policies(p string, ps []Policy) {
	names := map[string]int{}
	for i, pol := range ps {
		q := fmt.Sprintf("%s[%d]", p, i)
		if v.required(q+".name", pol.Name) {
			if !policyName.MatchString(pol.Name) {
				v.add(q+".name", "policy name %q: use letters, digits, '.', '_' and '-'", pol.Name)
			} else if first, dup := names[pol.Name]; dup {
				v.add(q+".name", "duplicate policy name %q (%s)", pol.Name, v.firstDefined(fmt.Sprintf("%s[%d].name", p, first)))
			} else {
				names[pol.Name] = i
			}
		}
		v.policy(q, pol)
	}
}

func (v *validator) policy(q string, pol Policy) {
	s := pol.Select
	if s.Empty() {
		if v.present(q + ".select") {
			v.add(q+".select", "needs at least one of tags, classes, sites, rooms, racks, devices, idle_candidates (a policy may not select everything)")
		} else {
			v.add(q+".select", "missing required key")
		}
	}
	for i, c := range s.Classes {
		oneOf(v, fmt.Sprintf("%s.select.classes[%d]", q, i), c, ClassPDU, ClassUPS, ClassSwitch, ClassServer, ClassFacility)
	}
	v.knownSites(q+".select.sites", s.Sites)
	v.knownDevices(q+".select.devices", s.Devices)
	if v.required(q+".action", string(pol.Action)) {
		oneOf(v, q+".action", pol.Action, ActionShutdown, ActionOutletOff, ActionPoEOff, ActionCap)
	}
	if len(pol.Outlets) > 0 && pol.Action != ActionOutletOff {
		v.add(q+".outlets", "only for action outlet-off")
	}
	for i, o := range pol.Outlets {
		if strings.TrimSpace(o) == "" || strings.Contains(o, "/") {
			v.add(fmt.Sprintf("%s.outlets[%d]", q, i), "invalid outlet %q (the name after outlet/ in the meter, e.g. 12 or AA3)", o)
		}
	}
	switch {
	case pol.Action == ActionPoEOff && len(pol.Ports) == 0:
		v.add(q+".ports", "missing required key (action poe-off needs the ports: ifName patterns or pse:GROUP.PORT)")
	case pol.Action != ActionPoEOff && len(pol.Ports) > 0:
		v.add(q+".ports", "only for action poe-off")
	}
	for i, port := range pol.Ports {
		if err := CheckPort(port); err != nil {
			v.add(fmt.Sprintf("%s.ports[%d]", q, i), "%v", err)
		}
	}
	if pol.SwitchOutlet && pol.Action != ActionShutdown {
		v.add(q+".switch_outlet", "only for action shutdown")
	}
	switch {
	case pol.Action == ActionCap && !(pol.CapW > 0):
		v.add(q+".cap_w", "missing required key: action cap needs the power limit in W, more than 0")
	case pol.Action != ActionCap && v.present(q+".cap_w"):
		v.add(q+".cap_w", "only for action cap")
	}
	v.schedule(q+".schedule", pol.Schedule)
	if c := pol.Conditions; c != nil {
		cp := q + ".conditions"
		if (c.OffBelowW > 0) != (c.OffWindow > 0) {
			v.add(cp, "off_below_w and off_window go together")
		}
		if (c.OnAboveW > 0) != (c.OnWindow > 0) {
			v.add(cp, "on_above_w and on_window go together")
		}
		if c.OffBelowW < 0 || c.OnAboveW < 0 || c.OffWindow < 0 || c.OnWindow < 0 {
			v.add(cp, "values must not be negative")
		}
		if c.OnAboveW > 0 && c.OffBelowW > 0 && c.OnAboveW <= c.OffBelowW {
			v.add(cp+".on_above_w", "must be above off_below_w %g W: the band between them is the hysteresis that stops a device flapping", c.OffBelowW)
		}
		if c.OffBelowW == 0 && c.OnAboveW == 0 {
			v.add(cp, "empty: give off_below_w with off_window, and/or on_above_w with on_window")
		}
	}
	if pol.PowerOnLead < 0 {
		v.add(q+".power_on_lead", "must not be negative")
	}
	if pol.Delay < 0 {
		v.add(q+".delay", "must not be negative")
	}
	if v.present(q+".shutdown_timeout") && pol.ShutdownTimeout <= 0 {
		v.add(q+".shutdown_timeout", "must be a positive duration")
	}
	if v.present(q+".max_off_pct") && !(pol.MaxOffPct > 0 && pol.MaxOffPct <= 100) {
		v.add(q+".max_off_pct", "must be more than 0 and at most 100, got %g", pol.MaxOffPct)
	}
	if pol.GroupBy != "" {
		oneOf(v, q+".group_by", pol.GroupBy, "policy", "site", "room", "rack", "class")
	}
}

func (v *validator) schedule(q string, s Schedule) {
	switch {
	case len(s.Weekly) == 0 && s.CarbonAware == nil:
		v.add(q, "missing: give weekly windows or carbon_aware")
		return
	case len(s.Weekly) > 0 && s.CarbonAware != nil:
		v.add(q+".carbon_aware", "give weekly or carbon_aware, not both")
	case s.CarbonAware != nil && s.Holidays:
		v.add(q+".holidays", "only with weekly windows")
	}
	for i, w := range s.Weekly {
		p := fmt.Sprintf("%s.weekly[%d]", q, i)
		if len(w.Days) == 0 {
			v.add(p+".days", "missing required key (e.g. [mon-fri] or [sat, sun])")
		}
		for j, d := range w.Days {
			if _, err := ParseDays(d); err != nil {
				v.add(fmt.Sprintf("%s.days[%d]", p, j), "%v", err)
			}
		}
		from, okF := v.clock(p+".from", w.From)
		to, okT := v.clock(p+".to", w.To)
		if okF && okT && from == to {
			v.add(p+".to", "equals from: a window needs a length (00:00 to 24:00 is a whole day)")
		}
	}
	if c := s.CarbonAware; c != nil {
		p := q + ".carbon_aware"
		from, okF := v.clock(p+".from", c.From)
		to, okT := v.clock(p+".to", c.To)
		if c.OnHours < 1 || c.OnHours > 23 {
			v.add(p+".on_hours", "must be between 1 and 23, got %d", c.OnHours)
		} else if okF && okT {
			span := to - from
			if span <= 0 {
				span += 24 * 60
			}
			if span < c.OnHours*60 {
				v.add(p+".on_hours", "%d h do not fit between %s and %s", c.OnHours, c.From, c.To)
			}
		}
	}
}

func (v *validator) clock(p, s string) (int, bool) {
	if !v.required(p, s) {
		return 0, false
	}
	m, err := ParseClock(s)
	if err != nil {
		v.add(p, "%v", err)
		return 0, false
	}
	return m, true
}

// ParseClock reads "HH:MM" (00:00…24:00) as minutes after midnight.
func ParseClock(s string) (int, error) {
	h, m, ok := strings.Cut(strings.TrimSpace(s), ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(m) != 2 || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("invalid time of day %q (want HH:MM, 00:00 to 24:00)", s)
	}
	return hh*60 + mm, nil
}

var weekdays = map[string]time.Weekday{"mon": time.Monday, "tue": time.Tuesday, "wed": time.Wednesday,
	"thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday, "sun": time.Sunday}

// ParseDays reads "mon" or a range "mon-fri" (wrapping "fri-mon" too).
func ParseDays(s string) ([]time.Weekday, error) {
	a, b, isRange := strings.Cut(strings.ToLower(strings.TrimSpace(s)), "-")
	from, ok1 := weekdays[a]
	to, ok2 := weekdays[b]
	if !isRange {
		to, ok2 = from, ok1
	}
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("invalid day %q (want mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri)", s)
	}
	var out []time.Weekday
	for d := from; ; d = (d + 1) % 7 {
		out = append(out, d)
		if d == to {
			return out, nil
		}
	}
}

// CheckPort checks a poe-off port: an ifName pattern or "pse:GROUP.PORT".
func CheckPort(s string) error {
	if strings.TrimSpace(s) == "" {
		return fmt.Errorf("empty port")
	}
	if rest, ok := strings.CutPrefix(s, "pse:"); ok {
		g, p, ok := strings.Cut(rest, ".")
		gi, err1 := strconv.ParseUint(g, 10, 32)
		pi, err2 := strconv.ParseUint(p, 10, 32)
		if !ok || err1 != nil || err2 != nil || gi == 0 || pi == 0 {
			return fmt.Errorf("invalid PSE port %q (want pse:GROUP.PORT, e.g. pse:1.5, as indexed in POWER-ETHERNET-MIB pethPsePortTable)", s)
		}
		return nil
	}
	if _, err := path.Match(s, ""); err != nil {
		return fmt.Errorf("invalid port pattern %q: %v", s, err)
	}
	return nil
}
