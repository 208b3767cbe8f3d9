package plan

import (
	"context"
	"fmt"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/store"
)

// Checker re-checks an off or cap step just before it is carried out:
// maintenance windows, and the policy's off condition on the target's
// recent mean power (no samples: not switched off). It is apply's Checker.
func Checker(st store.Reader, cfg *config.Config, cal *calendar.Calendar) func(context.Context, Step, time.Time) (bool, string, error) {
	sites := map[string]string{}
	for _, d := range cfg.Devices {
		sites[d.Name] = d.Site
	}
	return func(ctx context.Context, s Step, now time.Time) (bool, string, error) {
		site := sites[s.Target.Device]
		if m, ok := cal.Maintenance(now, site, s.Target.Device); ok {
			return false, fmt.Sprintf("maintenance %q (%s to %s): left alone", m.Name, m.From, m.To), nil
		}
		c := s.Conditions
		if c == nil || c.OffBelowW <= 0 {
			return true, "", nil
		}
		if st == nil {
			return false, "condition not checked: no store", nil
		}
		mw, err := MeanPower(ctx, st, site, s.Target, now.Add(-c.OffWindow.Std()), now)
		if err != nil {
			return false, "", err
		}
		switch {
		case mw == nil:
			return false, fmt.Sprintf("no power samples over the last %s: not switched off (condition off_below_w %g W)", c.OffWindow, c.OffBelowW), nil
		case *mw >= c.OffBelowW:
			return false, fmt.Sprintf("busy: mean %.0f W over the last %s, not below off_below_w %g W", *mw, c.OffWindow, c.OffBelowW), nil
		}
		return true, "", nil
	}
}
