package snmp

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/internal/testenv"
)

// corpusDir is ../shared/corpus/snmp (skipped when absent, failed when CI=true).
func corpusDir(t testing.TB) string {
	t.Helper()
	return testenv.CorpusPath(t, "snmp")
}

func loadCorpus(t testing.TB) []*Recording {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(corpusDir(t), "*.snmprec"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no recordings in the corpus: %v", err)
	}
	recs := make([]*Recording, 0, len(files))
	for _, f := range files {
		recs = append(recs, loadRecording(t, f))
	}
	return recs
}

func loadRecording(t testing.TB, path string) *Recording {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := Parse(filepath.Base(path), f)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func startAgent(t testing.TB, opts Options) *Agent {
	t.Helper()
	if opts.Listen == "" {
		opts.Listen = "127.0.0.1:0"
	}
	a, err := Start(t.Context(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func client(t testing.TB, a *Agent, version gosnmp.SnmpVersion, community string) *gosnmp.GoSNMP {
	t.Helper()
	g := &gosnmp.GoSNMP{
		Target:         a.Addr().Addr().String(),
		Port:           a.Addr().Port(),
		Version:        version,
		Community:      community,
		Timeout:        2 * time.Second,
		Retries:        1,
		MaxRepetitions: 10,
	}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Conn.Close() })
	return g
}

// normalize turns a value as recorded or as decoded by gosnmp into a
// comparable string.
func normalize(typ gosnmp.Asn1BER, v any) string {
	switch typ {
	case gosnmp.Integer, gosnmp.Counter32, gosnmp.Gauge32, gosnmp.TimeTicks, gosnmp.Counter64:
		return gosnmp.ToBigInt(v).String()
	case gosnmp.OctetString, gosnmp.Opaque:
		b, _ := v.([]byte)
		return fmt.Sprintf("%x", b)
	}
	return fmt.Sprint(v)
}

func checkWalk(t *testing.T, rec *Recording, got []gosnmp.SnmpPDU, skip func(Var) bool) {
	t.Helper()
	var want []Var
	for _, v := range rec.Vars {
		if skip == nil || !skip(v) {
			want = append(want, v)
		}
	}
	if len(got) != len(want) {
		t.Errorf("walk returned %d varbinds, want %d", len(got), len(want))
	}
	for i := range min(len(got), len(want)) {
		w, g := want[i], got[i]
		if g.Name != w.OID.String() || g.Type != w.Type || normalize(g.Type, g.Value) != normalize(w.Type, w.Value) {
			t.Fatalf("varbind %d = %s %v %v, want %s %v %v (line %d)", i,
				g.Name, g.Type, normalize(g.Type, g.Value), w.OID, w.Type, normalize(w.Type, w.Value), w.Line)
		}
	}
}

// TestCorpusBulkWalk serves every recording from one agent, one community
// each, and walks each whole tree.
func TestCorpusBulkWalk(t *testing.T) {
	recs := loadCorpus(t)
	a := startAgent(t, Options{Recordings: recs})
	for _, rec := range recs {
		t.Run(rec.Name, func(t *testing.T) {
			g := client(t, a, gosnmp.Version2c, rec.Name)
			got, err := g.BulkWalkAll(".1.3")
			if err != nil {
				t.Fatal(err)
			}
			checkWalk(t, rec, got, nil)
		})
	}
}

// TestCorpusWalkV1 walks with GETNEXT in SNMPv1, which cannot carry Counter64.
func TestCorpusWalkV1(t *testing.T) {
	rec := loadRecording(t, filepath.Join(corpusDir(t), "apc_ap8959eu3.snmprec"))
	a := startAgent(t, Options{Recordings: []*Recording{rec}})
	g := client(t, a, gosnmp.Version1, rec.Name)
	got, err := g.WalkAll(".1.3")
	if err != nil {
		t.Fatal(err)
	}
	checkWalk(t, rec, got, func(v Var) bool { return v.Type == gosnmp.Counter64 })
}

func testRecording(t testing.TB) *Recording {
	t.Helper()
	rec, err := Parse("test.snmprec", strings.NewReader(strings.Join([]string{
		"1.3.6.1.2.1.1.1.0|4|sim",
		"1.3.6.1.2.1.1.3.0|67|100",
		"1.3.6.1.2.1.31.1.1.1.6.1|70|5",
		"1.3.6.1.4.1.318.1.1.4.4.2.1.3.1|2|1",
		"1.3.6.1.4.1.318.1.1.4.4.2.1.3.2|2|2",
		"1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1|2|2",
		"1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1|2|1",
		"1.3.6.1.4.1.318.1.1.26.4.3.1.5.1|2|120",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestGet(t *testing.T) {
	a := startAgent(t, Options{Recordings: []*Recording{testRecording(t)}})
	tests := []struct {
		name    string
		version gosnmp.SnmpVersion
		oids    []string
		err     gosnmp.SNMPError
		types   []gosnmp.Asn1BER
	}{
		{"present", gosnmp.Version2c, []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.3.0"}, gosnmp.NoError,
			[]gosnmp.Asn1BER{gosnmp.OctetString, gosnmp.TimeTicks}},
		{"missing instance", gosnmp.Version2c, []string{".1.3.6.1.2.1.1.1.1", ".1.3.6.1.2.1.1.3.0"}, gosnmp.NoError,
			[]gosnmp.Asn1BER{gosnmp.NoSuchInstance, gosnmp.TimeTicks}},
		{"missing object", gosnmp.Version2c, []string{".1.3.6.1.4.1.9999.1.0"}, gosnmp.NoError,
			[]gosnmp.Asn1BER{gosnmp.NoSuchObject}},
		{"inner node", gosnmp.Version2c, []string{".1.3.6.1.2.1.1"}, gosnmp.NoError,
			[]gosnmp.Asn1BER{gosnmp.NoSuchObject}},
		{"v1 missing", gosnmp.Version1, []string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.1.1.1"}, gosnmp.NoSuchName,
			[]gosnmp.Asn1BER{gosnmp.Null, gosnmp.Null}},
		{"v1 counter64", gosnmp.Version1, []string{".1.3.6.1.2.1.31.1.1.1.6.1"}, gosnmp.NoSuchName,
			[]gosnmp.Asn1BER{gosnmp.Null}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := client(t, a, tt.version, "test")
			res, err := g.Get(tt.oids)
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != tt.err {
				t.Errorf("error-status %v, want %v", res.Error, tt.err)
			}
			if len(res.Variables) != len(tt.types) {
				t.Fatalf("%d varbinds, want %d", len(res.Variables), len(tt.types))
			}
			for i, vb := range res.Variables {
				if vb.Name != tt.oids[i] || vb.Type != tt.types[i] {
					t.Errorf("varbind %d = %s %v, want %s %v", i, vb.Name, vb.Type, tt.oids[i], tt.types[i])
				}
			}
		})
	}
}

func TestGetNext(t *testing.T) {
	a := startAgent(t, Options{Recordings: []*Recording{testRecording(t)}})
	last := ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1"
	tests := []struct {
		name    string
		version gosnmp.SnmpVersion
		oids    []string
		err     gosnmp.SNMPError
		names   []string
		types   []gosnmp.Asn1BER
	}{
		{"two varbinds", gosnmp.Version2c, []string{".1.3.6.1.2.1.1", ".1.3.6.1.2.1.1.3.0"}, gosnmp.NoError,
			[]string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.2.1.31.1.1.1.6.1"}, []gosnmp.Asn1BER{gosnmp.OctetString, gosnmp.Counter64}},
		{"past the end", gosnmp.Version2c, []string{last, ".1.3.6.1.2.1.1.1.0"}, gosnmp.NoError,
			[]string{last, ".1.3.6.1.2.1.1.3.0"}, []gosnmp.Asn1BER{gosnmp.EndOfMibView, gosnmp.TimeTicks}},
		{"v1 skips counter64", gosnmp.Version1, []string{".1.3.6.1.2.1.1.3.0"}, gosnmp.NoError,
			[]string{".1.3.6.1.4.1.318.1.1.4.4.2.1.3.1"}, []gosnmp.Asn1BER{gosnmp.Integer}},
		{"v1 past the end", gosnmp.Version1, []string{last}, gosnmp.NoSuchName,
			[]string{last}, []gosnmp.Asn1BER{gosnmp.Null}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := client(t, a, tt.version, "test")
			res, err := g.GetNext(tt.oids)
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != tt.err {
				t.Errorf("error-status %v, want %v", res.Error, tt.err)
			}
			if len(res.Variables) != len(tt.names) {
				t.Fatalf("%d varbinds, want %d", len(res.Variables), len(tt.names))
			}
			for i, vb := range res.Variables {
				if vb.Name != tt.names[i] || vb.Type != tt.types[i] {
					t.Errorf("varbind %d = %s %v, want %s %v", i, vb.Name, vb.Type, tt.names[i], tt.types[i])
				}
			}
		})
	}
}

// TestGetBulkRows checks the RFC 3416 layout: non-repeaters first, then rows
// of repeaters that stay aligned after one of them reaches the end.
func TestGetBulkRows(t *testing.T) {
	a := startAgent(t, Options{Recordings: []*Recording{testRecording(t)}})
	g := client(t, a, gosnmp.Version2c, "test")
	res, err := g.GetBulk([]string{".1.3.6.1.2.1.1.1.0", ".1.3.6.1.4.1.318.1.1.26.9.2.3", ".1.3.6.1.2"}, 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		".1.3.6.1.2.1.1.3.0", // non-repeater: successor of sysDescr.0
		".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1", ".1.3.6.1.2.1.1.1.0",
		".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1", ".1.3.6.1.2.1.1.3.0",
		".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1/end", ".1.3.6.1.2.1.31.1.1.1.6.1",
	}
	var got []string
	for _, vb := range res.Variables {
		s := vb.Name
		if vb.Type == gosnmp.EndOfMibView {
			s += "/end"
		}
		got = append(got, s)
	}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("GetBulk:\n got %v\nwant %v", got, want)
	}
}

func TestSet(t *testing.T) {
	rec := testRecording(t)
	a := startAgent(t, Options{Recordings: []*Recording{rec}, Controls: DefaultControls()})
	const (
		ctl    = ".1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.1"
		status = ".1.3.6.1.4.1.318.1.1.26.9.2.3.1.5.1"
		spdu   = ".1.3.6.1.4.1.318.1.1.4.4.2.1.3.2"
	)
	tests := []struct {
		name    string
		version gosnmp.SnmpVersion
		pdus    []gosnmp.SnmpPDU
		err     gosnmp.SNMPError
		index   uint8
		after   map[string]int // GET afterwards
	}{
		{"rPDU2 outlet off", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: ctl, Type: gosnmp.Integer, Value: 2}},
			gosnmp.NoError, 0, map[string]int{ctl: 2, status: 1}},
		{"rPDU2 reboot ends on", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: ctl, Type: gosnmp.Integer, Value: 3}},
			gosnmp.NoError, 0, map[string]int{ctl: 1, status: 2}},
		{"sPDU outlet on", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: spdu, Type: gosnmp.Integer, Value: 1}},
			gosnmp.NoError, 0, map[string]int{spdu: 1}},
		{"not writable", gosnmp.Version2c, []gosnmp.SnmpPDU{
			{Name: spdu, Type: gosnmp.Integer, Value: 2},
			{Name: ".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", Type: gosnmp.Integer, Value: 0},
		}, gosnmp.NotWritable, 2, map[string]int{spdu: 1, ".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1": 120}},
		{"no creation", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: ctl + "0", Type: gosnmp.Integer, Value: 1}},
			gosnmp.NoCreation, 1, nil},
		{"wrong value", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: ctl, Type: gosnmp.Integer, Value: 9}},
			gosnmp.WrongValue, 1, map[string]int{ctl: 1}},
		{"wrong type", gosnmp.Version2c, []gosnmp.SnmpPDU{{Name: ctl, Type: gosnmp.OctetString, Value: "off"}},
			gosnmp.WrongType, 1, map[string]int{ctl: 1}},
		{"v1 not writable", gosnmp.Version1, []gosnmp.SnmpPDU{{Name: ".1.3.6.1.2.1.1.3.0", Type: gosnmp.Integer, Value: 1}},
			gosnmp.NoSuchName, 1, nil},
		{"v1 outlet off", gosnmp.Version1, []gosnmp.SnmpPDU{{Name: ctl, Type: gosnmp.Integer, Value: 2}},
			gosnmp.NoError, 0, map[string]int{ctl: 2, status: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := client(t, a, tt.version, "test")
			res, err := g.Set(tt.pdus)
			if err != nil {
				t.Fatal(err)
			}
			if res.Error != tt.err || res.ErrorIndex != tt.index {
				t.Errorf("SET error-status %v index %d, want %v index %d", res.Error, res.ErrorIndex, tt.err, tt.index)
			}
			for oid, want := range tt.after {
				got, err := g.Get([]string{oid})
				if err != nil {
					t.Fatal(err)
				}
				if v, ok := got.Variables[0].Value.(int); !ok || v != want {
					t.Errorf("GET %s after SET = %v, want %d", oid, got.Variables[0].Value, want)
				}
			}
		})
	}
}

func TestV3(t *testing.T) {
	users := []V3User{
		{Name: "sha-aes", Auth: gosnmp.SHA, AuthPass: "authpass1", Priv: gosnmp.AES, PrivPass: "privpass1"},
		{Name: "sha256-aes", Auth: gosnmp.SHA256, AuthPass: "authpass2", Priv: gosnmp.AES, PrivPass: "privpass2"},
		{Name: "sha-only", Auth: gosnmp.SHA, AuthPass: "authpass3"},
	}
	rec := testRecording(t)
	other := &Recording{Name: "other", Vars: rec.Vars[:1]}
	a := startAgent(t, Options{Recordings: []*Recording{rec, other}, Users: users})
	tests := []struct {
		name    string
		user    V3User
		context string
		wantErr string // "": none
		want    int    // varbinds in a walk
	}{
		{"SHA AES", users[0], "test", "", len(rec.Vars)},
		{"SHA-256 AES", users[1], "test", "", len(rec.Vars)},
		{"authNoPriv", users[2], "other", "", 1},
		{"wrong auth key", V3User{Name: "sha-aes", Auth: gosnmp.SHA, AuthPass: "wrongpass", Priv: gosnmp.AES, PrivPass: "privpass1"},
			"test", "not authentic", 0},
		{"unknown user", V3User{Name: "nobody", Auth: gosnmp.SHA, AuthPass: "authpass1", Priv: gosnmp.AES, PrivPass: "privpass1"},
			"test", "not authentic", 0},
		{"lower level than configured", V3User{Name: "sha-aes", Auth: gosnmp.SHA, AuthPass: "authpass1"},
			"test", "not authentic", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flags := gosnmp.AuthNoPriv
			if tt.user.Priv != 0 {
				flags = gosnmp.AuthPriv
			}
			g := &gosnmp.GoSNMP{
				Target:        a.Addr().Addr().String(),
				Port:          a.Addr().Port(),
				Version:       gosnmp.Version3,
				Timeout:       2 * time.Second,
				SecurityModel: gosnmp.UserSecurityModel,
				MsgFlags:      flags,
				ContextName:   tt.context,
				SecurityParameters: &gosnmp.UsmSecurityParameters{
					UserName:                 tt.user.Name,
					AuthenticationProtocol:   tt.user.Auth,
					AuthenticationPassphrase: tt.user.AuthPass,
					PrivacyProtocol:          max(tt.user.Priv, gosnmp.NoPriv),
					PrivacyPassphrase:        tt.user.PrivPass,
				},
				MaxRepetitions: 10,
			}
			if err := g.Connect(); err != nil {
				t.Fatal(err)
			}
			defer g.Conn.Close()
			// The agent answers refused requests with RFC 3414 usmStats
			// reports (wrongDigests, unknownUserNames, unsupportedSecLevels).
			// gosnmp 1.47 discards unauthenticated reports once it knows the
			// engine, so the walk fails at once with "not authentic" rather
			// than timing out.
			got, err := g.BulkWalkAll(".1.3")
			if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("walk error %v, want %q", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Errorf("walk returned %d varbinds, want %d", len(got), tt.want)
			}
		})
	}
}

// TestManyAgents runs 50 agents at once, each walked concurrently.
func TestManyAgents(t *testing.T) {
	rec := loadRecording(t, filepath.Join(corpusDir(t), "apc_ap8959eu3.snmprec"))
	const n = 50
	agents := make([]*Agent, n)
	for i := range agents {
		agents[i] = startAgent(t, Options{Recordings: []*Recording{rec}})
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for _, a := range agents {
		g := client(t, a, gosnmp.Version2c, rec.Name)
		wg.Go(func() {
			got, err := g.BulkWalkAll(".1.3")
			if err == nil && len(got) != len(rec.Vars) {
				err = fmt.Errorf("%s: %d varbinds, want %d", a.Addr(), len(got), len(rec.Vars))
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func TestVariation(t *testing.T) {
	rec, err := Parse("v.snmprec", strings.NewReader(strings.Join([]string{
		"1.3.6.1.4.1.318.1.1.26.4.3.1.5.1|2|1000",
		"1.3.6.1.4.1.318.1.1.26.4.3.1.9.1|66|5000",
		"1.3.6.1.2.1.2.2.1.10.1|65|4294967000",
		"1.3.6.1.2.1.31.1.1.1.6.1|70|18446744073709551000",
	}, "\n")))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	vary := &Variation{Seed: 7, Pct: 10, Power: []OID{mustOID("1.3.6.1.4.1.318.1.1.26.4.3.1.5")}}
	a := startAgent(t, Options{Recordings: []*Recording{rec}, Variation: vary, Now: clock})
	g := client(t, a, gosnmp.Version2c, "v")
	oids := []string{".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1", ".1.3.6.1.4.1.318.1.1.26.4.3.1.9.1",
		".1.3.6.1.2.1.2.2.1.10.1", ".1.3.6.1.2.1.31.1.1.1.6.1"}
	var prev []gosnmp.SnmpPDU
	wrapped32, wrapped64, moved := false, false, false
	for step := range 40 {
		res, err := g.Get(oids)
		if err != nil {
			t.Fatal(err)
		}
		power := res.Variables[0].Value.(int)
		if power < 900 || power > 1100 {
			t.Errorf("step %d: power %d outside 1000 ± 10 %%", step, power)
		}
		moved = moved || power != 1000
		if res.Variables[1].Value.(uint) != 5000 {
			t.Errorf("gauge not marked power-like changed: %v", res.Variables[1].Value)
		}
		if prev != nil {
			c32, p32 := res.Variables[2].Value.(uint), prev[2].Value.(uint)
			c64, p64 := res.Variables[3].Value.(uint64), prev[3].Value.(uint64)
			wrapped32 = wrapped32 || c32 < p32
			wrapped64 = wrapped64 || c64 < p64
			if c32 == p32 || c64 == p64 {
				t.Errorf("step %d: counters did not move: %d %d", step, c32, c64)
			}
		}
		prev = res.Variables
		mu.Lock()
		now = now.Add(15 * time.Second)
		mu.Unlock()
	}
	if !moved || !wrapped32 || !wrapped64 {
		t.Errorf("power moved %v, Counter32 wrapped %v, Counter64 wrapped %v; want all", moved, wrapped32, wrapped64)
	}
	// Same seed and elapsed time, same values.
	x := vary.apply(&rec.Vars[0], 123*time.Second)
	y := (&Variation{Seed: 7, Pct: 10, Power: vary.Power}).apply(&rec.Vars[0], 123*time.Second)
	if x != y {
		t.Errorf("same seed and time gave %v and %v", x, y)
	}
}

// BenchmarkBulkWalk measures whole-device walks per second on loopback for
// the APC rPDU2 recording (v2c, max-repetitions 10).
func BenchmarkBulkWalk(b *testing.B) {
	rec := loadRecording(b, filepath.Join(corpusDir(b), "apc_ap8959eu3.snmprec"))
	a := startAgent(b, Options{Recordings: []*Recording{rec}})
	g := client(b, a, gosnmp.Version2c, rec.Name)
	b.ReportAllocs()
	for b.Loop() {
		got, err := g.BulkWalkAll(".1.3")
		if err != nil || len(got) != len(rec.Vars) {
			b.Fatalf("walk: %d varbinds, %v", len(got), err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "walks/s")
	b.ReportMetric(float64(len(rec.Vars)), "varbinds/walk")
}

// TestAgainstSnmpsimd compares this simulator with Debian's snmpsimd serving
// the same corpus: every recording walked from both must give the same OIDs,
// types and values. testenv starts snmpsimd (skipped when it is not
// installed, failed when CI=true: .ci/run installs it).
func TestAgainstSnmpsimd(t *testing.T) {
	ref := testenv.Snmpsimd(t, corpusDir(t), "apc_ap8959eu3")
	host, p := ref.Addr().String(), int(ref.Port())
	recs := loadCorpus(t)
	a := startAgent(t, Options{Recordings: recs})
	for _, rec := range recs {
		t.Run(rec.Name, func(t *testing.T) {
			ref := &gosnmp.GoSNMP{Target: host, Port: uint16(p), Version: gosnmp.Version2c, Community: rec.Name,
				Timeout: 5 * time.Second, Retries: 1, MaxRepetitions: 10}
			if err := ref.Connect(); err != nil {
				t.Fatal(err)
			}
			defer ref.Conn.Close()
			want, err := ref.BulkWalkAll(".1.3")
			if err != nil {
				t.Fatalf("snmpsimd: %v", err)
			}
			got, err := client(t, a, gosnmp.Version2c, rec.Name).BulkWalkAll(".1.3")
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Errorf("%d varbinds, snmpsimd %d", len(got), len(want))
			}
			for i := range min(len(got), len(want)) {
				g, w := got[i], want[i]
				if g.Name != w.Name || g.Type != w.Type || normalize(g.Type, g.Value) != normalize(w.Type, w.Value) {
					t.Fatalf("varbind %d = %s %v %v, snmpsimd %s %v %v", i,
						g.Name, g.Type, normalize(g.Type, g.Value), w.Name, w.Type, normalize(w.Type, w.Value))
				}
			}
		})
	}
}
