package apply

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/controltest"
	"github.com/ecometer/ecometer/internal/control/driver"
	"github.com/ecometer/ecometer/internal/control/target"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

func rows(format string, from, to int, args ...func(int) any) []string {
	var out []string
	for i := from; i <= to; i++ {
		a := make([]any, len(args))
		for k, f := range args {
			a[k] = f(i)
		}
		out = append(out, fmt.Sprintf(format, a...))
	}
	return out
}

func id(i int) any { return i }

func join(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// snmpConfig is a config with one SNMP device per recording (community =
// recording name) on the agent's port.
func snmpConfig(t *testing.T, port int, devices map[string]string, extra string) *config.Config {
	t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "allow_inline_secrets: true\nsites: [{name: dc1}]\ndevices:\n")
	for _, name := range sortedKeys(devices) {
		class := devices[name]
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: %s, protocol: snmp, address: 127.0.0.1, snmp: {community: %s, port: %d, timeout: 1s, retries: 1}}\n",
			name, class, name, port)
	}
	b.WriteString(extra)
	cfg, err := config.Parse("site.yaml", []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	return cfg
}

func sortedKeys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func newRunner(t *testing.T, cfg *config.Config, clock *controltest.Clock) (*Runner, *audit.Log) {
	t.Helper()
	log := audit.Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	log.SetClock(clock.Now)
	d := driver.New(cfg, log, driver.Options{Clock: clock, MinInterval: time.Second})
	t.Cleanup(func() { d.Close() })
	return &Runner{D: d, VerifyTimeout: 2 * time.Minute, VerifyInterval: 5 * time.Second}, log
}

// TestOutletVendors switches one outlet of each vendor's PDU off and on
// again over SNMP against the simulator, and checks the exact SETs: the
// MIB object and its value encoding.
func TestOutletVendors(t *testing.T) {
	tests := []struct {
		name    string
		rec     func(t *testing.T) *simsnmp.Recording
		outlet  string
		off, on []string // "OID=value" of the SETs
	}{
		{"apc-rpdu2", func(t *testing.T) *simsnmp.Recording {
			return controltest.Recording(t, "apc-rpdu2", append(controltest.APCOutlets(8), "1.3.6.1.2.1.1.1.0|4|APC"))
		}, "2", []string{"1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.2=2"}, []string{"1.3.6.1.4.1.318.1.1.26.9.2.4.1.5.2=1"}},
		{"apc-rpdu", func(t *testing.T) *simsnmp.Recording {
			return controltest.Recording(t, "apc-rpdu", join(
				rows("1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.%d|2|1", 1, 8, id),
				rows("1.3.6.1.4.1.318.1.1.12.3.5.1.1.4.%d|2|1", 1, 8, id)))
		}, "5", []string{"1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.5=2"}, []string{"1.3.6.1.4.1.318.1.1.12.3.3.1.1.4.5=1"}},
		{"apc-spdu (corpus MasterSwitch)", func(t *testing.T) *simsnmp.Recording {
			return controltest.CorpusRecording(t, "apc_masterswitch2", "apc-spdu", nil)
		}, "1", []string{"1.3.6.1.4.1.318.1.1.4.4.2.1.3.1=2"}, []string{"1.3.6.1.4.1.318.1.1.4.4.2.1.3.1=1"}},
		{"raritan (corpus PX2)", func(t *testing.T) *simsnmp.Recording {
			return controltest.CorpusRecording(t, "raritan-pdu_px2", "raritan", join(
				rows("1.3.6.1.4.1.13742.6.4.1.2.1.2.1.%d|2|1", 1, 12, id),
				rows("1.3.6.1.4.1.13742.6.4.1.2.1.3.1.%d|2|7", 1, 12, id)))
		}, "3", []string{"1.3.6.1.4.1.13742.6.4.1.2.1.2.1.3=0"}, []string{"1.3.6.1.4.1.13742.6.4.1.2.1.2.1.3=1"}},
		{"sentry4 (corpus PRO2)", func(t *testing.T) *simsnmp.Recording {
			return controltest.CorpusRecording(t, "sentry4", "sentry4", join(
				rows("1.3.6.1.4.1.1718.4.1.8.2.1.2.1.1.%d|4|AA%d", 1, 8, id, id),
				rows("1.3.6.1.4.1.1718.4.1.8.5.1.1.1.1.%d|2|11", 1, 8, id),
				rows("1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.%d|2|0", 1, 8, id)))
		}, "AA2", []string{"1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.2=2"}, []string{"1.3.6.1.4.1.1718.4.1.8.5.1.2.1.1.2=1"}},
		{"sentry3", func(t *testing.T) *simsnmp.Recording {
			return controltest.Recording(t, "sentry3", join(
				rows("1.3.6.1.4.1.1718.3.2.3.1.2.1.1.%d|4|AA%d", 1, 8, id, id),
				rows("1.3.6.1.4.1.1718.3.2.3.1.10.1.1.%d|2|1", 1, 8, id),
				rows("1.3.6.1.4.1.1718.3.2.3.1.11.1.1.%d|2|0", 1, 8, id)))
		}, "AA7", []string{"1.3.6.1.4.1.1718.3.2.3.1.11.1.1.7=2"}, []string{"1.3.6.1.4.1.1718.3.2.3.1.11.1.1.7=1"}},
		{"eaton (corpus ePDU G3)", func(t *testing.T) *simsnmp.Recording {
			return controltest.CorpusRecording(t, "eatonpdu_2", "eaton", nil)
		}, "3", []string{"1.3.6.1.4.1.534.6.6.7.6.6.1.3.0.3=0"}, []string{"1.3.6.1.4.1.534.6.6.7.6.6.1.4.0.3=0"}},
		{"vertiv (corpus Geist)", func(t *testing.T) *simsnmp.Recording {
			return controltest.CorpusRecording(t, "vertiv-pdu_mn03edr1", "vertiv", join(
				rows("1.3.6.1.4.1.21239.5.2.3.5.1.4.%d|2|1", 1, 4, id),
				rows("1.3.6.1.4.1.21239.5.2.3.5.1.6.%d|2|8", 1, 4, id)))
		}, "2", []string{"1.3.6.1.4.1.21239.5.2.3.5.1.6.2=4"}, []string{"1.3.6.1.4.1.21239.5.2.3.5.1.6.2=2"}},
		{"cyberpower ePDU", func(t *testing.T) *simsnmp.Recording {
			return controltest.Recording(t, "cps-epdu", join(
				rows("1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4.%d|2|1", 1, 8, id),
				rows("1.3.6.1.4.1.3808.1.1.3.3.5.1.1.4.%d|2|1", 1, 8, id)))
		}, "4", []string{"1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4.4=2"}, []string{"1.3.6.1.4.1.3808.1.1.3.3.3.1.1.4.4=1"}},
		{"cyberpower ePDU2", func(t *testing.T) *simsnmp.Recording {
			return controltest.Recording(t, "cps-epdu2", join(
				rows("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.2.%d|2|1", 1, 8, id),
				rows("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.3.%d|2|%d", 1, 8, id, id),
				rows("1.3.6.1.4.1.3808.1.1.6.6.1.4.1.5.%d|2|1", 1, 8, id),
				rows("1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.%d|2|1", 1, 8, id)))
		}, "6", []string{"1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.6=2"}, []string{"1.3.6.1.4.1.3808.1.1.6.6.1.5.1.5.6=1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := tt.rec(t)
			s := controltest.StartSNMP(t, rec)
			cfg := snmpConfig(t, s.Port(), map[string]string{rec.Name: "pdu"}, "")
			clock := controltest.NewClock(time.Date(2026, 3, 2, 19, 0, 0, 0, time.UTC))
			r, log := newRunner(t, cfg, clock)
			tg := target.Target{Device: rec.Name, Kind: target.Outlet, Name: tt.outlet}
			ctx := context.Background()
			for _, step := range []struct {
				op   string
				want []string
			}{{"off", tt.off}, {"on", tt.on}} {
				s.Reset()
				res := r.Do(ctx, Op{Target: tg, Op: step.op, Why: "test"})
				if res.Outcome != OK && !(res.Outcome == Noop && len(step.want) == 0) {
					t.Fatalf("%s: %+v", step.op, res)
				}
				var got []string
				for _, set := range s.Sets() {
					got = append(got, fmt.Sprintf("%s=%v", set.OID, set.Value))
				}
				if strings.Join(got, " ") != strings.Join(step.want, " ") {
					t.Errorf("%s: SETs %v, want %v", step.op, got, step.want)
				}
			}
			if n, err := log.Verify(); err != nil || n < 4 {
				t.Errorf("audit: %d entries, %v", n, err)
			}
		})
	}
}

func TestPoEPortByIfName(t *testing.T) {
	rec := controltest.Recording(t, "sw-1", controltest.PoEPorts(8))
	s := controltest.StartSNMP(t, rec)
	cfg := snmpConfig(t, s.Port(), map[string]string{"sw-1": "switch"}, "")
	clock := controltest.NewClock(time.Date(2026, 3, 2, 19, 0, 0, 0, time.UTC))
	r, _ := newRunner(t, cfg, clock)
	ctx := context.Background()
	for _, name := range []string{"Gi1/0/5", "pse:1.6"} {
		tg := target.Target{Device: "sw-1", Kind: target.PoE, Name: name}
		s.Reset()
		if res := r.Do(ctx, Op{Target: tg, Op: "off", Why: "test"}); res.Outcome != OK {
			t.Fatalf("%s off: %+v", name, res)
		}
		want := map[string]string{"Gi1/0/5": "1.3.6.1.2.1.105.1.1.1.3.1.5=2", "pse:1.6": "1.3.6.1.2.1.105.1.1.1.3.1.6=2"}[name]
		if sets := s.Sets(); len(sets) != 1 || fmt.Sprintf("%s=%v", sets[0].OID, sets[0].Value) != want {
			t.Errorf("%s: SETs %v, want %s", name, sets, want)
		}
		if res := r.Do(ctx, Op{Target: tg, Op: "on", Why: "test"}); res.Outcome != OK {
			t.Fatalf("%s on: %+v", name, res)
		}
	}
	if res := r.Do(ctx, Op{Target: target.Target{Device: "sw-1", Kind: target.PoE, Name: "Gi9/9"}, Op: "off"}); res.Outcome != Failed ||
		!strings.Contains(res.Detail, "no PoE port named") {
		t.Errorf("unknown port: %+v", res)
	}
}
