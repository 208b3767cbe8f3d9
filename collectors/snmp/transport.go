package snmp

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
)

// Transport is the collector's only view of the network: batched GETs and
// walks of table columns. One Transport serves one device and is used by one
// goroutine at a time (gosnmp is not goroutine-safe). Tests use a map-backed
// fake; production uses the gosnmp implementation from Dial.
type Transport interface {
	// Get fetches the given instances, in as few PDUs as possible. Instances
	// the agent does not have come back as NoSuchObject/NoSuchInstance.
	Get(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error)
	// Walk returns every varbind below each root (table columns), walking
	// the roots side by side: GETBULK where the device can, GETNEXT where not.
	// The returned slice may be reused by the next Walk (copy what is kept),
	// and the caller may overwrite it.
	Walk(ctx context.Context, roots []string) ([]gosnmp.SnmpPDU, error)
	// Next is one GETNEXT step for each OID (used to probe standard MIBs).
	Next(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error)
	// Close releases the socket.
	Close() error
}

// Version is an SNMP protocol version as written in config: "1", "2c", "3".
type Version string

// Protocol versions.
const (
	V1  Version = "1"
	V2c Version = "2c"
	V3  Version = "3"
)

// V3Auth are SNMPv3 USM credentials. The security level follows from what
// is set: AuthProtocol without PrivProtocol is authNoPriv, both authPriv.
// Passphrases are never logged or printed.
type V3Auth struct {
	User         string
	AuthProtocol string // SHA, SHA224, SHA256, SHA384, SHA512 (MD5 accepted, discouraged)
	AuthPass     string
	PrivProtocol string // AES, AES192, AES256, AES192C, AES256C (DES accepted, discouraged)
	PrivPass     string
	Context      string // context name (empty for most agents)
}

// String hides the passphrases.
func (a V3Auth) String() string {
	return fmt.Sprintf("v3 user %q auth %s priv %s", a.User, a.AuthProtocol, a.PrivProtocol)
}

// Conn says how to reach one device.
type Conn struct {
	Addr      string
	Port      uint16 // default 161
	Version   Version
	Community string // v1/v2c; never logged
	V3        *V3Auth
	Timeout   time.Duration // per request, default 2s
	Retries   int           // default 1
	// MaxRepetitions for GETBULK (default 10). Halved and remembered for
	// the device when a bulk request times out or is tooBig, and doubled
	// back (never above this value) after walks without trouble.
	MaxRepetitions uint32
	// KeepOpen keeps a v1/v2c device's socket between polls. Without it
	// the socket and gosnmp's 64 KiB receive buffer are let go after each
	// poll and made again for the next, which bounds memory for many
	// devices at a CPU cost per poll (see Transport.Release). SNMPv3
	// sessions always stay open.
	KeepOpen bool
}

func (c Conn) withDefaults() Conn {
	if c.Port == 0 {
		c.Port = 161
	}
	if c.Version == "" {
		c.Version = V2c
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Second
	}
	if c.Retries < 0 {
		c.Retries = 0
	} else if c.Retries == 0 {
		c.Retries = 1
	}
	if c.MaxRepetitions == 0 {
		c.MaxRepetitions = 10
	}
	return c
}

// AuthProtocol parses an SNMPv3 authentication protocol name (SHA, SHA-256 …;
// case and dashes do not matter).
func AuthProtocol(s string) (gosnmp.SnmpV3AuthProtocol, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "-", "")) {
	case "":
		return gosnmp.NoAuth, nil
	case "MD5":
		return gosnmp.MD5, nil
	case "SHA", "SHA1":
		return gosnmp.SHA, nil
	case "SHA224":
		return gosnmp.SHA224, nil
	case "SHA256":
		return gosnmp.SHA256, nil
	case "SHA384":
		return gosnmp.SHA384, nil
	case "SHA512":
		return gosnmp.SHA512, nil
	}
	return 0, fmt.Errorf("unknown SNMPv3 auth protocol %q (want SHA, SHA224, SHA256, SHA384, SHA512)", s)
}

// PrivProtocol parses an SNMPv3 privacy protocol name (AES, AES-256 …).
func PrivProtocol(s string) (gosnmp.SnmpV3PrivProtocol, error) {
	switch strings.ToUpper(strings.ReplaceAll(s, "-", "")) {
	case "":
		return gosnmp.NoPriv, nil
	case "DES":
		return gosnmp.DES, nil
	case "AES", "AES128":
		return gosnmp.AES, nil
	case "AES192":
		return gosnmp.AES192, nil
	case "AES256":
		return gosnmp.AES256, nil
	case "AES192C":
		return gosnmp.AES192C, nil
	case "AES256C":
		return gosnmp.AES256C, nil
	}
	return 0, fmt.Errorf("unknown SNMPv3 privacy protocol %q (want AES, AES192, AES256, AES192C, AES256C)", s)
}

// Dial prepares a gosnmp session for the device (UDP: no packet is sent yet).
func Dial(c Conn) (Transport, error) {
	c = c.withDefaults()
	t := &gosnmpTransport{conn: c, host: c.Addr, reps: c.MaxRepetitions, maxReps: c.MaxRepetitions,
		noBulk: c.Version == V1, v1: c.Version == V1, idle: c.Version != V3 && !c.KeepOpen}
	if err := t.connect(); err != nil {
		return nil, err
	}
	return t, nil
}

// session builds the gosnmp session of c, not connected.
func session(c Conn) (*gosnmp.GoSNMP, error) {
	g := &gosnmp.GoSNMP{
		Target:         c.Addr,
		Port:           c.Port,
		Transport:      "udp",
		Community:      c.Community,
		Timeout:        c.Timeout,
		Retries:        c.Retries,
		MaxOids:        gosnmp.MaxOids,
		MaxRepetitions: c.MaxRepetitions,
		Context:        context.Background(),
	}
	switch c.Version {
	case V1:
		g.Version = gosnmp.Version1
	case V2c:
		g.Version = gosnmp.Version2c
	case V3:
		if c.V3 == nil || c.V3.User == "" {
			return nil, fmt.Errorf("snmp %s: version 3 needs a user", c.Addr)
		}
		ap, err := AuthProtocol(c.V3.AuthProtocol)
		if err != nil {
			return nil, fmt.Errorf("snmp %s: %w", c.Addr, err)
		}
		pp, err := PrivProtocol(c.V3.PrivProtocol)
		if err != nil {
			return nil, fmt.Errorf("snmp %s: %w", c.Addr, err)
		}
		flags := gosnmp.NoAuthNoPriv
		switch {
		case pp != gosnmp.NoPriv && ap == gosnmp.NoAuth:
			return nil, fmt.Errorf("snmp %s: SNMPv3 privacy needs an auth protocol", c.Addr)
		case pp != gosnmp.NoPriv:
			flags = gosnmp.AuthPriv
		case ap != gosnmp.NoAuth:
			flags = gosnmp.AuthNoPriv
		}
		g.Version = gosnmp.Version3
		g.SecurityModel = gosnmp.UserSecurityModel
		g.MsgFlags = flags
		g.ContextName = c.V3.Context
		g.SecurityParameters = &gosnmp.UsmSecurityParameters{
			UserName:                 c.V3.User,
			AuthenticationProtocol:   ap,
			AuthenticationPassphrase: c.V3.AuthPass,
			PrivacyProtocol:          pp,
			PrivacyPassphrase:        c.V3.PrivPass,
		}
	default:
		return nil, fmt.Errorf("snmp %s: unknown SNMP version %q (want 1, 2c or 3)", c.Addr, c.Version)
	}
	return g, nil
}

// connect opens a session's socket (a fresh receive buffer with it).
func (t *gosnmpTransport) connect() error {
	g, err := session(t.conn)
	if err != nil {
		return err
	}
	if err := g.Connect(); err != nil {
		return fmt.Errorf("snmp %s: connect: %w", t.host, err)
	}
	t.g = g
	return nil
}

// Release closes the socket between polls of a v1/v2c device and lets its
// 64 KiB receive buffer (gosnmp allocates one per connection) go: 10,000
// devices would otherwise hold 640 MB of idle buffers and as many sockets.
// The next request connects again, which for UDP sends nothing. SNMPv3
// sessions stay open: they keep the agent's engine ID and time.
//
// The last walk's varbinds are dropped too, and for v1/v2c its buffer goes
// back to a pool shared by all devices: the buffers then number the polls
// in flight, not the devices. The caller must be done with them.
func (t *gosnmpTransport) Release() {
	clear(t.out[:cap(t.out)])
	if !t.idle {
		return
	}
	if t.out != nil {
		out := t.out[:0]
		varbindBufs.Put(&out)
		t.out = nil
	}
	if t.g == nil {
		return
	}
	if t.g.Conn != nil {
		t.g.Conn.Close()
	}
	t.g = nil
}

// varbindBufs holds walk buffers between polls (see Release).
var varbindBufs = sync.Pool{New: func() any { return new([]gosnmp.SnmpPDU) }}

// Recovery of a reduced max-repetitions: a timeout or tooBig may have been
// a passing fault (a busy agent, a lost packet), so after recoverAfter walks
// in a row without trouble the value is doubled again, up to the configured
// one; a device that fell back to GETNEXT tries GETBULK again (from one
// repetition) after bulkRetryAfter such walks. A new failure halves it
// again and restarts the count.
const (
	recoverAfter   = 8
	bulkRetryAfter = 32
)

// gosnmpTransport is the real Transport. It remembers per device what the
// agent coped with: the max-repetitions that worked, and whether GETBULK
// works at all.
type gosnmpTransport struct {
	g       *gosnmp.GoSNMP // nil while released between polls
	conn    Conn           // what connect makes a session of
	idle    bool           // release the socket between polls (v1/v2c)
	host    string
	reps    uint32           // max-repetitions in use
	maxReps uint32           // configured max-repetitions (the recovery cap)
	noBulk  bool             // GETNEXT walks
	v1      bool             // SNMPv1: GETNEXT for good
	reduced bool             // the current walk had to reduce reps or fall back
	okWalks int              // walks in a row without a reduction, at reduced settings
	out     []gosnmp.SnmpPDU // the last walk's varbinds, reused by the next
}

// settle is called after each successful walk: it counts walks without
// trouble and steps reps back up towards the configured value.
func (t *gosnmpTransport) settle() {
	reduced := t.reduced
	t.reduced = false
	if reduced || t.v1 || (!t.noBulk && t.reps >= t.maxReps) {
		t.okWalks = 0
		return
	}
	t.okWalks++
	switch {
	case t.noBulk && t.okWalks >= bulkRetryAfter:
		t.noBulk, t.reps, t.okWalks = false, 1, 0
	case !t.noBulk && t.okWalks >= recoverAfter:
		t.reps, t.okWalks = min(t.reps*2, t.maxReps), 0
	}
}

// walksInOrder: take accepts a column's next varbind only when it sorts
// after the cursor.
func (t *gosnmpTransport) walksInOrder() {}

func (t *gosnmpTransport) Close() error {
	if t.g == nil || t.g.Conn == nil {
		return nil
	}
	err := t.g.Conn.Close()
	t.g = nil
	return err
}

// bind connects a released session and gives it the request's context.
func (t *gosnmpTransport) bind(ctx context.Context) error {
	if t.g == nil {
		if err := t.connect(); err != nil {
			return err
		}
	}
	if ctx == nil {
		ctx = context.Background()
	}
	t.g.Context = ctx
	return nil
}

func (t *gosnmpTransport) maxOids() int {
	if t.g != nil && t.g.MaxOids > 0 {
		return t.g.MaxOids
	}
	return gosnmp.MaxOids
}

func (t *gosnmpTransport) Get(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	if err := t.bind(ctx); err != nil {
		return []gosnmp.SnmpPDU{}, err
	}
	if len(oids) > 0 && len(oids) <= t.maxOids() {
		out, err := t.getBatch(oids)
		if err != nil {
			return []gosnmp.SnmpPDU{}, err
		}
		return out, nil
	}
	out := make([]gosnmp.SnmpPDU, 0, len(oids))
	for start := 0; start < len(oids); start += t.maxOids() {
		batch := oids[start:min(start+t.maxOids(), len(oids))]
		got, err := t.getBatch(batch)
		if err != nil {
			return out, err
		}
		out = append(out, got...)
	}
	return out, nil
}

// getBatch is one GET, except that an SNMPv1 agent answers a missing
// instance with noSuchName for the whole PDU: that varbind is marked absent
// and the rest asked again.
func (t *gosnmpTransport) getBatch(batch []string) ([]gosnmp.SnmpPDU, error) {
	var absent map[string]bool // made on the first noSuchName
	for {
		ask := batch
		if len(absent) > 0 {
			ask = make([]string, 0, len(batch))
			for _, o := range batch {
				if !absent[o] {
					ask = append(ask, o)
				}
			}
		}
		var vars []gosnmp.SnmpPDU
		if len(ask) > 0 {
			res, err := t.g.Get(ask)
			if err != nil {
				return nil, fmt.Errorf("snmp %s: get %s…: %w", t.host, ask[0], classify(err))
			}
			if res.Error == gosnmp.NoSuchName && res.ErrorIndex > 0 && int(res.ErrorIndex) <= len(ask) {
				if absent == nil {
					absent = map[string]bool{}
				}
				absent[ask[res.ErrorIndex-1]] = true
				continue
			}
			if res.Error != gosnmp.NoError {
				return nil, fmt.Errorf("snmp %s: get %s…: agent error %v (index %d)", t.host, ask[0], res.Error, res.ErrorIndex)
			}
			vars = res.Variables
		}
		if len(absent) == 0 {
			return vars[:min(len(vars), len(batch)):min(len(vars), len(batch))], nil
		}
		out := make([]gosnmp.SnmpPDU, 0, len(batch))
		i := 0
		for _, o := range batch {
			if absent[o] {
				out = append(out, gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchInstance})
				continue
			}
			if i < len(vars) {
				out = append(out, vars[i])
				i++
			}
		}
		return out, nil
	}
}

func (t *gosnmpTransport) Next(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	if err := t.bind(ctx); err != nil {
		return nil, err
	}
	var out []gosnmp.SnmpPDU
	for start := 0; start < len(oids); start += t.maxOids() {
		batch := oids[start:min(start+t.maxOids(), len(oids))]
		for len(batch) > 0 {
			res, err := t.g.GetNext(batch)
			if err != nil {
				return out, fmt.Errorf("snmp %s: getnext %s: %w", t.host, batch[0], classify(err))
			}
			if res.Error == gosnmp.NoSuchName && res.ErrorIndex > 0 && int(res.ErrorIndex) <= len(batch) {
				// SNMPv1: nothing after this OID; report it as the end.
				i := int(res.ErrorIndex) - 1
				out = append(out, gosnmp.SnmpPDU{Name: batch[i], Type: gosnmp.EndOfMibView})
				batch = append(batch[:i:i], batch[i+1:]...)
				continue
			}
			if res.Error != gosnmp.NoError {
				return out, fmt.Errorf("snmp %s: getnext %s: agent error %v", t.host, batch[0], res.Error)
			}
			out = append(out, res.Variables...)
			break
		}
	}
	return out, nil
}

func (t *gosnmpTransport) Walk(ctx context.Context, roots []string) ([]gosnmp.SnmpPDU, error) {
	if err := t.bind(ctx); err != nil {
		return nil, err
	}
	if t.out == nil {
		t.out = *varbindBufs.Get().(*[]gosnmp.SnmpPDU)
	}
	out := t.out[:0]
	defer func() { t.out = out[:0] }()
	t.reduced = false
	for start := 0; start < len(roots); start += t.maxOids() {
		batch := roots[start:min(start+t.maxOids(), len(roots))]
		var err error
		out, err = t.walkBatch(ctx, batch, out)
		if err != nil {
			t.reduced, t.okWalks = false, 0
			return out, err
		}
	}
	t.settle()
	return out, nil
}

func (t *gosnmpTransport) walkBatch(ctx context.Context, roots []string, out []gosnmp.SnmpPDU) ([]gosnmp.SnmpPDU, error) {
	// The walk's state lives only while it walks: it is taken from a
	// pool, so the states number the walks in flight, not the devices.
	w := columnWalks.Get().(*columnWalk)
	w.reset(roots)
	defer columnWalks.Put(w)
	defer w.clear()
	for !w.done() {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		cursors := w.cursors()
		var res *gosnmp.SnmpPacket
		var err error
		if t.noBulk {
			res, err = t.g.GetNext(cursors)
		} else {
			res, err = t.g.GetBulk(cursors, 0, t.reps)
		}
		if err == nil && !t.noBulk && res.Error == gosnmp.TooBig {
			err = errTooBig
		}
		if err != nil {
			if ctx.Err() != nil {
				return out, fmt.Errorf("snmp %s: walk %s: %w", t.host, cursors[0], ctx.Err())
			}
			if !t.noBulk && (errors.Is(err, gosnmp.ErrMaxRetriesExceeded) || errors.Is(err, errTooBig)) {
				// Smaller responses first; at one repetition, plain GETNEXT.
				if t.reps > 1 {
					t.reps /= 2
				} else {
					t.noBulk = true
				}
				t.reduced = true
				continue
			}
			return out, fmt.Errorf("snmp %s: walk %s: %w", t.host, cursors[0], classify(err))
		}
		if t.noBulk && res.Error == gosnmp.NoSuchName && res.ErrorIndex > 0 {
			// SNMPv1 end of the MIB view for one varbind.
			w.finish(int(res.ErrorIndex) - 1)
			continue
		}
		if res.Error != gosnmp.NoError {
			if !t.noBulk && res.Error == gosnmp.GenErr {
				t.noBulk, t.reduced = true, true
				continue
			}
			return out, fmt.Errorf("snmp %s: walk %s: agent error %v", t.host, cursors[0], res.Error)
		}
		var progressed bool
		out, progressed = w.take(res.Variables, out)
		if !progressed {
			return out, fmt.Errorf("snmp %s: walk %s: agent returned no progress", t.host, cursors[0])
		}
	}
	return out, nil
}

var errTooBig = errors.New("response tooBig")

// classify makes gosnmp's errors say what a person needs to know.
func classify(err error) error {
	switch {
	case errors.Is(err, gosnmp.ErrMaxRetriesExceeded):
		return fmt.Errorf("%w (%v)", ErrTimeout, err)
	case errors.Is(err, gosnmp.ErrUnknownUsername), errors.Is(err, gosnmp.ErrWrongDigest),
		errors.Is(err, gosnmp.ErrUnknownSecurityLevel), errors.Is(err, gosnmp.ErrDecryption),
		errors.Is(err, gosnmp.ErrUnknownEngineID), errors.Is(err, gosnmp.ErrNotInTimeWindow):
		return fmt.Errorf("%w (%v)", ErrAuth, err)
	case strings.Contains(err.Error(), "wrong digest"), strings.Contains(err.Error(), "unknown username"),
		strings.Contains(err.Error(), "not authentic"):
		return fmt.Errorf("%w (%v)", ErrAuth, err)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("%w (%v)", ErrUnreachable, err)
	}
	return err
}

// Errors a caller can test for with errors.Is.
var (
	// ErrTimeout: the device did not answer (down, filtered, or — for v1/v2c —
	// a wrong community, which agents silently drop).
	ErrTimeout = errors.New("no answer (timeout)")
	// ErrUnreachable: the host refused (ICMP port unreachable: no agent).
	ErrUnreachable = errors.New("device unreachable")
	// ErrAuth: the SNMPv3 agent refused the credentials.
	ErrAuth = errors.New("SNMPv3 authentication failed")
	// ErrUnknownDevice: no profile matches the device.
	ErrUnknownDevice = errors.New("unknown device: no profile matches")
)

// columnWalk walks several columns side by side: every request asks for
// the next rows of every column not yet finished.
type columnWalk struct {
	roots  []string // with a leading dot, without a trailing one
	cursor []string
	active []int // indexes into roots still walking

	// buffers reused from request to request
	ask      []string
	finished []bool
}

// columnWalks holds walk states between walks.
var columnWalks = sync.Pool{New: func() any { return new(columnWalk) }}

// reset makes w a walk of roots from their start. Roots as plans keep
// them (a leading dot, no trailing one) are used as they are.
func (w *columnWalk) reset(roots []string) {
	w.roots = w.roots[:0]
	for _, r := range roots {
		if !strings.HasPrefix(r, ".") || strings.HasSuffix(r, ".") {
			r = "." + strings.Trim(r, ".")
		}
		w.roots = append(w.roots, r)
	}
	w.cursor = append(w.cursor[:0], w.roots...)
	w.active = w.active[:0]
	for i := range w.roots {
		w.active = append(w.active, i)
	}
}

// clear drops the walk's references to roots and answers.
func (w *columnWalk) clear() {
	clear(w.roots[:cap(w.roots)])
	clear(w.cursor[:cap(w.cursor)])
	clear(w.ask[:cap(w.ask)])
}

func (w *columnWalk) done() bool { return len(w.active) == 0 }

// cursors returns the OIDs of the next request; the slice is reused by the
// next call.
func (w *columnWalk) cursors() []string {
	w.ask = w.ask[:0]
	for _, a := range w.active {
		w.ask = append(w.ask, w.cursor[a])
	}
	return w.ask
}

// finish drops the i-th active column.
func (w *columnWalk) finish(i int) {
	if i >= 0 && i < len(w.active) {
		w.active = append(w.active[:i], w.active[i+1:]...)
	}
}

// take consumes a GETNEXT/GETBULK response (rows of len(active) varbinds)
// and reports whether any column advanced or finished.
func (w *columnWalk) take(vars []gosnmp.SnmpPDU, out []gosnmp.SnmpPDU) ([]gosnmp.SnmpPDU, bool) {
	n := len(w.active)
	if n == 0 {
		return out, false
	}
	if cap(w.finished) < n {
		w.finished = make([]bool, n)
	}
	finished := w.finished[:n]
	clear(finished)
	progressed := false
	for i, v := range vars {
		c := i % n
		if finished[c] {
			continue
		}
		col := w.active[c]
		name := v.Name
		if !strings.HasPrefix(name, ".") {
			name = "." + name
		}
		if v.Type == gosnmp.EndOfMibView || v.Type == gosnmp.NoSuchObject || v.Type == gosnmp.NoSuchInstance ||
			!underRoot(name, w.roots[col]) || !oidAfter(name, w.cursor[col]) {
			finished[c] = true
			progressed = true
			continue
		}
		v.Name = name
		out = append(out, v)
		w.cursor[col] = name
		progressed = true
	}
	if len(vars) == 0 {
		// Nothing at all: treat every column as finished.
		for i := range finished {
			finished[i] = true
		}
		progressed = true
	}
	keep := w.active[:0]
	for i, a := range w.active {
		if !finished[i] {
			keep = append(keep, a)
		}
	}
	w.active = keep
	return out, progressed
}

// underRoot reports whether name lies below root (".1.3.6.1.2.1.31.1" is
// not below ".1.3.6.1.2.1.3").
func underRoot(name, root string) bool {
	return len(name) > len(root) && name[len(root)] == '.' && strings.HasPrefix(name, root)
}

// oidAfter reports whether dotted OID a sorts after b, arc by arc.
func oidAfter(a, b string) bool {
	return compareOID(a, b) > 0
}

func compareOID(a, b string) int {
	a, b = strings.TrimPrefix(a, "."), strings.TrimPrefix(b, ".")
	// Skip the common prefix (a walk's next OID shares all but its last
	// arcs with the cursor), back to the start of the arc where they part.
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	if i == len(a) && i == len(b) {
		return 0
	}
	for i > 0 && a[i-1] != '.' {
		i--
	}
	a, b = a[i:], b[i:]
	for a != "" && b != "" {
		var x, y string
		x, a = cutArc(a)
		y, b = cutArc(b)
		if x == y {
			continue
		}
		if c, ok := compareDecimal(x, y); ok {
			return c
		}
		xi, err1 := strconv.ParseUint(x, 10, 64)
		yi, err2 := strconv.ParseUint(y, 10, 64)
		if err1 != nil || err2 != nil {
			return strings.Compare(x, y)
		}
		switch {
		case xi < yi:
			return -1
		case xi > yi:
			return 1
		}
	}
	switch {
	case a == "" && b == "":
		return 0
	case a == "":
		return -1
	}
	return 1
}

// cutArc splits off the first arc of a dotted OID.
func cutArc(s string) (arc, rest string) {
	if i := strings.IndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// compareDecimal compares two arcs in canonical decimal form (digits, no
// leading zero) without parsing: the longer number is the larger. ok is
// false for anything else.
func compareDecimal(x, y string) (int, bool) {
	if !canonicalDecimal(x) || !canonicalDecimal(y) {
		return 0, false
	}
	if len(x) != len(y) {
		if len(x) < len(y) {
			return -1, true
		}
		return 1, true
	}
	return strings.Compare(x, y), true
}

func canonicalDecimal(s string) bool {
	if s == "" || (s[0] == '0' && len(s) > 1) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
