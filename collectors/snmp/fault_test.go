package snmp

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/models/sample"
)

// fakeTransport is the map mock: instances by OID, and a record of calls.
type fakeTransport struct {
	vars  []gosnmp.SnmpPDU // sorted by OID
	calls []string
	err   error
}

func (f *fakeTransport) Get(_ context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	f.calls = append(f.calls, "get "+strings.Join(oids, ","))
	if f.err != nil {
		return nil, f.err
	}
	out := make([]gosnmp.SnmpPDU, len(oids))
	for i, o := range oids {
		out[i] = gosnmp.SnmpPDU{Name: o, Type: gosnmp.NoSuchInstance}
		for _, v := range f.vars {
			if v.Name == o {
				out[i] = v
			}
		}
	}
	return out, nil
}

func (f *fakeTransport) Walk(_ context.Context, roots []string) ([]gosnmp.SnmpPDU, error) {
	f.calls = append(f.calls, "walk "+strings.Join(roots, ","))
	if f.err != nil {
		return nil, f.err
	}
	var out []gosnmp.SnmpPDU
	for _, r := range roots {
		for _, v := range f.vars {
			if strings.HasPrefix(v.Name, r+".") {
				out = append(out, v)
			}
		}
	}
	return out, nil
}

func (f *fakeTransport) Next(_ context.Context, oids []string) ([]gosnmp.SnmpPDU, error) {
	var out []gosnmp.SnmpPDU
	for _, o := range oids {
		next := gosnmp.SnmpPDU{Name: o, Type: gosnmp.EndOfMibView}
		for _, v := range f.vars {
			if compareOID(v.Name, o) > 0 {
				next = v
				break
			}
		}
		out = append(out, next)
	}
	return out, nil
}

func (f *fakeTransport) Close() error { return nil }

func fakeCollector(t *testing.T, profile string, f *fakeTransport, log *slog.Logger) *Collector {
	t.Helper()
	c, err := New(Device{Target: collectors.Target{Device: "d1", Class: "pdu"}, Conn: Conn{Addr: "192.0.2.1"}, Profile: profile},
		Options{Logger: log, Dial: func(Conn) (Transport, error) { return f, nil }})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestAbsentAndWrongTypes: noSuchObject/noSuchInstance give no field (never
// 0); wrong value types are skipped, never a panic.
func TestAbsentAndWrongTypes(t *testing.T) {
	f := &fakeTransport{vars: []gosnmp.SnmpPDU{
		{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(5)},
		{Name: ".1.3.6.1.2.1.33.1.2.3.0", Type: gosnmp.NoSuchObject},                // runtime: absent
		{Name: ".1.3.6.1.2.1.33.1.2.4.0", Type: gosnmp.IPAddress, Value: "1.2.3.4"}, // charge: wrong type
		{Name: ".1.3.6.1.2.1.33.1.4.1.0", Type: gosnmp.Integer, Value: 5},           // on battery
		{Name: ".1.3.6.1.2.1.33.1.4.4.1.2.1", Type: gosnmp.Integer, Value: "230"},   // wrong Go type
		{Name: ".1.3.6.1.2.1.33.1.4.4.1.3.1", Type: gosnmp.OctetString, Value: []byte("12")},
		{Name: ".1.3.6.1.2.1.33.1.4.4.1.4.1", Type: gosnmp.Integer, Value: 400},
		{Name: ".1.3.6.1.2.1.33.1.4.4.1.4.2", Type: gosnmp.NoSuchInstance},
		{Name: ".1.3.6.1.2.1.33.1.4.4.1.4.3", Type: gosnmp.OctetString, Value: []byte("NaN")},
	}}
	c := fakeCollector(t, "ups-mib", f, nil)
	at := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	got, err := c.Collect(t.Context(), at)
	if err != nil {
		t.Fatal(err)
	}
	fields := map[string]float64{}
	for _, s := range got {
		if err := s.Validate(); err != nil {
			t.Error(err)
		}
		if !s.Time.Equal(at) {
			t.Errorf("time %v", s.Time)
		}
		for _, fl := range s.Fields {
			fields[s.Measurement+"/"+s.Meter+"/"+fl.Name] = fl.Num
		}
	}
	want := map[string]float64{"ups/total/on_battery": 1, "ups/total/output_w": 400,
		"power/phase/L1/current_a": 1.2, "power/phase/L1/power_w": 400, "device//reachable": 1}
	for k, v := range want {
		if g, ok := fields[k]; !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
		}
	}
	for _, k := range []string{"ups/total/runtime_min", "ups/total/battery_charge_pct", "power/phase/L1/voltage_v",
		"power/phase/L2/power_w", "power/phase/L3/power_w"} {
		if _, ok := fields[k]; ok {
			t.Errorf("%s present, want absent", k)
		}
	}
	if _, ok := fields["device//poll_ms"]; !ok {
		t.Error("no poll_ms")
	}
	// Scalars in one batched GET, columns in one walk.
	var gets, walks int
	for _, c := range f.calls {
		switch {
		case strings.HasPrefix(c, "get "):
			gets++
		case strings.HasPrefix(c, "walk "):
			walks++
		}
	}
	if gets != 1 || walks != 1 {
		t.Errorf("calls %v: want one GET and one walk", f.calls)
	}
}

// TestNoSensors: a device without power sensors is a quiet outcome,
// logged once.
func TestNoSensors(t *testing.T) {
	var logged strings.Builder
	log := slog.New(slog.NewTextHandler(&logged, nil))
	f := &fakeTransport{vars: []gosnmp.SnmpPDU{{Name: oidSysUpTime, Type: gosnmp.TimeTicks, Value: uint32(5)}}}
	c := fakeCollector(t, "apc-rpdu", f, log)
	for range 3 {
		got, err := c.Collect(t.Context(), time.Unix(600, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].Measurement != sample.Device {
			t.Fatalf("samples %+v: want only the device sample", got)
		}
	}
	if !c.NoSensors() || strings.Count(logged.String(), "no power sensors") != 1 {
		t.Errorf("NoSensors %v, log %q: want one message", c.NoSensors(), logged.String())
	}
}

// TestTimeout: an agent that never answers is an error wrapping ErrTimeout.
func TestTimeout(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	addr := pc.LocalAddr().(*net.UDPAddr)
	c, err := New(Device{Target: collectors.Target{Device: "silent"},
		Conn: Conn{Addr: "127.0.0.1", Port: uint16(addr.Port), Community: "public", Timeout: 100 * time.Millisecond, Retries: 1}}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Collect(t.Context(), time.Unix(600, 0))
	if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "snmp 127.0.0.1") {
		t.Errorf("err = %v, want ErrTimeout with the host", err)
	}
	if strings.Contains(err.Error(), "public") {
		t.Errorf("error leaks the community: %v", err)
	}
}

// TestGoneMidWalk: the agent goes away during a walk; the poll fails with
// an error, not a hang or a partial success.
func TestGoneMidWalk(t *testing.T) {
	a := startCorpusAgent(t, "ios_2960x")
	tr, err := Dial(Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "ios_2960x", Timeout: 100 * time.Millisecond, Retries: 0, MaxRepetitions: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer tr.Close()
	g := tr.(*gosnmpTransport)
	n := 0
	g.g.OnRecv = func(*gosnmp.GoSNMP) {
		if n++; n == 3 {
			a.Close()
		}
	}
	_, err = tr.Walk(t.Context(), []string{".1.3.6.1.2.1.2.2.1.2"})
	if err == nil {
		t.Fatal("walk succeeded after the agent went away")
	}
	if !errors.Is(err, ErrTimeout) && !errors.Is(err, ErrUnreachable) {
		t.Errorf("err = %v, want ErrTimeout or ErrUnreachable", err)
	}
}

// TestBulkFallback: v1 walks with GETNEXT; v2c walks with GETBULK and the
// same result; a tiny max-repetitions still walks everything.
func TestBulkFallback(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	var results [][]gosnmp.SnmpPDU
	for _, conn := range []Conn{
		{Version: V1}, {Version: V2c}, {Version: V2c, MaxRepetitions: 1},
	} {
		conn.Addr, conn.Port, conn.Community, conn.Timeout = "127.0.0.1", a.Addr().Port(), "apc_ap8959eu3", time.Second
		tr, err := Dial(conn)
		if err != nil {
			t.Fatal(err)
		}
		got, err := tr.Walk(t.Context(), []string{".1.3.6.1.4.1.318.1.1.26.4.3.1", ".1.3.6.1.2.1.1"})
		tr.Close()
		if err != nil {
			t.Fatalf("%+v: %v", conn.Version, err)
		}
		results = append(results, got)
	}
	for i := 1; i < len(results); i++ {
		if len(results[i]) != len(results[0]) || len(results[0]) < 20 {
			t.Errorf("walk %d: %d varbinds, walk 0: %d", i, len(results[i]), len(results[0]))
		}
	}
}

// TestV3 polls through SNMPv3 authPriv (SHA-256/AES) against the simulator,
// and a wrong key is ErrAuth.
func TestV3(t *testing.T) {
	rec := parseRec(t, "apc_ap8959eu3")
	a, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: []*simsnmp.Recording{rec},
		Users: []simsnmp.V3User{{Name: "eco", Auth: gosnmp.SHA256, AuthPass: "authpass1", Priv: gosnmp.AES, PrivPass: "privpass1"}}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	base := ProbeOptions{Addr: "127.0.0.1", Port: a.Addr().Port(), Version: V3, Timeout: time.Second}
	ok := base
	ok.V3 = &V3Auth{User: "eco", AuthProtocol: "SHA256", AuthPass: "authpass1", PrivProtocol: "AES", PrivPass: "privpass1"}
	r, err := Probe(t.Context(), ok)
	if err != nil || r.Profile != "apc-rpdu2" || len(r.Readings) == 0 {
		t.Fatalf("v3 probe: %v", err)
	}
	bad := base
	bad.V3 = &V3Auth{User: "eco", AuthProtocol: "SHA256", AuthPass: "wrongpass", PrivProtocol: "AES", PrivPass: "privpass1"}
	_, err = Probe(t.Context(), bad)
	if !errors.Is(err, ErrAuth) {
		t.Errorf("wrong key: %v, want ErrAuth", err)
	}
	if err != nil && strings.Contains(err.Error(), "wrongpass") {
		t.Error("error leaks the passphrase")
	}
	if s := ok.V3.String(); strings.Contains(s, "authpass1") || strings.Contains(s, "privpass1") {
		t.Errorf("V3Auth.String leaks: %s", s)
	}
}

func parseRec(t *testing.T, name string) *simsnmp.Recording {
	t.Helper()
	return mustParse(t, corpusDirFor(t), name)
}

// FuzzNumber: value conversion never panics and never returns a
// non-finite number as valid.
func FuzzNumber(f *testing.F) {
	f.Add(uint8(gosnmp.Integer), int64(5), "x", 1.5)
	f.Add(uint8(gosnmp.OctetString), int64(0), "12.5", 0.0)
	f.Add(uint8(gosnmp.OctetString), int64(0), "Inf", 0.0)
	f.Add(uint8(gosnmp.OpaqueFloat), int64(0), "", math.NaN())
	f.Add(uint8(gosnmp.Counter64), int64(-1), "", 0.0)
	f.Fuzz(func(t *testing.T, typ uint8, i int64, s string, fl float64) {
		for _, v := range []any{i, uint64(i), uint32(i), int(i), s, []byte(s), fl, float32(fl), nil, struct{}{}} {
			p := gosnmp.SnmpPDU{Name: ".1.3", Type: gosnmp.Asn1BER(typ), Value: v}
			n, err := Number(p)
			if err == nil && (math.IsNaN(n) || math.IsInf(n, 0)) {
				t.Fatalf("Number(%v %T %v) = %v", p.Type, v, v, n)
			}
			_, _ = text(p)
			_, _ = indexFrom(p)
			m := &Metric{Scale: Scale{Multiply: 1, Divide: 10, DecimalDigits: ".1.3", EntitySensor: &EntitySensor{}}}
			if x, err := scaleValue(m, n, float64(i%12), float64(i%20), float64(i%10)); err == nil && (math.IsNaN(x) || math.IsInf(x, 0)) {
				t.Fatalf("scaleValue = %v", x)
			}
		}
	})
}
