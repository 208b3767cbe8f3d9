package influx

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/sample"
)

// appendLine appends s as one line of InfluxDB line protocol (with a trailing
// newline) to b. Times are written in seconds when secs is set (the caller
// has checked they are whole seconds), in nanoseconds otherwise.
//
// s must have passed Validate and checkLine.
func appendLine(b []byte, s *sample.Sample, secs bool) []byte {
	b = appendEscaped(b, s.Measurement, measurementEscapes)
	for _, tag := range s.TagPairs() {
		b = append(b, ',')
		b = append(b, tag[0]...) // tag keys are fixed identifiers
		b = append(b, '=')
		b = appendEscaped(b, tag[1], tagEscapes)
	}
	for i := range s.Fields {
		f := &s.Fields[i]
		if i == 0 {
			b = append(b, ' ')
		} else {
			b = append(b, ',')
		}
		b = appendEscaped(b, f.Name, tagEscapes) // field keys escape like tag keys
		b = append(b, '=')
		switch f.Kind {
		case sample.Bool:
			if f.Num != 0 {
				b = append(b, "true"...)
			} else {
				b = append(b, "false"...)
			}
		case sample.Text:
			b = append(b, '"')
			b = appendEscaped(b, f.Text, stringEscapes)
			b = append(b, '"')
		default:
			b = appendFloat(b, f.Num)
		}
	}
	b = append(b, ' ')
	if secs {
		b = strconv.AppendInt(b, s.Time.Unix(), 10)
	} else {
		b = strconv.AppendInt(b, s.Time.UnixNano(), 10)
	}
	return append(b, '\n')
}

// InfluxDB's time range: int64 nanoseconds minus sentinel values.
var (
	minTime = time.Unix(0, math.MinInt64+2)
	maxTime = time.Unix(0, math.MaxInt64-1)
)

// Characters escaped with a backslash, per element of a line.
var (
	measurementEscapes = escapeSet(", ")
	tagEscapes         = escapeSet(", =") // tag keys, tag values, field keys
	stringEscapes      = escapeSet(`"\`)
)

func escapeSet(chars string) *[256]bool {
	var set [256]bool
	for i := 0; i < len(chars); i++ {
		set[chars[i]] = true
	}
	return &set
}

func appendEscaped(b []byte, s string, special *[256]bool) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		if special[s[i]] {
			b = append(b, s[start:i]...)
			b = append(b, '\\')
			start = i
		}
	}
	return append(b, s[start:]...)
}

// appendFloat writes v so that InfluxDB reads back exactly v, as a float
// (line protocol numbers without the "i" suffix are floats). Whole numbers,
// common in meter readings, take a faster path.
func appendFloat(b []byte, v float64) []byte {
	if v == math.Trunc(v) && math.Abs(v) < 1e15 && (v != 0 || !math.Signbit(v)) {
		return strconv.AppendInt(b, int64(v), 10)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// checkLine rejects what line protocol cannot carry faithfully: line breaks in
// names and tags, a backslash in a tag (InfluxDB does not unescape "\\" in
// tags, so a backslash before a separator or at the end cannot round-trip)
// and times outside InfluxDB's range. (Validate has already refused NaN and
// ±Inf.)
func checkLine(s *sample.Sample) error {
	for _, tag := range s.TagPairs() {
		for i := 0; i < len(tag[1]); i++ {
			if c := tag[1][i]; c == '\\' || c == '\n' || c == '\r' {
				return fmt.Errorf("sample %s/%s: tag %s=%q: backslashes and line breaks cannot be stored in InfluxDB tags",
					s.Device, s.Meter, tag[0], tag[1])
			}
		}
	}
	if strings.ContainsAny(s.Measurement, "\\\n\r") {
		return fmt.Errorf("sample: measurement %q cannot be stored in InfluxDB", s.Measurement)
	}
	if s.Time.Before(minTime) || s.Time.After(maxTime) {
		return fmt.Errorf("sample %s/%s: time %s is outside InfluxDB's range (1677-2262)", s.Device, s.Meter, s.Time)
	}
	return nil
}
