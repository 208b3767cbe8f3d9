package snmp

import (
	"context"
	"errors"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
)

// udpProxy sits on 127.0.0.1 between a transport and a simulated agent: it
// can drop the next requests (a lost packet, a busy agent) and rewrite
// every response (truncated or garbled packets).
type udpProxy struct {
	pc     net.PacketConn
	up     *net.UDPConn
	drop   atomic.Int32 // requests still to drop
	mangle func([]byte) []byte
	seen   atomic.Int32 // requests received
	wg     sync.WaitGroup
}

func startProxy(t *testing.T, upstream netip.AddrPort, mangle func([]byte) []byte) *udpProxy {
	t.Helper()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	up, err := net.DialUDP("udp4", nil, net.UDPAddrFromAddrPort(upstream))
	if err != nil {
		pc.Close()
		t.Fatal(err)
	}
	p := &udpProxy{pc: pc, up: up, mangle: mangle}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		pc.Close()
		up.Close()
		p.wg.Wait()
	})
	return p
}

func (p *udpProxy) port() uint16 { return uint16(p.pc.LocalAddr().(*net.UDPAddr).Port) }

func (p *udpProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	resp := make([]byte, 65535)
	for {
		n, from, err := p.pc.ReadFrom(buf)
		if err != nil {
			return
		}
		p.seen.Add(1)
		if p.drop.Load() > 0 {
			p.drop.Add(-1)
			continue
		}
		if _, err := p.up.Write(buf[:n]); err != nil {
			return
		}
		_ = p.up.SetReadDeadline(time.Now().Add(2 * time.Second))
		m, err := p.up.Read(resp)
		if err != nil {
			continue
		}
		out := append([]byte(nil), resp[:m]...)
		if p.mangle != nil {
			out = p.mangle(out)
		}
		if _, err := p.pc.WriteTo(out, from); err != nil {
			return
		}
	}
}

// TestRepsRecover: a timeout halves max-repetitions, and after
// recoverAfter walks without trouble it doubles back, never above the
// configured value.
func TestRepsRecover(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	p := startProxy(t, a.Addr(), nil)
	tr, err := Dial(Conn{Addr: "127.0.0.1", Port: p.port(), Community: "apc_ap8959eu3",
		Timeout: 100 * time.Millisecond, Retries: 1, MaxRepetitions: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	g := tr.(*gosnmpTransport)
	roots := []string{".1.3.6.1.4.1.318.1.1.26.4.3.1", ".1.3.6.1.4.1.318.1.1.26.6.3.1"}
	want, err := tr.Walk(t.Context(), roots)
	if err != nil || len(want) < 20 {
		t.Fatalf("first walk: %d varbinds, %v", len(want), err)
	}
	if g.reps != 8 {
		t.Fatalf("reps = %d after a clean walk, want 8", g.reps)
	}

	// Two timeouts (a request and its retry, twice): 8 → 4 → 2, and the
	// walk still completes.
	p.drop.Store(4)
	got, err := tr.Walk(t.Context(), roots)
	if err != nil || len(got) != len(want) {
		t.Fatalf("walk with lost packets: %d varbinds (want %d), %v", len(got), len(want), err)
	}
	if g.reps != 2 {
		t.Fatalf("reps = %d after two timeouts, want 2", g.reps)
	}

	// Recovery: 2 → 4 after recoverAfter clean walks, → 8 after as many
	// more, and never above the configured 8.
	for _, next := range []uint32{4, 8, 8} {
		before := g.reps
		for i := range recoverAfter {
			if g.reps != before {
				t.Fatalf("reps changed from %d to %d after %d walks", before, g.reps, i)
			}
			got, err := tr.Walk(t.Context(), roots)
			if err != nil || len(got) != len(want) {
				t.Fatalf("walk: %d varbinds, %v", len(got), err)
			}
		}
		if g.reps != next {
			t.Fatalf("reps = %d, want %d", g.reps, next)
		}
	}

	// A new failure during recovery halves again and restarts the count.
	p.drop.Store(2)
	if _, err := tr.Walk(t.Context(), roots); err != nil {
		t.Fatal(err)
	}
	if g.reps != 4 || g.okWalks != 0 {
		t.Fatalf("reps %d okWalks %d after a new timeout, want 4 and 0", g.reps, g.okWalks)
	}

	// GETNEXT fallback (reps exhausted) tries GETBULK again later.
	g.reps, g.noBulk, g.okWalks = 1, true, 0
	for range bulkRetryAfter {
		if _, err := tr.Walk(t.Context(), roots); err != nil {
			t.Fatal(err)
		}
	}
	if g.noBulk || g.reps != 1 {
		t.Fatalf("noBulk %v reps %d after %d clean GETNEXT walks, want GETBULK with 1", g.noBulk, g.reps, bulkRetryAfter)
	}
}

// TestRepsV1Stays: SNMPv1 has no GETBULK; nothing to recover.
func TestRepsV1Stays(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	tr, err := Dial(Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc_ap8959eu3", Version: V1, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	g := tr.(*gosnmpTransport)
	for range bulkRetryAfter + 1 {
		if _, err := tr.Walk(t.Context(), []string{".1.3.6.1.4.1.318.1.1.26.4.3.1"}); err != nil {
			t.Fatal(err)
		}
	}
	if !g.noBulk {
		t.Error("SNMPv1 transport switched to GETBULK")
	}
}

// countingTransport counts the requests the collector makes.
type countingTransport struct {
	Transport
	gets, walks atomic.Int32
}

func (c *countingTransport) Get(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	c.gets.Add(1)
	return c.Transport.Get(ctx, oids)
}

func (c *countingTransport) Walk(ctx context.Context, roots []string) ([]gosnmp.SnmpPDU, error) {
	c.walks.Add(1)
	return c.Transport.Walk(ctx, roots)
}

// TestLabelCache: PoE port names (two GETs per poll: entAliasMapping and
// ifName) are looked up once and reused; the cache is refreshed after
// labelTTL, and the meters stay the same.
func TestLabelCache(t *testing.T) {
	a := startCorpusAgent(t, "ios_2960x")
	ct := &countingTransport{}
	c, err := New(Device{Target: collectors.Target{Device: "sw"},
		Conn: Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "ios_2960x", Timeout: time.Second}},
		Options{Dial: func(conn Conn) (Transport, error) {
			tr, err := Dial(conn)
			ct.Transport = tr
			return ct, err
		}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	poll := func() (gets int32, meters map[string]float64) {
		t.Helper()
		before := ct.gets.Load()
		rs, err := c.Readings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		meters = map[string]float64{}
		for _, r := range rs {
			meters[r.Meter+"/"+r.Field] = r.Value
		}
		return ct.gets.Load() - before, meters
	}
	g1, m1 := poll() // detection GET + scalars + two label steps
	g2, m2 := poll()
	if c.Profile() == nil || c.Profile().Name != "cisco-switch" {
		t.Fatalf("profile %v", c.Profile())
	}
	poe := 0
	for k := range m1 {
		if len(k) > 4 && k[:4] == "poe/" {
			poe++
		}
	}
	if poe == 0 {
		t.Fatalf("no PoE readings: %v", m1)
	}
	if g2 != 1 || g2 >= g1-1 {
		t.Errorf("GETs per poll: first %d, second %d; want the second to be the scalar GET only", g1, g2)
	}
	if len(m1) != len(m2) {
		t.Errorf("meters changed: %v vs %v", m1, m2)
	}
	for k := range m1 {
		if _, ok := m2[k]; !ok {
			t.Errorf("meter %s missing on the cached poll", k)
		}
	}
	// After labelTTL the names are looked up again.
	later := time.Now().Add(labelTTL + time.Minute)
	c.plan.now = func() time.Time { return later }
	if g3, _ := poll(); g3 != g1-1 {
		t.Errorf("GETs after labelTTL: %d, want %d (the first poll without detection)", g3, g1-1)
	}
}

// TestLabelCacheNewRow: a row not seen before is looked up on the poll
// that first sees it, even while the cache is fresh.
func TestLabelCacheNewRow(t *testing.T) {
	const (
		port   = ".1.3.6.1.4.1.9.9.402.1.2.1.9"
		entPhy = ".1.3.6.1.4.1.9.9.402.1.2.1.11"
		alias  = ".1.3.6.1.2.1.47.1.3.2.1.2"
		ifName = ".1.3.6.1.2.1.31.1.1.1.1"
	)
	f := &fakeTransport{vars: []gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(5)},
		{Name: port + ".1.1", Type: gosnmp.Gauge32, Value: uint(4000)},
		{Name: entPhy + ".1.1", Type: gosnmp.Integer, Value: 1001},
		{Name: alias + ".1001.0", Type: gosnmp.ObjectIdentifier, Value: ifName[1:] + ".10101"},
		{Name: ifName + ".10101", Type: gosnmp.OctetString, Value: []byte("Gi1/0/1")},
	}}
	c := fakeCollector(t, "cisco-power-ethernet-ext", f, nil)
	labelGets := func() int {
		n := 0
		for _, call := range f.calls {
			if strings.HasPrefix(call, "get ") && call != "get "+oidSysUpTime {
				n++
			}
		}
		return n
	}
	meters := func() []string {
		rs, err := c.Readings(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, r := range rs {
			out = append(out, r.Meter)
		}
		return out
	}
	if m := meters(); len(m) != 1 || m[0] != "poe/Gi1/0/1" {
		t.Fatalf("meters %v", m)
	}
	first := labelGets()
	if m := meters(); len(m) != 1 || m[0] != "poe/Gi1/0/1" || labelGets() != first {
		t.Fatalf("second poll: meters %v, label GETs %d → %d", m, first, labelGets())
	}
	// A new port appears.
	f.vars = append(f.vars,
		gosnmp.SnmpPDU{Name: port + ".1.2", Type: gosnmp.Gauge32, Value: uint(2500)},
		gosnmp.SnmpPDU{Name: entPhy + ".1.2", Type: gosnmp.Integer, Value: 1002},
		gosnmp.SnmpPDU{Name: alias + ".1002.0", Type: gosnmp.ObjectIdentifier, Value: ifName[1:] + ".10102"},
		gosnmp.SnmpPDU{Name: ifName + ".10102", Type: gosnmp.OctetString, Value: []byte("Gi1/0/2")},
	)
	m := meters()
	if len(m) != 2 || m[1] != "poe/Gi1/0/2" {
		t.Fatalf("meters with the new port: %v", m)
	}
	if labelGets() != first+2 {
		t.Errorf("label GETs %d, want %d (two steps for the new port only)", labelGets(), first+2)
	}
	for _, call := range f.calls[len(f.calls)-2:] {
		if strings.HasPrefix(call, "get ") && strings.Contains(call, "1001") {
			t.Errorf("cached row asked again: %s", call)
		}
	}
}

// TestTruncatedPackets: an agent that answers every request with a
// truncated copy of a valid response, or with random bytes, makes the
// poll fail with an error within the timeout budget: no panic, no hang.
func TestTruncatedPackets(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	rng := rand.New(rand.NewPCG(1, 2))
	var mu sync.Mutex
	modes := map[string]func([]byte) []byte{
		"truncated": func(b []byte) []byte { return b[:len(b)/2] },
		"one byte short": func(b []byte) []byte {
			return b[:len(b)-1]
		},
		"random": func(b []byte) []byte {
			mu.Lock()
			defer mu.Unlock()
			out := make([]byte, 1+rng.IntN(len(b)))
			for i := range out {
				out[i] = byte(rng.UintN(256))
			}
			return out
		},
	}
	for name, mangle := range modes {
		t.Run(name, func(t *testing.T) {
			p := startProxy(t, a.Addr(), mangle)
			const timeout, retries = 150 * time.Millisecond, 1
			c, err := New(Device{Target: collectors.Target{Device: "pdu"},
				Conn: Conn{Addr: "127.0.0.1", Port: p.port(), Community: "apc_ap8959eu3", Timeout: timeout, Retries: retries}},
				Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			start := time.Now()
			got, err := c.Collect(t.Context(), time.Unix(600, 0))
			took := time.Since(start)
			if err == nil {
				// A garbled packet that still decodes is possible in
				// principle; then it must not have produced nonsense
				// silently as a "reachable" device with readings.
				t.Fatalf("no error from a %s response (%d samples)", name, len(got))
			}
			if !errors.Is(err, ErrTimeout) {
				t.Logf("error (not a timeout): %v", err)
			}
			if budget := timeout*(retries+1) + time.Second; took > budget {
				t.Errorf("took %v, budget %v", took, budget)
			}
			if p.seen.Load() == 0 {
				t.Error("the responder saw no request")
			}
		})
	}
}

// TestSocketBetweenPolls: by default a v1/v2c device's socket (and gosnmp's
// receive buffer) is let go after each poll and opened again for the next;
// with KeepOpen the same socket serves every poll. Both poll correctly.
func TestSocketBetweenPolls(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	for _, keep := range []bool{false, true} {
		var tr *gosnmpTransport
		c, err := New(Device{Conn: Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc_ap8959eu3", KeepOpen: keep}},
			Options{Dial: func(c Conn) (Transport, error) {
				t0, err := Dial(c)
				if err == nil {
					tr = t0.(*gosnmpTransport)
				}
				return t0, err
			}})
		if err != nil {
			t.Fatal(err)
		}
		var local string
		for i := range 3 {
			rs, err := c.Collect(t.Context(), time.Now())
			if err != nil || len(rs) == 0 {
				t.Fatalf("keep %v, poll %d: %d readings, %v", keep, i, len(rs), err)
			}
			// The first poll detects the profile: its socket is let go
			// too (10,000 devices held 640 MB of receive buffers from
			// detection until their second poll).
			switch {
			case !keep && tr.g != nil:
				t.Errorf("poll %d: the socket is still open between polls", i)
			case keep && tr.g == nil:
				t.Errorf("poll %d: KeepOpen, but the socket was closed", i)
			case keep:
				addr := tr.g.Conn.LocalAddr().String()
				if local != "" && addr != local {
					t.Errorf("poll %d: KeepOpen, but a new socket %s (was %s)", i, addr, local)
				}
				local = addr
			}
		}
		c.Close()
	}
}
