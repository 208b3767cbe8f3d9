// Package snmp simulates SNMP agents from snmpsim ".snmprec" recordings, so
// collectors and the power controller can be tested against real device data
// over real UDP without the devices.
package snmp

import (
	"bufio"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// OID is a numeric object identifier. OIDs compare arc by arc as numbers, so
// 1.3.6.1.2 sorts before 1.3.6.1.10 (a lexical sort would not).
type OID []uint32

// ParseOID parses a dotted OID; a leading dot is allowed.
func ParseOID(s string) (OID, error) {
	s = strings.TrimPrefix(s, ".")
	if s == "" {
		return nil, fmt.Errorf("empty OID")
	}
	oid := make(OID, 0, strings.Count(s, ".")+1)
	for arc := range strings.SplitSeq(s, ".") {
		n, err := strconv.ParseUint(arc, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("bad OID %q: arc %q is not a number in 0..4294967295", s, arc)
		}
		oid = append(oid, uint32(n))
	}
	if len(oid) < 2 || oid[0] > 2 || (oid[0] < 2 && oid[1] > 39) {
		return nil, fmt.Errorf("bad OID %q: not a valid BER object identifier", s)
	}
	return oid, nil
}

// String returns the OID in dotted form with a leading dot, as gosnmp writes it.
func (o OID) String() string {
	var b strings.Builder
	for _, arc := range o {
		b.WriteByte('.')
		b.WriteString(strconv.FormatUint(uint64(arc), 10))
	}
	return b.String()
}

// HasPrefix reports whether p is a prefix of o (or equal to it).
func (o OID) HasPrefix(p OID) bool {
	return len(p) <= len(o) && slices.Equal(o[:len(p)], p)
}

// Var is one recorded variable. Value holds what gosnmp marshals for Type:
// int (Integer), []byte (OctetString, Opaque), string (ObjectIdentifier in
// dotted form, IPAddress as a dotted quad), uint32 (Counter32, Gauge32,
// TimeTicks), uint64 (Counter64), nil (Null).
type Var struct {
	OID   OID
	Type  gosnmp.Asn1BER
	Value any
	Line  int // line in the recording, for messages
}

// Recording is a parsed .snmprec file with its variables sorted by OID
// (numerically, strictly increasing).
type Recording struct {
	Name string // file name without ".snmprec": the community that serves it
	Vars []Var
}

// tags maps the snmprec type tag to the ASN.1 type (snmpsim's grammar, which
// uses the BER tag numbers).
var tags = map[string]gosnmp.Asn1BER{
	"2":  gosnmp.Integer,
	"4":  gosnmp.OctetString,
	"5":  gosnmp.Null,
	"6":  gosnmp.ObjectIdentifier,
	"64": gosnmp.IPAddress,
	"65": gosnmp.Counter32,
	"66": gosnmp.Gauge32,
	"67": gosnmp.TimeTicks,
	"68": gosnmp.Opaque,
	"70": gosnmp.Counter64,
}

// Parse reads a recording in snmpsim's .snmprec format: one OID|TAG|VALUE per
// line. A TAG with an "x" suffix has a hex-encoded VALUE (for OctetString,
// Opaque and IpAddress the raw bytes; for other types the hex of the value's
// text). Whitespace around a line is ignored, as snmpsim ignores it; blank
// lines and lines starting with "#" are skipped. Lines may come
// in any order; the result is sorted numerically by OID.
//
// A duplicate OID is an error, not "last wins": two values for one OID mean
// the recording was merged or edited wrongly, and silently dropping one would
// hide that. snmpsim variation modules ("2:numeric") are rejected: no
// recording in the corpus uses them.
//
// name is used in messages ("apc.snmprec:12: ...") and, without a
// ".snmprec" suffix, as the Recording's Name.
func Parse(name string, r io.Reader) (*Recording, error) {
	rec := &Recording{Name: strings.TrimSuffix(name, ".snmprec")}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	line := 0
	for sc.Scan() {
		line++
		// snmpsim strips whitespace around each line, so a plain (tag 4)
		// value cannot end in a space; a recording needs 4x for that.
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		v, err := parseLine(text)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", name, line, err)
		}
		v.Line = line
		rec.Vars = append(rec.Vars, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	slices.SortStableFunc(rec.Vars, func(a, b Var) int { return slices.Compare(a.OID, b.OID) })
	for i := 1; i < len(rec.Vars); i++ {
		if slices.Equal(rec.Vars[i].OID, rec.Vars[i-1].OID) {
			first, second := rec.Vars[i-1].Line, rec.Vars[i].Line
			return nil, fmt.Errorf("%s:%d: duplicate OID %s (first on line %d)",
				name, max(first, second), rec.Vars[i].OID, min(first, second))
		}
	}
	return rec, nil
}

func parseLine(text string) (Var, error) {
	parts := strings.SplitN(text, "|", 3)
	if len(parts) != 3 {
		return Var{}, fmt.Errorf("want OID|TAG|VALUE, got %q", truncate(text))
	}
	oid, err := ParseOID(parts[0])
	if err != nil {
		return Var{}, err
	}
	tag, value := parts[1], parts[2]
	if strings.Contains(tag, ":") {
		return Var{}, fmt.Errorf("tag %q: snmpsim variation modules are not supported", tag)
	}
	isHex := strings.HasSuffix(tag, "x")
	typ, ok := tags[strings.TrimSuffix(tag, "x")]
	if !ok {
		return Var{}, fmt.Errorf("bad tag %q", tag)
	}
	raw := []byte(value)
	if isHex {
		if raw, err = hex.DecodeString(value); err != nil {
			return Var{}, fmt.Errorf("tag %q: bad hex value %q", tag, truncate(value))
		}
		value = string(raw)
	}
	v := Var{OID: oid, Type: typ}
	switch typ {
	case gosnmp.Integer:
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return Var{}, fmt.Errorf("tag %q: value %q is not an Integer32", tag, truncate(value))
		}
		v.Value = int(n)
	case gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks:
		n, err := strconv.ParseUint(value, 10, 32)
		if err != nil {
			return Var{}, fmt.Errorf("tag %q: value %q is not an unsigned 32-bit number", tag, truncate(value))
		}
		v.Value = uint32(n)
	case gosnmp.Counter64:
		n, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			return Var{}, fmt.Errorf("tag %q: value %q is not an unsigned 64-bit number", tag, truncate(value))
		}
		v.Value = n
	case gosnmp.OctetString, gosnmp.Opaque:
		v.Value = raw
	case gosnmp.Null:
		v.Value = nil
	case gosnmp.ObjectIdentifier:
		o, err := ParseOID(value)
		if err != nil {
			return Var{}, fmt.Errorf("tag %q: value: %w", tag, err)
		}
		v.Value = o.String()
	case gosnmp.IPAddress:
		ip := net.IP(raw).To4()
		if !isHex {
			ip = net.ParseIP(value).To4()
		}
		if ip == nil || (isHex && len(raw) != 4) {
			return Var{}, fmt.Errorf("tag %q: value %q is not an IPv4 address", tag, truncate(value))
		}
		v.Value = ip.String()
	}
	return v, nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}
