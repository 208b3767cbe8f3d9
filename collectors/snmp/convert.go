package snmp

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

var (
	// errAbsent: the agent has no such instance (noSuchObject,
	// noSuchInstance, endOfMibView, Null). The metric is absent, never 0.
	errAbsent = errors.New("absent")
	// errWrongType: the value is not a number (an address, an OID, text).
	errWrongType = errors.New("not a number")
)

// Number returns a varbind's value as a number. Integer types are taken as
// they are; an OCTET STRING is accepted when it holds a plain decimal number
// (some agents send readings as text). Anything else is errAbsent or
// errWrongType; it never panics, whatever the agent sends.
func Number(p gosnmp.SnmpPDU) (float64, error) {
	switch p.Type {
	case gosnmp.NoSuchObject, gosnmp.NoSuchInstance, gosnmp.EndOfMibView, gosnmp.Null, gosnmp.UnknownType:
		return 0, errAbsent
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64,
		gosnmp.Uinteger32, gosnmp.OpaqueFloat, gosnmp.OpaqueDouble:
		v, ok := numeric(p.Value)
		if !ok {
			return 0, fmt.Errorf("%w: %v value of Go type %T", errWrongType, p.Type, p.Value)
		}
		return v, nil
	case gosnmp.OctetString:
		var s string
		switch v := p.Value.(type) {
		case []byte:
			s = string(v)
		case string:
			s = v
		default:
			return 0, fmt.Errorf("%w: OctetString of Go type %T", errWrongType, p.Value)
		}
		s = strings.TrimSpace(s)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || s == "" || strings.ContainsAny(s, "xXpPnN_iI") {
			return 0, fmt.Errorf("%w: text %q", errWrongType, truncate(s, 32))
		}
		return f, nil
	}
	return 0, fmt.Errorf("%w: %v", errWrongType, p.Type)
}

func numeric(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case float32:
		f := float64(x)
		return f, !math.IsNaN(f) && !math.IsInf(f, 0)
	case float64:
		return x, !math.IsNaN(x) && !math.IsInf(x, 0)
	}
	return 0, false
}

// text returns a varbind's value as a label: strings as they are (trimmed,
// printable only), numbers in decimal, OIDs in dotted form.
func text(p gosnmp.SnmpPDU) (string, bool) {
	switch v := p.Value.(type) {
	case []byte:
		return printable(string(v))
	case string:
		return printable(v)
	}
	if f, err := Number(p); err == nil {
		return strconv.FormatFloat(f, 'f', -1, 64), true
	}
	return "", false
}

func printable(s string) (string, bool) {
	s = strings.TrimSpace(strings.TrimRight(s, "\x00"))
	if s == "" {
		return "", false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return "", false
		}
	}
	return s, true
}

// indexFrom turns a label-chain value into the next lookup's index: an
// integer as is, an OID value's last arc (entAliasMappingIdentifier points
// at ifIndex.N).
func indexFrom(p gosnmp.SnmpPDU) (string, bool) {
	if p.Type == gosnmp.ObjectIdentifier {
		s, ok := p.Value.(string)
		if !ok || s == "" {
			return "", false
		}
		i := strings.LastIndexByte(s, '.')
		last := s[i+1:]
		if _, err := strconv.ParseUint(last, 10, 32); err != nil {
			return "", false
		}
		return last, true
	}
	f, err := Number(p)
	if err != nil || f < 0 || f != math.Trunc(f) || f > math.MaxUint32 {
		return "", false
	}
	return strconv.FormatUint(uint64(f), 10), true
}

// scaleValue applies a metric's scaling to a raw value. digits, scale and
// precision are the same-row column values when the metric uses them.
func scaleValue(m *Metric, raw float64, digits, esScale, esPrecision float64) (float64, error) {
	v := raw * m.Scale.Multiply / m.Scale.Divide
	if m.Scale.DecimalDigits != "" {
		if digits < 0 || digits > 9 || digits != math.Trunc(digits) {
			return 0, fmt.Errorf("decimal digits %v out of range 0…9", digits)
		}
		v /= math.Pow10(int(digits))
	}
	if m.Scale.EntitySensor != nil {
		// SensorDataScale: yocto(1) … units(9) … yotta(17).
		// SensorPrecision: -8 … 9 digits after the decimal point.
		if esScale < 1 || esScale > 17 || esScale != math.Trunc(esScale) {
			return 0, fmt.Errorf("sensor scale %v out of range 1…17", esScale)
		}
		if esPrecision < -8 || esPrecision > 9 || esPrecision != math.Trunc(esPrecision) {
			return 0, fmt.Errorf("sensor precision %v out of range -8…9", esPrecision)
		}
		// Divide by a power of ten rather than multiply by its inverse:
		// 332 / 100 is 3.32, 332 × 0.01 is 3.3200000000000003.
		if exp := 3*(int(esScale)-9) - int(esPrecision); exp < 0 {
			v /= math.Pow10(-exp)
		} else {
			v *= math.Pow10(exp)
		}
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("value %v is not finite", v)
	}
	return v, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
