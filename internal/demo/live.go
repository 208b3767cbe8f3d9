package demo

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/internal/collection"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/internal/store"
)

// LiveMinutes is how long the demo collects live: every device at its poll
// interval, the simulators' clock driven from slot to slot.
const LiveMinutes = 10

// Live is what the demo collected from the simulated site.
type Live struct {
	From, To time.Time
	Devices  int
	Polls    int
	Took     time.Duration
	// Rows are the readings of the live window (readings.Read): each
	// device's latest poll, each meter's latest values and its power over
	// the window.
	Rows []readings.Row
}

// collectLive polls every device of the site's config with the collectors
// internal/collection builds from it (as `ecometer serve` does), for every
// slot of [from, to) at each device's interval, the simulators' clock set
// to the slot, and reads back what was stored.
func collectLive(ctx context.Context, site *Site, st interface {
	store.Writer
	store.Reader
}, from, to time.Time, log *slog.Logger) (Live, error) {
	cfg := site.Config
	lv := Live{From: from, To: to}
	profiles, err := collection.Profiles(cfg)
	if err != nil {
		return lv, err
	}
	jobs, err := collection.Jobs(cfg, profiles, log)
	if err != nil {
		return lv, err
	}
	defer func() {
		for _, j := range jobs {
			j.Collector.Close()
		}
	}()
	runner, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: log, Now: site.Clock.Now})
	if err != nil {
		return lv, err
	}
	lv.Devices = len(jobs)
	began := time.Now()
	for at := from; at.Before(to); at = at.Add(time.Minute) {
		for _, j := range jobs {
			if err := ctx.Err(); err != nil {
				return lv, err
			}
			if !at.Truncate(j.Interval).Equal(at) {
				continue
			}
			site.Clock.Drive(at)
			runner.Poll(ctx, j, at)
			lv.Polls++
		}
	}
	// From now on the simulators run on the wall clock (--keep).
	site.Clock.Drive(time.Time{})
	lv.Took = time.Since(began)

	if lv.Rows, err = readings.Read(ctx, st, readings.Filter{}, to.Sub(from), to); err != nil {
		return lv, err
	}
	// Every device must have answered: the demo's site is embedded and
	// tested, so a failure here is a defect, not a condition to show.
	var failed []string
	for _, r := range lv.Rows {
		if v, ok := r.Values["reachable"]; ok && v == 0 {
			failed = append(failed, r.Device)
		}
	}
	var missing []string
	for _, d := range cfg.Devices {
		if !slices.ContainsFunc(lv.Rows, func(r readings.Row) bool { return r.Device == d.Name && r.Recent != nil }) {
			missing = append(missing, d.Name)
		}
	}
	if len(failed) > 0 || len(missing) > 0 {
		return lv, fmt.Errorf("demo: live collection: unreachable: [%s]; no power readings: [%s] (see the warnings above)",
			strings.Join(failed, ", "), strings.Join(missing, ", "))
	}
	return lv, nil
}
