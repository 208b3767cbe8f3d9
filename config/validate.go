package config

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// Validate checks the meaning of the configuration: required values, enums,
// ranges and references between entries. It returns every problem found,
// as Problems, or nil.
func (c *Config) Validate() error {
	v := &validator{c: c}
	v.sites()
	v.devices()
	v.collection()
	v.storage()
	v.grid()
	v.target()
	v.control()
	v.report()
	v.coordination()
	v.secrets(reflect.ValueOf(c).Elem(), "")
	if len(v.problems) == 0 {
		return nil
	}
	v.problems.sort()
	return v.problems
}

type validator struct {
	c        *Config
	problems Problems
	siteIdx  map[string]int // site name → index
	devs     map[string]int // device name → index
}

// at finds the position of path, or of its nearest ancestor present in the
// file (a missing key is reported where its parent is).
func (v *validator) at(path string) Position {
	for p := path; ; {
		if pos, ok := v.c.pos[p]; ok {
			return pos
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return Position{}
		}
		p = p[:i]
	}
}

// present reports whether path was written in the file.
func (v *validator) present(path string) bool {
	_, ok := v.c.pos[path]
	return ok
}

// failedDecode reports whether path or an ancestor already has a decoding
// problem, which makes any further complaint about it noise.
func (v *validator) failedDecode(path string) bool {
	if v.c.bad[""] {
		return true // the document itself is not a mapping
	}
	for p := path; p != ""; {
		if v.c.bad[p] {
			return true
		}
		i := strings.LastIndexAny(p, ".[")
		if i <= 0 {
			return false
		}
		p = p[:i]
	}
	return false
}

func (v *validator) add(path, format string, args ...any) {
	if v.failedDecode(path) {
		return
	}
	pos := v.at(path)
	v.problems = append(v.problems, Problem{
		File: v.c.file, Line: pos.Line, Column: pos.Column, Path: path,
		Message: fmt.Sprintf(format, args...),
	})
}

// required reports an empty required value, distinguishing a missing key
// from an empty one.
func (v *validator) required(path, value string) bool {
	if strings.TrimSpace(value) != "" {
		return true
	}
	if v.present(path) {
		v.add(path, "must not be empty")
	} else {
		v.add(path, "missing required key")
	}
	return false
}

func oneOf[T ~string](v *validator, path string, value T, allowed ...T) bool {
	for _, a := range allowed {
		if value == a {
			return true
		}
	}
	names := make([]string, len(allowed))
	for i, a := range allowed {
		names[i] = string(a)
	}
	v.add(path, "invalid value %q (allowed: %s)", string(value), strings.Join(names, ", "))
	return false
}

func (v *validator) positive(path string, d Duration) {
	if d <= 0 {
		v.add(path, "must be a positive duration, got %s", d)
	}
}

// firstDefined describes where an earlier entry was defined.
func (v *validator) firstDefined(path string) string {
	if pos := v.at(path); pos.Line > 0 {
		return fmt.Sprintf("first defined at line %d", pos.Line)
	}
	return "first defined at " + path
}

func (v *validator) sites() {
	v.siteIdx = map[string]int{}
	if len(v.c.Sites) == 0 {
		v.add("sites", "at least one site is required")
	}
	for i, s := range v.c.Sites {
		p := fmt.Sprintf("sites[%d]", i)
		if v.required(p+".name", s.Name) {
			if first, dup := v.siteIdx[s.Name]; dup {
				v.add(p+".name", "duplicate site name %q (%s)", s.Name, v.firstDefined(fmt.Sprintf("sites[%d].name", first)))
			} else {
				v.siteIdx[s.Name] = i
			}
		}
		if _, err := time.LoadLocation(s.Timezone); err != nil || s.Timezone == "" {
			v.add(p+".timezone", "unknown time zone %q (use an IANA name such as Europe/Copenhagen)", s.Timezone)
		}
		oneOf(v, p+".price_area", s.PriceArea, DK1, DK2)
		if s.AssumedPUE < 1 {
			v.add(p+".assumed_pue", "must be at least 1.0 (PUE is facility energy / IT energy), got %g", s.AssumedPUE)
		}
		oneOf(v, p+".accounting", s.Accounting, AccountIT, AccountFacility)
		if s.Market != nil {
			v.market(p+".market", *s.Market)
		}
	}
}

// market checks a site's contractual instruments: a share within 0..100, and
// a non-negative residual factor with its source for whatever the guarantees
// of origin leave uncovered.
func (v *validator) market(p string, m Market) {
	if !(m.GOSharePct >= 0 && m.GOSharePct <= 100) {
		v.add(p+".go_share_pct", "must be between 0 and 100 (percent of consumption covered by guarantees of origin), got %g", m.GOSharePct)
	}
	switch {
	case m.ResidualGPerKWh == nil:
		if m.GOSharePct < 100 {
			v.add(p+".residual_g_per_kwh", "missing required key: the %g %% not covered by guarantees of origin needs a residual mix factor (g/kWh)", 100-m.GOSharePct)
		}
		if m.ResidualSource != "" {
			v.add(p+".residual_source", "given without residual_g_per_kwh")
		}
	case !(*m.ResidualGPerKWh >= 0) || math.IsInf(*m.ResidualGPerKWh, 0):
		v.add(p+".residual_g_per_kwh", "must be a finite number of g/kWh, not negative, got %g", *m.ResidualGPerKWh)
	default:
		if strings.TrimSpace(m.ResidualSource) == "" {
			v.add(p+".residual_source", "missing required key: say where the residual factor %g g/kWh comes from (e.g. the AIB European Residual Mix, year)", *m.ResidualGPerKWh)
		}
	}
}

func (v *validator) devices() {
	v.devs = map[string]int{}
	for i, d := range v.c.Devices {
		p := fmt.Sprintf("devices[%d]", i)
		if v.required(p+".name", d.Name) {
			if first, dup := v.devs[d.Name]; dup {
				v.add(p+".name", "duplicate device name %q (%s)", d.Name, v.firstDefined(fmt.Sprintf("devices[%d].name", first)))
			} else {
				v.devs[d.Name] = i
			}
			if strings.ContainsAny(d.Name, "/ \t") {
				v.add(p+".name", "device name %q must not contain '/' or spaces (it is used in meter references)", d.Name)
			}
		}
		if v.required(p+".site", d.Site) {
			if _, ok := v.siteIdx[d.Site]; !ok {
				v.add(p+".site", "unknown site %q (sites: %s)", d.Site, strings.Join(v.siteNames(), ", "))
			}
		}
		if v.required(p+".class", string(d.Class)) {
			oneOf(v, p+".class", d.Class, ClassPDU, ClassUPS, ClassSwitch, ClassServer, ClassFacility)
		}
		protoOK := v.required(p+".protocol", string(d.Protocol)) &&
			oneOf(v, p+".protocol", d.Protocol, ProtocolSNMP, ProtocolRedfish)
		if v.required(p+".address", d.Address) && protoOK {
			if err := checkAddress(d.Protocol, d.Address); err != nil {
				v.add(p+".address", "%v", err)
			}
		}
		if protoOK {
			v.protocol(p, d)
		}
		oneOf(v, p+".criticality", d.Criticality, CriticalityNormal, CriticalityImportant, CriticalityPatientCritical)
		if d.AccountingRole != "" || v.present(p+".accounting_role") {
			oneOf(v, p+".accounting_role", d.AccountingRole, RoleIT, RoleFacility, RoleNone)
		}
		if v.present(p + ".interval") {
			v.positive(p+".interval", d.Interval)
		}
	}
	// Feeds need every name known first, as a device may be fed by one
	// defined after it.
	for i, d := range v.c.Devices {
		if d.Feeds == "" {
			continue
		}
		p := fmt.Sprintf("devices[%d].feeds", i)
		ref, err := ParseMeterRef(d.Feeds)
		switch {
		case err != nil:
			v.add(p, "%v", err)
		case ref.Device == d.Name:
			v.add(p, "device %q cannot feed itself", d.Name)
		default:
			if _, ok := v.devs[ref.Device]; !ok {
				v.add(p, "unknown device %q in feeds %q", ref.Device, d.Feeds)
			} else if v.feedsCycle(i) {
				v.add(p, "feeds chain of %q loops back to itself", d.Name)
			} else {
				v.doubleCounted(i)
			}
		}
	}
}

// doubleCounted reports device i when the file makes it an accounting meter
// of a level that a device upstream of it already has: the upstream meter
// measures i's energy too, so totals would count it twice. (Defaults never
// do this: deriveAccountingRoles gives a device below a meter of its level
// the role none. An explicit contradiction is the user's to settle.)
func (v *validator) doubleCounted(i int) {
	d := v.c.Devices[i]
	role := fmt.Sprintf("devices[%d].accounting_role", i)
	if !v.present(role) || d.AccountingRole == RoleNone {
		return
	}
	seen := map[int]bool{i: true}
	for cur := i; ; {
		ref, err := ParseMeterRef(v.c.Devices[cur].Feeds)
		if err != nil {
			return
		}
		up, ok := v.devs[ref.Device]
		if !ok || seen[up] {
			return
		}
		seen[up] = true
		u := v.c.Devices[up]
		if u.AccountingRole == d.AccountingRole {
			v.add(role, "%q and %q are both %s accounting meters, and %q is upstream of %q (feeds): its energy would be counted twice "+
				"(set accounting_role: none on one of them)", u.Name, d.Name, d.AccountingRole, u.Name, d.Name)
			return
		}
		cur = up
	}
}

// feedsCycle reports whether following feeds from device i returns to it.
func (v *validator) feedsCycle(i int) bool {
	seen := map[int]bool{i: true}
	for cur := i; ; {
		ref, err := ParseMeterRef(v.c.Devices[cur].Feeds)
		if err != nil {
			return false
		}
		next, ok := v.devs[ref.Device]
		if !ok {
			return false
		}
		if next == i {
			return true
		}
		if seen[next] {
			return false // a loop, but not through i; reported at its members
		}
		seen[next] = true
		cur = next
	}
}

func (v *validator) siteNames() []string {
	var names []string
	for i, s := range v.c.Sites {
		if idx, ok := v.siteIdx[s.Name]; ok && idx == i {
			names = append(names, s.Name)
		}
	}
	return names
}

func (v *validator) protocol(p string, d Device) {
	switch d.Protocol {
	case ProtocolSNMP:
		if v.present(p + ".redfish") {
			v.add(p+".redfish", "redfish settings given for an snmp device")
		}
		if d.SNMP != nil {
			v.snmp(p+".snmp", d.SNMP)
			v.addressPort(p, d)
		}
	case ProtocolRedfish:
		if v.present(p + ".snmp") {
			v.add(p+".snmp", "snmp settings given for a redfish device")
		}
		if d.Redfish != nil {
			v.redfish(p+".redfish", d.Redfish)
		}
	}
}

// addressPort rejects an SNMP address whose port differs from an explicit
// snmp.port: which one was meant cannot be guessed. A port in the address
// alone is used as given.
func (v *validator) addressPort(p string, d Device) {
	if net.ParseIP(d.Address) != nil || !v.present(p+".snmp.port") {
		return
	}
	_, port, err := net.SplitHostPort(d.Address)
	if err != nil {
		return
	}
	if n, err := strconv.Atoi(port); err == nil && n != d.SNMP.Port {
		v.add(p+".snmp.port", "port %d differs from port %d in address %q; give the port in one place", d.SNMP.Port, n, d.Address)
	}
}

func (v *validator) snmp(p string, s *SNMP) {
	if !oneOf(v, p+".version", s.Version, "1", "2c", "3") {
		return
	}
	if s.Port < 1 || s.Port > 65535 {
		v.add(p+".port", "port %d out of range 1-65535", s.Port)
	}
	v.positive(p+".timeout", s.Timeout)
	if s.Retries < 0 {
		v.add(p+".retries", "must not be negative, got %d", s.Retries)
	}
	if s.MaxRepetitions < 1 || s.MaxRepetitions > 255 {
		v.add(p+".max_repetitions", "must be between 1 and 255, got %d", s.MaxRepetitions)
	}
	if s.Version != "3" {
		if s.Community.IsZero() {
			v.add(p+".community", "missing required key (SNMP v%s needs a community)", s.Version)
		}
		if s.V3 != nil {
			v.add(p+".v3", "v3 settings given but version is %q", s.Version)
		}
		return
	}
	if !s.Community.IsZero() {
		v.add(p+".community", "community is not used by SNMP v3; remove it")
	}
	if s.V3 == nil {
		v.add(p+".v3", "missing required key (SNMP v3 needs user and security settings)")
		return
	}
	v3, q := s.V3, p+".v3"
	v.required(q+".user", v3.User)
	if !oneOf(v, q+".security_level", v3.SecurityLevel, "noAuthNoPriv", "authNoPriv", "authPriv") {
		return
	}
	if v3.SecurityLevel == "noAuthNoPriv" {
		return
	}
	if v.required(q+".auth_protocol", v3.AuthProtocol) {
		oneOf(v, q+".auth_protocol", v3.AuthProtocol, "SHA", "SHA224", "SHA256", "SHA384", "SHA512", "MD5")
	}
	if v3.AuthKey.IsZero() {
		v.add(q+".auth_key", "missing required key (security level %s)", v3.SecurityLevel)
	}
	if v3.SecurityLevel != "authPriv" {
		return
	}
	if v.required(q+".priv_protocol", v3.PrivProtocol) {
		oneOf(v, q+".priv_protocol", v3.PrivProtocol, "AES", "AES192", "AES256", "DES")
	}
	if v3.PrivKey.IsZero() {
		v.add(q+".priv_key", "missing required key (security level authPriv)")
	}
}

func (v *validator) redfish(p string, r *Redfish) {
	v.required(p+".user", r.User)
	if r.Password.IsZero() {
		v.add(p+".password", "missing required key")
	}
	oneOf(v, p+".auth", r.Auth, "session", "basic")
	if r.InsecureSkipVerify && r.CAFile != "" {
		v.add(p+".insecure_skip_verify", "set together with ca_file; use one or the other")
	}
}

// checkAddress accepts host or host:port, and for Redfish an https URL.
func checkAddress(proto Protocol, addr string) error {
	if strings.Contains(addr, "://") {
		if proto != ProtocolRedfish {
			return fmt.Errorf("invalid address %q: a URL is only allowed for redfish devices; use host or host:port", addr)
		}
		u, err := url.Parse(addr)
		if err != nil {
			return fmt.Errorf("invalid address %q: %w", addr, err)
		}
		if u.Scheme != "https" {
			return fmt.Errorf("invalid address %q: redfish URLs must use https", addr)
		}
		if u.Host == "" {
			return fmt.Errorf("invalid address %q: missing host", addr)
		}
		return checkHostPort(u.Host, addr)
	}
	return checkHostPort(addr, addr)
}

func checkHostPort(hostport, addr string) error {
	if net.ParseIP(hostport) != nil {
		return nil // a bare IPv6 address has colons but no port
	}
	host := hostport
	if strings.Contains(hostport, ":") {
		h, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return fmt.Errorf("invalid address %q: use host or host:port", addr)
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("invalid address %q: port %q is not a number in 1-65535", addr, port)
		}
		host = h
	}
	if net.ParseIP(host) != nil {
		return nil
	}
	if host == "" || strings.Trim(host, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		return fmt.Errorf("invalid address %q: %q is not a host name or IP address", addr, host)
	}
	return nil
}

// MeterRef names a meter of a device, written "device/meter", e.g.
// "ups-a/total" or "pdu-a1/outlet/12".
type MeterRef struct {
	Device string
	Meter  string
}

// ParseMeterRef parses "device/meter".
func ParseMeterRef(s string) (MeterRef, error) {
	dev, meter, ok := strings.Cut(s, "/")
	if !ok || dev == "" || meter == "" {
		return MeterRef{}, fmt.Errorf("invalid meter reference %q (use device/meter, e.g. ups-a/total)", s)
	}
	return MeterRef{Device: dev, Meter: meter}, nil
}

func (r MeterRef) String() string { return r.Device + "/" + r.Meter }

func (v *validator) collection() {
	iv := v.c.Collection.Intervals
	for _, c := range []struct {
		key string
		d   Duration
	}{{"pdu", iv.PDU}, {"ups", iv.UPS}, {"switch", iv.Switch}, {"server", iv.Server}, {"facility", iv.Facility}} {
		v.positive("collection.intervals."+c.key, c.d)
	}
	if v.c.Collection.MaxGapFactor < 1 {
		v.add("collection.max_gap_factor", "must be at least 1, got %g", v.c.Collection.MaxGapFactor)
	}
}

func (v *validator) storage() {
	s := v.c.Storage
	v.required("storage.data_dir", s.DataDir)
	v.positive("storage.sqlite.retention_raw", s.SQLite.RetentionRaw)
	in := s.InfluxDB
	if in.Configured() {
		if u, err := url.Parse(in.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.add("storage.influxdb.url", "invalid URL %q (use http://host:8086 or https://host:8086)", in.URL)
		}
		if v.required("storage.influxdb.bucket", in.Bucket) && !strings.Contains(in.Bucket, "/") {
			// A v2 bucket lives in an org; "db/rp" is InfluxDB 1.8 style
			// and has none.
			if in.Org == "" {
				v.add("storage.influxdb.org", "missing required key (InfluxDB v2 bucket %q needs an org; use \"db/rp\" as bucket for InfluxDB 1.8)", in.Bucket)
			}
		}
	} else {
		for _, k := range []string{"org", "bucket", "token"} {
			if v.present("storage.influxdb." + k) {
				v.add("storage.influxdb."+k, "set but storage.influxdb.url is not, so InfluxDB is not used")
			}
		}
	}
	v.positive("storage.influxdb.timeout", in.Timeout)
	if in.BatchSize < 1 {
		v.add("storage.influxdb.batch_size", "must be at least 1, got %d", in.BatchSize)
	}
	if s.Outbox.DiskBudget <= 0 {
		v.add("storage.outbox.disk_budget", "must be more than 0 bytes")
	}
	if s.Outbox.WarnAtPct < 1 || s.Outbox.WarnAtPct > 100 {
		v.add("storage.outbox.warn_at_pct", "must be between 1 and 100, got %d", s.Outbox.WarnAtPct)
	}
}

func (v *validator) grid() {
	g := v.c.Grid
	oneOf(v, "grid.area", g.Area, DK1, DK2)
	for i, f := range g.Files {
		v.required(fmt.Sprintf("grid.files[%d]", i), f)
	}
	years := map[int]int{}
	for i, f := range g.AnnualFactors {
		p := fmt.Sprintf("grid.annual_factors[%d]", i)
		if f.Year < 1990 || f.Year > 2100 {
			v.add(p+".year", "year %d out of range 1990-2100", f.Year)
		} else if first, dup := years[f.Year]; dup {
			v.add(p+".year", "duplicate year %d (%s)", f.Year, v.firstDefined(fmt.Sprintf("grid.annual_factors[%d].year", first)))
		} else {
			years[f.Year] = i
		}
		if f.GPerKWh < 0 {
			v.add(p+".g_per_kwh", "must not be negative, got %g", f.GPerKWh)
		}
	}
}

func (v *validator) target() {
	t := v.c.Target
	if t.BaselineYear < 1990 || t.BaselineYear > 2100 {
		v.add("target.baseline_year", "year %d out of range 1990-2100", t.BaselineYear)
	}
	if t.TargetYear <= t.BaselineYear {
		v.add("target.target_year", "must be after baseline_year %d, got %d", t.BaselineYear, t.TargetYear)
	}
	if t.ReductionPct <= 0 || t.ReductionPct >= 100 {
		v.add("target.reduction_pct", "must be between 0 and 100 (exclusive), got %g", t.ReductionPct)
	}
	switch {
	case t.BaselineKgCO2e == nil:
		if t.BaselineSource != "" {
			v.add("target.baseline_source", "given without baseline_kg_co2e")
		}
	case !(*t.BaselineKgCO2e > 0) || math.IsInf(*t.BaselineKgCO2e, 0):
		v.add("target.baseline_kg_co2e", "must be a finite number of kg CO2e, more than 0, got %g", *t.BaselineKgCO2e)
	case strings.TrimSpace(t.BaselineSource) == "":
		v.add("target.baseline_source", "missing required key: say where the baseline figure %g kg CO2e comes from", *t.BaselineKgCO2e)
	}
}

func (v *validator) control() {
	for i, name := range v.c.Control.DenyList {
		dev, meter, isRef := strings.Cut(name, "/")
		if _, ok := v.devs[dev]; !ok {
			v.add(fmt.Sprintf("control.deny_list[%d]", i), "unknown device %q", dev)
		} else if isRef && meter == "" {
			v.add(fmt.Sprintf("control.deny_list[%d]", i), "invalid entry %q (a device, or one outlet or port: pdu-a1/outlet/12)", name)
		}
	}
	v.controlSettings()
}

var secretType = reflect.TypeFor[Secret]()

// secrets rejects literal secrets anywhere in the configuration unless
// allow_inline_secrets is set. It walks by reflection so that a secret
// field added later is covered without touching this code.
func (v *validator) secrets(rv reflect.Value, path string) {
	if v.c.AllowInlineSecrets {
		return
	}
	switch rv.Kind() {
	case reflect.Pointer:
		if !rv.IsNil() {
			v.secrets(rv.Elem(), path)
		}
	case reflect.Slice:
		for i := range rv.Len() {
			v.secrets(rv.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
	case reflect.Struct:
		if rv.Type() == secretType {
			if rv.Interface().(Secret).isInline() {
				v.add(path, "value is a literal secret; use env:NAME or file:/path, or set allow_inline_secrets: true")
			}
			return
		}
		fields := structFields(rv.Type())
		for _, name := range fields.names {
			v.secrets(rv.Field(fields.index[name]), joinPath(path, name))
		}
	}
}

// CheckProfiles reports every SNMP device whose profile is not among known
// (the names of the built-in and user profiles, which live in
// collectors/snmp, not here), with the closest known name.
func (c *Config) CheckProfiles(known []string) error {
	v := &validator{c: c}
	for i, d := range c.Devices {
		if d.Protocol != ProtocolSNMP || d.Profile == "" || contains(known, d.Profile) {
			continue
		}
		msg := fmt.Sprintf("unknown SNMP profile %q", d.Profile)
		if s := suggest(d.Profile, known); s != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", s)
		} else {
			msg += " (see `ecometer probe` for detection, or leave it empty to detect)"
		}
		v.add(fmt.Sprintf("devices[%d].profile", i), "%s", msg)
	}
	if len(v.problems) == 0 {
		return nil
	}
	return v.problems
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// coordination checks the coordination service's settings.
func (v *validator) coordination() {
	c := v.c.Coordination
	if strings.TrimSpace(c.KeyPrefix) == "" || strings.ContainsAny(c.KeyPrefix, " \t\r\n") {
		v.add("coordination.key_prefix", "must be a non-empty name without spaces, got %q", c.KeyPrefix)
	}
	switch lease := c.Lease.Std(); {
	case lease < time.Second:
		v.add("coordination.lease", "must be at least 1s, got %s", c.Lease)
	case lease > 10*time.Minute:
		v.add("coordination.lease", "must be at most 10m (a dead leader holds the singleton jobs that long), got %s", c.Lease)
	}
	r := c.Redis
	if r == nil {
		return
	}
	if v.required("coordination.redis.address", r.Address) {
		if _, _, err := net.SplitHostPort(r.Address); err != nil {
			v.add("coordination.redis.address", "invalid address %q: want host:port, e.g. 127.0.0.1:6379", r.Address)
		} else if err := checkHostPort(r.Address, r.Address); err != nil {
			v.add("coordination.redis.address", "%v", err)
		}
	}
	if r.DB < 0 {
		v.add("coordination.redis.db", "must be 0 or more, got %d", r.DB)
	}
	if r.CAFile != "" && !r.TLS {
		v.add("coordination.redis.ca_file", "set but coordination.redis.tls is false, so it is not used")
	}
}
