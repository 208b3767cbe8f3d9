package snmp

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// BenchmarkCollect polls corpus recordings over loopback UDP: one op is one
// device poll (report device-polls/s = 1e9 / ns/op). The simulator runs in
// the same process, so its CPU is included; allocs/op are the collector's
// and gosnmp's (the simulator answers from a prepared recording).
func BenchmarkCollect(b *testing.B) {
	for _, name := range []string{"apc_ap8959eu3", "ios_2960x", "raritan-pdu_px2", "eaton-mgeups_93ps", "apc_smt750x-nmc2"} {
		b.Run(name, func(b *testing.B) {
			a := startCorpusAgent(b, name)
			c, err := New(Device{Target: collectors.Target{Device: "pdu"},
				Conn: Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: name, Timeout: 2 * time.Second}}, Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			at := time.Unix(600, 0)
			if _, err := c.Collect(b.Context(), at); err != nil { // detection
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := c.Collect(b.Context(), at); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
		})
	}
}

// recordingTransport answers from a parsed recording without a network,
// walks interleaved as GETBULK returns them, so BenchmarkPollOffline
// measures the collector's own work: no socket, no encoding, no simulator.
type recordingTransport struct {
	byOID map[string]gosnmp.SnmpPDU
	vars  []gosnmp.SnmpPDU // sorted
	walks map[string][]gosnmp.SnmpPDU
	out   []gosnmp.SnmpPDU // the walk's answer, which the caller may overwrite
}

func newRecordingTransport(rec *simsnmp.Recording) *recordingTransport {
	t := &recordingTransport{byOID: map[string]gosnmp.SnmpPDU{}, walks: map[string][]gosnmp.SnmpPDU{}}
	for _, v := range rec.Vars {
		p := gosnmp.SnmpPDU{Name: v.OID.String(), Type: v.Type, Value: v.Value}
		if p.Type == gosnmp.OctetString {
			if b, ok := p.Value.([]byte); ok {
				p.Value = b
			}
		}
		t.byOID[p.Name] = p
		t.vars = append(t.vars, p)
	}
	return t
}

func (t *recordingTransport) Get(_ context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	out := make([]gosnmp.SnmpPDU, len(oids))
	for i, o := range oids {
		if v, ok := t.byOID[o]; ok {
			out[i] = v
		} else {
			out[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchInstance}
		}
	}
	return out, nil
}

func (t *recordingTransport) Walk(_ context.Context, roots []string) ([]gosnmp.SnmpPDU, error) {
	key := strings.Join(roots, ",")
	if w, ok := t.walks[key]; ok {
		t.out = append(t.out[:0], w...)
		return t.out, nil
	}
	cols := make([][]gosnmp.SnmpPDU, len(roots))
	rows := 0
	for i, r := range roots {
		for _, v := range t.vars {
			if strings.HasPrefix(v.Name, r+".") {
				cols[i] = append(cols[i], v)
			}
		}
		rows = max(rows, len(cols[i]))
	}
	var out []gosnmp.SnmpPDU
	for k := range rows {
		for i := range cols {
			if k < len(cols[i]) {
				out = append(out, cols[i][k])
			}
		}
	}
	t.walks[key] = out
	t.out = append(t.out[:0], out...)
	return t.out, nil
}

func (t *recordingTransport) Next(ctx context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	f := &fakeTransport{vars: t.vars}
	return f.Next(ctx, oids)
}

func (t *recordingTransport) Close() error { return nil }

// BenchmarkPollOffline is one Collect of a corpus recording with the
// network taken out: the collector's own CPU and allocations per poll
// (plan.read's bookkeeping, evaluate, toSamples), which `ecometer bench
// snmp` shows as collector − floor.
func BenchmarkPollOffline(b *testing.B) {
	dir := corpusDirFor(b)
	for _, name := range []string{"apc_ap8959eu3", "ios_2960x", "raritan-pdu_px2", "eaton-mgeups_93ps", "apc_smt750x-nmc2", "sentry4", "eatonpdu_2", "vertiv-pdu_mn03edr1"} {
		b.Run(name, func(b *testing.B) {
			tr := newRecordingTransport(mustParse(b, dir, name))
			c, err := New(Device{Target: collectors.Target{Device: "d"}, Conn: Conn{Addr: "192.0.2.1"}},
				Options{Dial: func(Conn) (Transport, error) { return tr, nil }})
			if err != nil {
				b.Fatal(err)
			}
			at := time.Unix(600, 0)
			if _, err := c.Collect(b.Context(), at); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.Collect(b.Context(), at); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
