package snmp

import (
	"context"
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
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

// plan is what one poll of a profile asks for, worked out once per
// collector: the OIDs to GET and walk, and per metric the columns it reads
// (as indexes into columns) and its meter template. A plan, and the
// snapshot it reuses, belong to one collector and so to one goroutine at a
// time.
type plan struct {
	profile  *Profile
	metrics  []*Metric
	compiled []metricPlan // parallel to metrics
	scalars  []string     // always starts with sysUpTime: the reachability check
	columns  []string

	// byLength is the column indexes, longest column first, with the
	// prefix a row of each has (the column and a dot): a column that is a
	// prefix of another cannot steal its rows.
	byLength []columnPrefix
	// chained are the metrics with label lookups past their first step.
	chained []int

	// labels caches the varbinds of label lookups past their first step
	// (PoE port → entPhysicalIndex → ifName: two GETs per poll otherwise).
	// Names change rarely: the cache is dropped after labelTTL, and a row
	// not seen before is looked up at once.
	labels   map[string]gosnmp.SnmpPDU
	labelsAt time.Time
	now      func() time.Time // default time.Now

}

type columnPrefix struct {
	col    int
	prefix string // column + "."
}

// metricPlan is a metric with its OIDs resolved: column references are
// indexes into plan.columns (-1: none).
type metricPlan struct {
	scalar  string // normalized scalar OID ("" for columns)
	col     int
	column  string // normalized column OID
	where   []condPlan
	digits  int // decimal-digits column
	esScale int // entity-sensor scale column
	esPrec  int // entity-sensor precision column
	label   []labelPlan
	chain   int // chain column (chain by arc: -1)
	meter   []meterPart
	literal bool // meter has no placeholders: meter[0].text as it is
}

type condPlan struct {
	col int // -1: by arc
}

type labelPlan struct {
	col    int    // the first step's column index (first step only)
	column string // normalized column OID
	suffix string
}

// meterPart is a piece of a meter template: text, or a placeholder.
type meterPart struct {
	kind byte // 't' text, 'i' {index}, 'l' {label}, 'a' {1}…{9}
	text string
	arc  int
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
	cols := map[string]int{}
	addCol := func(o string) int {
		o = normOID(o)
		if i, ok := cols[o]; ok {
			return i
		}
		cols[o] = len(pl.columns)
		pl.columns = append(pl.columns, o)
		return len(pl.columns) - 1
	}
	pl.compiled = make([]metricPlan, len(pl.metrics))
	for i, m := range pl.metrics {
		mp := &pl.compiled[i]
		*mp = metricPlan{col: -1, digits: -1, esScale: -1, esPrec: -1, chain: -1}
		mp.meter, mp.literal = compileMeter(m.Meter)
		if m.Scalar != "" {
			o := normOID(m.Scalar)
			mp.scalar = o
			if !scalars[o] {
				scalars[o] = true
				pl.scalars = append(pl.scalars, o)
			}
			continue
		}
		mp.col = addCol(m.Column)
		mp.column = pl.columns[mp.col]
		for _, c := range m.Where {
			cp := condPlan{col: -1}
			if c.Column != "" {
				cp.col = addCol(c.Column)
			}
			mp.where = append(mp.where, cp)
		}
		if m.Scale.DecimalDigits != "" {
			mp.digits = addCol(m.Scale.DecimalDigits)
		}
		if es := m.Scale.EntitySensor; es != nil {
			mp.esScale = addCol(es.Scale)
			mp.esPrec = addCol(es.Precision)
		}
		for k, l := range m.Label {
			lp := labelPlan{col: -1, column: normOID(l.Column), suffix: l.Suffix}
			if k == 0 {
				lp.col = addCol(l.Column)
			}
			mp.label = append(mp.label, lp)
		}
		if len(m.Label) > 1 {
			pl.chained = append(pl.chained, i)
		}
		if m.Chain != nil && m.Chain.Column != "" {
			mp.chain = addCol(m.Chain.Column)
		}
	}
	for i, c := range pl.columns {
		pl.byLength = append(pl.byLength, columnPrefix{col: i, prefix: c + "."})
	}
	sort.SliceStable(pl.byLength, func(i, j int) bool { return len(pl.byLength[i].prefix) > len(pl.byLength[j].prefix) })
	return pl
}

// compileMeter splits a meter template into text and placeholders.
func compileMeter(tmpl string) ([]meterPart, bool) {
	var parts []meterPart
	last := 0
	for _, loc := range placeholder.FindAllStringSubmatchIndex(tmpl, -1) {
		if loc[0] > last {
			parts = append(parts, meterPart{kind: 't', text: tmpl[last:loc[0]]})
		}
		switch name := tmpl[loc[2]:loc[3]]; name {
		case "index":
			parts = append(parts, meterPart{kind: 'i'})
		case "label":
			parts = append(parts, meterPart{kind: 'l'})
		default:
			n := 0
			if name != "" {
				n = int(name[0] - '0')
			}
			parts = append(parts, meterPart{kind: 'a', arc: n})
		}
		last = loc[1]
	}
	if len(parts) == 0 {
		return []meterPart{{kind: 't', text: tmpl}}, true
	}
	if last < len(tmpl) {
		parts = append(parts, meterPart{kind: 't', text: tmpl[last:]})
	}
	return parts, false
}

// snapshot is what one poll read: scalars by OID, columns (indexed like
// plan.columns) by row index.
type snapshot struct {
	scalars map[string]gosnmp.SnmpPDU
	columns []map[string]gosnmp.SnmpPDU
	rows    [][]string // row indexes per column, in walk order
	extra   map[string]gosnmp.SnmpPDU
	seen    map[fieldKey]bool // used by evaluate
}

// snapshots are shared by every plan: a snapshot's maps are reused from
// poll to poll (no allocation per varbind), but only the polls in flight
// hold one, not each of 10,000 devices between its polls.
var snapshots = sync.Pool{New: func() any {
	return &snapshot{scalars: map[string]gosnmp.SnmpPDU{}, extra: map[string]gosnmp.SnmpPDU{}, seen: map[fieldKey]bool{}}
}}

// getSnapshot returns an empty snapshot for ncols columns.
func getSnapshot(ncols int) *snapshot {
	s := snapshots.Get().(*snapshot)
	for len(s.columns) < ncols {
		s.columns = append(s.columns, map[string]gosnmp.SnmpPDU{})
		s.rows = append(s.rows, nil)
	}
	s.columns, s.rows = s.columns[:ncols], s.rows[:ncols]
	clear(s.scalars)
	clear(s.extra)
	clear(s.seen)
	for i := range s.columns {
		clear(s.columns[i])
		s.rows[i] = s.rows[i][:0]
	}
	return s
}

// release returns a snapshot read by read, once evaluated.
func (s *snapshot) release() { snapshots.Put(s) }

// read polls the device. The caller releases the snapshot it returns once
// evaluated.
func (pl *plan) read(ctx context.Context, t Transport) (_ *snapshot, err error) {
	s := getSnapshot(len(pl.columns))
	defer func() {
		if err != nil {
			s.release()
		}
	}()
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
		pl.addColumns(s, vars)
	}
	if err := pl.readLabels(ctx, t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// addColumns files walked varbinds by column and row index. The stored
// varbinds carry their normalized name, which is column + "." + index.
func (pl *plan) addColumns(s *snapshot, vars []gosnmp.SnmpPDU) {
	for _, v := range vars {
		name := normOID(v.Name)
		for _, c := range pl.byLength {
			if strings.HasPrefix(name, c.prefix) {
				idx := name[len(c.prefix):]
				m := s.columns[c.col]
				if _, dup := m[idx]; !dup {
					s.rows[c.col] = append(s.rows[c.col], idx)
				}
				v.Name = name
				m[idx] = v
				break
			}
		}
	}
}

// readLabels follows label chains past their first step with batched GETs,
// one round trip per step.
func (pl *plan) readLabels(ctx context.Context, t Transport, s *snapshot) error {
	if len(pl.chained) == 0 {
		return nil
	}
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
		for _, i := range pl.chained {
			mp := &pl.compiled[i]
			if len(mp.label) <= step {
				continue
			}
			for _, idx := range s.rows[mp.col] {
				prev, ok := s.labelStep(mp, idx, step-1)
				if !ok {
					continue
				}
				next, ok := indexFrom(prev)
				if !ok {
					continue
				}
				o := mp.label[step].column + "." + next + mp.label[step].suffix
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
func (s *snapshot) labelStep(mp *metricPlan, idx string, k int) (gosnmp.SnmpPDU, bool) {
	v, ok := s.columns[mp.label[0].col][idx]
	if !ok {
		return v, false
	}
	for i := 1; i <= k; i++ {
		next, ok := indexFrom(v)
		if !ok {
			return v, false
		}
		v, ok = s.extra[mp.label[i].column+"."+next+mp.label[i].suffix]
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
	n := 0
	for i := range pl.compiled {
		if c := pl.compiled[i].col; c >= 0 {
			n += len(s.rows[c])
		} else {
			n++
		}
	}
	out := make([]Reading, 0, n)
	seen := s.seen
	emit := func(r Reading) {
		k := fieldKey{r.Measurement, r.Meter, r.Field}
		if seen[k] {
			return
		}
		seen[k] = true
		out = append(out, r)
	}
	for i, m := range pl.metrics {
		mp := &pl.compiled[i]
		if mp.col < 0 {
			v, ok := s.scalars[mp.scalar]
			if !ok {
				continue
			}
			if r, ok := pl.reading(m, v, mp.scalar, m.Meter, 0, 0, 0, log); ok {
				emit(r)
			}
			continue
		}
		var sum *Reading
		col := s.columns[mp.col]
		for _, idx := range s.rows[mp.col] {
			v := col[idx]
			if !s.keep(m, mp, idx) {
				continue
			}
			var digits, esScale, esPrec float64
			var err error
			if mp.digits >= 0 {
				if digits, err = s.sameRow(mp.digits, idx); err != nil {
					log.Debug("snmp: no decimal digits", "oid", v.Name, "err", err)
					continue
				}
			}
			if mp.esScale >= 0 {
				if esScale, err = s.sameRow(mp.esScale, idx); err != nil {
					log.Debug("snmp: no sensor scale", "oid", v.Name, "err", err)
					continue
				}
				if esPrec, err = s.sameRow(mp.esPrec, idx); err != nil {
					log.Debug("snmp: no sensor precision", "oid", v.Name, "err", err)
					continue
				}
			}
			meter := s.meter(m, mp, idx)
			r, ok := pl.reading(m, v, v.Name, meter, digits, esScale, esPrec, log)
			if !ok {
				continue
			}
			if m.Sum {
				if sum == nil {
					r.OID = mp.column
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

func (s *snapshot) sameRow(col int, idx string) (float64, error) {
	v, ok := s.columns[col][idx]
	if !ok {
		return 0, errAbsent
	}
	return Number(v)
}

func (s *snapshot) keep(m *Metric, mp *metricPlan, idx string) bool {
	for i, c := range m.Where {
		var val float64
		if c.Arc > 0 {
			a, ok := arc(idx, c.Arc)
			if !ok {
				return false
			}
			val = float64(a)
		} else {
			v, err := s.sameRow(mp.where[i].col, idx)
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
	if n < 1 {
		return 0, false
	}
	part := idx
	for range n - 1 {
		i := strings.IndexByte(part, '.')
		if i < 0 {
			return 0, false
		}
		part = part[i+1:]
	}
	if i := strings.IndexByte(part, '.'); i >= 0 {
		part = part[:i]
	}
	var v uint64
	for _, c := range part {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + uint64(c-'0')
	}
	return v, part != ""
}

func (s *snapshot) meter(m *Metric, mp *metricPlan, idx string) string {
	var out string
	if mp.literal {
		out = m.Meter
	} else {
		var b strings.Builder
		b.Grow(len(m.Meter) + len(idx))
		for _, p := range mp.meter {
			switch p.kind {
			case 't':
				b.WriteString(p.text)
			case 'i':
				b.WriteString(idx)
			case 'l':
				label := idx
				if v, ok := s.labelStep(mp, idx, len(mp.label)-1); ok {
					if t, ok := text(v); ok {
						label = sanitize(t)
					}
				}
				b.WriteString(label)
			case 'a':
				if a, ok := arc(idx, p.arc); ok {
					var buf [20]byte
					b.Write(strconv.AppendUint(buf[:0], a, 10))
				} else {
					b.WriteString(idx)
				}
			}
		}
		out = b.String()
	}
	if c := m.Chain; c != nil {
		var unit float64
		ok := false
		if c.Arc > 0 {
			var a uint64
			a, ok = arc(idx, c.Arc)
			unit = float64(a)
		} else {
			v, err := s.sameRow(mp.chain, idx)
			unit, ok = v, err == nil
		}
		if ok && int(unit) != c.First {
			out = "unit" + strconv.Itoa(int(unit)-c.First+1) + "/" + out
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
