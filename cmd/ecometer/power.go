package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/driver"
	"github.com/ecometer/ecometer/internal/control/plan"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/control/safety"
	"github.com/ecometer/ecometer/internal/control/savings"
	"github.com/ecometer/ecometer/internal/control/target"
)

const powerDescription = `The power controller switches off what is not needed at night and on
holidays (test servers, PoE for phones in closed buildings, unused PDU
outlets) and brings it back before it is needed, by policies (YAML, in the
config's control.policies or in --policy files).

Safety: a patient-critical device, a device or outlet on control.deny_list,
and every outlet or port that feeds one of them is never sent a command,
whatever a policy or a person asks: the refusal is the last step before the
wire and is written to the audit log. Every command is audited (who, what,
why, state before and after); the controller acts only from a confirmed
state, reads the state back until two reads agree, never power-cycles when
asked to power on, and one applier acts at a time (a lock).

Examples:
   ecometer power plan --config site.yaml --policy examples/policies/night-test-servers.yaml -o plan.json
   ecometer power apply plan.json
   ecometer power status --config site.yaml 'srv-*'
   ecometer power off srv-test-3 --config site.yaml --reason "disk swap, ticket 4711"
   ecometer power history --config site.yaml --verify
   ecometer power savings --config site.yaml --month 2026-03

Exit codes: 0 ok, 1 a command failed or was refused, 2 bad config, plan or usage.`

func newPowerCommand() *cli.Command {
	cfgFlag := &cli.StringFlag{Name: "config", Usage: "config `FILE` (devices, control section)"}
	reason := &cli.StringFlag{Name: "reason", Usage: "why (required; written to the audit log)"}
	yes := &cli.BoolFlag{Name: "yes", Usage: "do not ask for confirmation"}
	manual := func(op, usage string) *cli.Command {
		return &cli.Command{
			Name: op, Usage: usage, UsageText: "ecometer power " + op + " TARGET --config FILE --reason TEXT [--yes]",
			Description: "TARGET is a server (srv-1), an outlet (pdu-a1/outlet/12) or a PoE port (sw-1/poe/Gi1/0/5).\n" +
				"The state is confirmed first (two reads that agree), the command sent, and read back." +
				helpExamples("ecometer power "+op+" srv-test-app02 --config site.yaml --reason \"ticket 4711\"",
					"ecometer power "+op+" pdu-r01-b/outlet/5 --config site.yaml --reason \"spare outlet\""),
			Flags: []cli.Flag{cfgFlag, reason, yes},
			Action: func(ctx context.Context, cmd *cli.Command) error {
				t, err := oneArg(cmd, "TARGET")
				if err != nil {
					return err
				}
				return runPowerManual(ctx, powerManualOptions{Config: cmd.String("config"), Target: t, Op: op,
					Reason: cmd.String("reason"), Yes: cmd.Bool("yes")}, streamsOf(cmd))
			},
		}
	}
	capCmd := manual("cap", "set a server's power limit")
	capCmd.UsageText = "ecometer power cap SERVER WATTS --config FILE --reason TEXT [--yes]"
	capCmd.Description = "Sets the server's Redfish power limit (Control SetPoint, or PowerLimit.LimitInWatts) within its\n" +
		"allowed range and reads it back." + helpExamples("ecometer power cap srv-test-app02 350 --config site.yaml --reason \"heat wave\"")
	capCmd.Action = func(ctx context.Context, cmd *cli.Command) error {
		if cmd.Args().Len() != 2 {
			return usageErrorf("power cap: want SERVER WATTS (usage: %s)", cmd.UsageText)
		}
		w, err := strconv.ParseFloat(cmd.Args().Get(1), 64)
		if err != nil || !(w > 0) {
			return usageErrorf("power cap: WATTS %q is not a number above 0", cmd.Args().Get(1))
		}
		return runPowerManual(ctx, powerManualOptions{Config: cmd.String("config"), Target: cmd.Args().First(), Op: "cap", Watts: w,
			Reason: cmd.String("reason"), Yes: cmd.Bool("yes")}, streamsOf(cmd))
	}
	return &cli.Command{
		Name:        "power",
		Usage:       "power-down schedules and manual power actions, safe for a hospital",
		UsageText:   "ecometer power <plan|apply|status|on|off|cycle|cap|history|savings> [options]",
		Description: powerDescription,
		Commands: []*cli.Command{
			{
				Name: "plan", Usage: "dry run: what the policies would switch, why, when, in what order, and the expected savings",
				UsageText: "ecometer power plan --config FILE [--policy FILE]... [--at TIME] [-o plan.json] [--json]",
				Description: "Plans the current or next window of each policy (Europe/Copenhagen, Danish public holidays and\n" +
					"control.closed_days, maintenance windows): the off steps at the window's start, the power-on before its\n" +
					"end (power_on_lead), servers before their outlets, with delays; what is left alone and why. A carbon-aware\n" +
					"policy gets the hours of lowest forecast grid intensity (CO2EmisProg in the store), else its fixed block.\n" +
					"Nothing is sent to any device. --at is RFC 3339 or \"YYYY-MM-DD HH:MM\" (Danish time)." +
					helpExamples("ecometer power plan --config site.yaml --policy examples/policies/night-test-servers.yaml -o plan.json",
						"ecometer power plan --config site.yaml --at \"2026-03-06 21:00\" --json"),
				Flags: []cli.Flag{cfgFlag,
					&cli.StringSliceFlag{Name: "policy", Usage: "policy `FILE` (repeatable)"},
					&cli.StringFlag{Name: "at", Usage: "plan for `TIME` (default now)"},
					&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write the plan to `FILE`, for power apply"},
					&cli.BoolFlag{Name: "json", Usage: "print the plan as JSON"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					return runPowerPlan(ctx, powerPlanOptions{Config: cmd.String("config"), Policies: cmd.StringSlice("policy"),
						At: cmd.String("at"), Output: cmd.String("output"), JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
			{
				Name: "apply", Usage: "carry out a plan made by power plan",
				UsageText: "ecometer power apply PLAN.json [--yes]",
				Description: "Only an unmodified plan (its hash), made from the config and policy files as they are now, and not\n" +
					"past its valid_until. Each step waits for its time, runs under the lock, is skipped when another applier\n" +
					"already did it, and is audited. On a terminal it asks first; --yes for automation." +
					helpExamples("ecometer power apply plan.json", "ecometer power apply plan.json --yes"),
				Flags: []cli.Flag{yes},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					p, err := oneArg(cmd, "PLAN")
					if err != nil {
						return err
					}
					return runPowerApply(ctx, powerApplyOptions{Plan: p, Yes: cmd.Bool("yes"), In: os.Stdin, InTTY: isTerminal(os.Stdin)}, streamsOf(cmd))
				},
			},
			{
				Name: "status", Usage: "the power state of servers, outlets and ports, read live",
				UsageText: "ecometer power status --config FILE [SELECTOR] [--json]",
				Description: "SELECTOR is a target (srv-1, pdu-a1/outlet/12, sw-1/poe/Gi1/0/5) or a device name pattern ('srv-*');\n" +
					"without it, every server and every outlet or port the config's feeds name. Shows which are protected\n" +
					"and which a policy has switched off." +
					helpExamples("ecometer power status --config site.yaml", "ecometer power status --config site.yaml 'srv-*' --json"),
				Flags: []cli.Flag{cfgFlag, &cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					return runPowerStatus(ctx, powerStatusOptions{Config: cmd.String("config"), Selector: cmd.Args().First(), JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
			manual("on", "power a target on (On, or ForceOn; never a power cycle)"),
			manual("off", "power a target off (servers: GracefulShutdown, then ForceOff after 5m)"),
			manual("cycle", "power a target off, then on again, each verified"),
			capCmd,
			{
				Name: "history", Usage: "the audit log; --verify checks its hash chain",
				UsageText: "ecometer power history --config FILE [--verify] [--last N] [--json]",
				Description: "Every command, refusal, verification and skipped step, with who, why and the state before and\n" +
					"after. Each line carries the hash of the one before; --verify finds an edited, inserted or removed line." +
					helpExamples("ecometer power history --config site.yaml --last 20", "ecometer power history --config site.yaml --verify"),
				Flags: []cli.Flag{cfgFlag, &cli.BoolFlag{Name: "verify", Usage: "check the hash chain: exit 1 on tampering"},
					&cli.IntFlag{Name: "last", Usage: "show the last `N` entries (0: all)", Value: 50},
					&cli.BoolFlag{Name: "json", Usage: "print the entries as JSON lines"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					return runPowerHistory(powerHistoryOptions{Config: cmd.String("config"), Verify: cmd.Bool("verify"),
						Last: int(cmd.Int("last")), JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
			{
				Name: "savings", Usage: "energy and CO2e saved by the policies in a month, measured",
				UsageText: "ecometer power savings --config FILE --month YYYY-MM [--json]",
				Description: savings.Method + ".\nThe monthly report's savings section shows the same numbers." +
					helpExamples("ecometer power savings --config site.yaml --month 2026-03", "ecometer power savings --config site.yaml --month 2026-03 --json"),
				Flags: []cli.Flag{cfgFlag, &cli.StringFlag{Name: "month", Usage: "Danish calendar `MONTH`, YYYY-MM"},
					&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					return runPowerSavings(ctx, powerSavingsOptions{Config: cmd.String("config"), Month: cmd.String("month"), JSON: cmd.Bool("json")}, streamsOf(cmd))
				},
			},
		},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("power: unknown subcommand %q (see ecometer power --help)", cmd.Args().First())
			}
			return cli.ShowSubcommandHelp(cmd)
		},
	}
}

// helpExamples formats the Examples block of a command's help.
func helpExamples(lines ...string) string {
	return "\n\nExamples:\n   " + strings.Join(lines, "\n   ")
}

// requireConfig loads the config a power command needs.
func requireConfig(name, file string, errOut io.Writer) (*config.Config, error) {
	if file == "" {
		return nil, usageErrorf("power %s: --config FILE is required: the devices and the control section come from it", name)
	}
	return readConfig(file, errOut)
}

// parseAt reads --at: RFC 3339, or "YYYY-MM-DD HH:MM" Danish time.
func parseAt(s string) (time.Time, error) {
	if s == "" {
		return time.Now(), nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	loc, err := time.LoadLocation(calendar.Zone)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		return time.Time{}, usageErrorf("--at %q: want RFC 3339 (2026-03-02T18:50:00+01:00) or \"YYYY-MM-DD HH:MM\" (Danish time)", s)
	}
	return t, nil
}

type powerPlanOptions struct {
	Config   string
	Policies []string
	At       string
	Output   string
	JSON     bool
	Now      time.Time
}

func runPowerPlan(ctx context.Context, opts powerPlanOptions, s streams) error {
	cfg, err := requireConfig("plan", opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	pols, err := policy.Load(cfg, opts.Policies)
	if err != nil {
		return configError(opts.Config, err, s.ErrOut)
	}
	if len(pols) == 0 {
		return usageErrorf("power plan: no policies: give --policy FILE or control.policies in %s", opts.Config)
	}
	at, err := parseAt(opts.At)
	if err != nil {
		return err
	}
	cal, err := calendar.New(cfg.Control)
	if err != nil {
		return err
	}
	in := plan.Inputs{Config: cfg, ConfigPath: opts.Config, Policies: pols, PolicyFiles: opts.Policies, Calendar: cal,
		Audit: audit.Open(apply.AuditPath(cfg)), At: at, Now: opts.Now, By: audit.Who()}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err == nil {
		defer st.Close()
		acc, err := accounting.New(cfg, st)
		if err != nil {
			return err
		}
		in.Store, in.Accounting = st, acc
	} else {
		fmt.Fprintf(s.ErrOut, "ecometer: no store (%v): planning without conditions and expected savings\n", firstLine(err))
		where = "none"
	}
	p, err := plan.Make(ctx, in)
	if err != nil {
		return err
	}
	if opts.Output != "" {
		if err := p.Write(opts.Output); err != nil {
			return err
		}
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(p)
	}
	writePlanText(s.Out, p, cal.Location(), where)
	if opts.Output != "" {
		fmt.Fprintf(s.Out, "\nwritten to %s (hash %.16s…); apply it with: ecometer power apply %s\n", opts.Output, p.Hash, opts.Output)
	}
	return nil
}

func firstLine(err error) string {
	l, _, _ := strings.Cut(err.Error(), "\n")
	return l
}

func writePlanText(w io.Writer, p *plan.Plan, loc *time.Location, store string) {
	f := func(t time.Time) string { return t.In(loc).Format("2006-01-02 15:04") }
	fmt.Fprintf(w, "Power plan for %s (Europe/Copenhagen), made %s by %s, valid until %s\n", f(p.At), f(p.Created), p.By, f(p.ValidUntil))
	fmt.Fprintf(w, "config %s; store: %s\n\n", p.Config.Path, store)
	for _, win := range p.Windows {
		fmt.Fprintf(w, "window  %s  %s to %s  %s\n", win.Policy, f(win.From), f(win.To), win.Why)
		if c := win.Carbon; c != nil {
			if c.Forecast {
				fmt.Fprintf(w, "        carbon-aware: on %s–%s, mean %.0f g/kWh, expected %.2f kWh, %.3f kg CO2e;\n"+
					"        fixed %s–%s would be %.0f g/kWh, %.3f kg CO2e (%.3f kg avoided)\n",
					c.OnFrom.In(loc).Format("15:04"), c.OnTo.In(loc).Format("15:04"), c.MeanGPerKWh, c.KWh, c.KgCO2e,
					c.FixedFrom.In(loc).Format("15:04"), c.FixedTo.In(loc).Format("15:04"), c.FixedMean, c.FixedKgCO2e, c.FixedKgCO2e-c.KgCO2e)
			} else {
				fmt.Fprintf(w, "        fallback: %s\n", c.Note)
			}
		}
	}
	if len(p.Steps) == 0 {
		fmt.Fprintln(w, "\nno steps")
	} else {
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "#\twhen\top\ttarget\tafter\thow")
		for _, st := range p.Steps {
			dep := ""
			if len(st.DependsOn) > 0 {
				dep = fmt.Sprint(st.DependsOn)
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", st.ID, f(st.Due), st.Op, st.Target, dep, st.Method)
		}
		tw.Flush()
		fmt.Fprintln(w, "\nwhy:")
		for _, st := range p.Steps {
			fmt.Fprintf(w, "  %d  %s\n", st.ID, st.Why)
		}
	}
	if len(p.Skipped) > 0 {
		fmt.Fprintln(w, "\nleft alone:")
		for _, sk := range p.Skipped {
			fmt.Fprintf(w, "  %s (%s): %s\n", sk.Target, sk.Policy, sk.Why)
		}
	}
	for _, n := range p.Notes {
		fmt.Fprintf(w, "\nnote: %s\n", n)
	}
	fmt.Fprintf(w, "\nexpected saving: %.2f kWh, %.3f kg CO2e (location-based)\n  basis: %s\n%s\n", p.Expected.KWh, p.Expected.KgCO2e, p.Expected.Basis, gridSource)
}

type powerApplyOptions struct {
	Plan  string
	Yes   bool
	In    io.Reader
	InTTY bool
	// Clock and Config replace the wall clock and the plan's config (tests).
	Clock  driver.Clock
	Config *config.Config
}

func runPowerApply(ctx context.Context, opts powerApplyOptions, s streams) error {
	p, err := plan.Read(opts.Plan)
	if err != nil {
		return &exitError{code: exitBadUse, err: err}
	}
	clock := opts.Clock
	if clock == nil {
		clock = driver.RealClock{}
	}
	if err := p.CheckFresh(clock.Now()); err != nil {
		return &exitError{code: exitBadUse, err: err}
	}
	cfg := opts.Config
	if cfg == nil {
		if cfg, err = readConfig(p.Config.Path, s.ErrOut); err != nil {
			return err
		}
	}
	loc, _ := time.LoadLocation(calendar.Zone)
	if !opts.Yes {
		if !opts.InTTY {
			return usageErrorf("power apply: not a terminal, nobody to confirm: pass --yes to apply %s", opts.Plan)
		}
		writePlanText(s.Out, p, loc, "-")
		fmt.Fprintf(s.Out, "\nApply these %d steps now? [y/N] ", len(p.Steps))
		ans, _ := bufio.NewReader(opts.In).ReadString('\n')
		if a := strings.ToLower(strings.TrimSpace(ans)); a != "y" && a != "yes" {
			return errors.New("power apply: not confirmed; nothing done")
		}
	}
	log := audit.Open(apply.AuditPath(cfg))
	d := driver.New(cfg, log, driver.Options{Clock: clock})
	defer d.Close()
	timeout, interval := apply.RunnerSettings(cfg)
	cal, err := calendar.New(cfg.Control)
	if err != nil {
		return err
	}
	a := &apply.Applier{Runner: &apply.Runner{D: d, VerifyTimeout: timeout, VerifyInterval: interval, Progress: s.ErrOut},
		Lock: apply.Lock{Path: apply.LockPath(cfg), Who: audit.Who()}}
	if st, _, err := openStore(ctx, cfg, backend.ReadOnly); err == nil {
		defer st.Close()
		a.Check = plan.Checker(st, cfg, cal)
	} else {
		a.Check = plan.Checker(nil, cfg, cal)
		fmt.Fprintf(s.ErrOut, "ecometer: no store (%v): steps with conditions are skipped\n", firstLine(err))
	}
	rep, err := a.Apply(ctx, p)
	if err != nil {
		return err
	}
	c := rep.Counts()
	fmt.Fprintf(s.Out, "applied %s: %d ok, %d already so, %d failed, %d refused (protected), %d skipped; audit: %s\n",
		opts.Plan, c[apply.OK], c[apply.Noop], c[apply.Failed], c[apply.Refused], c[apply.Skipped], log.Path())
	if c[apply.Failed] > 0 {
		return fmt.Errorf("power apply: %d steps failed (see the lines above and ecometer power history)", c[apply.Failed])
	}
	return nil
}

type powerManualOptions struct {
	Config string
	Target string
	Op     string
	Watts  float64
	Reason string
	Yes    bool
	Clock  driver.Clock
}

func runPowerManual(ctx context.Context, opts powerManualOptions, s streams) error {
	if strings.TrimSpace(opts.Reason) == "" {
		return usageErrorf("power %s: --reason TEXT is required: it is written to the audit log", opts.Op)
	}
	cfg, err := requireConfig(opts.Op, opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	t, err := target.Parse(opts.Target, cfg)
	if err != nil {
		return usageErrorf("power %s: %v", opts.Op, err)
	}
	clock := opts.Clock
	if clock == nil {
		clock = driver.RealClock{}
	}
	log := audit.Open(apply.AuditPath(cfg))
	d := driver.New(cfg, log, driver.Options{Clock: clock})
	defer d.Close()
	timeout, interval := apply.RunnerSettings(cfg)
	r := &apply.Runner{D: d, VerifyTimeout: timeout, VerifyInterval: interval, Progress: progressTo(s.ErrOut)}
	release, err := apply.Lock{Path: apply.LockPath(cfg), Who: audit.Who()}.Acquire(ctx, 30*time.Second)
	if err != nil {
		return err
	}
	defer release()
	why := "manual: " + opts.Reason
	op := apply.Op{Target: t, Op: opts.Op, Watts: opts.Watts, Why: why, ShutdownTimeout: plan.DefaultShutdownTimeout}
	var results []apply.Result
	if opts.Op == "cycle" {
		results = r.Cycle(ctx, op, 10*time.Second)
	} else {
		results = []apply.Result{r.Do(ctx, op)}
	}
	failed := 0
	for _, res := range results {
		fmt.Fprintf(s.Out, "%s %s: %s\n  before: %s\n  after:  %s\n", res.Op, res.Target, res.Outcome, res.Before, res.After)
		for _, c := range res.Commands {
			fmt.Fprintf(s.Out, "  sent:   %s\n", c)
		}
		if res.Detail != "" {
			fmt.Fprintf(s.Out, "  note:   %s\n", res.Detail)
		}
		if !res.Succeeded() {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("power %s %s: %s", opts.Op, t, results[len(results)-1].Outcome)
	}
	return nil
}

type powerStatusOptions struct {
	Config   string
	Selector string
	JSON     bool
}

type statusRow struct {
	Target    string         `json:"target"`
	Reading   driver.Reading `json:"reading"`
	Error     string         `json:"error,omitempty"`
	Protected string         `json:"protected,omitempty"`
	OffBy     string         `json:"off_by_policy,omitempty"`
}

func runPowerStatus(ctx context.Context, opts powerStatusOptions, s streams) error {
	cfg, err := requireConfig("status", opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	targets, err := statusTargets(cfg, opts.Selector)
	if err != nil {
		return err
	}
	log := audit.Open(apply.AuditPath(cfg))
	offBy := map[string]string{}
	if entries, err := log.Read(); err == nil {
		for _, e := range entries {
			if e.Event == audit.EventVerified || e.Event == audit.EventNoop {
				switch e.Action {
				case "off":
					offBy[e.Target] = e.Policy
				case "on":
					delete(offBy, e.Target)
				}
			}
		}
	}
	d := driver.New(cfg, log, driver.Options{})
	defer d.Close()
	guard := safety.New(cfg)
	var rows []statusRow
	for _, t := range targets {
		r := statusRow{Target: t.String()}
		rd, err := d.Read(ctx, t)
		r.Reading = rd
		if err != nil {
			r.Error = err.Error()
		}
		if err := guard.Check(t); err != nil {
			var ref *safety.Refusal
			if errors.As(err, &ref) {
				r.Protected = strings.Join(ref.Reasons, "; ")
			}
		}
		if p, ok := offBy[t.String()]; ok {
			r.OffBy = p
			if p == "" {
				r.OffBy = "(manual)"
			}
		}
		rows = append(rows, r)
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rows)
	}
	tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "target\tstate\tdevice says\tswitched off by\tprotected")
	for _, r := range rows {
		says := r.Reading.Raw
		if r.Error != "" {
			says = "error: " + r.Error
		}
		if r.Reading.PowerW != nil {
			says += fmt.Sprintf(", %.0f W", *r.Reading.PowerW)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Target, r.Reading.State, says, r.OffBy, r.Protected)
	}
	return tw.Flush()
}

// statusTargets are the targets a status selector names.
func statusTargets(cfg *config.Config, sel string) ([]target.Target, error) {
	if strings.Contains(sel, "/") {
		t, err := target.Parse(sel, cfg)
		if err != nil {
			return nil, usageErrorf("power status: %v", err)
		}
		return []target.Target{t}, nil
	}
	var out []target.Target
	seen := map[string]bool{}
	add := func(t target.Target) {
		if !seen[t.String()] {
			seen[t.String()] = true
			out = append(out, t)
		}
	}
	for _, d := range cfg.Devices {
		if sel != "" {
			if ok, _ := path.Match(sel, d.Name); !ok && sel != d.Name {
				continue
			}
		}
		if d.Class == config.ClassServer && d.Protocol == config.ProtocolRedfish {
			add(target.Target{Device: d.Name, Kind: target.System})
		}
		// Outlets and ports the config knows: those that feed a device.
		for _, fed := range cfg.Devices {
			ref, err := config.ParseMeterRef(fed.Feeds)
			if err != nil || ref.Device != d.Name {
				continue
			}
			if t, err := target.Parse(ref.String(), cfg); err == nil {
				add(t)
			}
		}
	}
	if len(out) == 0 {
		return nil, usageErrorf("power status: %q names no server, and no outlet or port that feeds a device (name one: pdu-a1/outlet/12)", sel)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

type powerHistoryOptions struct {
	Config string
	Verify bool
	Last   int
	JSON   bool
}

func runPowerHistory(opts powerHistoryOptions, s streams) error {
	cfg, err := requireConfig("history", opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	log := audit.Open(apply.AuditPath(cfg))
	if opts.Verify {
		n, err := log.Verify()
		if err != nil {
			return fmt.Errorf("power history: TAMPERED: %w", err)
		}
		fmt.Fprintf(s.Out, "audit log %s: %d entries, hash chain intact\n", log.Path(), n)
		if !opts.JSON && opts.Last == 0 {
			return nil
		}
	}
	entries, err := log.Read()
	if err != nil {
		return err
	}
	if opts.Last > 0 && len(entries) > opts.Last {
		entries = entries[len(entries)-opts.Last:]
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		for _, e := range entries {
			if err := enc.Encode(e); err != nil {
				return err
			}
		}
		return nil
	}
	if len(entries) == 0 {
		fmt.Fprintf(s.Out, "no entries in %s\n", log.Path())
		return nil
	}
	loc, _ := time.LoadLocation(calendar.Zone)
	tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "seq\ttime\twho\tevent\ttarget\taction\twhy\tbefore → after / detail")
	for _, e := range entries {
		detail := e.Detail
		if e.Before != "" || e.After != "" {
			detail = strings.TrimSpace(e.Before + " → " + e.After + " " + detail)
		}
		if e.Command != "" && e.Event == audit.EventCommand {
			detail = e.Command
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.Time.In(loc).Format("2006-01-02 15:04:05"), e.Who, e.Event,
			e.Target, e.Action, firstNonEmptyStr(e.Policy, e.Why), detail)
	}
	return tw.Flush()
}

func firstNonEmptyStr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type powerSavingsOptions struct {
	Config string
	Month  string
	JSON   bool
	Now    time.Time
}

func runPowerSavings(ctx context.Context, opts powerSavingsOptions, s streams) error {
	if opts.Month == "" {
		return usageErrorf("power savings: --month YYYY-MM is required")
	}
	period, err := parseMonth("month", opts.Month, opts.Now)
	if err != nil {
		return err
	}
	cfg, err := requireConfig("savings", opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	v, err := openAccounting(ctx, cfg)
	if err != nil {
		return err
	}
	defer v.Close()
	acc, where := v.acc, v.where
	rep, err := savings.Month(ctx, acc, audit.Open(apply.AuditPath(cfg)), period)
	if err != nil {
		return err
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	loc, _ := time.LoadLocation(calendar.Zone)
	fmt.Fprintf(s.Out, "Power controller savings, %s (store: %s)\n\n", rep.Month, where)
	fmt.Fprintf(s.Out, "saved: %.2f kWh, %.3f kg CO2e (location-based), over %d hours off (%d compared)\n\n", rep.SavedKWh, rep.KgCO2e, rep.Hours, rep.Compared)
	if len(rep.Windows) > 0 {
		tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "target\tpolicy\toff from\tto\thours\tmetered kWh\tbaseline kWh\tsaved kWh\tkg CO2e")
		for _, w := range rep.Windows {
			from, to := w.From.In(loc).Format("01-02 15:04"), w.To.In(loc).Format("01-02 15:04")
			if w.Compared == 0 {
				why := "no comparable day"
				if w.Unmetered == w.Hours {
					why = "not metered"
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t0\t—\t—\t—\t— (%s)\n", w.Target, w.Policy, from, to, why)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\n", w.Target, w.Policy, from, to,
				w.Compared, w.MeteredKWh, w.BaselineKWh, w.SavedKWh, w.KgCO2e)
		}
		tw.Flush()
		fmt.Fprintln(s.Out)
	} else {
		fmt.Fprintln(s.Out, "no policy windows applied in this month")
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(s.Out, "note: %s\n", n)
	}
	fmt.Fprintf(s.Out, "method: %s\n%s\n", rep.Method, gridSource)
	return nil
}
