package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Reading is one value read from a device: the meter and field it fills,
// in the field's unit, and where it came from.
type Reading struct {
	Measurement string  `json:"measurement"`
	Meter       string  `json:"meter"`
	Field       string  `json:"field"`
	Unit        string  `json:"unit"`
	Value       float64 `json:"value"`
	Raw         float64 `json:"raw"`
	OID         string  `json:"oid"`    // the instance read (the column, for sums)
	Object      string  `json:"object"` // MIB object name
	Kind        string  `json:"kind"`   // gauge | counter
	Width       int     `json:"width,omitempty"`
}

// CounterMax is the value (in the field's unit) at which a counter reading
// wraps: 2^width scaled like the reading. 0 for gauges.
func (r Reading) CounterMax() float64 {
	if r.Kind != "counter" || r.Raw == 0 {
		return 0
	}
	f := r.Value / r.Raw
	if r.Width == 64 {
		return 18446744073709551616 * f
	}
	return 4294967296 * f
}

const (
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
)

// plan is what one poll of a profile asks for.
type plan struct {
	profile *Profile
	metrics []*Metric
	scalars []string // always starts with sysUpTime: the reachability check
	columns []string

	// labels caches the varbinds of label lookups past their first step
	// (PoE port → entPhysicalIndex → ifName: two GETs per poll otherwise).
	// Names change rarely: the cache is dropped after labelTTL, and a row
	// not seen before is looked up at once.
	labels   map[string]gosnmp.SnmpPDU
	labelsAt time.Time
	now      func() time.Time // default time.Now
}

// labelTTL is how long cached label lookups are reused.
const labelTTL = time.Hour

func newPlan(p *Profile, reg *Registry) *plan {
	pl := &plan{profile: p}
	for i := range p.Metrics {
		pl.metrics = append(pl.metrics, &p.Metrics[i])
	}
	for _, inc := range p.Include {
		if q, ok := reg.Lookup(inc); ok {
			for i := range q.Metrics {
				pl.metrics = append(pl.metrics, &q.Metrics[i])
			}
		}
	}
	scalars := map[string]bool{oidSysUpTime: true}
	pl.scalars = append(pl.scalars, oidSysUpTime)
	cols := map[string]bool{}
	addCol := func(o string) {
		o = normOID(o)
		if !cols[o] {
			cols[o] = true
			pl.columns = append(pl.columns, o)
		}
	}
	for _, m := range pl.metrics {
		if m.Scalar != "" {
			o := normOID(m.Scalar)
			if !scalars[o] {
				scalars[o] = true
				pl.scalars = append(pl.scalars, o)
			}
			continue
		}
		addCol(m.Column)
		for _, c := range m.Where {
			if c.Column != "" {
				addCol(c.Column)
			}
		}
		if m.Scale.DecimalDigits != "" {
			addCol(m.Scale.DecimalDigits)
		}
		if es := m.Scale.EntitySensor; es != nil {
			addCol(es.Scale)
			addCol(es.Precision)
		}
		if len(m.Label) > 0 {
			addCol(m.Label[0].Column)
		}
		if m.Chain != nil && m.Chain.Column != "" {
			addCol(m.Chain.Column)
		}
	}
	return pl
}

// snapshot is what one poll read: scalars by OID, columns by column OID
// then row index.
type snapshot struct {
	scalars map[string]gosnmp.SnmpPDU
	columns map[string]map[string]gosnmp.SnmpPDU
	rows    map[string][]string // row indexes per column, in walk order
	extra   map[string]gosnmp.SnmpPDU
}

func (pl *plan) read(ctx context.Context, t Transport) (*snapshot, error) {
	s := &snapshot{scalars: map[string]gosnmp.SnmpPDU{}, columns: map[string]map[string]gosnmp.SnmpPDU{},
		rows: map[string][]string{}, extra: map[string]gosnmp.SnmpPDU{}}
	got, err := t.Get(ctx, pl.scalars)
	if err != nil {
		return nil, err
	}
	for i, v := range got {
		name := v.Name
		if name == "" || v.Type == gosnmp.NoSuchInstance && i < len(pl.scalars) {
			name = pl.scalars[i]
		}
		s.scalars[normOID(name)] = v
	}
	if len(pl.columns) > 0 {
		vars, err := t.Walk(ctx, pl.columns)
		if err != nil {
			return nil, err
		}
		s.addColumns(pl.columns, vars)
	}
	if err := pl.readLabels(ctx, t, s); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *snapshot) addColumns(columns []string, vars []gosnmp.SnmpPDU) {
	// Longest column first, so a column that is a prefix of another
	// cannot steal its rows.
	sorted := append([]string(nil), columns...)
	sort.Slice(sorted, func(i, j int) bool { return len(sorted[i]) > len(sorted[j]) })
	for _, v := range vars {
		name := normOID(v.Name)
		for _, c := range sorted {
			if strings.HasPrefix(name, c+".") {
				idx := name[len(c)+1:]
				m := s.columns[c]
				if m == nil {
					m = map[string]gosnmp.SnmpPDU{}
					s.columns[c] = m
				}
				if _, dup := m[idx]; !dup {
					s.rows[c] = append(s.rows[c], idx)
				}
				m[idx] = v
				break
			}
		}
	}
}

// readLabels follows label chains past their first step with batched GETs,
// one round trip per step.
func (pl *plan) readLabels(ctx context.Context, t Transport, s *snapshot) error {
	now := time.Now
	if pl.now != nil {
		now = pl.now
	}
	if at := now(); pl.labels == nil || at.Sub(pl.labelsAt) >= labelTTL || at.Before(pl.labelsAt) {
		pl.labels, pl.labelsAt = map[string]gosnmp.SnmpPDU{}, at
	}
	for step := 1; ; step++ {
		want := map[string]bool{}
		var oids []string
		hits := 0
		for _, m := range pl.metrics {
			if len(m.Label) <= step {
				continue
			}
			for _, idx := range s.rows[normOID(m.Column)] {
				prev, ok := s.labelStep(m, idx, step-1)
				if !ok {
					continue
				}
				next, ok := indexFrom(prev)
				if !ok {
					continue
				}
				o := normOID(m.Label[step].Column) + "." + next + m.Label[step].Suffix
				if _, have := s.extra[o]; have || want[o] {
					continue
				}
				if v, ok := pl.labels[o]; ok {
					s.extra[o] = v
					hits++
					continue
				}
				want[o] = true
				oids = append(oids, o)
			}
		}
		if len(oids) == 0 {
			if hits == 0 {
				return nil
			}
			continue // all from the cache; the next step may need a lookup
		}
		got, err := t.Get(ctx, oids)
		if err != nil {
			return err
		}
		for i, v := range got {
			if i < len(oids) {
				s.extra[oids[i]] = v
				pl.labels[oids[i]] = v
			}
		}
	}
}

// labelStep returns the varbind of label step k for a row.
func (s *snapshot) labelStep(m *Metric, idx string, k int) (gosnmp.SnmpPDU, bool) {
	v, ok := s.columns[normOID(m.Label[0].Column)][idx]
	if !ok {
		return v, false
	}
	for i := 1; i <= k; i++ {
		next, ok := indexFrom(v)
		if !ok {
			return v, false
		}
		v, ok = s.extra[normOID(m.Label[i].Column)+"."+next+m.Label[i].Suffix]
		if !ok {
			return v, false
		}
	}
	return v, true
}

type fieldKey struct{ measurement, meter, field string }

// evaluate turns a snapshot into readings. Metrics earlier in the profile
// win over later ones for the same meter and field (fallbacks). Absent
// instances give no reading; values of the wrong type are skipped with a
// debug message.
func (pl *plan) evaluate(s *snapshot, log *slog.Logger) []Reading {
	var out []Reading
	seen := map[fieldKey]bool{}
	emit := func(r Reading) {
		k := fieldKey{r.Measurement, r.Meter, r.Field}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, r)
	}
	for _, m := range pl.metrics {
		if m.Scalar != "" {
			o := normOID(m.Scalar)
			v, ok := s.scalars[o]
			if !ok {
				continue
			}
			if r, ok := pl.reading(m, v, o, m.Meter, 0, 0, 0, log); ok {
				emit(r)
			}
			continue
		}
		col := normOID(m.Column)
		var sum *Reading
		for _, idx := range s.rows[col] {
			v := s.columns[col][idx]
			if !s.keep(m, idx) {
				continue
			}
			var digits, esScale, esPrec float64
			var err error
			if m.Scale.DecimalDigits != "" {
				if digits, err = s.sameRow(m.Scale.DecimalDigits, idx); err != nil {
					log.Debug("snmp: no decimal digits", "oid", col+"."+idx, "err", err)
					continue
				}
			}
			if es := m.Scale.EntitySensor; es != nil {
				if esScale, err = s.sameRow(es.Scale, idx); err != nil {
					log.Debug("snmp: no sensor scale", "oid", col+"."+idx, "err", err)
					continue
				}
				if esPrec, err = s.sameRow(es.Precision, idx); err != nil {
					log.Debug("snmp: no sensor precision", "oid", col+"."+idx, "err", err)
					continue
				}
			}
			meter := s.meter(m, idx)
			r, ok := pl.reading(m, v, col+"."+idx, meter, digits, esScale, esPrec, log)
			if !ok {
				continue
			}
			if m.Sum {
				if sum == nil {
					r.OID = col
					sum = &r
				} else {
					sum.Value += r.Value
					sum.Raw += r.Raw
				}
				continue
			}
			emit(r)
		}
		if sum != nil {
			emit(*sum)
		}
	}
	return out
}

func (pl *plan) reading(m *Metric, v gosnmp.SnmpPDU, oid, meter string, digits, esScale, esPrec float64, log *slog.Logger) (Reading, bool) {
	raw, err := Number(v)
	if err != nil {
		if !errors.Is(err, errAbsent) {
			log.Debug("snmp: value skipped", "profile", pl.profile.Name, "oid", oid, "err", err)
		}
		return Reading{}, false
	}
	if m.AbsentBelow != nil && raw < *m.AbsentBelow {
		// The MIB's "not available" sentinel: absent, never a value.
		return Reading{}, false
	}
	r := Reading{Measurement: m.Measurement, Meter: meter, Field: m.Field, Unit: m.Unit, Raw: raw,
		OID: oid, Object: m.Object, Kind: m.Kind, Width: m.Width}
	if m.Field == "on_battery" {
		for _, t := range m.TrueWhen {
			if float64(t) == raw {
				r.Value = 1
			}
		}
		return r, true
	}
	r.Value, err = scaleValue(m, raw, digits, esScale, esPrec)
	if err != nil {
		log.Debug("snmp: value skipped", "profile", pl.profile.Name, "oid", oid, "err", err)
		return Reading{}, false
	}
	return r, true
}

func (s *snapshot) sameRow(column, idx string) (float64, error) {
	v, ok := s.columns[normOID(column)][idx]
	if !ok {
		return 0, errAbsent
	}
	return Number(v)
}

func (s *snapshot) keep(m *Metric, idx string) bool {
	for _, c := range m.Where {
		var val float64
		if c.Arc > 0 {
			a, ok := arc(idx, c.Arc)
			if !ok {
				return false
			}
			val = float64(a)
		} else {
			v, err := s.sameRow(c.Column, idx)
			if errors.Is(err, errAbsent) && c.IfPresent {
				continue
			}
			if err != nil {
				return false
			}
			val = v
		}
		in := false
		for _, want := range c.In {
			if float64(want) == val {
				in = true
				break
			}
		}
		if !in {
			return false
		}
	}
	return true
}

// arc returns the n-th (1-based) arc of a row index.
func arc(idx string, n int) (uint64, bool) {
	parts := strings.Split(idx, ".")
	if n < 1 || n > len(parts) {
		return 0, false
	}
	var v uint64
	for _, c := range parts[n-1] {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, parts[n-1] != ""
}

func (s *snapshot) meter(m *Metric, idx string) string {
	out := placeholder.ReplaceAllStringFunc(m.Meter, func(ph string) string {
		switch name := ph[1 : len(ph)-1]; name {
		case "index":
			return idx
		case "label":
			if v, ok := s.labelStep(m, idx, len(m.Label)-1); ok {
				if t, ok := text(v); ok {
					return sanitize(t)
				}
			}
			return idx
		default:
			if a, ok := arc(idx, int(name[0]-'0')); ok {
				return fmt.Sprint(a)
			}
			return idx
		}
	})
	if c := m.Chain; c != nil {
		var unit float64
		ok := false
		if c.Arc > 0 {
			var a uint64
			a, ok = arc(idx, c.Arc)
			unit = float64(a)
		} else {
			v, err := s.sameRow(c.Column, idx)
			unit, ok = v, err == nil
		}
		if ok && int(unit) != c.First {
			out = fmt.Sprintf("unit%d/%s", int(unit)-c.First+1, out)
		}
	}
	return out
}

// sanitize keeps a device-supplied label usable as a tag value.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', ',', '=', '"':
			return '_'
		}
		return r
	}, s)
}

var discard = slog.New(slog.DiscardHandler)
