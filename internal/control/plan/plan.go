// Package plan makes the controller's dry run: for a time, which targets
// each policy switches off and on again, why, in what order and with which
// delays, which it leaves alone and why (protected, maintenance, max share
// of a group, conditions), and the energy and CO2e it should save. A
// carbon-aware policy gets the hours of lowest forecast grid intensity
// (Energinet CO2EmisProg in the store), or its fixed block when there is no
// forecast. The plan is a file with a hash, applied by package apply.
package plan

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/internal/control/safety"
	"github.com/ecometer/ecometer/internal/control/target"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/models/sample"
)

// Store is what the planner reads: samples (conditions, mean power) and
// grid intensity (carbon-aware windows).
type Store interface {
	store.Reader
	store.GridReader
}

// Inputs are everything a plan is made from.
type Inputs struct {
	Config      *config.Config
	ConfigPath  string
	Policies    []policy.Policy
	PolicyFiles []string
	Calendar    *calendar.Calendar
	// Store and Accounting may be nil: then conditions cannot be checked
	// (the steps say so and apply re-checks them), and no energy is
	// expected.
	Store      Store
	Accounting *accounting.Accounting
	// Audit tells which targets a policy switched off and has not yet
	// switched on again.
	Audit *audit.Log
	At    time.Time
	Now   time.Time
	By    string
	// Horizon is how far ahead windows are planned (default 24h).
	Horizon time.Duration
	// Grace is how long after its first step a plan may still be applied
	// (default 15m).
	Grace time.Duration
}

// Defaults of a policy's timings.
const (
	DefaultLead            = 15 * time.Minute
	DefaultDelay           = 10 * time.Second
	DefaultShutdownTimeout = 5 * time.Minute
	meanDays               = 7 // mean power for the expected saving
)

// Make makes the plan.
func Make(ctx context.Context, in Inputs) (*Plan, error) {
	if in.Horizon <= 0 {
		in.Horizon = 24 * time.Hour
	}
	if in.Grace <= 0 {
		in.Grace = 15 * time.Minute
	}
	if in.Now.IsZero() {
		in.Now = time.Now()
	}
	p := &Plan{Version: Version, Created: in.Now.UTC(), At: in.At.UTC(), By: in.By}
	if in.ConfigPath != "" {
		sum, err := FileSHA256(in.ConfigPath)
		if err != nil {
			return nil, err
		}
		p.Config = Source{Path: in.ConfigPath, SHA256: sum}
	}
	for _, f := range in.PolicyFiles {
		sum, err := FileSHA256(f)
		if err != nil {
			return nil, err
		}
		p.Policies = append(p.Policies, Source{Path: f, SHA256: sum})
	}
	guard := safety.New(in.Config)
	offBy, err := offByPolicy(in.Audit)
	if err != nil {
		return nil, err
	}
	mk := &maker{in: in, p: p, guard: guard, offBy: offBy, sites: map[string]config.Site{}, means: map[string]*float64{}}
	for _, s := range in.Config.Sites {
		mk.sites[s.Name] = s
	}
	var steps []Step
	for _, pol := range in.Policies {
		s, err := mk.policy(ctx, pol)
		if err != nil {
			return nil, fmt.Errorf("policy %s: %w", pol.Name, err)
		}
		steps = append(steps, s...)
	}
	// Power-on of targets a policy left off whose window is over (a crashed
	// or stopped applier): put back what we switched off.
	steps = append(steps, mk.orphans()...)
	// Order: by due time; at one time, off steps servers first, then
	// outlets and ports; on steps the reverse.
	sort.SliceStable(steps, func(i, j int) bool {
		a, b := steps[i], steps[j]
		if !a.Due.Equal(b.Due) {
			return a.Due.Before(b.Due)
		}
		return opRank(a) < opRank(b)
	})
	ids := map[int]int{}
	for i := range steps {
		ids[steps[i].ID] = i + 1
	}
	for i := range steps {
		steps[i].ID = i + 1
		for k, d := range steps[i].DependsOn {
			steps[i].DependsOn[k] = ids[d]
		}
	}
	p.Steps = steps
	first := p.At
	if len(steps) > 0 && steps[0].Due.After(first) {
		first = steps[0].Due
	}
	p.ValidUntil = first.Add(in.Grace).UTC()
	p.Expected.Basis = fmt.Sprintf("mean power of each target's meter over the %d days before, times the hours it is planned off; CO2e with the hourly grid intensity (forecast where stored, else the fallbacks of co2)", meanDays)
	if in.Store == nil {
		p.Notes = append(p.Notes, "no store: conditions are checked only at apply, no energy is expected")
	}
	p.Seal()
	return p, nil
}

func opRank(s Step) int {
	kind := map[target.Kind]int{target.System: 0, target.Outlet: 1, target.PoE: 2}[s.Target.Kind]
	switch s.Op {
	case OpOff, OpCap:
		return kind
	}
	return 10 - kind
}

type maker struct {
	in     Inputs
	p      *Plan
	guard  *safety.Guard
	offBy  map[string]string // target -> policy that switched it off
	sites  map[string]config.Site
	means  map[string]*float64
	nextID int
	// planned on-steps per target (to avoid duplicate restores)
	onPlanned map[string]bool
	// idle is the idle finder's candidates, found once for the policies
	// that select them.
	idle     policy.Idle
	idleDone bool
}

// idleCandidates runs the idle-equipment finder once (30 days before the
// plan, medium confidence or better) for policies with idle_candidates.
// Without a store there are none, and the plan says so.
func (m *maker) idleCandidates(ctx context.Context, pol policy.Policy) (policy.Idle, error) {
	if !pol.Select.IdleCandidates {
		return nil, nil
	}
	if m.idleDone {
		return m.idle, nil
	}
	m.idleDone = true
	m.idle = policy.Idle{}
	if m.in.Store == nil {
		m.p.Notes = append(m.p.Notes, "no store: idle_candidates selects nothing (the idle finder needs the metered history)")
		return m.idle, nil
	}
	ints, err := anomalies.SiteIntensities(ctx, m.in.Store, m.in.Config, m.in.At)
	if err != nil {
		return nil, err
	}
	sel, err := anomalies.IdleSelector(m.in.Store, m.in.Config, anomalies.IdleOptions{Days: anomalies.DefaultIdleDays, Intensities: ints}, idle.Medium)(ctx, m.in.At)
	if err != nil {
		return nil, fmt.Errorf("idle candidates: %w", err)
	}
	for _, s := range sel {
		ms := m.idle[s.Device]
		if s.Meter != "" {
			ms = append(ms, s.Meter)
		}
		m.idle[s.Device] = ms
	}
	return m.idle, nil
}

func (m *maker) id() int { m.nextID++; return m.nextID }

// offByPolicy reads the audit log: the targets whose last verified state
// change was an off by a policy.
func offByPolicy(l *audit.Log) (map[string]string, error) {
	out := map[string]string{}
	if l == nil {
		return out, nil
	}
	entries, err := l.Read()
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if (e.Event != audit.EventVerified && e.Event != audit.EventNoop) || e.Target == "" {
			continue
		}
		switch e.Action {
		case OpOff:
			if e.Policy != "" {
				out[e.Target] = e.Policy
			} else {
				delete(out, e.Target) // switched off by hand: not ours to switch on
			}
		case OpOn:
			delete(out, e.Target)
		}
	}
	return out, nil
}

// knownPorts lists the PoE ports of a switch from its poe/ meters in the
// store.
func (m *maker) knownPorts(ctx context.Context) func(string) []string {
	return func(device string) []string {
		if m.in.Store == nil {
			return nil
		}
		latest, err := m.in.Store.Latest(ctx, store.Query{Measurement: sample.Power, Device: device})
		if err != nil {
			return nil
		}
		var out []string
		for _, s := range latest {
			if n, ok := strings.CutPrefix(s.Meter, "poe/"); ok {
				out = append(out, n)
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
}

// meanW is a target meter's mean power over [from, to), or nil without
// samples.
func (m *maker) meanW(ctx context.Context, sel policy.Selected, from, to time.Time) (*float64, error) {
	return MeanPower(ctx, m.in.Store, sel.Device.Site, sel.Target, from, to)
}

// MeanPower is the mean of power_w of a target's meter over [from, to); nil
// without samples or without a store.
func MeanPower(ctx context.Context, st store.Reader, site string, t target.Target, from, to time.Time) (*float64, error) {
	if st == nil {
		return nil, nil
	}
	var sum float64
	n := 0
	err := st.Range(ctx, store.Query{Measurement: sample.Power, Site: site, Device: t.Device, Meter: t.Meter(), From: from, To: to},
		func(s sample.Sample) error {
			if f, ok := s.Get("power_w"); ok {
				sum += f.Num
				n++
			}
			return nil
		})
	if err != nil || n == 0 {
		return nil, err
	}
	v := sum / float64(n)
	return &v, nil
}

func (m *maker) policy(ctx context.Context, pol policy.Policy) ([]Step, error) {
	idleSet, err := m.idleCandidates(ctx, pol)
	if err != nil {
		return nil, err
	}
	sels, skips := policy.Targets(pol.Policy, m.in.Config, m.knownPorts(ctx), idleSet)
	for _, s := range skips {
		m.p.Skipped = append(m.p.Skipped, Skip{Target: s.Target, Policy: pol.Name, Why: s.Why})
	}
	// Protected targets are named here; the dispatcher refuses them anyway.
	kept := sels[:0]
	for _, s := range sels {
		if err := m.guard.Check(s.Target); err != nil {
			m.p.Skipped = append(m.p.Skipped, Skip{Target: s.Target.String(), Policy: pol.Name, Why: err.Error()})
			continue
		}
		if s.Outlet != nil {
			if err := m.guard.Check(*s.Outlet); err != nil {
				m.p.Skipped = append(m.p.Skipped, Skip{Target: s.Outlet.String(), Policy: pol.Name, Why: err.Error() + " (the server is shut down, its outlet stays on)"})
				s.Outlet = nil
			}
		}
		kept = append(kept, s)
	}
	sels = kept
	// Targets by site: closed days may differ between sites.
	bySite := map[string][]policy.Selected{}
	var siteOrder []string
	for _, s := range sels {
		if _, ok := bySite[s.Device.Site]; !ok {
			siteOrder = append(siteOrder, s.Device.Site)
		}
		bySite[s.Device.Site] = append(bySite[s.Device.Site], s)
	}
	var steps []Step
	for _, site := range siteOrder {
		wins, err := m.windows(ctx, pol, site, bySite[site])
		if err != nil {
			return nil, err
		}
		for _, w := range wins {
			st, err := m.window(ctx, pol, w, bySite[site])
			if err != nil {
				return nil, err
			}
			steps = append(steps, st...)
		}
		if len(wins) == 0 {
			m.p.Notes = append(m.p.Notes, fmt.Sprintf("policy %s, site %s: no window in the %s from %s", pol.Name, site,
				m.in.Horizon, m.in.At.In(m.in.Calendar.Location()).Format("2006-01-02 15:04")))
		}
	}
	return steps, nil
}

// windows returns the policy's off-windows that are current at At or start
// within the horizon.
func (m *maker) windows(ctx context.Context, pol policy.Policy, site string, sels []policy.Selected) ([]Window, error) {
	at, end := m.in.At, m.in.At.Add(m.in.Horizon)
	if ca := pol.Schedule.CarbonAware; ca != nil {
		return m.carbonWindows(ctx, pol, site, sels, *ca)
	}
	// Look a week past the horizon so that a window that started in it is
	// seen whole (a weekend that runs into Monday morning).
	ivs, err := m.in.Calendar.Windows(pol.Schedule, site, at, end.Add(8*24*time.Hour))
	if err != nil {
		return nil, err
	}
	var out []Window
	for _, iv := range ivs {
		if iv.From.After(end) || !iv.To.After(at) {
			continue
		}
		out = append(out, Window{Policy: pol.Name, Site: site, From: iv.From, To: iv.To, Why: iv.Why})
		break // the current or next window; later ones get later plans
	}
	return out, nil
}

// window makes the steps of one off-window.
func (m *maker) window(ctx context.Context, pol policy.Policy, w Window, sels []policy.Selected) ([]Step, error) {
	lead := durOr(pol.PowerOnLead, DefaultLead)
	delay := durOr(pol.Delay, DefaultDelay)
	shutdown := durOr(pol.ShutdownTimeout, DefaultShutdownTimeout)
	offDue := maxTime(w.From, m.in.At)
	onDue := w.To.Add(-lead)
	loc := m.in.Calendar.Location()
	if !onDue.After(offDue) {
		m.p.Notes = append(m.p.Notes, fmt.Sprintf("policy %s: window %s–%s leaves no time off before the power-on lead %s",
			pol.Name, w.From.In(loc).Format("01-02 15:04"), w.To.In(loc).Format("01-02 15:04"), lead))
		return nil, nil
	}
	m.p.Windows = append(m.p.Windows, w)
	hist := m.in.At.AddDate(0, 0, -meanDays)
	type cand struct {
		policy.Selected
		mean *float64
	}
	var cands []cand
	for _, s := range sels {
		if mw, ok := m.in.Calendar.MaintenanceOverlapping(offDue, onDue, s.Device.Site, s.Device.Name); ok {
			m.p.Skipped = append(m.p.Skipped, Skip{Target: s.Target.String(), Policy: pol.Name,
				Why: fmt.Sprintf("maintenance %q %s to %s: left alone", mw.Name, mw.From, mw.To)})
			continue
		}
		mean, err := m.meanW(ctx, s, hist, m.in.At)
		if err != nil {
			return nil, err
		}
		cands = append(cands, cand{s, mean})
	}
	// Conditions: the hysteresis. Off only when idle (mean below
	// off_below_w over off_window); inside a window, the group comes back
	// on when the targets still on drew more than on_above_w over
	// on_window.
	c := pol.Conditions
	groupBusy := map[string]string{}
	if c != nil && c.OnAboveW > 0 && !m.in.At.Before(w.From) {
		groups := map[string][]float64{}
		for _, s := range cands {
			if _, off := m.offBy[s.Target.String()]; off {
				continue
			}
			mw, err := m.meanW(ctx, s.Selected, m.in.At.Add(-c.OnWindow.Std()), m.in.At)
			if err != nil {
				return nil, err
			}
			if mw != nil {
				k := policy.GroupKey(pol.Policy, s.Selected)
				groups[k] = append(groups[k], *mw)
			}
		}
		for k, ws := range groups {
			var sum float64
			for _, x := range ws {
				sum += x
			}
			if mean := sum / float64(len(ws)); mean > c.OnAboveW {
				groupBusy[k] = fmt.Sprintf("group %s drew %.0f W on average over the last %s, above on_above_w %g W: back on early", k, mean, c.OnWindow, c.OnAboveW)
			}
		}
	}
	// Max share of a group off at once: the least busy go first.
	groups := map[string][]cand{}
	var gorder []string
	for _, s := range cands {
		k := policy.GroupKey(pol.Policy, s.Selected)
		if _, ok := groups[k]; !ok {
			gorder = append(gorder, k)
		}
		groups[k] = append(groups[k], s)
	}
	pct := pol.MaxOffPct
	if pct <= 0 {
		pct = 100
	}
	var steps []Step
	for _, k := range gorder {
		g := groups[k]
		slices.SortStableFunc(g, func(a, b cand) int {
			return cmp.Or(cmp.Compare(meanOr(a.mean), meanOr(b.mean)), strings.Compare(a.Target.String(), b.Target.String()))
		})
		allowed := int(math.Floor(float64(len(g)) * pct / 100))
		for i, s := range g {
			t := s.Target.String()
			if busy, ok := groupBusy[k]; ok {
				if pol2, off := m.offBy[t]; off && pol2 == pol.Name {
					steps = append(steps, m.onSteps(pol, s.Selected, m.in.At, delay, busy)...)
				}
				continue
			}
			if i >= allowed {
				m.p.Skipped = append(m.p.Skipped, Skip{Target: t, Policy: pol.Name,
					Why: fmt.Sprintf("kept on: max_off_pct %g %% of %s (%d of %d off)", pct, k, allowed, len(g))})
				continue
			}
			why := fmt.Sprintf("policy %s: %s off-window %s to %s (%s)", pol.Name, w.Site,
				w.From.In(loc).Format("2006-01-02 15:04"), w.To.In(loc).Format("2006-01-02 15:04"), w.Why)
			var cond *config.Conditions
			if c != nil && c.OffBelowW > 0 {
				cond = c
				mw, err := m.meanW(ctx, s.Selected, m.in.At.Add(-c.OffWindow.Std()), m.in.At)
				if err != nil {
					return nil, err
				}
				switch {
				case mw == nil:
					why += fmt.Sprintf("; condition: mean power below %g W over %s, no samples now, checked again at apply", c.OffBelowW, c.OffWindow)
				case *mw >= c.OffBelowW && !offDue.After(m.in.At):
					m.p.Skipped = append(m.p.Skipped, Skip{Target: t, Policy: pol.Name,
						Why: fmt.Sprintf("busy: mean %.0f W over the last %s, not below off_below_w %g W", *mw, c.OffWindow, c.OffBelowW)})
					continue
				default:
					why += fmt.Sprintf("; condition: mean %.0f W over the last %s (off below %g W), checked again at apply", *mw, c.OffWindow, c.OffBelowW)
				}
			}
			st, err := m.offSteps(ctx, pol, s.Selected, s.mean, offDue, onDue, delay, shutdown, why, cond)
			if err != nil {
				return nil, err
			}
			steps = append(steps, st...)
		}
	}
	return steps, nil
}

func meanOr(v *float64) float64 {
	if v == nil {
		return math.Inf(1)
	}
	return *v
}

func durOr(d config.Duration, def time.Duration) time.Duration {
	if d > 0 {
		return d.Std()
	}
	return def
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// offSteps are the off (or cap) step of a target and its power-on (or
// restore) before the window ends; with switch_outlet the outlet follows
// the server off and comes on before it.
func (m *maker) offSteps(ctx context.Context, pol policy.Policy, s policy.Selected, mean *float64, offDue, onDue time.Time,
	delay, shutdown time.Duration, why string, cond *config.Conditions) ([]Step, error) {
	t := s.Target.String()
	hours := onDue.Sub(offDue).Hours()
	var steps []Step
	_, alreadyOff := m.offBy[t]
	if pol.Action == config.ActionCap {
		cap := Step{ID: m.id(), Due: offDue, Target: s.Target, Op: OpCap, CapW: pol.CapW, Policy: pol.Name, Why: why,
			Method: fmt.Sprintf("power limit %g W (Control SetPoint or PowerLimit.LimitInWatts), the limit before is restored at %s", pol.CapW,
				onDue.In(m.in.Calendar.Location()).Format("15:04")), Delay: config.Duration(delay), Conditions: cond}
		if mean != nil {
			cap.MeanW = *mean
			cap.ExpectedKWh = math.Max(0, *mean-pol.CapW) / 1000 * hours
		}
		restore := Step{ID: m.id(), Due: onDue, Target: s.Target, Op: OpRestore, Policy: pol.Name, Why: "end of window: " + why,
			Method: "power limit back to its value before the cap", Delay: config.Duration(delay)}
		return []Step{cap, restore}, nil
	}
	off := Step{ID: m.id(), Due: offDue, Target: s.Target, Op: OpOff, Policy: pol.Name, Why: why, Delay: config.Duration(delay), Conditions: cond}
	if alreadyOff {
		off.Why += "; already off by policy " + m.offBy[t]
	}
	switch s.Target.Kind {
	case target.System:
		off.Method = fmt.Sprintf("ComputerSystem.Reset GracefulShutdown, then ForceOff after %s (from the BMC's allowed reset types)", config.Duration(shutdown))
		off.ShutdownTimeout = config.Duration(shutdown)
	case target.Outlet:
		off.Method = "outlet off (SNMP SET of the PDU's outlet control, or Redfish Outlet.PowerControl)"
	case target.PoE:
		off.Method = "PoE off: pethPsePortAdminEnable false(2)"
	}
	if mean != nil {
		off.MeanW = *mean
		off.ExpectedKWh = *mean / 1000 * hours
	}
	steps = append(steps, off)
	var outOff *Step
	if s.Outlet != nil {
		o := Step{ID: m.id(), Due: offDue, Target: *s.Outlet, Op: OpOff, Policy: pol.Name, DependsOn: []int{off.ID},
			Why: "switch_outlet: the outlet feeding " + s.Target.Device + ", once it is confirmed off", Delay: config.Duration(delay),
			Method: "outlet off (only after the server is confirmed off)"}
		steps = append(steps, o)
		outOff = &steps[len(steps)-1]
	}
	on := m.onSteps(pol, s, onDue, delay, fmt.Sprintf("power on %s before the window ends (lead %s)", s.Target, config.Duration(durOr(pol.PowerOnLead, DefaultLead))))
	if outOff != nil && len(on) == 2 {
		on[0].DependsOn = nil // the outlet comes on whatever happened
	}
	if err := m.co2(ctx, s, off.ExpectedKWh, offDue, onDue); err != nil {
		return nil, err
	}
	return append(steps, on...), nil
}

// onSteps powers a target on at due: with its outlet first when the policy
// switches outlets.
func (m *maker) onSteps(pol policy.Policy, s policy.Selected, due time.Time, delay time.Duration, why string) []Step {
	if m.onPlanned == nil {
		m.onPlanned = map[string]bool{}
	}
	var steps []Step
	if s.Outlet != nil {
		steps = append(steps, Step{ID: m.id(), Due: due, Target: *s.Outlet, Op: OpOn, Policy: pol.Name, Why: why,
			Method: "outlet on", Delay: config.Duration(delay)})
	}
	on := Step{ID: m.id(), Due: due, Target: s.Target, Op: OpOn, Policy: pol.Name, Why: why, Delay: config.Duration(delay)}
	switch s.Target.Kind {
	case target.System:
		on.Method = "ComputerSystem.Reset On (ForceOn if On is not allowed); never PowerCycle"
		if len(steps) > 0 {
			on.DependsOn = []int{steps[0].ID}
		}
	case target.Outlet:
		on.Method = "outlet on"
	case target.PoE:
		on.Method = "PoE on: pethPsePortAdminEnable true(1)"
	}
	m.onPlanned[s.Target.String()] = true
	return append(steps, on)
}

// orphans powers on targets a policy switched off whose policy plans no
// power-on for them (the policy was removed, or an applier stopped).
func (m *maker) orphans() []Step {
	var names []string
	for t := range m.offBy {
		names = append(names, t)
	}
	slices.Sort(names)
	var steps []Step
	for _, name := range names {
		if m.onPlanned[name] {
			continue
		}
		t, err := target.Parse(name, m.in.Config)
		if err != nil {
			continue
		}
		inWindow := false
		for _, w := range m.p.Windows {
			if w.Policy == m.offBy[name] && !m.in.At.Before(w.From) && m.in.At.Before(w.To) {
				inWindow = true
			}
		}
		if inWindow {
			continue
		}
		steps = append(steps, Step{ID: m.id(), Due: m.in.At, Target: t, Op: OpOn, Policy: m.offBy[name],
			Why:    fmt.Sprintf("switched off by policy %s, which has no current window for it: power it on", m.offBy[name]),
			Method: "power on (On, or ForceOn; never a cycle)"})
	}
	return steps
}

// co2 adds a step's expected saving, with hourly intensity, to the plan.
func (m *maker) co2(ctx context.Context, s policy.Selected, kwh float64, from, to time.Time) error {
	if kwh <= 0 {
		return nil
	}
	m.p.Expected.KWh += kwh
	if m.in.Accounting == nil {
		return nil
	}
	site := m.sites[s.Device.Site]
	var hours []time.Time
	var share []float64
	total := to.Sub(from).Hours()
	for h := from.Truncate(time.Hour); h.Before(to); h = h.Add(time.Hour) {
		lo, hi := maxTime(h, from), h.Add(time.Hour)
		if hi.After(to) {
			hi = to
		}
		hours = append(hours, h.UTC())
		share = append(share, hi.Sub(lo).Hours()/total)
	}
	in, err := m.in.Accounting.Intensities(ctx, string(site.PriceArea), hours)
	if err != nil {
		m.p.Notes = append(m.p.Notes, "CO2e not estimated: "+err.Error())
		return nil
	}
	for i := range in {
		m.p.Expected.KgCO2e += kwh * share[i] * float64(in[i].Value) / 1000
	}
	return nil
}
