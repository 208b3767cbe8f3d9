package snmp

import (
	"strconv"
	"strings"
	"testing"
)

// refCompareOID is the plain definition: arc by arc as numbers.
func refCompareOID(a, b string) (int, bool) {
	pa := strings.Split(strings.TrimPrefix(a, "."), ".")
	pb := strings.Split(strings.TrimPrefix(b, "."), ".")
	for _, arc := range append(pa, pb...) {
		if _, err := strconv.ParseUint(arc, 10, 64); err != nil {
			return 0, false // not an OID (empty arc, letters, overflow)
		}
	}
	for i := 0; i < len(pa) && i < len(pb); i++ {
		x, err1 := strconv.ParseUint(pa[i], 10, 64)
		y, err2 := strconv.ParseUint(pb[i], 10, 64)
		if err1 != nil || err2 != nil {
			return 0, false
		}
		if x != y {
			if x < y {
				return -1, true
			}
			return 1, true
		}
	}
	switch {
	case len(pa) == len(pb):
		return 0, true
	case len(pa) < len(pb):
		return -1, true
	}
	return 1, true
}

func TestCompareOID(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want int
	}{
		{".1.3.6.1.2.1.2", ".1.3.6.1.2.1.10", -1}, // numeric, not lexical
		{".1.3.6.1.2.1.10", ".1.3.6.1.2.1.9.5", 1},
		{".1.3.6.1.4.1.9.9.402.1.2.1.9.1.52", ".1.3.6.1.4.1.9.9.402.1.2.1.9.2.1", -1},
		{"1.3.6", ".1.3.6", 0},
		{".1.3.6", ".1.3.6.0", -1},
		{".1.3.6.01", ".1.3.6.1", 0}, // a leading zero is still the number
		{".1.3.6.100", ".1.3.6.99", 1},
		{".1.3.61", ".1.3.6.1", 1},
		{".1.3.6.1", ".1.3.61", -1},
	} {
		if got := compareOID(tt.a, tt.b); got != tt.want {
			t.Errorf("compareOID(%s, %s) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := compareOID(tt.b, tt.a); got != -tt.want {
			t.Errorf("compareOID(%s, %s) = %d, want %d", tt.b, tt.a, got, -tt.want)
		}
	}
}

// FuzzCompareOID: the fast comparison agrees with the arc-by-arc
// definition on every pair of numeric OIDs, and never panics.
func FuzzCompareOID(f *testing.F) {
	f.Add(".1.3.6.1.2.1.2", ".1.3.6.1.2.1.10")
	f.Add("1.3.6.01", "1.3.6.1.0")
	f.Add(".1.3.61", ".1.3.6.1")
	f.Add("", ".")
	f.Fuzz(func(t *testing.T, a, b string) {
		got := compareOID(a, b)
		if want, ok := refCompareOID(a, b); ok && got != want {
			t.Fatalf("compareOID(%q, %q) = %d, want %d", a, b, got, want)
		}
	})
}
