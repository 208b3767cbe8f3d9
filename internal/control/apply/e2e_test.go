package apply

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/controltest"
	"github.com/ecometer/ecometer/internal/control/driver"
	"github.com/ecometer/ecometer/internal/control/plan"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/control/target"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
)

type site struct {
	snmp  *controltest.SNMP
	bmcs  map[string]*controltest.BMC
	clock *controltest.Clock
	cfg   *config.Config
	dir   string
}

const sitePolicies = `
control:
  policies:
    - name: test-night
      select: {tags: {env: test}}
      action: shutdown
      switch_outlet: true
      shutdown_timeout: 5m
      power_on_lead: 15m
      delay: 10s
      schedule: {weekly: [{days: [mon-sun], from: "19:00", to: "07:00"}]}
    - name: phones-night
      select: {devices: [sw-1]}
      action: poe-off
      ports: ["pse:1.1", "pse:1.2", "pse:1.3", "pse:1.4"]
      schedule: {weekly: [{days: [mon-sun], from: "19:00", to: "07:00"}]}
`

// startSite starts a PDU and a PoE switch (SNMP), two test servers (one
// whose BMC reports Off early and drops an On sent during a shutdown) and
// a patient-critical server (Redfish), at 18:50 Danish time.
func startSite(t *testing.T, policies string) *site {
	t.Helper()
	loc, _ := time.LoadLocation(calendar.Zone)
	clock := controltest.NewClock(time.Date(2026, 3, 2, 18, 50, 0, 0, loc))
	s := &site{clock: clock, bmcs: map[string]*controltest.BMC{}, dir: t.TempDir()}
	s.snmp = controltest.StartSNMP(t,
		controltest.Recording(t, "pdu-a", controltest.APCOutlets(8)),
		controltest.Recording(t, "sw-1", controltest.PoEPorts(8)))
	mock := controltest.Mockup(t)
	for _, name := range []string{"srv-1", "srv-2", "srv-icu"} {
		s.bmcs[name] = controltest.StartBMC(t, simredfish.Options{Mockup: mock, Now: clock.Now,
			QuirkReportOffEarly: name == "srv-2", ShutdownDuration: 30 * time.Second, PowerOnDuration: 20 * time.Second})
	}
	var b strings.Builder
	fmt.Fprintf(&b, "allow_inline_secrets: true\nsites: [{name: dc1}]\ndevices:\n")
	for _, n := range []string{"pdu-a", "sw-1"} {
		class := map[string]string{"pdu-a": "pdu", "sw-1": "switch"}[n]
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: %s, protocol: snmp, address: 127.0.0.1, snmp: {community: %s, port: %d, timeout: 1s}}\n",
			n, class, n, s.snmp.Port())
	}
	for i, n := range []string{"srv-1", "srv-2", "srv-icu"} {
		extra := ""
		if n == "srv-icu" {
			extra = ", criticality: patient-critical"
		}
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: server, protocol: redfish, address: %q, redfish: {user: admin, password: password, ca_file: %q}, feeds: pdu-a/outlet/%d, tags: {env: test}%s}\n",
			n, s.bmcs[n].URL, s.bmcs[n].CA, i+1, extra)
	}
	fmt.Fprintf(&b, "  - {name: phone-icu, site: dc1, class: switch, protocol: snmp, address: 127.0.0.1, snmp: {community: sw-1, port: %d}, feeds: sw-1/poe/Gi1/0/3, criticality: patient-critical, accounting_role: none}\n", s.snmp.Port())
	b.WriteString(policies)
	cfg, err := config.Parse(filepath.Join(s.dir, "site.yaml"), []byte(b.String()))
	if err != nil {
		t.Fatalf("%v\n%s", err, b.String())
	}
	s.cfg = cfg
	return s
}

func (s *site) plan(t *testing.T, log *audit.Log) *plan.Plan {
	t.Helper()
	pols, err := policy.Load(s.cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cal, err := calendar.New(s.cfg.Control)
	if err != nil {
		t.Fatal(err)
	}
	p, err := plan.Make(context.Background(), plan.Inputs{Config: s.cfg, Policies: pols, Calendar: cal, Audit: log,
		At: s.clock.Now(), Now: s.clock.Now(), By: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func (s *site) applier(t *testing.T, log *audit.Log) *Applier {
	t.Helper()
	d := driver.New(s.cfg, log, driver.Options{Clock: s.clock, MinInterval: 2 * time.Second})
	t.Cleanup(func() { d.Close() })
	return &Applier{Runner: &Runner{D: d, VerifyTimeout: 2 * time.Minute, VerifyInterval: 5 * time.Second},
		Lock: Lock{Path: filepath.Join(s.dir, "apply.lock"), Who: "test"}, LockWait: 30 * time.Second}
}

func (s *site) systemState(t *testing.T, name string) string {
	t.Helper()
	d := driver.New(s.cfg, audit.Open(filepath.Join(t.TempDir(), "a.jsonl")), driver.Options{Clock: s.clock})
	defer d.Close()
	r, err := d.Read(context.Background(), target.Target{Device: name, Kind: target.System})
	if err != nil {
		t.Fatal(err)
	}
	return string(r.State)
}

// TestPlanApplyVerifyPowerOn runs a whole night: plan at 18:50, shut the
// test servers down at 19:00 (then their outlets), disable the phones'
// PoE, and power everything on at 06:45, against the simulators.
func TestPlanApplyVerifyPowerOn(t *testing.T) {
	s := startSite(t, sitePolicies)
	log := audit.Open(filepath.Join(s.dir, "audit.jsonl"))
	log.SetClock(s.clock.Now)
	p := s.plan(t, log)

	var steps []string
	for _, st := range p.Steps {
		steps = append(steps, fmt.Sprintf("%s %s %s", st.Due.In(s.clock.Now().Location()).Format("15:04"), st.Op, st.Target))
	}
	want := []string{
		"19:00 off srv-1", "19:00 off srv-2", "19:00 off pdu-a/outlet/1", "19:00 off pdu-a/outlet/2",
		"19:00 off sw-1/poe/pse:1.1", "19:00 off sw-1/poe/pse:1.2", "19:00 off sw-1/poe/pse:1.3", "19:00 off sw-1/poe/pse:1.4",
		"06:45 on sw-1/poe/pse:1.1", "06:45 on sw-1/poe/pse:1.2", "06:45 on sw-1/poe/pse:1.3", "06:45 on sw-1/poe/pse:1.4",
		"06:45 on pdu-a/outlet/1", "06:45 on pdu-a/outlet/2", "06:45 on srv-1", "06:45 on srv-2",
	}
	if strings.Join(steps, "\n") != strings.Join(want, "\n") {
		t.Fatalf("plan steps:\n%s\nwant:\n%s", strings.Join(steps, "\n"), strings.Join(want, "\n"))
	}
	var skipped []string
	for _, sk := range p.Skipped {
		skipped = append(skipped, sk.Target)
	}
	if !strings.Contains(strings.Join(skipped, " "), "srv-icu") {
		t.Errorf("srv-icu not skipped as protected: %v", p.Skipped)
	}

	rep, err := s.applier(t, log).Apply(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	outcomes := map[string]string{}
	for _, r := range rep.Results {
		outcomes[r.Op+" "+r.Target] = r.Outcome
		if r.Outcome == Failed {
			t.Errorf("%s %s failed: %s (before %s, after %s)", r.Op, r.Target, r.Detail, r.Before, r.After)
		}
	}
	// The phone port of the ICU is named pse:1.3 in the policy and
	// Gi1/0/3 in the config: the dispatcher resolves both and refuses.
	// Its power-on finds it on (it never went off): nothing to send.
	if outcomes["off sw-1/poe/pse:1.3"] != Refused || outcomes["on sw-1/poe/pse:1.3"] != Noop {
		t.Errorf("pse:1.3 (feeds phone-icu) = %q/%q, want refused/noop", outcomes["off sw-1/poe/pse:1.3"], outcomes["on sw-1/poe/pse:1.3"])
	}
	for _, name := range []string{"srv-1", "srv-2"} {
		if outcomes["off "+name] != OK || outcomes["on "+name] != OK {
			t.Errorf("%s: off %q, on %q", name, outcomes["off "+name], outcomes["on "+name])
		}
		if got := s.systemState(t, name); got != "on" {
			t.Errorf("%s is %s after the night, want on", name, got)
		}
	}
	// Nothing ever reached a protected target.
	if n := s.bmcs["srv-icu"].Commands(); n != 0 {
		t.Errorf("srv-icu's BMC received %d commands", n)
	}
	for _, set := range s.snmp.Sets() {
		if strings.HasSuffix(set.OID, "26.9.2.4.1.5.3") || strings.HasSuffix(set.OID, "105.1.1.1.3.1.3") {
			t.Errorf("SET to a protected outlet/port: %+v", set)
		}
	}
	// srv-2's BMC reports Off while still shutting down: its outlet must be
	// switched off only after the real end of the shutdown.
	entries, _ := log.Read()
	var shutdown2, outlet2 time.Time
	for _, e := range entries {
		if e.Event == audit.EventCommand && e.Target == "srv-2" && e.Action == "off" {
			shutdown2 = e.Time
		}
		if e.Event == audit.EventCommand && e.Target == "pdu-a/outlet/2" && e.Action == "off" {
			outlet2 = e.Time
		}
	}
	if outlet2.Sub(shutdown2) < 30*time.Second {
		t.Errorf("outlet 2 switched off %s after srv-2's GracefulShutdown; the shutdown takes 30s", outlet2.Sub(shutdown2))
	}
	var refusals int
	for _, e := range entries {
		if e.Event == audit.EventRefused {
			refusals++
		}
	}
	if refusals != 1 {
		t.Errorf("%d refusals audited, want 1 (pse:1.3 off)", refusals)
	}
	if _, err := log.Verify(); err != nil {
		t.Error(err)
	}
}

// TestOnDroppedDuringShutdown: a BMC that accepts an On during a shutdown
// and drops it. The runner sees the server stay off, confirms it is off,
// and sends On again — never a power cycle.
func TestOnDroppedDuringShutdown(t *testing.T) {
	s := startSite(t, "")
	log := audit.Open(filepath.Join(s.dir, "audit.jsonl"))
	log.SetClock(s.clock.Now)
	a := s.applier(t, log)
	ctx := context.Background()
	srv := target.Target{Device: "srv-2", Kind: target.System}
	if _, err := a.Runner.D.Send(ctx, driver.Request{Target: srv, Command: driver.CmdGracefulShutdown, Action: "off", Why: "test"}); err != nil {
		t.Fatal(err)
	}
	// Reported Off at once (the quirk), so the runner sends On during the
	// shutdown; the BMC drops it.
	res := a.Runner.Do(ctx, Op{Target: srv, Op: "on", Why: "test"})
	if res.Outcome != OK || !strings.Contains(res.Detail, "attempts") {
		t.Fatalf("on = %+v, want ok after a second attempt", res)
	}
	if st := s.systemState(t, "srv-2"); st != "on" {
		t.Errorf("srv-2 is %s", st)
	}
	for k := range s.bmcs["srv-2"].Sim.Requests() {
		if strings.Contains(k, "PowerCycle") || strings.Contains(k, "Restart") {
			t.Errorf("request %s", k)
		}
	}
	entries, _ := log.Read()
	var resets []string
	for _, e := range entries {
		if e.Event == audit.EventCommand {
			resets = append(resets, e.Command)
		}
	}
	if strings.Join(resets, ",") != "graceful-shutdown,on,on" {
		t.Errorf("commands %v, want graceful-shutdown, on, on", resets)
	}
}

// TestTwoAppliersActOnce starts two appliers of the same plan at once,
// each with its own connections, sharing only the lock file and the audit
// log: every action is performed once.
func TestTwoAppliersActOnce(t *testing.T) {
	s := startSite(t, sitePolicies)
	logPath := filepath.Join(s.dir, "audit.jsonl")
	log := audit.Open(logPath)
	log.SetClock(s.clock.Now)
	p := s.plan(t, log)
	var wg sync.WaitGroup
	reps := make([]Report, 2)
	errs := make([]error, 2)
	for i := range 2 {
		l := audit.Open(logPath)
		l.SetClock(s.clock.Now)
		a := s.applier(t, l)
		wg.Add(1)
		go func() {
			defer wg.Done()
			reps[i], errs[i] = a.Apply(context.Background(), p)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("applier %d: %v", i, err)
		}
	}
	perOID := map[string]int{}
	for _, set := range s.snmp.Sets() {
		perOID[fmt.Sprintf("%s=%v", set.OID, set.Value)]++
	}
	for k, n := range perOID {
		if n != 1 {
			t.Errorf("SET %s sent %d times", k, n)
		}
	}
	if len(perOID) != 10 { // outlets 1, 2 and ports 1, 2, 4: off and on
		t.Errorf("%d distinct SETs, want 10: %v", len(perOID), perOID)
	}
	for _, name := range []string{"srv-1", "srv-2"} {
		if n := s.bmcs[name].Commands(); n != 2 { // GracefulShutdown, On
			t.Errorf("%s: %d reset commands, want 2", name, n)
		}
	}
	if _, err := log.Verify(); err != nil {
		t.Error(err)
	}
}
