package snmpbench

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/internal/testenv"
)

func recording(t *testing.T, name string) *simsnmp.Recording {
	t.Helper()
	f, err := os.Open(filepath.Join(testenv.CorpusPath(t, "snmp"), name+".snmprec"))
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

// TestRun: every pass polls every device every round without errors, on a
// recording with power readings and on one the profile reads nothing from
// (measured all the same, and said so).
func TestRun(t *testing.T) {
	for _, tt := range []struct {
		name, profile string
		power         bool
	}{
		{"eaton-mgeups_93ps", "ups-mib", true},
		{"apc_masterswitch2", "apc-rpdu", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var progress bytes.Buffer
			res, err := Run(context.Background(), Options{Devices: 3, Rounds: 2, Recording: recording(t, tt.name),
				RecordingPath: tt.name + ".snmprec", Timeout: 2 * time.Second, Progress: &progress})
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != tt.profile || (res.PowerReadings > 0) != tt.power || res.RequestsPerPoll < 1 {
				t.Errorf("result %+v", res)
			}
			for _, p := range []Pass{res.Replay, res.Floor, res.Collector} {
				if p.Polls != 6 || p.Errors != 0 {
					t.Errorf("%s pass: %+v", p.Name, p)
				}
			}
			var out bytes.Buffer
			if err := WriteText(&out, res); err != nil {
				t.Fatal(err)
			}
			note := "reads no power from this recording"
			if strings.Contains(out.String(), note) == tt.power {
				t.Errorf("output (power %v):\n%s", tt.power, &out)
			}
			if !strings.Contains(progress.String(), "starting 3 simulated agents") {
				t.Errorf("progress %q", &progress)
			}
		})
	}
}
