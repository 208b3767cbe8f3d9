package snmp

import (
	"slices"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"
)

// device is one recording served under one community (v1/v2c) or context
// name (v3). Its variables are a private copy: SETs change them.
type device struct {
	name     string
	mu       sync.Mutex
	vars     []Var
	names    []string // OID strings of vars, with a leading dot
	controls []ControlRule
	vary     *Variation
}

func newDevice(rec *Recording, controls []ControlRule, vary *Variation) *device {
	d := &device{
		name:     rec.Name,
		vars:     rec.Vars,
		names:    recordingNames(rec),
		controls: controls,
		vary:     vary,
	}
	if len(controls) > 0 {
		// SETs change values: this device gets its own copy. Without
		// controls nothing is written, and the recording (with its OID
		// strings) is shared by every agent that serves it: a benchmark
		// runs hundreds of agents from one recording.
		d.vars = slices.Clone(rec.Vars)
	}
	return d
}

// names holds the OID strings of each recording, made once.
var names sync.Map // *Recording → []string

// recordingNames returns the OID strings of rec's variables, with a
// leading dot, shared by every device serving rec. A recording's variables
// must not change once it is served.
func recordingNames(rec *Recording) []string {
	if v, ok := names.Load(rec); ok {
		if n := v.([]string); len(n) == len(rec.Vars) {
			return n
		}
	}
	n := make([]string, len(rec.Vars))
	for i := range rec.Vars {
		n[i] = rec.Vars[i].OID.String()
	}
	names.Store(rec, n)
	return n
}

// find returns the index of oid, or where it would be inserted, and whether
// it is present.
func (d *device) find(oid OID) (int, bool) {
	return slices.BinarySearchFunc(d.vars, oid, func(v Var, o OID) int { return slices.Compare(v.OID, o) })
}

// visible reports whether variable i may be returned to a request of the
// given version: SNMPv1 cannot carry Counter64 (RFC 2576 section 4.1.2.1).
func (d *device) visible(i int, version gosnmp.SnmpVersion) bool {
	return version != gosnmp.Version1 || d.vars[i].Type != gosnmp.Counter64
}

func (d *device) pdu(i int, elapsed time.Duration) gosnmp.SnmpPDU {
	v := &d.vars[i]
	value := v.Value
	if d.vary != nil {
		value = d.vary.apply(v, elapsed)
	}
	return gosnmp.SnmpPDU{Name: d.names[i], Type: v.Type, Value: value}
}

// next returns the index of the first variable after oid that the version
// can see, or len(vars) past the end.
func (d *device) next(oid OID, version gosnmp.SnmpVersion) int {
	i, found := d.find(oid)
	if found {
		i++
	}
	for i < len(d.vars) && !d.visible(i, version) {
		i++
	}
	return i
}

// missing tells noSuchObject from noSuchInstance for an OID that is not in
// the recording. A recording has no MIB, so the rule is a heuristic: if a
// recorded OID lies below the requested OID's parent (a sibling instance of
// the same column or scalar exists), the object exists and only the instance
// is missing; otherwise the object itself is unknown, and so is any OID that
// names an inner node of the tree. (snmpsimd answers noSuchInstance to every
// missing OID; clients must treat both the same.)
func (d *device) missing(oid OID) gosnmp.Asn1BER {
	i, _ := d.find(oid)
	if i < len(d.vars) && d.vars[i].OID.HasPrefix(oid) {
		return gosnmp.NoSuchObject // an inner node, not an instance
	}
	parent := oid[:len(oid)-1]
	for _, j := range []int{i - 1, i} {
		if j >= 0 && j < len(d.vars) && len(d.vars[j].OID) > len(parent) && d.vars[j].OID.HasPrefix(parent) {
			return gosnmp.NoSuchInstance
		}
	}
	return gosnmp.NoSuchObject
}

// request holds what the PDU handlers need from a decoded message.
type request struct {
	version        gosnmp.SnmpVersion
	pduType        gosnmp.PDUType
	vars           []gosnmp.SnmpPDU
	nonRepeaters   int
	maxRepetitions int
	maxSize        int // largest response message the manager accepts
	elapsed        time.Duration
}

// response is the outcome of one request: a GetResponse-PDU body.
type response struct {
	err      gosnmp.SNMPError
	errIndex int // 1-based, as on the wire
	vars     []gosnmp.SnmpPDU
}

// headerBudget is room left in a message for everything but the varbinds
// (version, community or v3 header and USM parameters, PDU fields).
const headerBudget = 200

func (d *device) serve(r *request) response {
	d.mu.Lock()
	defer d.mu.Unlock()
	var res response
	switch r.pduType {
	case gosnmp.GetRequest:
		res = d.get(r)
	case gosnmp.GetNextRequest:
		res = d.getNext(r)
	case gosnmp.GetBulkRequest:
		return d.getBulk(r) // trims itself to fit
	case gosnmp.SetRequest:
		res = d.set(r)
	}
	if res.err == gosnmp.NoError && encodedSize(res.vars) > r.maxSize-headerBudget {
		return response{err: gosnmp.TooBig}
	}
	return res
}

// failV1 is the SNMPv1 form of an error: the request's varbinds come back
// unchanged with the error status and index (RFC 1157 section 4.1.2).
func failV1(r *request, status gosnmp.SNMPError, i int) response {
	return response{err: status, errIndex: i + 1, vars: r.vars}
}

func (d *device) get(r *request) response {
	out := make([]gosnmp.SnmpPDU, 0, len(r.vars))
	for k, vb := range r.vars {
		oid, err := ParseOID(vb.Name)
		i, found := 0, false
		if err == nil {
			i, found = d.find(oid)
		}
		if !found || !d.visible(i, r.version) {
			if r.version == gosnmp.Version1 {
				return failV1(r, gosnmp.NoSuchName, k)
			}
			typ := gosnmp.NoSuchObject
			if err == nil {
				typ = d.missing(oid)
			}
			out = append(out, gosnmp.SnmpPDU{Name: vb.Name, Type: typ})
			continue
		}
		out = append(out, d.pdu(i, r.elapsed))
	}
	return response{vars: out}
}

func (d *device) getNext(r *request) response {
	out := make([]gosnmp.SnmpPDU, 0, len(r.vars))
	for k, vb := range r.vars {
		i := len(d.vars)
		if oid, err := ParseOID(vb.Name); err == nil {
			i = d.next(oid, r.version)
		}
		if i >= len(d.vars) {
			if r.version == gosnmp.Version1 {
				return failV1(r, gosnmp.NoSuchName, k)
			}
			out = append(out, gosnmp.SnmpPDU{Name: vb.Name, Type: gosnmp.EndOfMibView})
			continue
		}
		out = append(out, d.pdu(i, r.elapsed))
	}
	return response{vars: out}
}

// getBulk follows RFC 3416 section 4.2.3: N non-repeaters get one successor
// each, then up to M rows of successors for the R repeaters, in row order. A
// repeater that reached the end keeps reporting endOfMibView so the rows stay
// aligned; the response ends early once a whole row is endOfMibView, and is
// cut to whole rows to fit the manager's message size.
func (d *device) getBulk(r *request) response {
	n := min(max(r.nonRepeaters, 0), len(r.vars))
	m := max(r.maxRepetitions, 0)
	budget := r.maxSize - headerBudget
	out := make([]gosnmp.SnmpPDU, 0, n+min(m*(len(r.vars)-n), 1024))
	size := 0
	add := func(vb gosnmp.SnmpPDU) bool {
		s := varbindSize(vb)
		if size+s > budget {
			return false
		}
		size += s
		out = append(out, vb)
		return true
	}
	cursor := make([]int, len(r.vars)) // variable each varbind is at; len(vars): past the end
	for k, vb := range r.vars {
		cursor[k] = len(d.vars)
		if oid, err := ParseOID(vb.Name); err == nil {
			cursor[k] = d.next(oid, r.version)
		}
	}
	for k := range n {
		vb := gosnmp.SnmpPDU{Name: r.vars[k].Name, Type: gosnmp.EndOfMibView}
		if cursor[k] < len(d.vars) {
			vb = d.pdu(cursor[k], r.elapsed)
		}
		if !add(vb) {
			return response{err: gosnmp.TooBig}
		}
	}
	names := make([]string, len(r.vars)) // name to report endOfMibView under
	for k := range r.vars {
		names[k] = r.vars[k].Name
	}
	for row := range m {
		if n == len(r.vars) {
			break
		}
		rowStart, rowSize, ended := len(out), size, 0
		for k := n; k < len(r.vars); k++ {
			if row > 0 && cursor[k] < len(d.vars) {
				cursor[k] = d.nextIndex(cursor[k], r.version)
			}
			vb := gosnmp.SnmpPDU{Name: names[k], Type: gosnmp.EndOfMibView}
			if cursor[k] < len(d.vars) {
				vb = d.pdu(cursor[k], r.elapsed)
				names[k] = vb.Name
			} else {
				ended++
			}
			if !add(vb) {
				out, size = out[:rowStart], rowSize
				return response{vars: out}
			}
		}
		if ended == len(r.vars)-n {
			break
		}
	}
	return response{vars: out}
}

// nextIndex returns the first variable after index i that the version can see.
func (d *device) nextIndex(i int, version gosnmp.SnmpVersion) int {
	i++
	for i < len(d.vars) && !d.visible(i, version) {
		i++
	}
	return i
}

// set applies a SET all or nothing (RFC 3416 section 4.2.5): every varbind is
// checked first, and only if all pass are they written.
func (d *device) set(r *request) response {
	type write struct {
		i      int
		rule   *ControlRule
		effect Effect
	}
	writes := make([]write, 0, len(r.vars))
	for k, vb := range r.vars {
		oid, err := ParseOID(vb.Name)
		if err != nil {
			return setError(r, gosnmp.NoCreation, k)
		}
		i, found := d.find(oid)
		rule := controlFor(d.controls, oid)
		switch {
		case rule == nil && found:
			return setError(r, gosnmp.NotWritable, k)
		case rule == nil || !found:
			return setError(r, gosnmp.NoCreation, k)
		}
		value, ok := vb.Value.(int)
		if vb.Type != gosnmp.Integer || d.vars[i].Type != gosnmp.Integer || !ok {
			return setError(r, gosnmp.WrongType, k)
		}
		effect, ok := rule.Effects[value]
		if !ok {
			return setError(r, gosnmp.WrongValue, k)
		}
		writes = append(writes, write{i: i, rule: rule, effect: effect})
	}
	for _, w := range writes {
		d.vars[w.i].Value = w.effect.Control
		if w.rule.Status == nil {
			continue
		}
		index := d.vars[w.i].OID[len(w.rule.Control):]
		status := append(slices.Clone(w.rule.Status), index...)
		if j, found := d.find(status); found && d.vars[j].Type == gosnmp.Integer {
			d.vars[j].Value = w.effect.Status
		}
	}
	return response{vars: r.vars}
}

// setError reports a failed SET; SNMPv1 has fewer error codes (RFC 2576
// section 4.3).
func setError(r *request, status gosnmp.SNMPError, i int) response {
	if r.version == gosnmp.Version1 {
		switch status {
		case gosnmp.NotWritable, gosnmp.NoCreation:
			status = gosnmp.NoSuchName
		case gosnmp.WrongType, gosnmp.WrongValue:
			status = gosnmp.BadValue
		}
	}
	return response{err: status, errIndex: i + 1, vars: r.vars}
}

// varbindSize is an upper bound of the BER size of one varbind.
func varbindSize(vb gosnmp.SnmpPDU) int {
	n := 12 + len(vb.Name) // a dotted arc never encodes longer than its text
	switch v := vb.Value.(type) {
	case []byte:
		n += len(v)
	case string:
		n += len(v)
	default:
		n += 9
	}
	return n
}

func encodedSize(vbs []gosnmp.SnmpPDU) int {
	n := 0
	for _, vb := range vbs {
		n += varbindSize(vb)
	}
	return n
}
