package apply

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/plan"
)

// Checker re-checks a step just before it is carried out (conditions on
// recent power, maintenance windows): false with a reason skips it.
type Checker func(ctx context.Context, s plan.Step, now time.Time) (ok bool, why string, err error)

// Applier executes plans.
type Applier struct {
	Runner *Runner
	Lock   Lock
	// LockWait is how long a step waits for the lock (default 2m).
	LockWait time.Duration
	Check    Checker
}

// Report is what an apply did, step by step.
type Report struct {
	Plan    string   `json:"plan"`
	Results []Result `json:"results"`
}

// Counts returns the number of results per outcome.
func (r Report) Counts() map[string]int {
	out := map[string]int{}
	for _, x := range r.Results {
		out[x.Outcome]++
	}
	return out
}

// Apply executes p's steps in order, each at its due time. Each step runs
// under the lock, and is skipped when the audit log shows that another
// applier already carried out this step of this plan: two appliers started
// at once act once. A step whose dependencies did not succeed is skipped
// (an outlet stays on when its server is not confirmed off).
func (a *Applier) Apply(ctx context.Context, p *plan.Plan) (Report, error) {
	if a.LockWait <= 0 {
		a.LockWait = 2 * time.Minute
	}
	r := a.Runner
	r.defaults()
	clock := r.D.Clock()
	log := r.D.Audit()
	rep := Report{Plan: p.Hash}
	if _, err := log.Append(audit.Entry{Event: audit.EventPlan, Plan: p.Hash, Action: "apply-start",
		Detail: fmt.Sprintf("%d steps, made %s by %s", len(p.Steps), p.Created.Format(time.RFC3339), p.By)}); err != nil {
		return rep, fmt.Errorf("audit: %w", err)
	}
	done := map[int]Result{}
	limits := map[string]*float64{} // target -> limit before its cap
	for _, s := range p.Steps {
		if wait := s.Due.Sub(clock.Now()); wait > 0 {
			r.progress("waiting  until %s for step %d (%s %s)", s.Due.Format(time.RFC3339), s.ID, s.Op, s.Target)
			if err := clock.Sleep(ctx, wait); err != nil {
				return rep, err
			}
		}
		res, err := a.step(ctx, p, s, done, limits)
		if err != nil {
			return rep, err
		}
		done[s.ID] = res
		rep.Results = append(rep.Results, res)
		if s.Delay > 0 {
			if err := clock.Sleep(ctx, s.Delay.Std()); err != nil {
				return rep, err
			}
		}
	}
	c := rep.Counts()
	_, _ = log.Append(audit.Entry{Event: audit.EventPlan, Plan: p.Hash, Action: "apply-end",
		Detail: fmt.Sprintf("ok %d, noop %d, failed %d, refused %d, skipped %d", c[OK], c[Noop], c[Failed], c[Refused], c[Skipped])})
	return rep, nil
}

func (a *Applier) step(ctx context.Context, p *plan.Plan, s plan.Step, done map[int]Result, limits map[string]*float64) (Result, error) {
	r := a.Runner
	release, err := a.Lock.Acquire(ctx, a.LockWait)
	if err != nil {
		return Result{}, err
	}
	defer release()
	skip := func(why string) Result {
		res := Result{Target: s.Target.String(), Op: s.Op, Outcome: Skipped, Detail: why}
		_, _ = r.D.Audit().Append(audit.Entry{Event: audit.EventSkipped, Target: res.Target, Action: s.Op, Policy: s.Policy,
			Why: s.Why, Plan: p.Hash, Step: s.ID, Outcome: Skipped, Detail: why})
		r.progress("%-8s %-7s %s: %s", Skipped, s.Op, res.Target, why)
		return res
	}
	// Another applier of the same plan may have done this step already.
	entries, err := r.D.Audit().Read()
	if err != nil {
		return Result{}, fmt.Errorf("audit: %w", err)
	}
	for _, e := range entries {
		if e.Plan == p.Hash && e.Step == s.ID && e.Outcome != "" && e.Outcome != "sent" {
			res := Result{Target: s.Target.String(), Op: s.Op, Outcome: e.Outcome, After: e.After,
				Detail: fmt.Sprintf("already done by %s at %s (audit entry %d)", e.Who, e.Time.Format(time.RFC3339), e.Seq)}
			if e.Outcome == Skipped {
				res.Outcome = Skipped
			}
			r.progress("%-8s %-7s %s: %s", "done", s.Op, res.Target, res.Detail)
			return res, nil
		}
		if e.Plan == p.Hash && e.Step != 0 && e.Action == "cap" && e.Target == s.Target.String() && s.Op == plan.OpRestore {
			// the limit read before a cap of another applier's run
			if v, ok := parseLimit(e.Before); ok {
				limits[e.Target] = &v
			}
		}
	}
	for _, dep := range s.DependsOn {
		if d, ok := done[dep]; !ok || !d.Succeeded() {
			return skip(fmt.Sprintf("step %d did not succeed", dep)), nil
		}
	}
	if a.Check != nil && (s.Op == plan.OpOff || s.Op == plan.OpCap) {
		ok, why, err := a.Check(ctx, s, r.D.Clock().Now())
		if err != nil {
			return skip("condition not checked: " + err.Error()), nil
		}
		if !ok {
			return skip(why), nil
		}
	}
	op := Op{Target: s.Target, Op: s.Op, ShutdownTimeout: s.ShutdownTimeout.Std(), Watts: s.CapW, Policy: s.Policy,
		Why: s.Why, Plan: p.Hash, Step: s.ID}
	if s.Op == plan.OpRestore {
		prev, ok := limits[s.Target.String()]
		if !ok || prev == nil {
			return skip("no power limit known from before the cap: left as it is"), nil
		}
		op.Watts = *prev
	}
	res := r.Do(ctx, op)
	if s.Op == plan.OpCap && res.Succeeded() {
		limits[s.Target.String()] = res.LimitBefore
	}
	return res, nil
}

// parseLimit reads "limit N W" out of a described reading.
func parseLimit(s string) (float64, bool) {
	var v float64
	for i := 0; i+6 < len(s); i++ {
		if s[i:i+6] == "limit " {
			if _, err := fmt.Sscanf(s[i+6:], "%g W", &v); err == nil {
				return v, true
			}
		}
	}
	return 0, false
}
