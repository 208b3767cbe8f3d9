package snmp

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/ecometer/ecometer/models/sample"
)

//go:embed profiles/*.yaml
var embedded embed.FS

// Profile says, for one MIB family, how to detect a device and which OIDs
// give which schema field of which meter, with what scaling.
type Profile struct {
	Name        string   `yaml:"name"`
	Description string   `yaml:"description"`
	MIB         string   `yaml:"mib"`
	Class       string   `yaml:"class"` // pdu|ups|switch|server|facility (a default for the target)
	Detect      Detect   `yaml:"detect"`
	Include     []string `yaml:"include"` // other profiles whose metrics are added (standard MIBs)
	Metrics     []Metric `yaml:"metrics"`

	source string // file name, for messages
}

// Detect says when a profile applies to a device.
type Detect struct {
	// SysObjectID prefixes; the longest matching prefix over all profiles wins.
	SysObjectID []string `yaml:"sys_object_id"`
	// Probe is an OID below which the agent must have something (a GETNEXT
	// stays inside it); used when no sysObjectID prefix matches, for
	// standard MIBs such as UPS-MIB (1.3.6.1.2.1.33).
	Probe string `yaml:"probe"`
	// Priority orders probe matches (highest first, then name).
	Priority int `yaml:"priority"`
	// AbsentBelow makes a probe answer below it no match (the MIB's "not
	// supported" value). Default: the absent_below of the metric that reads
	// the answered column.
	AbsentBelow *float64 `yaml:"absent_below"`
	// Fallback names the profiles to try, after the sysObjectID matches,
	// when this profile yields no power reading: a vendor's legacy MIB,
	// then standard MIBs (UPS-MIB, ENTITY-SENSOR-MIB).
	Fallback []string `yaml:"fallback"`
}

// Metric maps one OID (a scalar instance or a table column) to one field.
type Metric struct {
	Object      string `yaml:"object"`      // MIB object name, for people and probe output
	Measurement string `yaml:"measurement"` // power (default) | ups
	Field       string `yaml:"field"`       // schema field, e.g. power_w
	Scalar      string `yaml:"scalar"`      // OID of a scalar instance (ends in .0)
	Column      string `yaml:"column"`      // OID of a table column (walked)
	// Meter is the meter tag. For columns it may use {index} (the whole row
	// index), {1}…{9} (one arc of it) and {label} (see Label). Default total.
	Meter string `yaml:"meter"`
	Unit  string `yaml:"unit"` // unit after scaling; must be the field's unit
	Kind  string `yaml:"kind"` // gauge (default) | counter
	Width int    `yaml:"width"`
	Scale Scale  `yaml:"scale"`
	// Where keeps only rows whose index arc or same-row column value is in a set.
	Where []Cond `yaml:"where"`
	// Label finds a name for {label}: the first step is a column of the same
	// row; each further step is a column indexed by the previous value (an
	// integer, or the last arc of an OID value) plus Suffix.
	Label []LabelStep `yaml:"label"`
	// Chain numbers daisy-chained units by an index arc: rows of the first
	// unit keep the meter as is, others get a "unitN/" prefix (N from 1).
	Chain *Chain `yaml:"chain"`
	// Sum adds up all rows into one value (e.g. UPS output power over lines).
	Sum bool `yaml:"sum"`
	// TrueWhen makes a bool field (on_battery): true when the raw value is
	// in the set, false otherwise.
	TrueWhen []int64 `yaml:"true_when"`
	// AbsentBelow makes raw values below it absent (no field), for MIBs
	// whose DESCRIPTION says a negative value means "not available"
	// (Sentry3/Sentry4 -1, APC rPDU2 -1 on models without the feature).
	AbsentBelow *float64 `yaml:"absent_below"`

	line int // line in the profile file
}

// Scale converts the raw value: raw × Multiply ÷ Divide, then optionally
// ÷ 10^digits (DecimalDigits column of the same row) or the ENTITY-SENSOR
// rule × 10^(3·(scale−9)) × 10^(−precision).
type Scale struct {
	Multiply      float64       `yaml:"multiply"`
	Divide        float64       `yaml:"divide"`
	DecimalDigits string        `yaml:"decimal_digits"`
	EntitySensor  *EntitySensor `yaml:"entity_sensor"`
}

// EntitySensor names the scale and precision columns (ENTITY-SENSOR-MIB
// entPhySensorScale/Precision, CISCO-ENTITY-SENSOR-MIB entSensorScale/Precision).
type EntitySensor struct {
	Scale     string `yaml:"scale"`
	Precision string `yaml:"precision"`
}

// Cond keeps rows whose index arc (1-based) or column value is in In.
type Cond struct {
	Arc    int     `yaml:"arc"`
	Column string  `yaml:"column"`
	In     []int64 `yaml:"in"`
	// IfPresent keeps rows whose agent lacks the column (status columns
	// that some agents do not implement).
	IfPresent bool `yaml:"if_present"`
}

// LabelStep is one lookup of a label chain.
type LabelStep struct {
	Column string `yaml:"column"`
	Suffix string `yaml:"suffix"`
}

// Chain says where a daisy-chain unit number is: an index arc or a column
// of the same row.
type Chain struct {
	Arc    int    `yaml:"arc"`
	Column string `yaml:"column"`
	First  int    `yaml:"first"` // number of the first (master) unit
}

// fieldUnits are the schema fields a profile may fill and their units.
var fieldUnits = map[string]map[string]string{
	sample.Power: {"power_w": "W", "energy_kwh": "kWh", "voltage_v": "V", "current_a": "A",
		"apparent_va": "VA", "load_pct": "%", "frequency_hz": "Hz"},
	sample.UPS: {"battery_charge_pct": "%", "runtime_min": "min", "on_battery": "bool",
		"input_w": "W", "output_w": "W"},
}

// Registry holds loaded profiles by name.
type Registry struct {
	byName map[string]*Profile
	// programs holds each profile's program (*Profile → *program), made
	// at its first use and shared by the collectors of that profile.
	programs sync.Map
}

// program returns p's program, shared by every collector of p.
func (r *Registry) program(p *Profile) *program {
	if v, ok := r.programs.Load(p); ok {
		return v.(*program)
	}
	v, _ := r.programs.LoadOrStore(p, newProgram(p, r))
	return v.(*program)
}

// Profiles returns the profiles sorted by name.
func (r *Registry) Profiles() []*Profile {
	out := make([]*Profile, 0, len(r.byName))
	for _, p := range r.byName {
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns a profile by name.
func (r *Registry) Lookup(name string) (*Profile, bool) {
	p, ok := r.byName[name]
	return p, ok
}

// Embedded returns the built-in profiles. They are validated by the tests,
// so an error here is a build defect.
func Embedded() (*Registry, error) {
	return load(embedded, "profiles", nil)
}

// LoadDir returns the built-in profiles plus every *.yaml in dir; a profile
// in dir with a built-in's name replaces it.
func LoadDir(dir string) (*Registry, error) {
	base, err := Embedded()
	if err != nil {
		return nil, err
	}
	return load(os.DirFS(dir), ".", base)
}

func load(fsys fs.FS, dir string, base *Registry) (*Registry, error) {
	r := &Registry{byName: map[string]*Profile{}}
	if base != nil {
		for k, v := range base.byName {
			r.byName[k] = v
		}
	}
	names, err := fs.Glob(fsys, filepath.ToSlash(filepath.Join(dir, "*.yaml")))
	if err != nil {
		return nil, err
	}
	var errs []error
	seen := map[string]string{}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		p, err := ParseProfile(filepath.Base(n), data)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if other, dup := seen[p.Name]; dup {
			errs = append(errs, fmt.Errorf("%s: profile %q is also defined in %s", p.source, p.Name, other))
			continue
		}
		seen[p.Name] = p.source
		r.byName[p.Name] = p
	}
	for _, p := range r.byName {
		for _, fb := range p.Detect.Fallback {
			if _, ok := r.byName[fb]; !ok {
				errs = append(errs, fmt.Errorf("%s: detect.fallback: no profile named %q", p.source, fb))
			} else if fb == p.Name {
				errs = append(errs, fmt.Errorf("%s: detect.fallback: a profile cannot fall back to itself", p.source))
			}
		}
		for _, inc := range p.Include {
			q, ok := r.byName[inc]
			if !ok {
				errs = append(errs, fmt.Errorf("%s: include: no profile named %q", p.source, inc))
			} else if len(q.Include) > 0 {
				errs = append(errs, fmt.Errorf("%s: include: %q itself includes others (one level only)", p.source, inc))
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return r, nil
}

var (
	placeholder  = regexp.MustCompile(`\{([^}]*)\}`)
	yamlPosition = regexp.MustCompile(`^\[(\d+):(\d+)\]`)
)

// ParseProfile decodes and validates one profile file strictly (unknown
// keys are errors); every problem is reported as file:line: message.
func ParseProfile(name string, data []byte) (*Profile, error) {
	p := &Profile{source: name}
	dec := yaml.NewDecoder(bytes.NewReader(data), yaml.Strict(), yaml.DisallowUnknownField())
	if err := dec.Decode(p); err != nil {
		msg := strings.TrimSpace(yaml.FormatError(err, false, false))
		if yamlPosition.MatchString(msg) {
			return nil, errors.New(yamlPosition.ReplaceAllString(msg, name+":$1:$2:"))
		}
		return nil, fmt.Errorf("%s: %s", name, msg)
	}
	file, err := parser.ParseBytes(data, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	lineOf := func(path string) int {
		pp, err := yaml.PathString(path)
		if err != nil {
			return 0
		}
		n, err := pp.FilterFile(file)
		if err != nil || n == nil || n.GetToken() == nil {
			return 0
		}
		return n.GetToken().Position.Line
	}
	var errs []error
	bad := func(line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: %s", name, line, fmt.Sprintf(format, args...)))
	}
	if p.Name == "" {
		bad(1, "name: missing")
	}
	for i, s := range p.Detect.SysObjectID {
		if _, err := parseOID(s); err != nil {
			bad(lineOf(fmt.Sprintf("$.detect.sys_object_id[%d]", i)), "detect.sys_object_id: %v", err)
		}
	}
	if p.Detect.Probe != "" {
		if _, err := parseOID(p.Detect.Probe); err != nil {
			bad(lineOf("$.detect.probe"), "detect.probe: %v", err)
		}
	}
	if len(p.Metrics) == 0 && len(p.Include) == 0 {
		bad(1, "metrics: none (a profile must read something)")
	}
	for i := range p.Metrics {
		m := &p.Metrics[i]
		m.line = lineOf(fmt.Sprintf("$.metrics[%d]", i))
		for _, e := range m.validate() {
			bad(m.line, "metrics[%d] (%s): %s", i, m.Object, e)
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return p, nil
}

func (m *Metric) validate() []string {
	var errs []string
	add := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	if m.Measurement == "" {
		m.Measurement = sample.Power
	}
	if m.Meter == "" {
		m.Meter = "total"
	}
	if m.Kind == "" {
		m.Kind = "gauge"
	}
	if m.Scale.Multiply == 0 {
		m.Scale.Multiply = 1
	}
	if m.Scale.Divide == 0 {
		m.Scale.Divide = 1
	}
	units, ok := fieldUnits[m.Measurement]
	if !ok {
		add("measurement %q: want power or ups", m.Measurement)
		return errs
	}
	unit, ok := units[m.Field]
	if !ok {
		add("field %q is not a %s field (have %s)", m.Field, m.Measurement, strings.Join(sortedKeys(units), ", "))
	} else if m.Unit != unit {
		add("unit %q: field %s is in %s", m.Unit, m.Field, unit)
	}
	if m.Object == "" {
		add("object: missing (the MIB object name)")
	}
	switch {
	case (m.Scalar == "") == (m.Column == ""):
		add("exactly one of scalar and column is needed")
	case m.Scalar != "":
		if _, err := parseOID(m.Scalar); err != nil {
			add("scalar: %v", err)
		}
		if len(m.Where) > 0 || len(m.Label) > 0 || m.Chain != nil || m.Sum || m.Scale.DecimalDigits != "" || m.Scale.EntitySensor != nil {
			add("where, label, chain, sum, decimal_digits and entity_sensor apply to columns only")
		}
	default:
		if _, err := parseOID(m.Column); err != nil {
			add("column: %v", err)
		}
	}
	for _, ph := range placeholder.FindAllStringSubmatch(m.Meter, -1) {
		switch v := ph[1]; {
		case m.Scalar != "" || m.Sum:
			add("meter %q: a scalar or sum has no row index for {%s}", m.Meter, v)
		case v == "index", v == "label":
			if v == "label" && len(m.Label) == 0 {
				add("meter %q uses {label} but label is not set", m.Meter)
			}
		case len(v) == 1 && v[0] >= '1' && v[0] <= '9':
		default:
			add("meter %q: unknown placeholder {%s} (want {index}, {1}…{9}, {label})", m.Meter, v)
		}
	}
	if strings.ContainsAny(m.Meter, " \t,=\"") {
		add("meter %q: no spaces, commas, = or quotes", m.Meter)
	}
	switch m.Kind {
	case "gauge":
		if m.Width != 0 {
			add("width applies to counters only")
		}
		if m.Field == "energy_kwh" {
			add("energy_kwh is a counter (kind: counter, width: 32|64)")
		}
	case "counter":
		if m.Width != 32 && m.Width != 64 {
			add("counter width %d: want 32 or 64", m.Width)
		}
		if m.Field != "energy_kwh" {
			add("only energy_kwh is a counter")
		}
		if m.Sum {
			add("counters are not summed (a wrap of one would hide in the sum)")
		}
	default:
		add("kind %q: want gauge or counter", m.Kind)
	}
	if m.Scale.Multiply < 0 || m.Scale.Divide < 0 {
		add("scale: multiply and divide must be positive")
	}
	if m.Scale.DecimalDigits != "" {
		if _, err := parseOID(m.Scale.DecimalDigits); err != nil {
			add("scale.decimal_digits: %v", err)
		}
		if m.Scale.EntitySensor != nil {
			add("scale: decimal_digits and entity_sensor exclude each other")
		}
	}
	if es := m.Scale.EntitySensor; es != nil {
		for _, o := range []string{es.Scale, es.Precision} {
			if _, err := parseOID(o); err != nil {
				add("scale.entity_sensor: %v", err)
			}
		}
	}
	for _, c := range m.Where {
		if (c.Arc == 0) == (c.Column == "") {
			add("where: exactly one of arc and column")
		}
		if c.Arc < 0 || c.Arc > 16 {
			add("where: arc %d out of range", c.Arc)
		}
		if c.Column != "" {
			if _, err := parseOID(c.Column); err != nil {
				add("where.column: %v", err)
			}
		}
		if len(c.In) == 0 {
			add("where: in is empty")
		}
		if c.IfPresent && c.Column == "" {
			add("where: if_present applies to columns only")
		}
	}
	for _, s := range m.Label {
		if _, err := parseOID(s.Column); err != nil {
			add("label.column: %v", err)
		}
		if s.Suffix != "" {
			if _, err := parseOID("1.3" + s.Suffix); err != nil || !strings.HasPrefix(s.Suffix, ".") {
				add("label.suffix %q: want arcs such as .0", s.Suffix)
			}
		}
	}
	if c := m.Chain; c != nil {
		if (c.Arc == 0) == (c.Column == "") {
			add("chain: exactly one of arc and column")
		} else if c.Column != "" {
			if _, err := parseOID(c.Column); err != nil {
				add("chain.column: %v", err)
			}
		} else if c.Arc < 1 || c.Arc > 16 {
			add("chain.arc %d: want 1…16", c.Arc)
		}
	}
	if m.AbsentBelow != nil && m.Field == "on_battery" {
		add("absent_below applies to numeric fields only")
	}
	if m.Field == "on_battery" {
		if len(m.TrueWhen) == 0 {
			add("on_battery needs true_when (the raw values meaning on battery)")
		}
	} else if len(m.TrueWhen) > 0 {
		add("true_when applies to bool fields only")
	}
	return errs
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// parseOID checks a dotted numeric OID and returns it with a leading dot.
func parseOID(s string) (string, error) {
	t := strings.TrimPrefix(strings.TrimSpace(s), ".")
	if t == "" {
		return "", errors.New("empty OID")
	}
	arcs := strings.Split(t, ".")
	if len(arcs) < 2 {
		return "", fmt.Errorf("OID %q: too short", s)
	}
	for _, a := range arcs {
		if _, err := strconv.ParseUint(a, 10, 32); err != nil {
			return "", fmt.Errorf("OID %q: arc %q is not a number", s, a)
		}
	}
	return "." + t, nil
}

// normOID returns s as parseOID does, or s itself when it is not a valid
// OID. A string that already starts with a dot and has no surrounding space
// comes back unchanged either way, so it is returned without parsing (the
// names gosnmp decodes are all of that form).
func normOID(s string) string {
	if strings.HasPrefix(s, ".") && strings.TrimSpace(s) == s {
		return s
	}
	o, err := parseOID(s)
	if err != nil {
		return s
	}
	return o
}
