package policy

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/control/safety"
)

// TestExamplePolicies loads every examples/policies file against
// examples/site.yaml: strictly valid, names unique, and each selects
// something without ever targeting a protected device.
func TestExamplePolicies(t *testing.T) {
	cfg, err := config.Parse("examples/site.yaml", examples.SiteYAML)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob(filepath.Join("..", "..", "..", "examples", "policies", "*.yaml"))
	if err != nil || len(files) < 3 {
		t.Fatalf("example policies: %v %v", files, err)
	}
	pols, err := Load(cfg, files)
	if err != nil {
		t.Fatal(err)
	}
	guard := safety.New(cfg)
	ports := func(string) []string { return []string{"Gi1/0/1", "Gi1/0/2", "Gi2/0/7", "Te1/1/1"} }
	for _, p := range pols {
		sels, _ := Targets(p.Policy, cfg, ports, nil)
		if len(sels) == 0 {
			t.Errorf("%s (%s) selects nothing in examples/site.yaml", p.Name, p.File)
		}
		for _, s := range sels {
			if s.Device.Criticality == config.CriticalityPatientCritical {
				t.Errorf("%s selects patient-critical %s", p.Name, s.Target)
			}
			_ = guard.Check(s.Target) // may refuse; the dispatcher does
		}
	}
}

func TestPolicyFileProblems(t *testing.T) {
	cfg, err := config.Parse("examples/site.yaml", examples.SiteYAML)
	if err != nil {
		t.Fatal(err)
	}
	bad := `policies:
  - name: bad policy
    select: {}
    action: off
    schedule:
      weekly:
        - days: [mon-fry]
          from: "19:00"
          to: "25:00"
    conditions: {off_below_w: 100, on_above_w: 50, on_window: 5m}
    max_off_pct: 0
  - name: phones
    select: {devices: [sw-nope]}
    action: poe-off
    schedule: {carbon_aware: {on_hours: 9, from: "22:00", to: "06:00"}}
`
	_, err = config.ParsePolicies("bad.yaml", []byte(bad), cfg)
	if err == nil {
		t.Fatal("no problems")
	}
	for _, want := range []string{
		`bad.yaml:2:11: policies[0].name: policy name "bad policy"`,
		`bad.yaml:3:13: policies[0].select: needs at least one of`,
		`bad.yaml:4:13: policies[0].action: invalid value "off"`,
		`policies[0].schedule.weekly[0].days[0]: invalid day "mon-fry"`,
		`policies[0].schedule.weekly[0].to: invalid time of day "25:00"`,
		`policies[0].conditions: off_below_w and off_window go together`,
		`policies[0].conditions.on_above_w: must be above off_below_w 100 W`,
		`policies[0].max_off_pct: must be more than 0`,
		`policies[1].select.devices[0]: unknown device "sw-nope"`,
		`policies[1].ports: missing required key`,
		`policies[1].schedule.carbon_aware.on_hours: 9 h do not fit between 22:00 and 06:00`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("problems lack %q:\n%v", want, err)
		}
	}
}

// A selector with idle_candidates keeps only what the idle finder named:
// whole servers, and the outlets or PoE ports it named when the policy
// lists none (or only those of its list).
func TestIdleCandidatesSelector(t *testing.T) {
	cfg, err := config.Parse("examples/site.yaml", examples.SiteYAML)
	if err != nil {
		t.Fatal(err)
	}
	var server, sw string
	for _, d := range cfg.Devices {
		switch {
		case d.Class == config.ClassServer && d.Protocol == config.ProtocolRedfish && d.Criticality != config.CriticalityPatientCritical && server == "":
			server = d.Name
		case d.Class == config.ClassSwitch && d.Protocol == config.ProtocolSNMP && sw == "":
			sw = d.Name
		}
	}
	if server == "" || sw == "" {
		t.Fatalf("examples/site.yaml lacks a Redfish server or an SNMP switch")
	}
	idle := Idle{server: nil, sw: {"poe/Gi1/0/2", "poe/Gi2/0/7"}}
	ports := func(string) []string { return []string{"Gi1/0/1", "Gi1/0/2", "Gi2/0/7"} }

	shut := config.Policy{Name: "idle servers", Select: config.Selector{IdleCandidates: true, Classes: []config.DeviceClass{config.ClassServer}}, Action: config.ActionShutdown}
	sels, _ := Targets(shut, cfg, ports, idle)
	if len(sels) != 1 || sels[0].Device.Name != server {
		t.Errorf("shutdown of idle servers selects %v, want only %s", sels, server)
	}
	if sels, _ := Targets(shut, cfg, ports, Idle{}); len(sels) != 0 {
		t.Errorf("no idle candidates, yet %v selected", sels)
	}

	poe := config.Policy{Name: "idle ports", Select: config.Selector{IdleCandidates: true}, Action: config.ActionPoEOff}
	sels, _ = Targets(poe, cfg, ports, idle)
	var got []string
	for _, s := range sels {
		got = append(got, s.Target.Name)
	}
	if strings.Join(got, " ") != "Gi1/0/2 Gi2/0/7" {
		t.Errorf("idle PoE ports %v, want Gi1/0/2 Gi2/0/7", got)
	}
	poe.Ports = []string{"Gi1/0/*"}
	sels, _ = Targets(poe, cfg, ports, idle)
	if len(sels) != 1 || sels[0].Target.Name != "Gi1/0/2" {
		t.Errorf("idle PoE ports within Gi1/0/*: %v", sels)
	}
}
