package snmp

import (
	"slices"
	"strings"
	"testing"

	"github.com/gosnmp/gosnmp"
)

func TestParse(t *testing.T) {
	in := strings.Join([]string{
		"# a comment",
		"1.3.6.1.2.1.1.3.0|67|738743311",
		"",
		"1.3.6.1.10.1|2|-5", // numerically after 1.3.6.1.2…, lexically before
		"1.3.6.1.2.1.1.1.0|4|APC | Web ",
		"1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.318.1.3.4.2",
		"1.3.6.1.2.1.2.2.1.6.2|4x|00C0B7FAE271",
		"1.3.6.1.2.1.4.20.1.3.10.0.0.1|64|255.255.255.0",
		"1.3.6.1.2.1.4.20.1.3.10.0.0.2|64x|ffffff00",
		"1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551615",
		"1.3.6.1.2.1.2.2.1.10.1|65|4294967295",
		"1.3.6.1.2.1.2.2.1.5.1|66|1000000000",
		"1.3.6.1.2.1.2.2.1.5.2|66x|3432",
		"1.3.6.1.2.1.9.0|5|",
		"1.3.6.1.2.1.9.1|68x|0102",
	}, "\r\n")
	rec, err := Parse("dev.snmprec", strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	if rec.Name != "dev" {
		t.Errorf("name %q, want dev", rec.Name)
	}
	want := []struct {
		oid   string
		typ   gosnmp.Asn1BER
		value any
	}{
		{".1.3.6.1.2.1.1.1.0", gosnmp.OctetString, []byte("APC | Web")},
		{".1.3.6.1.2.1.1.2.0", gosnmp.ObjectIdentifier, ".1.3.6.1.4.1.318.1.3.4.2"},
		{".1.3.6.1.2.1.1.3.0", gosnmp.TimeTicks, uint32(738743311)},
		{".1.3.6.1.2.1.2.2.1.5.1", gosnmp.Gauge32, uint32(1000000000)},
		{".1.3.6.1.2.1.2.2.1.5.2", gosnmp.Gauge32, uint32(42)},
		{".1.3.6.1.2.1.2.2.1.6.2", gosnmp.OctetString, []byte{0x00, 0xc0, 0xb7, 0xfa, 0xe2, 0x71}},
		{".1.3.6.1.2.1.2.2.1.10.1", gosnmp.Counter32, uint32(4294967295)},
		{".1.3.6.1.2.1.4.20.1.3.10.0.0.1", gosnmp.IPAddress, "255.255.255.0"},
		{".1.3.6.1.2.1.4.20.1.3.10.0.0.2", gosnmp.IPAddress, "255.255.255.0"},
		{".1.3.6.1.2.1.9.0", gosnmp.Null, nil},
		{".1.3.6.1.2.1.9.1", gosnmp.Opaque, []byte{1, 2}},
		{".1.3.6.1.2.1.31.1.1.1.6.1", gosnmp.Counter64, uint64(18446744073709551615)},
		{".1.3.6.1.10.1", gosnmp.Integer, -5},
	}
	if len(rec.Vars) != len(want) {
		t.Fatalf("got %d vars, want %d", len(rec.Vars), len(want))
	}
	for i, w := range want {
		v := rec.Vars[i]
		if v.OID.String() != w.oid || v.Type != w.typ || !equalValue(v.Value, w.value) {
			t.Errorf("var %d = %s %v %#v, want %s %v %#v", i, v.OID, v.Type, v.Value, w.oid, w.typ, w.value)
		}
	}
}

func equalValue(a, b any) bool {
	if ab, ok := a.([]byte); ok {
		bb, ok := b.([]byte)
		return ok && slices.Equal(ab, bb)
	}
	return a == b
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"bad tag", "1.3.6.1|2|1\n1.3.6.2|99|1", `apc.snmprec:2: bad tag "99"`},
		{"variation module", "1.3.6.1|2:numeric|max=10", `apc.snmprec:1: tag "2:numeric": snmpsim variation modules are not supported`},
		{"two fields", "1.3.6.1|2", `apc.snmprec:1: want OID|TAG|VALUE, got "1.3.6.1|2"`},
		{"bad oid", "1.3.x|2|1", `apc.snmprec:1: bad OID "1.3.x": arc "x" is not a number in 0..4294967295`},
		{"bad first arc", "7.3|2|1", `apc.snmprec:1: bad OID "7.3": not a valid BER object identifier`},
		{"int range", "1.3.6|2|2147483648", `apc.snmprec:1: tag "2": value "2147483648" is not an Integer32`},
		{"negative gauge", "1.3.6|66|-1", `apc.snmprec:1: tag "66": value "-1" is not an unsigned 32-bit number`},
		{"bad hex", "1.3.6|4x|0g", `apc.snmprec:1: tag "4x": bad hex value "0g"`},
		{"bad ip", "1.3.6|64|1.2.3", `apc.snmprec:1: tag "64": value "1.2.3" is not an IPv4 address`},
		{"duplicate", "1.3.6.1|2|1\n1.3.6.2|2|1\n1.3.6.1|2|2", `apc.snmprec:3: duplicate OID .1.3.6.1 (first on line 1)`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("apc.snmprec", strings.NewReader(tt.in))
			if err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add("1.3.6.1.2.1.1.1.0|4|x\n1.3.6.1.2.1.1.3.0|67|1\n")
	f.Add("1.3.6.1.10|2|1\n1.3.6.1.9|2|1\n1.3.6.1.9.0|66x|31\n")
	f.Add("1.3.6|64x|7f000001\n# c\n\n1.3.7|6|1.3.6.1\n1.3.8|70|1\n")
	f.Fuzz(func(t *testing.T, in string) {
		rec, err := Parse("fuzz.snmprec", strings.NewReader(in))
		if err != nil {
			return
		}
		for i := 1; i < len(rec.Vars); i++ {
			if slices.Compare(rec.Vars[i-1].OID, rec.Vars[i].OID) >= 0 {
				t.Fatalf("OIDs not strictly increasing: %s then %s", rec.Vars[i-1].OID, rec.Vars[i].OID)
			}
		}
		for _, v := range rec.Vars {
			if _, err := ParseOID(v.OID.String()); err != nil {
				t.Fatalf("accepted OID %s does not parse back: %v", v.OID, err)
			}
		}
	})
}
