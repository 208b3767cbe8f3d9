package snmp

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/internal/testenv"
)

func startCorpusAgent(t testing.TB, names ...string) *simsnmp.Agent {
	t.Helper()
	dir := testenv.CorpusPath(t, "snmp")
	var recs []*simsnmp.Recording
	for _, n := range names {
		f, err := os.Open(filepath.Join(dir, n+".snmprec"))
		if err != nil {
			t.Fatal(err)
		}
		rec, err := simsnmp.Parse(n+".snmprec", f)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	a, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func TestProbe(t *testing.T) {
	a := startCorpusAgent(t, "ios_2960x", "apc_ap8959eu3")
	tests := []struct {
		community, profile, by string
		want                   []string // substrings of the table output
	}{
		{"ios_2960x", "cisco-switch", "sysObjectID .1.3.6.1.4.1.9.1",
			[]string{"poe/Gi1/0/1", "pse/1", "sensor/Gi1/0/52_Supply_Voltage_Sensor", "3.32 ", "2.509"}},
		{"apc_ap8959eu3", "apc-rpdu2", "sysObjectID .1.3.6.1.4.1.318.1.3.4.6",
			[]string{"total", "270", "1967.7", "phase/L1", "231", "counter32", ".1.3.6.1.4.1.318.1.1.26.4.3.1.5.1"}},
	}
	for _, tt := range tests {
		t.Run(tt.community, func(t *testing.T) {
			r, err := Probe(t.Context(), ProbeOptions{Addr: a.Addr().Addr().String(), Port: a.Addr().Port(),
				Community: tt.community, Timeout: 2 * time.Second})
			if err != nil {
				t.Fatal(err)
			}
			if r.Profile != tt.profile || r.DetectedBy != tt.by {
				t.Errorf("profile %s (%s), want %s (%s)", r.Profile, r.DetectedBy, tt.profile, tt.by)
			}
			var buf bytes.Buffer
			if err := WriteProbe(&buf, r, false); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(buf.String(), w) {
					t.Errorf("probe output lacks %q:\n%s", w, buf.String())
				}
			}
			buf.Reset()
			if err := WriteProbe(&buf, r, true); err != nil {
				t.Fatal(err)
			}
			var back ProbeResult
			if err := json.Unmarshal(buf.Bytes(), &back); err != nil || len(back.Readings) != len(r.Readings) {
				t.Errorf("JSON round trip: %v, %d readings", err, len(back.Readings))
			}
			if testing.Verbose() {
				_ = WriteProbe(os.Stdout, r, false)
			}
		})
	}
}

func TestProbeErrors(t *testing.T) {
	a := startCorpusAgent(t, "apc_ap8959eu3")
	host, port := a.Addr().Addr().String(), a.Addr().Port()
	// Wrong community: the agent drops the request, as real agents do.
	_, err := Probe(t.Context(), ProbeOptions{Addr: host, Port: port, Community: "wrong", Timeout: 200 * time.Millisecond, Retries: -1})
	if !errors.Is(err, ErrTimeout) {
		t.Errorf("wrong community: %v, want ErrTimeout", err)
	}
	// A device no profile knows.
	rec, err := simsnmp.Parse("odd.snmprec", strings.NewReader("1.3.6.1.2.1.1.1.0|4|toaster\n1.3.6.1.2.1.1.2.0|6|1.3.6.1.4.1.99999.1\n1.3.6.1.2.1.1.3.0|67|5\n"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: []*simsnmp.Recording{rec}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	_, err = Probe(t.Context(), ProbeOptions{Addr: b.Addr().Addr().String(), Port: b.Addr().Port(), Community: "odd", Timeout: time.Second})
	if !errors.Is(err, ErrUnknownDevice) || !strings.Contains(err.Error(), "1.3.6.1.4.1.99999.1") {
		t.Errorf("unknown device: %v", err)
	}
	// Naming a profile overrides detection.
	r, err := Probe(t.Context(), ProbeOptions{Addr: b.Addr().Addr().String(), Port: b.Addr().Port(), Community: "odd", Timeout: time.Second, Profile: "ups-mib"})
	if err != nil || r.Profile != "ups-mib" || r.DetectedBy != "named" || len(r.Readings) != 0 {
		t.Errorf("named profile: %+v, %v", r, err)
	}
}

func corpusDirFor(t testing.TB) string { return testenv.CorpusPath(t, "snmp") }

func mustParse(t testing.TB, dir, name string) *simsnmp.Recording {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, name+".snmprec"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rec, err := simsnmp.Parse(name+".snmprec", f)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}
