package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const powerSite = `
allow_inline_secrets: true
sites: [{name: dc1}]
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: pdu-a, port: 9}}
  - {name: srv-icu, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, redfish: {user: u, password: p},
     feeds: pdu-a/outlet/3, criticality: patient-critical, tags: {env: test}}
  - {name: srv-test, site: dc1, class: server, protocol: redfish, address: 127.0.0.1, redfish: {user: u, password: p},
     feeds: pdu-a/outlet/4, tags: {env: test}}
storage: {data_dir: ./data}
control:
  policies:
    - name: night
      select: {tags: {env: test}}
      action: shutdown
      switch_outlet: true
      schedule: {weekly: [{days: [mon-sun], from: "19:00", to: "07:00"}]}
`

func runPower(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), append([]string{"ecometer", "power"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestPowerCLI(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte(powerSite), 0o600); err != nil {
		t.Fatal(err)
	}
	planFile := filepath.Join(dir, "plan.json")

	code, out, errOut := runPower(t, "plan", "--config", cfg, "--at", "2026-03-02 18:30", "-o", planFile)
	if code != 0 {
		t.Fatalf("plan: exit %d\n%s%s", code, out, errOut)
	}
	for _, want := range []string{"off  srv-test", "off  pdu-a/outlet/4", "on   srv-test", "srv-icu is patient-critical"} {
		if !strings.Contains(out, want) && !strings.Contains(strings.ReplaceAll(out, "  ", " "), strings.ReplaceAll(want, "  ", " ")) {
			t.Errorf("plan output lacks %q:\n%s", want, out)
		}
	}
	// A plan made for 2026-03-02 is stale today; a modified one is refused
	// whatever its age.
	if code, _, errOut := runPower(t, "apply", planFile, "--yes"); code != 2 || !strings.Contains(errOut, "stale plan") {
		t.Errorf("stale apply: exit %d %s", code, errOut)
	}
	data, _ := os.ReadFile(planFile)
	if err := os.WriteFile(planFile, bytes.Replace(data, []byte(`"op": "off"`), []byte(`"op": "on"`), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runPower(t, "apply", planFile, "--yes"); code != 2 || !strings.Contains(errOut, "modified") {
		t.Errorf("modified apply: exit %d %s", code, errOut)
	}

	// Manual commands need a reason; a protected target is refused and
	// audited without any connection to it.
	if code, _, errOut := runPower(t, "off", "srv-icu", "--config", cfg); code != 2 || !strings.Contains(errOut, "--reason") {
		t.Errorf("no reason: exit %d %s", code, errOut)
	}
	for _, tg := range []string{"srv-icu", "pdu-a/outlet/3"} {
		code, out, _ := runPower(t, "off", tg, "--config", cfg, "--reason", "test")
		if code != 1 || !strings.Contains(out, "refused") {
			t.Errorf("off %s: exit %d %s", tg, code, out)
		}
	}
	code, out, _ = runPower(t, "history", "--config", cfg, "--verify")
	if code != 0 || !strings.Contains(out, "2 entries, hash chain intact") || strings.Count(out, "refused") < 2 {
		t.Errorf("history: exit %d\n%s", code, out)
	}
	logFile := filepath.Join(dir, "data", "control", "audit.jsonl")
	log, _ := os.ReadFile(logFile)
	if err := os.WriteFile(logFile, bytes.Replace(log, []byte(`"who":"`), []byte(`"who":"someone else, `), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runPower(t, "history", "--config", cfg, "--verify"); code != 1 || !strings.Contains(errOut, "TAMPERED") {
		t.Errorf("tampered history: exit %d %s", code, errOut)
	}
}
