package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
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

// reading is a Reading as the poll path carries it: the metric it came
// from instead of copies of the metric's strings.
type reading struct {
	m          *Metric
	meter      string
	oid        string
	value, raw float64
}

func (r *reading) public() Reading {
	m := r.m
	return Reading{Measurement: m.Measurement, Meter: r.meter, Field: m.Field, Unit: m.Unit, Value: r.value,
		Raw: r.raw, OID: r.oid, Object: m.Object, Kind: m.Kind, Width: m.Width}
}

// publicReadings returns rs as Readings, the first of each measurement,
// meter and field only (an earlier metric is a later one's fallback).
func publicReadings(rs []reading) []Reading {
	out := make([]Reading, 0, len(rs))
	seen := make(map[fieldKey]bool, len(rs))
	for i := range rs {
		r := &rs[i]
		k := fieldKey{r.m.Measurement, r.meter, r.m.Field}
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, r.public())
	}
	return out
}

type fieldKey struct{ measurement, meter, field string }

const (
	oidSysObjectID = ".1.3.6.1.2.1.1.2.0"
	oidSysUpTime   = ".1.3.6.1.2.1.1.3.0"
	oidSysDescr    = ".1.3.6.1.2.1.1.1.0"
)

// program is what one poll of a profile asks for, worked out once per
// profile and shared by every collector of it (Registry.program): the OIDs
// to GET and walk, and per metric the columns it reads (as indexes into
// columns) and its meter template. It is never changed after newProgram.
type program struct {
	profile  *Profile
	metrics  []*Metric
	compiled []metricPlan // parallel to metrics
	scalars  []string     // always starts with sysUpTime: the reachability check
	columns  []string

	// byLength is the column indexes, longest column first, with the
	// prefix a row of each has (the column and a dot): a column that is a
	// prefix of another cannot steal its rows.
	byLength []columnPrefix
	prefixes []string // column + ".", by column index
	// colHasDescendant[c]: another column lies below column c (its rows
	// must then be told apart by the longest prefix).
	colHasDescendant []bool
	// chained are the metrics with label lookups past their first step.
	chained []int
	// meterOf[i] is the meter cache (plan.meters) of metric i: metrics
	// whose meters are made alike (template, label steps, chain) share one,
	// so a row's meter is built and kept once, not once per field.
	meterOf []int
	nMeters int
}

// plan is a program with the state of one collector: the caches and
// buffers it reuses from poll to poll. A plan belongs to one collector and
// so to one goroutine at a time.
type plan struct {
	*program

	lastCol int // addColumns' guess: the column after the last one filled

	// Label lookups past the first step (PoE port → entPhysicalIndex →
	// ifName: two GETs per poll otherwise) are cached as the meters they
	// make (meters, below). Names change rarely: the cache is dropped after
	// labelTTL, and a row not seen before, or whose first step changed, is
	// looked up at once.
	labelsAt time.Time
	now      func() time.Time // default time.Now

	// meters caches the meters rows got and what they depended on, by
	// meterOf: a poll that sees the same row, label and chain unit reuses
	// the string instead of building it again.
	meters []meterCache

	snap snapshot  // reused from poll to poll
	out  []reading // evaluate's result, reused
}

type columnPrefix struct {
	col    int
	prefix string // column + "."
}

// metricPlan is a metric with its OIDs resolved: column references are
// indexes into plan.columns (-1: none).
type metricPlan struct {
	scalar  int // position in plan.scalars (-1 for columns)
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
	hasLbl  bool // meter uses {label}
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

// meterCache is one cache of plan.meters: an entry per row, in OID order
// of the row indexes. The metrics sharing it usually walk columns of one
// table, so a row's position in a metric's column is its position here;
// when a column lacks rows, the row is searched.
type meterCache struct {
	entries []meterEntry
}

// meterEntry is the cached meter of one row.
type meterEntry struct {
	idx   string
	dep   keptDep // the label's source value
	unit  float64 // the chain unit (0 without chain)
	meter string
}

// find returns the position of row idx (k: where it is expected) and
// whether it is there; else where it would go.
func (c *meterCache) find(idx string, k int) (int, bool) {
	if k >= 0 && k < len(c.entries) && c.entries[k].idx == idx {
		return k, true
	}
	if n := len(c.entries); n > 0 && compareOID(c.entries[n-1].idx, idx) < 0 {
		return n, false // a new last row: the usual growth
	}
	i := sort.Search(len(c.entries), func(i int) bool { return compareOID(c.entries[i].idx, idx) >= 0 })
	return i, i < len(c.entries) && c.entries[i].idx == idx
}

// keptDep is a labelDep as the cache keeps it: its own copy of text.
type keptDep struct {
	num     float64
	txt     string
	ok, isN bool
}

// labelDep is the value a label was made from, in a form that compares
// without allocating: a number, or the text as the agent sent it.
type labelDep struct {
	ok  bool
	isN bool
	num float64
	txt string
	raw []byte // a view of the agent's value, until own
}

// labelTTL is how long cached label lookups are reused.
const labelTTL = time.Hour

// newPlan returns a plan of p for one collector, on p's program shared
// through reg.
func newPlan(p *Profile, reg *Registry) *plan {
	prog := reg.program(p)
	return &plan{program: prog, meters: make([]meterCache, prog.nMeters)}
}

// newProgram works out p's program; reg resolves its includes.
func newProgram(p *Profile, reg *Registry) *program {
	pl := &program{profile: p}
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
	scalars := map[string]int{oidSysUpTime: 0}
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
		*mp = metricPlan{scalar: -1, col: -1, digits: -1, esScale: -1, esPrec: -1, chain: -1}
		mp.meter, mp.literal = compileMeter(m.Meter)
		mp.hasLbl = slices.ContainsFunc(mp.meter, func(p meterPart) bool { return p.kind == 'l' })
		if m.Scalar != "" {
			o := normOID(m.Scalar)
			pos, ok := scalars[o]
			if !ok {
				pos = len(pl.scalars)
				scalars[o] = pos
				pl.scalars = append(pl.scalars, o)
			}
			mp.scalar = pos
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
		pl.prefixes = append(pl.prefixes, c+".")
	}
	sort.SliceStable(pl.byLength, func(i, j int) bool { return len(pl.byLength[i].prefix) > len(pl.byLength[j].prefix) })
	pl.colHasDescendant = make([]bool, len(pl.columns))
	for i, c := range pl.columns {
		for j, d := range pl.columns {
			if i != j && strings.HasPrefix(d, c+".") {
				pl.colHasDescendant[i] = true
			}
		}
	}
	pl.meterOf = make([]int, len(pl.metrics))
	shared := map[string]int{}
	for i, m := range pl.metrics {
		mp := &pl.compiled[i]
		key := fmt.Sprintf("%q %v %+v", m.Meter, mp.label, m.Chain)
		n, ok := shared[key]
		if !ok {
			n = len(shared)
			shared[key] = n
		}
		pl.meterOf[i] = n
	}
	pl.nMeters = len(shared)
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

// snapshot is what one poll read: scalars by their position in
// plan.scalars, columns (indexed like plan.columns) as rows in walk order,
// pointing into the walk's varbinds.
type snapshot struct {
	scalars []gosnmp.SnmpPDU
	cols    []column
	vars    []gosnmp.SnmpPDU          // the walk's varbinds (the transport's buffer)
	extra   map[string]gosnmp.SnmpPDU // label lookups past the first step
	buf     *snapshotBuf              // where scalars and cols came from (nil between polls)
}

// column is one walked column: its row indexes and where each row's
// varbind is in snapshot.vars, in OID order.
type column struct {
	idx []string
	at  []int32
}

// find returns the varbind of row idx of column col. hint is where the row
// is expected (the same position in another column of the table): checked
// first, then the rows are searched (they are in OID order).
func (s *snapshot) find(col int, idx string, hint int) (gosnmp.SnmpPDU, bool) {
	c := &s.cols[col]
	if hint >= 0 && hint < len(c.idx) && c.idx[hint] == idx {
		return s.vars[c.at[hint]], true
	}
	i := sort.Search(len(c.idx), func(i int) bool { return compareOID(c.idx[i], idx) >= 0 })
	if i < len(c.idx) && c.idx[i] == idx {
		return s.vars[c.at[i]], true
	}
	return gosnmp.SnmpPDU{}, false
}

// reset readies s for a poll of nScalars scalars and nCols columns, with
// buffers from snapshotBufs.
func (s *snapshot) reset(nScalars, nCols int) {
	s.release()
	b := snapshotBufs.Get().(*snapshotBuf)
	s.buf = b
	s.scalars = slices.Grow(b.scalars[:0], nScalars)[:nScalars]
	s.cols = slices.Grow(b.cols[:0], nCols)[:nCols]
	for i := range s.cols {
		s.cols[i].idx = s.cols[i].idx[:0]
		s.cols[i].at = s.cols[i].at[:0]
	}
}

// release drops the poll's varbinds, and gives the buffers back to
// snapshotBufs: between polls a collector holds its caches, not the
// agent's answers nor room for them.
func (s *snapshot) release() {
	s.extra = nil
	s.vars = nil // the transport's buffer: it clears and reuses it
	if s.buf == nil {
		return
	}
	clear(s.scalars)
	for i := range s.cols {
		clear(s.cols[i].idx[:cap(s.cols[i].idx)])
	}
	s.buf.scalars, s.buf.cols = s.scalars, s.cols
	snapshotBufs.Put(s.buf)
	s.buf, s.scalars, s.cols = nil, nil, nil
}

// snapshotBuf is the room of a snapshot, kept in snapshotBufs between
// polls, so that the buffers number the polls in flight, not the devices.
type snapshotBuf struct {
	scalars []gosnmp.SnmpPDU
	cols    []column
}

var snapshotBufs = sync.Pool{New: func() any { return new(snapshotBuf) }}

// release drops what the last poll read and made, keeping the buffers and
// the caches; the readings of evaluate are gone after it.
func (pl *plan) release() {
	pl.snap.release()
	if pl.out != nil {
		clear(pl.out[:cap(pl.out)])
		out := pl.out[:0]
		readingBufs.Put(&out)
		pl.out = nil
	}
}

// readingBufs holds evaluate's result buffers between polls: a collector
// takes one for a poll, so they number the polls in flight, not the
// devices.
var readingBufs = sync.Pool{New: func() any { return new([]reading) }}

// read polls the device. The snapshot it returns is the plan's own,
// valid until the next read.
func (pl *plan) read(ctx context.Context, t Transport) (*snapshot, error) {
	s := &pl.snap
	s.reset(len(pl.scalars), len(pl.columns))
	got, err := t.Get(ctx, pl.scalars)
	if err != nil {
		return nil, err
	}
	pl.addScalars(s, got)
	if len(pl.columns) > 0 {
		vars, err := t.Walk(ctx, pl.columns)
		if err != nil {
			return nil, err
		}
		pl.addColumns(s, t, vars)
	}
	if err := pl.readLabels(ctx, t, s); err != nil {
		return nil, err
	}
	return s, nil
}

// addScalars files the GET's varbinds by position; an agent that answers
// in another order (or an SNMPv1 absent instance) is matched by name.
func (pl *plan) addScalars(s *snapshot, got []gosnmp.SnmpPDU) {
	for i := range s.scalars {
		s.scalars[i] = gosnmp.SnmpPDU{Name: pl.scalars[i], Type: gosnmp.NoSuchInstance}
	}
	for i, v := range got {
		if i < len(pl.scalars) && (v.Name == "" || v.Name == pl.scalars[i] || normOID(v.Name) == pl.scalars[i]) {
			v.Name = pl.scalars[i]
			s.scalars[i] = v
			continue
		}
		name := normOID(v.Name)
		if j := slices.Index(pl.scalars, name); j >= 0 {
			v.Name = name
			s.scalars[j] = v
		}
	}
}

// addColumns files walked varbinds by column. The stored varbinds carry
// their normalized name, which is column + "." + index.
//
// A walk returns the columns side by side (row after row, columns in
// plan order), so the column after the last one filled is tried first;
// the longest matching prefix is searched only when that guess fails or
// when another column lies below the guessed one. Rows of a column come in
// OID order from a walk; another Transport's are put in order here.
func (pl *plan) addColumns(s *snapshot, t Transport, vars []gosnmp.SnmpPDU) {
	n := len(pl.columns)
	s.vars = vars
	for k := range vars {
		name := normOID(vars[k].Name)
		col, idx := -1, ""
		if g := pl.lastCol; !pl.colHasDescendant[g] && strings.HasPrefix(name, pl.prefixes[g]) {
			col, idx = g, name[len(pl.prefixes[g]):]
		} else {
			for _, c := range pl.byLength {
				if strings.HasPrefix(name, c.prefix) {
					col, idx = c.col, name[len(c.prefix):]
					break
				}
			}
			if col < 0 {
				continue
			}
		}
		pl.lastCol = (col + 1) % n
		vars[k].Name = name
		c := &s.cols[col]
		c.idx = append(c.idx, idx)
		c.at = append(c.at, int32(k))
	}
	if _, ordered := t.(orderedWalker); !ordered {
		for i := range s.cols {
			s.cols[i].order()
		}
	}
}

// orderedWalker is a Transport whose walks return each column's rows in
// strictly increasing OID order (gosnmpTransport checks every step).
type orderedWalker interface{ walksInOrder() }

// order sorts the rows by OID and keeps the last of duplicates, unless
// they already are in strictly increasing order (as walked).
func (c *column) order() {
	sorted := true
	for k := 1; k < len(c.idx); k++ {
		if compareOID(c.idx[k-1], c.idx[k]) >= 0 {
			sorted = false
			break
		}
	}
	if sorted {
		return
	}
	perm := make([]int, len(c.idx))
	for k := range perm {
		perm[k] = k
	}
	slices.SortStableFunc(perm, func(a, b int) int { return compareOID(c.idx[a], c.idx[b]) })
	idx := make([]string, 0, len(perm))
	at := make([]int32, 0, len(perm))
	for _, k := range perm {
		if len(idx) > 0 && idx[len(idx)-1] == c.idx[k] {
			at[len(at)-1] = c.at[k] // the last answer wins
			continue
		}
		idx = append(idx, c.idx[k])
		at = append(at, c.at[k])
	}
	c.idx, c.at = idx, at
}

// readLabels follows label chains past their first step with batched GETs,
// one round trip per step. Rows whose meter is cached for the same first
// step value need no lookup while the cache is fresh.
func (pl *plan) readLabels(ctx context.Context, t Transport, s *snapshot) error {
	if len(pl.chained) == 0 {
		return nil
	}
	now := time.Now
	if pl.now != nil {
		now = pl.now
	}
	if at := now(); pl.labelsAt.IsZero() || at.Sub(pl.labelsAt) >= labelTTL || at.Before(pl.labelsAt) {
		pl.labelsAt = at
		for _, i := range pl.chained {
			pl.meters[pl.meterOf[i]].entries = nil // looked up again
		}
	}
	// The rows that need their chain followed: not cached, or cached for
	// another first-step value.
	type pending struct{ metric, row int }
	var rows []pending
	for _, i := range pl.chained {
		mp := &pl.compiled[i]
		col := &s.cols[mp.col]
		cache := &pl.meters[pl.meterOf[i]]
		for k, idx := range col.idx {
			if at, ok := cache.find(idx, k); ok {
				if v, ok := s.find(mp.label[0].col, idx, k); ok && depOf(v).equalKept(cache.entries[at].dep) {
					continue
				}
			}
			rows = append(rows, pending{i, k})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	s.extra = map[string]gosnmp.SnmpPDU{} // dropped with the snapshot's values after the poll
	for step := 1; ; step++ {
		want := map[string]bool{}
		var oids []string
		hits := 0
		for _, r := range rows {
			mp := &pl.compiled[r.metric]
			if len(mp.label) <= step {
				continue
			}
			idx := s.cols[mp.col].idx[r.row]
			prev, ok := pl.labelStep(s, mp, idx, r.row, step-1)
			if !ok {
				continue
			}
			next, ok := indexFrom(prev)
			if !ok {
				continue
			}
			o := mp.label[step].column + "." + next + mp.label[step].suffix
			if _, have := s.extra[o]; have || want[o] {
				hits++
				continue
			}
			want[o] = true
			oids = append(oids, o)
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
			}
		}
	}
}

// labelStep returns the varbind of label step k for row idx (at position
// hint in the metric's column), from this poll's lookups.
func (pl *plan) labelStep(s *snapshot, mp *metricPlan, idx string, hint, k int) (gosnmp.SnmpPDU, bool) {
	v, ok := s.find(mp.label[0].col, idx, hint)
	if !ok {
		return v, false
	}
	for i := 1; i <= k; i++ {
		next, ok := indexFrom(v)
		if !ok {
			return v, false
		}
		if v, ok = s.extra[mp.label[i].column+"."+next+mp.label[i].suffix]; !ok {
			return v, false
		}
	}
	return v, true
}

// evaluate turns a snapshot into readings, in metric order. Absent
// instances give no reading; values of the wrong type are skipped with a
// debug message. The slice is the plan's own, valid until the next
// evaluate. Several readings of one meter and field may come out (fallback
// metrics): the first is the one that counts (toSamples, publicReadings).
func (pl *plan) evaluate(s *snapshot, log *slog.Logger) []reading {
	if pl.out == nil {
		pl.out = *readingBufs.Get().(*[]reading)
	}
	out := pl.out[:0]
	for i, m := range pl.metrics {
		mp := &pl.compiled[i]
		if mp.col < 0 {
			v := s.scalars[mp.scalar]
			if r, ok := pl.reading(m, v, pl.scalars[mp.scalar], m.Meter, 0, 0, 0, log); ok {
				out = append(out, r)
			}
			continue
		}
		var sum *reading
		col := &s.cols[mp.col]
		for k, idx := range col.idx {
			v := s.vars[col.at[k]]
			if !s.keep(m, mp, idx, k) {
				continue
			}
			var digits, esScale, esPrec float64
			var err error
			if mp.digits >= 0 {
				if digits, err = s.sameRow(mp.digits, idx, k); err != nil {
					log.Debug("snmp: no decimal digits", "oid", v.Name, "err", err)
					continue
				}
			}
			if mp.esScale >= 0 {
				if esScale, err = s.sameRow(mp.esScale, idx, k); err != nil {
					log.Debug("snmp: no sensor scale", "oid", v.Name, "err", err)
					continue
				}
				if esPrec, err = s.sameRow(mp.esPrec, idx, k); err != nil {
					log.Debug("snmp: no sensor precision", "oid", v.Name, "err", err)
					continue
				}
			}
			if m.Sum {
				r, ok := pl.reading(m, v, v.Name, m.Meter, digits, esScale, esPrec, log)
				if !ok {
					continue
				}
				if sum == nil {
					r.oid = mp.column
					out = append(out, r)
					sum = &out[len(out)-1]
				} else {
					sum.value += r.value
					sum.raw += r.raw
				}
				continue
			}
			r, ok := pl.reading(m, v, v.Name, "", digits, esScale, esPrec, log)
			if !ok {
				continue
			}
			r.meter = pl.meter(i, s, idx, k)
			out = append(out, r)
		}
	}
	pl.out = out
	for c := range pl.meters {
		pl.meters[c].entries = exactly(pl.meters[c].entries)
	}
	return out
}

// exactly returns s in an array of its length: a slice grown by append
// has up to twice the room, and plans live as long as their device.
func exactly[S ~[]E, E any](s S) S {
	if cap(s) == len(s) {
		return s
	}
	out := make(S, len(s))
	copy(out, s)
	return out
}

func (pl *plan) reading(m *Metric, v gosnmp.SnmpPDU, oid, meter string, digits, esScale, esPrec float64, log *slog.Logger) (reading, bool) {
	raw, err := Number(v)
	if err != nil {
		if !errors.Is(err, errAbsent) {
			log.Debug("snmp: value skipped", "profile", pl.profile.Name, "oid", oid, "err", err)
		}
		return reading{}, false
	}
	if m.AbsentBelow != nil && raw < *m.AbsentBelow {
		// The MIB's "not available" sentinel: absent, never a value.
		return reading{}, false
	}
	r := reading{m: m, meter: meter, oid: oid, raw: raw}
	if m.Field == "on_battery" {
		for _, t := range m.TrueWhen {
			if float64(t) == raw {
				r.value = 1
			}
		}
		return r, true
	}
	r.value, err = scaleValue(m, raw, digits, esScale, esPrec)
	if err != nil {
		log.Debug("snmp: value skipped", "profile", pl.profile.Name, "oid", oid, "err", err)
		return reading{}, false
	}
	return r, true
}

func (s *snapshot) sameRow(col int, idx string, hint int) (float64, error) {
	v, ok := s.find(col, idx, hint)
	if !ok {
		return 0, errAbsent
	}
	return Number(v)
}

func (s *snapshot) keep(m *Metric, mp *metricPlan, idx string, hint int) bool {
	for i, c := range m.Where {
		var val float64
		if c.Arc > 0 {
			a, ok := arc(idx, c.Arc)
			if !ok {
				return false
			}
			val = float64(a)
		} else {
			v, err := s.sameRow(mp.where[i].col, idx, hint)
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

// meter returns the meter of row idx (at position k) of metric i, from the
// cache when the row, its label's source value and its chain unit are
// those of the last poll.
func (pl *plan) meter(i int, s *snapshot, idx string, k int) string {
	m, mp := pl.metrics[i], &pl.compiled[i]
	if mp.literal && m.Chain == nil {
		return m.Meter
	}
	var dep labelDep
	var labelPDU gosnmp.SnmpPDU
	if mp.hasLbl {
		if v, ok := s.find(mp.label[0].col, idx, k); ok {
			labelPDU = v
			dep = depOf(v)
		}
	}
	unit, hasUnit := s.chainUnit(m, mp, idx, k)
	cache := &pl.meters[pl.meterOf[i]]
	at, found := cache.find(idx, k)
	if found {
		if e := &cache.entries[at]; dep.equalKept(e.dep) && e.unit == unit {
			return e.meter
		}
	}
	meter := pl.buildMeter(s, m, mp, idx, k, labelPDU, dep.ok, unit, hasUnit)
	e := meterEntry{dep: dep.kept(), unit: unit, meter: meter}
	if found {
		e.idx = cache.entries[at].idx
		cache.entries[at] = e
	} else {
		// idx is a slice of the agent's answer: a copy keeps the answer out of the cache.
		e.idx = strings.Clone(idx)
		cache.entries = slices.Insert(cache.entries, at, e)
	}
	return meter
}

// chainUnit returns the daisy-chain unit of a row (by arc or column).
func (s *snapshot) chainUnit(m *Metric, mp *metricPlan, idx string, k int) (float64, bool) {
	c := m.Chain
	if c == nil {
		return 0, false
	}
	if c.Arc > 0 {
		a, ok := arc(idx, c.Arc)
		return float64(a), ok
	}
	v, err := s.sameRow(mp.chain, idx, k)
	return v, err == nil
}

func (pl *plan) buildMeter(s *snapshot, m *Metric, mp *metricPlan, idx string, k int, labelPDU gosnmp.SnmpPDU, haveLabel bool, unit float64, hasUnit bool) string {
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
				v, ok := labelPDU, haveLabel
				if len(mp.label) > 1 {
					v, ok = pl.labelStep(s, mp, idx, k, len(mp.label)-1)
				}
				if ok {
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
	if c := m.Chain; c != nil && hasUnit && int(unit) != c.First {
		out = "unit" + strconv.Itoa(int(unit)-c.First+1) + "/" + out
	}
	return out
}

// depOf returns a label source value in a comparable form. Text stays a
// view of the agent's bytes until own is called.
func depOf(v gosnmp.SnmpPDU) labelDep {
	switch x := v.Value.(type) {
	case []byte:
		return labelDep{ok: true, raw: x}
	case string:
		return labelDep{ok: true, txt: x}
	}
	if f, err := Number(v); err == nil {
		return labelDep{ok: true, num: f, isN: true}
	}
	return labelDep{ok: true, txt: "\x00" + v.Type.String()}
}

// kept copies a dependency out of the agent's buffer to be cached.
func (d labelDep) kept() keptDep {
	k := keptDep{num: d.num, txt: d.txt, ok: d.ok, isN: d.isN}
	if d.raw != nil {
		k.txt = string(d.raw)
	}
	return k
}

// equalKept compares a dependency with a cached one; comparing a []byte
// with a string this way does not allocate.
func (d labelDep) equalKept(o keptDep) bool {
	if d.ok != o.ok || d.isN != o.isN || d.num != o.num {
		return false
	}
	if d.raw != nil {
		return string(d.raw) == o.txt
	}
	return d.txt == o.txt
}

// sanitize keeps a device-supplied label usable as a tag value.
func sanitize(s string) string {
	if !strings.ContainsAny(s, " \t,=\"") {
		return s
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', ',', '=', '"':
			return '_'
		}
		return r
	}, s)
}

var discard = slog.New(slog.DiscardHandler)
