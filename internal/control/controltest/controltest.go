// Package controltest starts the simulated devices the power controller is
// tested against, over real UDP and HTTPS on loopback: an SNMP agent
// (internal/sim/snmp) serving switched PDUs and a PoE switch with every SET
// it receives recorded, and Redfish BMCs (internal/sim/redfish) serving the
// corpus's rack server mockup, with a fast fake clock shared by the BMCs
// and the controller.
package controltest

import (
	"context"
	"encoding/pem"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/internal/testenv"
)

// Clock is a fake clock: Sleep moves it forward at once. It is shared by
// the controller and the simulated BMCs, so a 5-minute shutdown timeout
// takes no real time.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock starts a clock at t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now is the clock's time.
func (c *Clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }

// Sleep advances the clock by d.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d > 0 {
		c.mu.Lock()
		c.t = c.t.Add(d)
		c.mu.Unlock()
	}
	return nil
}

// Set is one SET the SNMP simulator received.
type Set struct {
	Device string // the recording (community) it was sent to
	OID    string
	Value  any
}

// SNMP is a running agent and the SETs it received.
type SNMP struct {
	Agent *simsnmp.Agent
	mu    sync.Mutex
	sets  []Set
}

// Sets returns the SETs received so far.
func (s *SNMP) Sets() []Set {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Set(nil), s.sets...)
}

// Reset forgets the recorded SETs.
func (s *SNMP) Reset() { s.mu.Lock(); s.sets = nil; s.mu.Unlock() }

// Port is the agent's UDP port.
func (s *SNMP) Port() int { return int(s.Agent.Addr().Port()) }

// StartSNMP serves the recordings (community = recording name) with the
// default controls, recording every SET.
func StartSNMP(t testing.TB, recs ...*simsnmp.Recording) *SNMP {
	t.Helper()
	s := &SNMP{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := simsnmp.Start(ctx, simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs, Controls: simsnmp.DefaultControls(),
		OnSet: func(dev string, vars []gosnmp.SnmpPDU) {
			s.mu.Lock()
			defer s.mu.Unlock()
			for _, v := range vars {
				s.sets = append(s.sets, Set{Device: dev, OID: strings.TrimPrefix(v.Name, "."), Value: v.Value})
			}
		}})
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); cancel() })
	s.Agent = a
	return s
}

// Recording parses snmprec lines into a recording named name.
func Recording(t testing.TB, name string, lines []string) *simsnmp.Recording {
	t.Helper()
	rec, err := simsnmp.Parse(name+".snmprec", strings.NewReader(strings.Join(lines, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// CorpusRecording is a corpus recording with extra lines (control columns
// the recording lacks), served under name.
func CorpusRecording(t testing.TB, file, name string, extra []string) *simsnmp.Recording {
	t.Helper()
	data, err := os.ReadFile(testenv.CorpusPath(t, "snmp", file+".snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	return Recording(t, name, append(strings.Split(string(data), "\n"), extra...))
}

// APCOutlets are the PowerNet-MIB rPDU2 switched outlet rows of a PDU with
// n outlets, all on: Module (.2) 1, Number (.4), State (.5) on(2), and the
// control column (.26.9.2.4.1.5) reading immediateOn(1).
func APCOutlets(n int) []string {
	var out []string
	for i := 1; i <= n; i++ {
		out = append(out,
			fmt.Sprintf("1.3.6.1.4.1.318.1.1.26.9.2.3.1.2.%d|2|1", i),
			fmt.Sprintf("1.3.6.1.4.1.318.1.1.26.9.2.3.1.4.%d|2|%d", i, i),
			fmt.Sprintf("1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.%d|2|2", i),
			fmt.Sprintf("1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.%d|2|1", i))
	}
	return out
}

// PoEPorts are pethPsePortTable rows (group 1, ports 1…n, admin enabled,
// delivering power) and the CISCO-POWER-ETHERNET-EXT-MIB → ENTITY-MIB →
// IF-MIB chain that names port i Gi1/0/i (ifIndex 10100+i, entPhysical
// 1000+i).
func PoEPorts(n int) []string {
	out := []string{"1.3.6.1.2.1.1.1.0|4|sim PoE switch"}
	for i := 1; i <= n; i++ {
		out = append(out,
			fmt.Sprintf("1.3.6.1.2.1.105.1.1.1.3.1.%d|2|1", i),
			fmt.Sprintf("1.3.6.1.2.1.105.1.1.1.6.1.%d|2|3", i),
			fmt.Sprintf("1.3.6.1.4.1.9.9.402.1.2.1.11.1.%d|2|%d", i, 1000+i),
			fmt.Sprintf("1.3.6.1.2.1.47.1.3.2.1.2.%d.0|6|1.3.6.1.2.1.2.2.1.1.%d", 1000+i, 10100+i),
			fmt.Sprintf("1.3.6.1.2.1.31.1.1.1.1.%d|4|Gi1/0/%d", 10100+i, i))
	}
	return out
}

// BMC is a running simulated BMC.
type BMC struct {
	Sim *simredfish.BMC
	URL string
	CA  string // PEM file of its TLS certificate, for redfish.ca_file
}

// Mockup is the corpus rack server mockup.
func Mockup(t testing.TB) *simredfish.Mockup {
	t.Helper()
	m, err := simredfish.Load(testenv.CorpusPath(t, "redfish", "public-rackmount1"))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// StartBMC serves a simulated BMC over HTTPS on loopback; user admin,
// password "password".
func StartBMC(t testing.TB, opts simredfish.Options) *BMC {
	t.Helper()
	b, err := simredfish.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewTLSServer(b)
	t.Cleanup(srv.Close)
	ca := filepath.Join(t.TempDir(), "bmc-ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	return &BMC{Sim: b, URL: srv.URL, CA: ca}
}

// Commands counts the power commands a BMC received: POSTs of actions and
// PATCHes (power limits).
func (b *BMC) Commands() int {
	n := 0
	for k, v := range b.Sim.Requests() {
		if strings.HasPrefix(k, "PATCH ") || (strings.HasPrefix(k, "POST ") && strings.Contains(k, "/Actions/")) {
			n += v
		}
	}
	return n
}
