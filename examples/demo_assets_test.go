package examples_test

import (
	"context"
	"io/fs"
	"log/slog"
	"math"
	"net/http/httptest"
	"path"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/examples"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/models/sample"
)

// startDemoAgent serves every demo recording on one loopback agent (one
// community per recording, named after it), with the simulator's outlet and
// PoE port controls.
func startDemoAgent(t *testing.T) *simsnmp.Agent {
	t.Helper()
	files, err := fs.Glob(examples.Demo, "demo/*.snmprec")
	if err != nil || len(files) < 6 {
		t.Fatalf("demo recordings: %v %v", files, err)
	}
	var recs []*simsnmp.Recording
	for _, f := range files {
		b, err := fs.ReadFile(examples.Demo, f)
		if err != nil {
			t.Fatal(err)
		}
		r, err := simsnmp.Parse(path.Base(f), strings.NewReader(string(b)))
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, r)
	}
	agent, err := simsnmp.Start(t.Context(), simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs, Controls: simsnmp.DefaultControls()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { agent.Close() })
	return agent
}

// TestDemoRecordings: each recording written for the demo is detected as the
// profile it was written for, by the way its MIB says (sysObjectID or
// probing), and the real collector reads the values the MIB's units give.
func TestDemoRecordings(t *testing.T) {
	agent := startDemoAgent(t)
	tests := []struct {
		name, profile, by string
		want              map[string]float64 // meter/field → value
		absent            []string
	}{
		// Outlet 3 feeds srv-vdi-host11 (410 W on its BMC), outlet 1 the PoE
		// switch (96 W of PoE out of 160 W); Sentry4 outlet AA3 feeds
		// srv-backup12 (560 W on its BMC), as in examples/site.yaml.
		{name: "pdu-r11-a", profile: "raritan-pdu2", by: "sysObjectID .1.3.6.1.4.1.13742.6",
			want: map[string]float64{"inlet/1/power_w": 975, "inlet/1/current_a": 4.35, "inlet/1/voltage_v": 231, "inlet/1/apparent_va": 1010,
				"outlet/1/power_w": 160, "outlet/1/current_a": 0.71, "outlet/2/power_w": 0, "outlet/3/power_w": 410, "outlet/4/power_w": 380},
			absent: []string{"inlet/1/energy_kwh"}},
		{name: "pdu-r11-b", profile: "sentry4", by: "sysObjectID .1.3.6.1.4.1.1718.4",
			want: map[string]float64{"inlet/AA/power_w": 1210, "inlet/AA/apparent_va": 1262, "inlet/AA/load_pct": 33.4,
				"outlet/AA1/power_w": 210, "outlet/AA3/power_w": 560, "outlet/AA3/current_a": 2.44, "outlet/AA3/voltage_v": 230.5},
			absent: []string{"outlet/AA4/power_w", "outlet/AA4/current_a", "inlet/AA/energy_kwh"}},
		{name: "sw-r11-poe", profile: "power-ethernet", by: "probe .1.3.6.1.2.1.105.1.3.1.1.4",
			want: map[string]float64{"pse/1/power_w": 96}},
		{name: "ups-a", profile: "ups-mib", want: map[string]float64{"total/power_w": 3150}},
		{name: "pdu-r01-a", profile: "apc-rpdu2", by: "sysObjectID .1.3.6.1.4.1.318.1.3.4.6", want: map[string]float64{"total/power_w": 1420}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := snmp.ProbeOptions{Addr: agent.Addr().Addr().String(), Port: agent.Addr().Port(), Community: tt.name,
				Timeout: 2 * time.Second, Retries: 1}
			if tt.by == "" {
				opts.Profile = tt.profile // the UPS-MIB is found by name (the demo config names it)
			}
			res, err := snmp.Probe(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Profile != tt.profile || (tt.by != "" && res.DetectedBy != tt.by) {
				t.Errorf("detected %s by %q, want %s by %q", res.Profile, res.DetectedBy, tt.profile, tt.by)
			}
			got := map[string]float64{}
			for _, r := range res.Readings {
				got[r.Meter+"/"+r.Field] = r.Value
			}
			for k, v := range tt.want {
				if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9 {
					t.Errorf("%s = %v (present %v), want %v", k, g, ok, v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := got[k]; ok {
					t.Errorf("%s present, want absent", k)
				}
			}

			// The collector the demo and `serve` run, detecting the
			// profile itself, turns the same readings into samples.
			target := collectors.Target{Site: "demo-dc", Device: tt.name, Class: "pdu"}
			c, err := snmp.New(snmp.Device{Target: target, Profile: opts.Profile, Conn: snmp.Conn{Addr: opts.Addr, Port: opts.Port,
				Version: snmp.V2c, Community: tt.name, Timeout: 2 * time.Second, Retries: 1}}, snmp.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ss, err := c.Collect(context.Background(), time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			power := 0
			for _, s := range ss {
				if err := s.Validate(); err != nil {
					t.Error(err)
				}
				if f, ok := s.Get("power_w"); ok && s.Measurement == sample.Power {
					if want, listed := tt.want[s.Meter+"/power_w"]; listed && f.Num != want {
						t.Errorf("sample %s power_w %v, want %v", s.Meter, f.Num, want)
					}
					power++
				}
			}
			if power == 0 {
				t.Errorf("no power samples from %s", tt.name)
			}
		})
	}
}

// TestDemoPoEPorts: the PoE switch's ports are POWER-ETHERNET-MIB ports a
// power-down policy can switch: writing pethPsePortAdminEnable false(2)
// stops the port delivering power (pethPsePortDetectionStatus disabled(1)).
func TestDemoPoEPorts(t *testing.T) {
	agent := startDemoAgent(t)
	g := &gosnmp.GoSNMP{Target: agent.Addr().Addr().String(), Port: agent.Addr().Port(), Community: "sw-r11-poe",
		Version: gosnmp.Version2c, Timeout: 2 * time.Second, Retries: 1}
	if err := g.Connect(); err != nil {
		t.Fatal(err)
	}
	defer g.Conn.Close()
	const admin, detect = "1.3.6.1.2.1.105.1.1.1.3.1.2", "1.3.6.1.2.1.105.1.1.1.6.1.2"
	get := func() (int, int) {
		t.Helper()
		r, err := g.Get([]string{admin, detect})
		if err != nil {
			t.Fatal(err)
		}
		return int(gosnmp.ToBigInt(r.Variables[0].Value).Int64()), int(gosnmp.ToBigInt(r.Variables[1].Value).Int64())
	}
	if a, d := get(); a != 1 || d != 3 {
		t.Fatalf("port 1.2: admin %d, detection %d; want true(1), deliveringPower(3)", a, d)
	}
	if _, err := g.Set([]gosnmp.SnmpPDU{{Name: admin, Type: gosnmp.Integer, Value: 2}}); err != nil {
		t.Fatal(err)
	}
	if a, d := get(); a != 2 || d != 1 {
		t.Errorf("after false(2): admin %d, detection %d; want false(2), disabled(1)", a, d)
	}
}

// TestDemoRedfishMockups: the two BMC mockup trees, served by the Redfish
// simulator on loopback, are read by the real Redfish collector: the newer
// BMC through EnvironmentMetrics (with PSU metrics and a power limit
// Control), the older one through the deprecated Chassis Power resource.
func TestDemoRedfishMockups(t *testing.T) {
	tests := []struct {
		name   string
		source redfish.Source
		want   map[string]float64 // source meter field → value
		limit  float64            // 0: none
		resets string
	}{
		{name: "srv-vdi-host11", source: redfish.SourceEnvironmentMetrics, limit: 600, resets: "On,ForceOff,GracefulShutdown,GracefulRestart,ForceRestart",
			want: map[string]float64{"EnvironmentMetrics total power_w": 410, "PowerSubsystem psu/1 power_w": 207, "PowerSubsystem psu/2 power_w": 203,
				"PowerSubsystem psu/1 voltage_v": 231}},
		{name: "srv-backup12", source: redfish.SourceLegacyPower, resets: "On,ForceOff,GracefulShutdown,ForceRestart,PushPowerButton",
			want: map[string]float64{"Power total power_w": 560, "Power psu/1 power_w": 284, "Power psu/2 power_w": 276, "Power psu/1 voltage_v": 230}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := fs.Sub(examples.Demo, "demo/redfish/"+tt.name)
			if err != nil {
				t.Fatal(err)
			}
			m, err := simredfish.LoadFS(tree, "demo/redfish/"+tt.name)
			if err != nil {
				t.Fatal(err)
			}
			bmc, err := simredfish.New(simredfish.Options{Mockup: m, Username: "ecometer", Password: "demo-password"})
			if err != nil {
				t.Fatal(err)
			}
			srv := httptest.NewServer(bmc)
			defer srv.Close()
			opts := redfish.Options{Endpoint: srv.URL, Username: "ecometer", Password: "demo-password", Timeout: 2 * time.Second, MinSpacing: -1,
				Target: collectors.Target{Site: "demo-dc", Device: tt.name, Class: "server"}, Logger: slog.New(slog.DiscardHandler)}
			res, err := redfish.Probe(context.Background(), opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Chassis) != 1 || res.Chassis[0].Source != tt.source || res.Chassis[0].Meter != "total" {
				t.Errorf("chassis %+v, want one, polled through %s", res.Chassis, tt.source)
			}
			got := map[string]float64{}
			for _, r := range res.Readings {
				got[string(r.Source)+" "+r.Meter+" "+r.Field] = r.Value
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %v, want %v", k, got[k], v)
				}
			}
			if len(res.Systems) != 1 || res.Systems[0].PowerState != "On" || strings.Join(res.Systems[0].AllowedResets, ",") != tt.resets {
				t.Errorf("systems %+v, want On with resets %s", res.Systems, tt.resets)
			}
			switch {
			case tt.limit == 0 && len(res.PowerLimits) > 0 && res.PowerLimits[0].Watts != nil:
				t.Errorf("power limit %+v, want none", res.PowerLimits)
			case tt.limit > 0 && (len(res.PowerLimits) != 1 || res.PowerLimits[0].Watts == nil || *res.PowerLimits[0].Watts != tt.limit):
				t.Errorf("power limits %+v, want %v W", res.PowerLimits, tt.limit)
			}

			c, err := redfish.New(opts)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			ss, err := c.Collect(context.Background(), time.Date(2026, 11, 2, 10, 0, 0, 0, time.UTC))
			if err != nil {
				t.Fatal(err)
			}
			var power float64
			state := ""
			for _, s := range ss {
				if err := s.Validate(); err != nil {
					t.Error(err)
				}
				if f, ok := s.Get("power_w"); ok && s.Meter == "total" {
					power = f.Num
				}
				if f, ok := s.Get("power_state"); ok {
					state = f.Text
				}
			}
			if power != tt.want[string(tt.source)+" total power_w"] || state != "On" {
				t.Errorf("collected total %v W, state %q", power, state)
			}
		})
	}
}
