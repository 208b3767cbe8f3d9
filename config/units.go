package config

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Duration is a time.Duration written in the file as a Go duration string
// ("90s", "5m", "2160h").
type Duration time.Duration

// Std returns d as a time.Duration.
func (d Duration) Std() time.Duration { return time.Duration(d) }

// String renders d without trailing zero units: "1m", not "1m0s".
func (d Duration) String() string {
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText renders d as a duration string, for YAML and JSON.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads a duration string, for JSON (power plan files).
func (d *Duration) UnmarshalText(b []byte) error { return d.decodeScalar(string(b)) }

func (d *Duration) decodeScalar(text string) error {
	v, err := time.ParseDuration(strings.TrimSpace(text))
	if err != nil {
		return fmt.Errorf("invalid duration %q (use a Go duration such as \"90s\", \"5m\" or \"1h30m\")", text)
	}
	*d = Duration(v)
	return nil
}

// ByteSize is a number of bytes, written in the file with a unit such as
// "512MiB" or "2GB". A bare number is bytes.
type ByteSize int64

// Byte size units: SI (powers of 1000) and binary (powers of 1024).
const (
	B   ByteSize = 1
	KB  ByteSize = 1000
	MB  ByteSize = 1000 * KB
	GB  ByteSize = 1000 * MB
	TB  ByteSize = 1000 * GB
	KiB ByteSize = 1024
	MiB ByteSize = 1024 * KiB
	GiB ByteSize = 1024 * MiB
	TiB ByteSize = 1024 * GiB
)

// byteUnits is ordered largest first so String picks the largest exact unit.
var byteUnits = []struct {
	name string
	size ByteSize
}{
	{"TiB", TiB}, {"TB", TB}, {"GiB", GiB}, {"GB", GB},
	{"MiB", MiB}, {"MB", MB}, {"KiB", KiB}, {"KB", KB}, {"B", B},
}

// ParseByteSize parses sizes such as "2GiB", "500 MB", "1.5GiB" or "1024".
func ParseByteSize(s string) (ByteSize, error) {
	text := strings.TrimSpace(s)
	i := strings.IndexFunc(text, func(r rune) bool { return (r < '0' || r > '9') && r != '.' })
	num, unit := text, ""
	if i >= 0 {
		num, unit = text[:i], strings.TrimSpace(text[i:])
	}
	n, err := strconv.ParseFloat(num, 64)
	if err != nil || num == "" {
		return 0, fmt.Errorf("invalid byte size %q (use a number with a unit such as \"512MiB\" or \"2GiB\")", s)
	}
	mult := B
	if unit != "" {
		mult = 0
		for _, u := range byteUnits {
			if strings.EqualFold(u.name, unit) {
				mult = u.size
				break
			}
		}
		if mult == 0 {
			return 0, fmt.Errorf("invalid byte size %q: unknown unit %q (allowed: B, KB, MB, GB, TB, KiB, MiB, GiB, TiB)", s, unit)
		}
	}
	v := n * float64(mult)
	if v >= math.MaxInt64 {
		return 0, fmt.Errorf("invalid byte size %q: too large", s)
	}
	return ByteSize(v), nil
}

// String renders b with the largest unit that divides it exactly.
func (b ByteSize) String() string {
	for _, u := range byteUnits {
		if b != 0 && b%u.size == 0 {
			return strconv.FormatInt(int64(b/u.size), 10) + u.name
		}
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText renders b as a size string, for YAML and JSON.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

func (b *ByteSize) decodeScalar(text string) error {
	v, err := ParseByteSize(text)
	if err != nil {
		return err
	}
	*b = v
	return nil
}
