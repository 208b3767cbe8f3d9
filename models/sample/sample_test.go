package sample

import (
	"math"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	at := time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
	ok := Sample{Series: Series{Measurement: Power, Device: "pdu-1", Meter: "total"}, Time: at,
		Fields: []Field{F("power_w", 1)}}
	cases := []struct {
		name string
		edit func(s *Sample)
		want string // "" = valid
	}{
		{"valid", func(*Sample) {}, ""},
		{"unknown measurement", func(s *Sample) { s.Measurement = "watts" }, `unknown measurement "watts"`},
		{"no device", func(s *Sample) { s.Device = "" }, "empty device tag"},
		{"zero time", func(s *Sample) { s.Time = time.Time{} }, "zero time"},
		{"no fields", func(s *Sample) { s.Fields = nil }, "no fields"},
		{"unknown field", func(s *Sample) { s.Fields = []Field{F("power_kw", 1)} }, `field "power_kw" is not in measurement "power"`},
		{"wrong kind", func(s *Sample) { s.Fields = []Field{T("power_w", "1")} }, "wrong kind"},
		{"NaN", func(s *Sample) { s.Fields = []Field{F("power_w", math.NaN())} }, "is NaN"},
		{"Inf", func(s *Sample) { s.Fields = []Field{F("power_w", math.Inf(1))} }, "is +Inf"},
		{"bool in ups", func(s *Sample) { s.Measurement = UPS; s.Fields = []Field{B("on_battery", true)} }, ""},
		{"text in device", func(s *Sample) { s.Measurement = Device; s.Fields = []Field{T("power_state", "Off")} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := ok
			c.edit(&s)
			err := s.Validate()
			switch {
			case c.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
				t.Fatalf("Validate() = %v, want an error containing %q", err, c.want)
			}
		})
	}
}

func TestSchemaAndFieldNamesAgree(t *testing.T) {
	for m, fields := range Schema {
		names := FieldNames(m)
		if len(names) != len(fields) {
			t.Fatalf("%s: FieldNames has %d fields, Schema %d", m, len(names), len(fields))
		}
		for _, n := range names {
			if _, ok := fields[n]; !ok {
				t.Errorf("%s: FieldNames has %q, Schema does not", m, n)
			}
		}
	}
}

func TestTagPairsSortedAndSparse(t *testing.T) {
	got := Series{Site: "s", Device: "d", Meter: "outlet/1"}.TagPairs()
	want := [][2]string{{"device", "d"}, {"meter", "outlet/1"}, {"site", "s"}}
	if len(got) != len(want) {
		t.Fatalf("TagPairs = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("TagPairs = %v, want %v", got, want)
		}
	}
}
