package apply

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/controltest"
	"github.com/ecometer/ecometer/internal/control/driver"
	"github.com/ecometer/ecometer/internal/control/plan"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/control/safety"
	"github.com/ecometer/ecometer/internal/control/target"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
)

var propertyIterations = flag.Int("property.n", 200, "iterations of TestNoProtectedTargetEverCommanded")

// TestNoProtectedTargetEverCommanded generates random device sets
// (criticality, deny lists, feeds chains, PoE ports protected under their
// ifName or PSE name) and random policies and manual commands, plans and
// applies them against the simulators, and checks every command the
// simulators received: none reached a protected target, and every manual
// command on a protected target was refused and audited.
func TestNoProtectedTargetEverCommanded(t *testing.T) {
	n := *propertyIterations
	if testing.Short() {
		n = 20
	}
	loc, _ := time.LoadLocation(calendar.Zone)
	clock := controltest.NewClock(time.Date(2026, 3, 4, 20, 0, 0, 0, loc))
	pdus, switches, servers := []string{"pdu-1", "pdu-2"}, []string{"sw-1"}, []string{"srv-1", "srv-2"}
	s := controltest.StartSNMP(t,
		controltest.Recording(t, "pdu-1", controltest.APCOutlets(6)),
		controltest.Recording(t, "pdu-2", controltest.APCOutlets(6)),
		controltest.Recording(t, "sw-1", controltest.PoEPorts(6)))
	mock := controltest.Mockup(t)
	bmcs := map[string]*controltest.BMC{}
	for _, name := range servers {
		bmcs[name] = controltest.StartBMC(t, simredfish.Options{Mockup: mock, Now: clock.Now,
			ShutdownDuration: time.Second, PowerOnDuration: time.Second, QuirkReportOffEarly: name == "srv-2"})
	}
	dir := t.TempDir()
	commands, refusals := 0, 0
	for it := range n {
		rng := rand.New(rand.NewPCG(uint64(it), 0xec0))
		yaml := randomSite(rng, s.Port(), bmcs, pdus, switches, servers)
		cfg, err := config.Parse(filepath.Join(dir, "site.yaml"), []byte(yaml))
		if err != nil {
			t.Fatalf("iteration %d: generated config invalid: %v\n%s", it, err, yaml)
		}
		s.Reset()
		for _, b := range bmcs {
			b.Sim.ResetRequests()
		}
		log := audit.Open(filepath.Join(dir, fmt.Sprintf("audit-%d.jsonl", it)))
		log.SetClock(clock.Now)
		d := driver.New(cfg, log, driver.Options{Clock: clock, MinInterval: time.Second})
		r := &Runner{D: d, VerifyTimeout: 30 * time.Second, VerifyInterval: 5 * time.Second, OnRetries: 1}
		pols, err := policy.Load(cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		cal, _ := calendar.New(cfg.Control)
		p, err := plan.Make(context.Background(), plan.Inputs{Config: cfg, Policies: pols, Calendar: cal, Audit: log, At: clock.Now(), Now: clock.Now()})
		if err != nil {
			t.Fatalf("iteration %d: plan: %v", it, err)
		}
		// Apply only the off steps now (the on steps are hours away);
		// then the manual commands.
		var offs []plan.Step
		for _, st := range p.Steps {
			if !st.Due.After(clock.Now()) {
				offs = append(offs, st)
			}
		}
		p.Steps = offs
		a := &Applier{Runner: r, Lock: Lock{Path: filepath.Join(dir, "lock"), Who: "prop"}}
		if _, err := a.Apply(context.Background(), p); err != nil {
			t.Fatalf("iteration %d: apply: %v", it, err)
		}
		guard := safety.New(cfg)
		all := allTargets(cfg, pdus, switches, servers)
		manualProtected := 0
		for range 1 + rng.IntN(3) {
			tg := all[rng.IntN(len(all))]
			op := []string{"off", "on", "cap"}[rng.IntN(3)]
			if op == "cap" && tg.Kind != target.System {
				op = "off"
			}
			res := r.Do(context.Background(), Op{Target: tg, Op: op, Watts: 300, Why: "manual: property test"})
			if protected(guard, tg) {
				manualProtected++
				if res.Outcome != Refused {
					t.Errorf("iteration %d: manual %s %s on a protected target: %s", it, op, tg, res.Outcome)
				}
			}
		}
		// Every command the simulators received went to an unprotected target.
		for _, set := range s.Sets() {
			tg := setTarget(set)
			commands++
			if protected(guard, tg) {
				t.Errorf("iteration %d: SET %s=%v reached protected %s\n%s", it, set.OID, set.Value, tg, yaml)
			}
		}
		for name, b := range bmcs {
			c := b.Commands()
			commands += c
			if c > 0 && protected(guard, target.Target{Device: name, Kind: target.System}) {
				t.Errorf("iteration %d: protected %s received %d commands\n%s", it, name, c, yaml)
			}
		}
		entries, _ := log.Read()
		got := 0
		for _, e := range entries {
			if e.Event == audit.EventRefused && strings.HasPrefix(e.Why, "manual:") {
				got++
			}
		}
		if got < manualProtected {
			t.Errorf("iteration %d: %d manual commands on protected targets, %d refusals audited", it, manualProtected, got)
		}
		refusals += got
		if _, err := log.Verify(); err != nil {
			t.Errorf("iteration %d: %v", it, err)
		}
		d.Close()
		clock.Sleep(context.Background(), time.Minute)
	}
	t.Logf("%d iterations: %d commands reached the simulators, %d manual refusals audited", n, commands, refusals)
	if commands == 0 || refusals == 0 {
		t.Errorf("the generator produced %d commands and %d refusals: it tests nothing", commands, refusals)
	}
}

func protected(g *safety.Guard, t target.Target) bool {
	if g.Check(t) != nil {
		return true
	}
	if t.Kind == target.PoE { // the other name of the port
		var alias target.Target
		if idx, ok := strings.CutPrefix(t.Name, "pse:1."); ok {
			alias = target.Target{Device: t.Device, Kind: target.PoE, Name: "Gi1/0/" + idx}
		} else if n, ok := strings.CutPrefix(t.Name, "Gi1/0/"); ok {
			alias = target.Target{Device: t.Device, Kind: target.PoE, Name: "pse:1." + n}
		}
		return g.Check(alias) != nil
	}
	return false
}

// setTarget maps a SET back to the target it commands.
func setTarget(s controltest.Set) target.Target {
	i := strings.LastIndexByte(s.OID, '.')
	switch {
	case strings.HasPrefix(s.OID, "1.3.6.1.2.1.105.1.1.1.3.1."):
		return target.Target{Device: s.Device, Kind: target.PoE, Name: "pse:1." + s.OID[i+1:]}
	default:
		return target.Target{Device: s.Device, Kind: target.Outlet, Name: s.OID[i+1:]}
	}
}

func allTargets(cfg *config.Config, pdus, switches, servers []string) []target.Target {
	var out []target.Target
	for _, s := range servers {
		out = append(out, target.Target{Device: s, Kind: target.System})
	}
	for _, p := range pdus {
		for o := 1; o <= 6; o++ {
			out = append(out, target.Target{Device: p, Kind: target.Outlet, Name: fmt.Sprint(o)})
		}
	}
	for _, sw := range switches {
		for o := 1; o <= 6; o++ {
			out = append(out, target.Target{Device: sw, Kind: target.PoE, Name: fmt.Sprintf("Gi1/0/%d", o)},
				target.Target{Device: sw, Kind: target.PoE, Name: fmt.Sprintf("pse:1.%d", o)})
		}
	}
	return out
}

// randomSite writes a config: the simulated devices, phones and
// downstream PDUs hanging on random outlets and ports, random
// criticalities and deny lists, and one to three random policies whose
// windows cover the current time.
func randomSite(rng *rand.Rand, port int, bmcs map[string]*controltest.BMC, pdus, switches, servers []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "allow_inline_secrets: true\nsites: [{name: dc1}]\ndevices:\n")
	crit := func() string {
		if rng.IntN(4) == 0 {
			return ", criticality: patient-critical"
		}
		return ""
	}
	env := func() string { return []string{"test", "prod"}[rng.IntN(2)] }
	outlet := func() string { return fmt.Sprintf("%s/outlet/%d", pdus[rng.IntN(len(pdus))], 1+rng.IntN(6)) }
	for i, p := range pdus {
		feeds := ""
		if i > 0 && rng.IntN(2) == 0 { // a PDU hanging on another PDU's outlet
			feeds = fmt.Sprintf(", feeds: %s/outlet/%d", pdus[0], 1+rng.IntN(6))
		}
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: {community: %s, port: %d, timeout: 1s}, tags: {env: %s}%s%s}\n",
			p, p, port, env(), feeds, crit())
	}
	for _, sw := range switches {
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: switch, protocol: snmp, address: 127.0.0.1, snmp: {community: %s, port: %d, timeout: 1s}, tags: {env: %s}%s}\n",
			sw, sw, port, env(), crit())
	}
	for _, srv := range servers {
		feeds := ""
		if rng.IntN(3) > 0 {
			feeds = ", feeds: " + outlet()
		}
		fmt.Fprintf(&b, "  - {name: %s, site: dc1, class: server, protocol: redfish, address: %q, redfish: {user: admin, password: password, ca_file: %q}, tags: {env: %s}%s%s}\n",
			srv, bmcs[srv].URL, bmcs[srv].CA, env(), feeds, crit())
	}
	for i := range 1 + rng.IntN(4) { // phones and monitors on outlets and ports
		feeds := outlet()
		if rng.IntN(2) == 0 {
			n := 1 + rng.IntN(6)
			feeds = fmt.Sprintf("%s/poe/Gi1/0/%d", switches[0], n)
			if rng.IntN(2) == 0 {
				feeds = fmt.Sprintf("%s/poe/pse:1.%d", switches[0], n)
			}
		}
		fmt.Fprintf(&b, "  - {name: dev-%d, site: dc1, class: switch, protocol: snmp, address: 127.0.0.%d, snmp: {community: x}, accounting_role: none, feeds: %s%s}\n",
			i, 10+i, feeds, crit())
	}
	b.WriteString("control:\n  deny_list: [")
	var deny []string
	for range rng.IntN(3) {
		switch rng.IntN(3) {
		case 0:
			deny = append(deny, servers[rng.IntN(len(servers))])
		case 1:
			deny = append(deny, outlet())
		case 2:
			deny = append(deny, fmt.Sprintf("%s/poe/pse:1.%d", switches[0], 1+rng.IntN(6)))
		}
	}
	b.WriteString(strings.Join(deny, ", ") + "]\n  policies:\n")
	for i := range 1 + rng.IntN(3) {
		sel := []string{"{tags: {env: test}}", "{tags: {env: prod}}", "{classes: [server]}", "{classes: [pdu]}", "{devices: ['*']}",
			fmt.Sprintf("{devices: [%s]}", servers[rng.IntN(len(servers))])}[rng.IntN(6)]
		fmt.Fprintf(&b, "    - name: p%d\n      select: %s\n      schedule: {weekly: [{days: [mon-sun], from: \"19:00\", to: \"07:00\"}]}\n      delay: 1s\n      shutdown_timeout: 20s\n", i, sel)
		switch rng.IntN(4) {
		case 0:
			b.WriteString("      action: shutdown\n")
			if rng.IntN(2) == 0 {
				b.WriteString("      switch_outlet: true\n")
			}
		case 1:
			fmt.Fprintf(&b, "      action: outlet-off\n      outlets: [\"%d\", \"%d\", \"%d\"]\n", 1+rng.IntN(6), 1+rng.IntN(6), 1+rng.IntN(6))
		case 2:
			fmt.Fprintf(&b, "      action: poe-off\n      ports: [\"pse:1.%d\", \"pse:1.%d\", \"pse:1.%d\"]\n", 1+rng.IntN(6), 1+rng.IntN(6), 1+rng.IntN(6))
		case 3:
			b.WriteString("      action: cap\n      cap_w: 300\n")
		}
	}
	return b.String()
}
