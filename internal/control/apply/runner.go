// Package apply carries out power operations safely: it acts only from a
// confirmed state (two consecutive reads that agree), sends the command
// through the driver dispatcher (which refuses protected targets), reads
// the state back until two consecutive reads agree on the wanted state or a
// timeout, escalates as planned (GracefulShutdown, then ForceOff after the
// shutdown timeout), never power-cycles when asked to power on, and audits
// every outcome. Apply executes a whole plan under the one-applier lock.
package apply

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/driver"
	"github.com/ecometer/ecometer/internal/control/safety"
	"github.com/ecometer/ecometer/internal/control/target"
)

// Outcomes of an operation.
const (
	OK      = "ok"      // done and verified
	Noop    = "noop"    // already in the wanted state: nothing sent
	Failed  = "failed"  // not done or not verified
	Refused = "refused" // protected target: nothing sent
	Skipped = "skipped" // not attempted (condition, dependency, already done)
)

// Result is the outcome of one operation.
type Result struct {
	Target   string   `json:"target"`
	Op       string   `json:"op"`
	Outcome  string   `json:"outcome"`
	Before   string   `json:"before,omitempty"`
	After    string   `json:"after,omitempty"`
	Commands []string `json:"commands,omitempty"`
	Detail   string   `json:"detail,omitempty"`
	// LimitBefore is the power limit read before a cap, for its restore.
	LimitBefore *float64 `json:"limit_before_w,omitempty"`
}

// Succeeded reports whether the target is in the wanted state.
func (r Result) Succeeded() bool { return r.Outcome == OK || r.Outcome == Noop }

// Runner executes operations on targets.
type Runner struct {
	D *driver.Dispatcher
	// VerifyTimeout bounds the read-back after a command (default 2m);
	// VerifyInterval is the time between reads (default 5s).
	VerifyTimeout, VerifyInterval time.Duration
	// OnRetries is how often On is sent again when a server stays off
	// (default 2): some BMCs accept an On during a shutdown and drop it.
	OnRetries int
	// Progress, when set, gets one line per event.
	Progress io.Writer
}

// Op describes an operation and why it is done.
type Op struct {
	Target          target.Target
	Op              string // off, on, cap, restore
	ShutdownTimeout time.Duration
	Watts           float64
	Policy, Why     string
	Plan            string
	Step            int
}

func (r *Runner) defaults() {
	if r.VerifyTimeout <= 0 {
		r.VerifyTimeout = 2 * time.Minute
	}
	if r.VerifyInterval <= 0 {
		r.VerifyInterval = 5 * time.Second
	}
	if r.OnRetries <= 0 {
		r.OnRetries = 2
	}
}

func (r *Runner) progress(format string, args ...any) {
	if r.Progress != nil {
		fmt.Fprintf(r.Progress, format+"\n", args...)
	}
}

func describe(rd driver.Reading) string {
	s := string(rd.State)
	if rd.Raw != "" {
		s += " (" + rd.Raw
		if rd.PowerW != nil {
			s += fmt.Sprintf(", %.0f W", *rd.PowerW)
		}
		if rd.LimitW != nil {
			s += fmt.Sprintf(", limit %.0f W", *rd.LimitW)
		}
		s += ")"
	}
	return s
}

// confirm reads the target until two consecutive reads agree on a settled
// state, for at most VerifyTimeout: the controller acts only from a state
// it is sure of.
func (r *Runner) confirm(ctx context.Context, t target.Target) (driver.Reading, error) {
	clock := r.D.Clock()
	deadline := clock.Now().Add(r.VerifyTimeout)
	var prev *driver.Reading
	for {
		rd, err := r.D.Read(ctx, t)
		if err == nil && rd.State.Settled() && prev != nil && prev.State == rd.State {
			return rd, nil
		}
		if err == nil {
			prev = &rd
		} else {
			prev = nil
		}
		if !clock.Now().Before(deadline) {
			if err != nil {
				return rd, fmt.Errorf("state not confirmed: %w", err)
			}
			return rd, fmt.Errorf("state not confirmed within %s: last read %s", r.VerifyTimeout, describe(rd))
		}
		if err := clock.Sleep(ctx, r.VerifyInterval); err != nil {
			return rd, err
		}
	}
}

// waitFor reads until two consecutive reads are want (for off: with the
// power, when known, below a quarter of baselineW), or until timeout.
func (r *Runner) waitFor(ctx context.Context, t target.Target, want driver.State, timeout time.Duration, baselineW *float64) (driver.Reading, bool) {
	clock := r.D.Clock()
	deadline := clock.Now().Add(timeout)
	prevOK := false
	var rd driver.Reading
	for {
		var err error
		rd, err = r.D.Read(ctx, t)
		ok := err == nil && rd.State == want
		if ok && want == driver.Off && baselineW != nil && rd.PowerW != nil && *baselineW > 0 && *rd.PowerW > *baselineW/4 {
			// The BMC says Off but the server still draws its power: it is
			// still shutting down (some BMCs report Off early).
			ok = false
		}
		if ok && prevOK {
			return rd, true
		}
		prevOK = ok
		if !clock.Now().Before(deadline) || ctx.Err() != nil {
			return rd, false
		}
		if err := clock.Sleep(ctx, r.VerifyInterval); err != nil {
			return rd, false
		}
	}
}

// waitLimit reads until two consecutive reads show limit w.
func (r *Runner) waitLimit(ctx context.Context, t target.Target, w float64) (driver.Reading, bool) {
	clock := r.D.Clock()
	deadline := clock.Now().Add(r.VerifyTimeout)
	prevOK := false
	var rd driver.Reading
	for {
		var err error
		rd, err = r.D.Read(ctx, t)
		ok := err == nil && rd.LimitW != nil && *rd.LimitW == w
		if ok && prevOK {
			return rd, true
		}
		prevOK = ok
		if !clock.Now().Before(deadline) || ctx.Err() != nil {
			return rd, false
		}
		if err := clock.Sleep(ctx, r.VerifyInterval); err != nil {
			return rd, false
		}
	}
}

// Do carries out one operation and audits its outcome.
func (r *Runner) Do(ctx context.Context, op Op) Result {
	r.defaults()
	res := r.do(ctx, op)
	ev := map[string]string{OK: audit.EventVerified, Noop: audit.EventNoop, Failed: audit.EventFailed,
		Refused: audit.EventRefused, Skipped: audit.EventSkipped}[res.Outcome]
	if res.Outcome != Refused { // the dispatcher audited the refusal itself
		_, err := r.D.Audit().Append(audit.Entry{Event: ev, Target: res.Target, Action: op.Op, Policy: op.Policy,
			Why: op.Why, Plan: op.Plan, Step: op.Step, Before: res.Before, After: res.After, Outcome: res.Outcome, Detail: res.Detail})
		if err != nil && res.Outcome == OK {
			res.Detail += "; audit: " + err.Error()
		}
	}
	r.progress("%-8s %-7s %s: %s", res.Outcome, op.Op, res.Target, firstNonEmpty(res.Detail, res.After))
	return res
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

func (r *Runner) send(ctx context.Context, res *Result, op Op, c driver.Command, w float64) error {
	wire, err := r.D.Send(ctx, driver.Request{Target: op.Target, Command: c, Watts: w, Action: op.Op, Policy: op.Policy,
		Why: op.Why, Plan: op.Plan, Step: op.Step, Before: res.Before})
	if wire != "" {
		res.Commands = append(res.Commands, wire)
	}
	var refusal *safety.Refusal
	if errors.As(err, &refusal) {
		res.Outcome, res.Detail = Refused, err.Error()
	}
	return err
}

func (r *Runner) do(ctx context.Context, op Op) Result {
	res := Result{Target: op.Target.String(), Op: op.Op}
	// Refuse protected targets before even reading them.
	if err := r.D.Guard().Check(op.Target); err != nil {
		// Send audits the refusal at the last step; nothing reaches the wire.
		_ = r.send(ctx, &res, op, commandFor(op), op.Watts)
		res.Outcome = Refused
		return res
	}
	cur, err := r.confirm(ctx, op.Target)
	res.Before = describe(cur)
	if err != nil {
		res.Outcome, res.Detail = Failed, err.Error()
		return res
	}
	switch op.Op {
	case "off":
		return r.off(ctx, op, cur, res)
	case "on":
		return r.on(ctx, op, cur, res)
	case "cap", "restore":
		return r.limit(ctx, op, cur, res)
	}
	res.Outcome, res.Detail = Failed, "unknown operation "+op.Op
	return res
}

func commandFor(op Op) driver.Command {
	switch {
	case op.Op == "on":
		return driver.CmdOn
	case op.Op == "cap" || op.Op == "restore":
		return driver.CmdSetLimit
	case op.Target.Kind == target.System:
		return driver.CmdGracefulShutdown
	}
	return driver.CmdOff
}

func (r *Runner) off(ctx context.Context, op Op, cur driver.Reading, res Result) Result {
	if cur.State == driver.Off {
		res.Outcome, res.After, res.Detail = Noop, describe(cur), "already off"
		return res
	}
	if op.Target.Kind != target.System {
		if err := r.send(ctx, &res, op, driver.CmdOff, 0); err != nil {
			if res.Outcome == "" {
				res.Outcome, res.Detail = Failed, err.Error()
			}
			return res
		}
		rd, ok := r.waitFor(ctx, op.Target, driver.Off, r.VerifyTimeout, nil)
		res.After = describe(rd)
		if !ok {
			res.Outcome, res.Detail = Failed, fmt.Sprintf("not confirmed off within %s", r.VerifyTimeout)
			return res
		}
		res.Outcome = OK
		return res
	}
	timeout := op.ShutdownTimeout
	if timeout <= 0 {
		timeout = 5 * time.Minute
	}
	baseline := cur.PowerW
	if err := r.send(ctx, &res, op, driver.CmdGracefulShutdown, 0); err != nil {
		if res.Outcome == "" {
			res.Outcome, res.Detail = Failed, err.Error()
		}
		return res
	}
	rd, ok := r.waitFor(ctx, op.Target, driver.Off, timeout, baseline)
	if ok {
		res.Outcome, res.After = OK, describe(rd)
		return res
	}
	// Escalation, as planned: the graceful shutdown did not finish in time.
	r.progress("escalate %s: not off %s after GracefulShutdown, sending ForceOff", res.Target, timeout)
	if err := r.send(ctx, &res, op, driver.CmdForceOff, 0); err != nil {
		if res.Outcome == "" {
			res.Outcome, res.Detail = Failed, "GracefulShutdown timed out; ForceOff: "+err.Error()
		}
		res.After = describe(rd)
		return res
	}
	rd, ok = r.waitFor(ctx, op.Target, driver.Off, r.VerifyTimeout, nil)
	res.After = describe(rd)
	if !ok {
		res.Outcome, res.Detail = Failed, "not confirmed off after ForceOff"
		return res
	}
	res.Outcome, res.Detail = OK, fmt.Sprintf("escalated: forced off after the %s shutdown timeout", timeout)
	return res
}

func (r *Runner) on(ctx context.Context, op Op, cur driver.Reading, res Result) Result {
	if cur.State == driver.On {
		res.Outcome, res.After, res.Detail = Noop, describe(cur), "already on"
		return res
	}
	for attempt := 0; attempt <= r.OnRetries; attempt++ {
		if attempt > 0 {
			// Only from a confirmed Off: never send On to something that is
			// coming up, and never cycle.
			again, err := r.confirm(ctx, op.Target)
			if err != nil || again.State != driver.Off {
				res.After = describe(again)
				if again.State == driver.On {
					res.Outcome = OK
					return res
				}
				res.Outcome, res.Detail = Failed, fmt.Sprintf("not on, and not confirmed off to try again: %s", describe(again))
				return res
			}
			r.progress("retry    on      %s: still off after %s, sending On again (attempt %d)", res.Target, r.VerifyTimeout, attempt+1)
		}
		if err := r.send(ctx, &res, op, driver.CmdOn, 0); err != nil {
			if res.Outcome == "" {
				res.Outcome, res.Detail = Failed, err.Error()
			}
			return res
		}
		rd, ok := r.waitFor(ctx, op.Target, driver.On, r.VerifyTimeout, nil)
		res.After = describe(rd)
		if ok {
			res.Outcome = OK
			if attempt > 0 {
				res.Detail = fmt.Sprintf("on after %d attempts (the device dropped an earlier On)", attempt+1)
			}
			return res
		}
	}
	res.Outcome, res.Detail = Failed, fmt.Sprintf("not confirmed on after %d attempts", r.OnRetries+1)
	return res
}

func (r *Runner) limit(ctx context.Context, op Op, cur driver.Reading, res Result) Result {
	res.LimitBefore = cur.LimitW
	if cur.LimitW != nil && *cur.LimitW == op.Watts {
		res.Outcome, res.After, res.Detail = Noop, describe(cur), fmt.Sprintf("limit already %g W", op.Watts)
		return res
	}
	if err := r.send(ctx, &res, op, driver.CmdSetLimit, op.Watts); err != nil {
		if res.Outcome == "" {
			res.Outcome, res.Detail = Failed, err.Error()
		}
		return res
	}
	rd, ok := r.waitLimit(ctx, op.Target, op.Watts)
	res.After = describe(rd)
	if !ok {
		res.Outcome, res.Detail = Failed, fmt.Sprintf("limit not confirmed at %g W", op.Watts)
		return res
	}
	res.Outcome = OK
	if cur.LimitW != nil {
		res.Detail = fmt.Sprintf("limit %g W (was %g W)", op.Watts, *cur.LimitW)
	}
	return res
}

// Cycle switches a target off and on again, each from a confirmed state
// and verified, with pause between (manual `power cycle`).
func (r *Runner) Cycle(ctx context.Context, op Op, pause time.Duration) []Result {
	op.Op = "off"
	off := r.Do(ctx, op)
	if !off.Succeeded() {
		return []Result{off}
	}
	if err := r.D.Clock().Sleep(ctx, pause); err != nil {
		return []Result{off}
	}
	op.Op = "on"
	return []Result{off, r.Do(ctx, op)}
}
