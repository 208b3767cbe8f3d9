// Package sample holds the unit of metering data: one point of one measurement
// for one series, exactly as described in DESIGN.md ("Data model").
package sample

import (
	"fmt"
	"math"
	"time"
)

// Measurement names.
const (
	Power  = "power"
	UPS    = "ups"
	Device = "device"
)

// Kind is the type of a field's value.
type Kind uint8

const (
	Float Kind = iota // float64 (the default)
	Bool              // stored as 0/1 in Num
	Text              // stored in Text
)

// Schema lists, per measurement, the fields a sample may carry and their kind.
// Anything else is rejected by Validate: the schema is fixed by DESIGN.md and
// both stores mirror it.
var Schema = map[string]map[string]Kind{
	Power: {
		"power_w": Float, "energy_kwh": Float, "voltage_v": Float,
		"current_a": Float, "apparent_va": Float, "load_pct": Float, "frequency_hz": Float,
	},
	UPS: {
		"battery_charge_pct": Float, "runtime_min": Float, "on_battery": Bool,
		"input_w": Float, "output_w": Float,
	},
	Device: {
		"reachable": Bool, "poll_ms": Float, "power_state": Text,
	},
}

// FieldNames returns the schema's fields of a measurement in a fixed order
// (the order of the stores' columns).
// The slice is shared: callers must not change it.
func FieldNames(measurement string) []string {
	switch measurement {
	case Power:
		return powerFields
	case UPS:
		return upsFields
	case Device:
		return deviceFields
	}
	return nil
}

var (
	powerFields  = []string{"power_w", "energy_kwh", "voltage_v", "current_a", "apparent_va", "load_pct", "frequency_hz"}
	upsFields    = []string{"battery_charge_pct", "runtime_min", "on_battery", "input_w", "output_w"}
	deviceFields = []string{"reachable", "poll_ms", "power_state"}
)

// Series identifies one time series: a measurement and its tags.
type Series struct {
	Measurement string
	Site        string
	Room        string
	Rack        string
	Device      string
	Class       string // pdu|ups|switch|server|facility
	Meter       string // total, inlet/1, phase/L1, outlet/12, psu/1, poe/Gi1/0/5
	Source      string // snmp|redfish
}

// TagPairs returns the tags as key/value pairs in InfluxDB's sorted key order,
// skipping empty values.
func (s Series) TagPairs() [][2]string {
	all := [][2]string{
		{"class", s.Class}, {"device", s.Device}, {"meter", s.Meter}, {"rack", s.Rack},
		{"room", s.Room}, {"site", s.Site}, {"source", s.Source},
	}
	out := all[:0]
	for _, p := range all {
		if p[1] != "" {
			out = append(out, p)
		}
	}
	return out
}

// Key is a stable string identity of the series (used for maps and checksums).
func (s Series) Key() string {
	return s.Measurement + "|" + s.Site + "|" + s.Room + "|" + s.Rack + "|" + s.Device + "|" +
		s.Class + "|" + s.Meter + "|" + s.Source
}

// Field is one named value of a sample.
type Field struct {
	Name string
	Kind Kind
	Num  float64 // Float and Bool (0 or 1)
	Text string  // Text
}

// F, B and T build fields of each kind.
func F(name string, v float64) Field { return Field{Name: name, Kind: Float, Num: v} }
func B(name string, v bool) Field {
	f := Field{Name: name, Kind: Bool}
	if v {
		f.Num = 1
	}
	return f
}
func T(name, v string) Field { return Field{Name: name, Kind: Text, Text: v} }

// Sample is one point: a series, a time and its fields.
// Time is the poll's scheduled time rounded down to the interval, so a repeated
// poll overwrites instead of double counting.
type Sample struct {
	Series
	Time   time.Time
	Fields []Field
}

// Get returns the field with the given name.
func (s *Sample) Get(name string) (Field, bool) {
	for _, f := range s.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Validate checks the sample against Schema.
func (s *Sample) Validate() error {
	fields, ok := Schema[s.Measurement]
	if !ok {
		return fmt.Errorf("sample: unknown measurement %q", s.Measurement)
	}
	if s.Device == "" {
		return fmt.Errorf("sample %s: empty device tag", s.Measurement)
	}
	if s.Time.IsZero() {
		return fmt.Errorf("sample %s/%s: zero time", s.Device, s.Meter)
	}
	if len(s.Fields) == 0 {
		return fmt.Errorf("sample %s/%s: no fields", s.Device, s.Meter)
	}
	for _, f := range s.Fields {
		k, ok := fields[f.Name]
		if !ok {
			return fmt.Errorf("sample %s/%s: field %q is not in measurement %q", s.Device, s.Meter, f.Name, s.Measurement)
		}
		if k != f.Kind {
			return fmt.Errorf("sample %s/%s: field %q has the wrong kind", s.Device, s.Meter, f.Name)
		}
		// Neither store can hold NaN or ±Inf (SQLite turns NaN into NULL,
		// InfluxDB refuses both): a bad reading is dropped by the collector,
		// never stored as something else.
		if math.IsNaN(f.Num) || math.IsInf(f.Num, 0) {
			return fmt.Errorf("sample %s/%s: field %q is %v", s.Device, s.Meter, f.Name, f.Num)
		}
	}
	return nil
}
