package snmp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gosnmp/gosnmp"
)

// V3User is an SNMPv3 USM user. The security level follows from the
// protocols: NoAuth gives noAuthNoPriv, NoPriv with auth gives authNoPriv.
// Requests must use exactly the user's level.
type V3User struct {
	Name     string
	Auth     gosnmp.SnmpV3AuthProtocol // gosnmp.SHA, gosnmp.SHA256, …
	AuthPass string
	Priv     gosnmp.SnmpV3PrivProtocol // gosnmp.AES, …
	PrivPass string
}

// Options configure an Agent.
type Options struct {
	// Listen is the UDP address, e.g. "127.0.0.1:0" for any free port.
	Listen string
	// Recordings are served one per community (v1/v2c) or context name
	// (v3), named by Recording.Name, like snmpsimd's --data-dir. A v3
	// request with an empty context name gets the only recording when
	// there is exactly one.
	Recordings []*Recording
	// Users are the SNMPv3 users; without any, v3 requests are refused.
	Users []V3User
	// Controls are the writable columns (see DefaultControls); a SET
	// anywhere else fails with notWritable. Nil: nothing is writable.
	Controls []ControlRule
	// OnSet, when set, is called with every SetRequest the agent receives
	// (whether it succeeds or not) and the name of the recording it was
	// addressed to, before it is applied: tests record every command sent.
	OnSet func(device string, vars []gosnmp.SnmpPDU)
	// Variation, when set, makes power values and counters move.
	Variation *Variation
	// Now is the clock (default time.Now); variation and sysUpTime-like
	// engine time count from Start.
	Now func() time.Time
	// Logger receives debug messages about dropped requests (default: none).
	Logger *slog.Logger
}

// Agent is a running simulated SNMP agent.
type Agent struct {
	conn     *net.UDPConn
	addr     netip.AddrPort
	devices  map[string]*device
	single   *device // the only device, for v3 requests without context
	users    map[string]*gosnmp.UsmSecurityParameters
	v12      *gosnmp.GoSNMP
	v3       *gosnmp.GoSNMP
	engineID string
	start    time.Time
	now      func() time.Time
	log      *slog.Logger
	onSet    func(string, []gosnmp.SnmpPDU)
	reports  atomic.Uint32 // usmStats* counters are reported as one count
	wg       sync.WaitGroup
	once     sync.Once
	done     chan struct{} // closed by shutdown
}

// maxMessage is the largest SNMP message over UDP (IPv4).
const maxMessage = 65507

// Start listens on opts.Listen and serves until ctx ends or Close is called.
func Start(ctx context.Context, opts Options) (*Agent, error) {
	if len(opts.Recordings) == 0 {
		return nil, errors.New("snmp sim: no recordings")
	}
	a := &Agent{
		devices: make(map[string]*device, len(opts.Recordings)),
		users:   make(map[string]*gosnmp.UsmSecurityParameters, len(opts.Users)),
		now:     opts.Now,
		log:     opts.Logger,
		onSet:   opts.OnSet,
		v12:     &gosnmp.GoSNMP{Version: gosnmp.Version2c},
		done:    make(chan struct{}),
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, rec := range opts.Recordings {
		if _, dup := a.devices[rec.Name]; dup {
			return nil, fmt.Errorf("snmp sim: two recordings named %q", rec.Name)
		}
		a.devices[rec.Name] = newDevice(rec, opts.Controls, opts.Variation)
	}
	if len(opts.Recordings) == 1 {
		a.single = a.devices[opts.Recordings[0].Name]
	}
	conn, err := listen(ctx, opts.Listen)
	if err != nil {
		return nil, err
	}
	a.conn = conn
	a.addr = conn.LocalAddr().(*net.UDPAddr).AddrPort()
	// A distinct engine ID per agent (RFC 3411 format 5, octets), so many
	// agents in one process do not share localized keys by accident.
	a.engineID = fmt.Sprintf("\x80\x00\x00\x00\x05ecometer-sim-%d", a.addr.Port())
	if err := a.setupV3(opts.Users); err != nil {
		conn.Close()
		return nil, err
	}
	a.start = a.now()
	a.wg.Add(2)
	go func() {
		defer a.wg.Done()
		a.serve()
	}()
	go func() {
		defer a.wg.Done()
		select {
		case <-ctx.Done():
			a.shutdown()
		case <-a.done:
		}
	}()
	return a, nil
}

func listen(ctx context.Context, address string) (*net.UDPConn, error) {
	var lc net.ListenConfig
	pc, err := lc.ListenPacket(ctx, "udp", address)
	if err != nil {
		return nil, fmt.Errorf("snmp sim: listen %s: %w", address, err)
	}
	return pc.(*net.UDPConn), nil
}

func (a *Agent) setupV3(users []V3User) error {
	table := gosnmp.NewSnmpV3SecurityParametersTable(gosnmp.Logger{})
	// The empty user lets engine discovery probes through to the report.
	if err := table.Add("", &gosnmp.UsmSecurityParameters{}); err != nil {
		return fmt.Errorf("snmp sim: v3 discovery user: %w", err)
	}
	for _, u := range users {
		sp := &gosnmp.UsmSecurityParameters{
			UserName:                 u.Name,
			AuthenticationProtocol:   u.Auth,
			AuthenticationPassphrase: u.AuthPass,
			PrivacyProtocol:          u.Priv,
			PrivacyPassphrase:        u.PrivPass,
			AuthoritativeEngineID:    a.engineID,
			AuthoritativeEngineBoots: 1,
		}
		if u.Auth == 0 {
			sp.AuthenticationProtocol = gosnmp.NoAuth
		}
		if u.Priv == 0 {
			sp.PrivacyProtocol = gosnmp.NoPriv
		}
		if u.Name == "" {
			return errors.New("snmp sim: v3 user without a name")
		}
		if err := table.Add(u.Name, sp.Copy()); err != nil {
			return fmt.Errorf("snmp sim: v3 user %q: %w", u.Name, err)
		}
		if err := sp.InitSecurityKeys(); err != nil {
			return fmt.Errorf("snmp sim: v3 user %q: %w", u.Name, err)
		}
		a.users[u.Name] = sp
	}
	a.v3 = &gosnmp.GoSNMP{Version: gosnmp.Version3, SecurityModel: gosnmp.UserSecurityModel}
	a.v3.SetTrapSecurityParametersTable(table)
	return nil
}

// Addr returns the bound UDP address.
func (a *Agent) Addr() netip.AddrPort { return a.addr }

// Close stops the agent and waits for it to finish.
func (a *Agent) Close() error {
	a.shutdown()
	a.wg.Wait()
	return nil
}

func (a *Agent) shutdown() {
	a.once.Do(func() {
		close(a.done)
		a.conn.Close()
	})
}

// maxRequest is the largest request the agent reads: RFC 3417 section 3.2
// asks agents to accept messages of at least 484 octets and recommends
// 8192; a request this size is far above what any manager sends, and a
// smaller buffer keeps hundreds of agents in one benchmark process small.
const maxRequest = 16384

func (a *Agent) serve() {
	buf := make([]byte, maxRequest)
	for {
		n, from, err := a.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			a.log.Debug("snmp sim: read", "err", err)
			continue
		}
		out, err := a.handle(buf[:n])
		if err != nil {
			a.log.Debug("snmp sim: request dropped", "from", from, "err", err)
			continue
		}
		if _, err := a.conn.WriteToUDPAddrPort(out, from); err != nil {
			a.log.Debug("snmp sim: write", "to", from, "err", err)
		}
	}
}

// handle answers one message, or returns an error saying why it is dropped.
func (a *Agent) handle(msg []byte) ([]byte, error) {
	version, err := messageVersion(msg)
	if err != nil {
		return nil, err
	}
	if version == gosnmp.Version3 {
		return a.handleV3(msg)
	}
	req, err := a.v12.SnmpDecodePacket(msg)
	if err != nil {
		return nil, fmt.Errorf("decode: %w", err)
	}
	dev := a.devices[req.Community]
	if dev == nil {
		return nil, fmt.Errorf("unknown community %q", req.Community)
	}
	resp, err := a.respond(dev, req, maxMessage)
	if err != nil {
		return nil, err
	}
	resp.Community = req.Community
	return resp.MarshalMsg()
}

// respond runs the PDU of req against dev and returns the Response-PDU.
func (a *Agent) respond(dev *device, req *gosnmp.SnmpPacket, maxSize int) (*gosnmp.SnmpPacket, error) {
	switch req.PDUType {
	case gosnmp.GetRequest, gosnmp.GetNextRequest, gosnmp.SetRequest:
	case gosnmp.GetBulkRequest:
		if req.Version == gosnmp.Version1 {
			return nil, errors.New("GetBulk in SNMPv1")
		}
	default:
		return nil, fmt.Errorf("unsupported PDU %v", req.PDUType)
	}
	if req.PDUType == gosnmp.SetRequest && a.onSet != nil {
		a.onSet(dev.name, req.Variables)
	}
	res := dev.serve(&request{
		version:        req.Version,
		pduType:        req.PDUType,
		vars:           req.Variables,
		nonRepeaters:   int(req.NonRepeaters),
		maxRepetitions: int(min(req.MaxRepetitions, 1<<16)),
		maxSize:        maxSize,
		elapsed:        a.now().Sub(a.start),
	})
	return &gosnmp.SnmpPacket{
		Version:    req.Version,
		PDUType:    gosnmp.GetResponse,
		RequestID:  req.RequestID,
		Error:      res.err,
		ErrorIndex: uint8(min(res.errIndex, 255)),
		Variables:  res.vars,
	}, nil
}

// USM report OIDs (RFC 3414 section 5).
const (
	usmStatsUnsupportedSecLevels = ".1.3.6.1.6.3.15.1.1.1.0"
	usmStatsUnknownUserNames     = ".1.3.6.1.6.3.15.1.1.3.0"
	usmStatsUnknownEngineIDs     = ".1.3.6.1.6.3.15.1.1.4.0"
	usmStatsWrongDigests         = ".1.3.6.1.6.3.15.1.1.5.0"
)

func (a *Agent) engineTime() uint32 {
	return uint32(a.now().Sub(a.start) / time.Second)
}

// handleV3 authenticates and decrypts with gosnmp (its trap-listener path,
// which checks the digest), answers the scoped PDU with the user's keys, and
// sends the RFC 3414 reports a manager needs: engine discovery, unknown
// user, wrong digest, wrong security level.
func (a *Agent) handleV3(msg []byte) ([]byte, error) {
	req, err := a.v3.UnmarshalTrap(msg, true)
	if err != nil {
		// Tell the manager why, as an agent does, from the plain header.
		hdr, _ := (&gosnmp.GoSNMP{}).SnmpDecodePacket(msg)
		sp, ok := hdr.SecurityParameters.(*gosnmp.UsmSecurityParameters)
		if !ok || hdr.Version != gosnmp.Version3 {
			return nil, fmt.Errorf("v3 decode: %w", err)
		}
		if a.users[sp.UserName] == nil {
			return a.report(hdr, usmStatsUnknownUserNames)
		}
		return a.report(hdr, usmStatsWrongDigests)
	}
	sp, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters)
	if !ok {
		return nil, errors.New("v3: not USM")
	}
	if sp.AuthoritativeEngineID != a.engineID {
		return a.report(req, usmStatsUnknownEngineIDs)
	}
	user := a.users[sp.UserName]
	if user == nil {
		return a.report(req, usmStatsUnknownUserNames)
	}
	level := gosnmp.NoAuthNoPriv
	if user.AuthenticationProtocol > gosnmp.NoAuth {
		level = gosnmp.AuthNoPriv
	}
	if user.PrivacyProtocol > gosnmp.NoPriv {
		level = gosnmp.AuthPriv
	}
	if req.MsgFlags&gosnmp.AuthPriv != level {
		return a.report(req, usmStatsUnsupportedSecLevels)
	}
	dev := a.devices[req.ContextName]
	if dev == nil && req.ContextName == "" {
		dev = a.single
	}
	if dev == nil {
		return nil, fmt.Errorf("unknown context %q", req.ContextName)
	}
	maxSize := maxMessage
	if req.MsgMaxSize > 0 {
		maxSize = min(maxSize, int(req.MsgMaxSize))
	}
	resp, err := a.respond(dev, req, maxSize)
	if err != nil {
		return nil, err
	}
	resp.MsgFlags = level
	resp.MsgID = req.MsgID
	resp.SecurityModel = gosnmp.UserSecurityModel
	resp.ContextEngineID = a.engineID
	resp.ContextName = req.ContextName
	user.AuthoritativeEngineTime = a.engineTime()
	resp.SecurityParameters = user
	if err := user.InitPacket(resp); err != nil {
		return nil, fmt.Errorf("v3 user %q: %w", user.UserName, err)
	}
	return resp.MarshalMsg()
}

// report answers a v3 message with an unauthenticated Report-PDU holding one
// usmStats counter.
func (a *Agent) report(req *gosnmp.SnmpPacket, oid string) ([]byte, error) {
	var user string
	if sp, ok := req.SecurityParameters.(*gosnmp.UsmSecurityParameters); ok {
		user = sp.UserName
	}
	resp := &gosnmp.SnmpPacket{
		Version:         gosnmp.Version3,
		PDUType:         gosnmp.Report,
		MsgFlags:        gosnmp.NoAuthNoPriv,
		MsgID:           req.MsgID,
		RequestID:       req.RequestID,
		SecurityModel:   gosnmp.UserSecurityModel,
		ContextEngineID: a.engineID,
		ContextName:     req.ContextName,
		SecurityParameters: &gosnmp.UsmSecurityParameters{
			UserName:                 user,
			AuthoritativeEngineID:    a.engineID,
			AuthoritativeEngineBoots: 1,
			AuthoritativeEngineTime:  a.engineTime(),
		},
		Variables: []gosnmp.SnmpPDU{{Name: oid, Type: gosnmp.Counter32, Value: a.reports.Add(1)}},
	}
	return resp.MarshalMsg()
}

// messageVersion reads the version field at the start of an SNMP message:
// SEQUENCE { INTEGER version, ... }.
func messageVersion(msg []byte) (gosnmp.SnmpVersion, error) {
	if len(msg) < 5 || msg[0] != 0x30 {
		return 0, errors.New("not an SNMP message")
	}
	i := 2
	if msg[1]&0x80 != 0 {
		i += int(msg[1] & 0x7f)
	}
	if i+2 >= len(msg) || msg[i] != 0x02 || msg[i+1] != 1 {
		return 0, errors.New("not an SNMP message: bad version field")
	}
	switch v := gosnmp.SnmpVersion(msg[i+2]); v {
	case gosnmp.Version1, gosnmp.Version2c, gosnmp.Version3:
		return v, nil
	default:
		return 0, fmt.Errorf("unsupported SNMP version %d", v)
	}
}
