package daemon

import (
	"errors"
	"reflect"
	"slices"

	"github.com/ecometer/ecometer/internal/collection"
)

// ReloadResult is what a reload did.
type ReloadResult struct {
	// Err is why the new configuration was rejected (config.Problems, a
	// *collection.DeviceError, …); nil when it took effect.
	Err error
	// The devices of this instance's shard that were added, removed,
	// changed (re-created with their new settings) and left alone.
	Added, Removed, Changed []string
	Unchanged               int
	// RestartNeeded names the sections whose changes take effect only at
	// the next start (storage, coordination).
	RestartNeeded []string
}

// reload re-reads the configuration file and applies the device changes.
// Everything that can fail (loading, validation, building collectors and
// reading their secrets) happens before anything running is touched, so a
// bad configuration leaves the running one as it was.
//
// No sample is lost or counted twice across a reload: a removed or changed
// device's poll in flight finishes and is written before its collector is
// closed, and a sample's time is its slot, so a re-created device's first
// poll lands in the next slot (or, if it ran the same slot again,
// overwrites the same point).
func (svc *service) reload() ReloadResult {
	log := svc.log.With("config", svc.configFile)
	log.Info("reloading the configuration")
	cfg, err := collection.Load(svc.configFile)
	if err == nil && cfg == nil {
		err = errors.New("empty configuration")
	}
	var res ReloadResult
	if err != nil {
		res.Err = err
		log.Error("configuration reload rejected; the running configuration stays", "problems", err.Error())
		return res
	}
	profiles, err := collection.Profiles(cfg)
	if err != nil {
		res.Err = err
		log.Error("configuration reload rejected; the running configuration stays", "problems", err.Error())
		return res
	}

	old := svc.devices
	want := map[string]int{}
	for _, i := range svc.owned(cfg) {
		want[cfg.Devices[i].Name] = i
	}
	var build []int // config indexes of added and changed devices
	for name, i := range want {
		d, had := old[name]
		switch {
		case !had:
			res.Added = append(res.Added, name)
			build = append(build, i)
		case !reflect.DeepEqual(d, cfg.Devices[i]) || collection.Interval(cfg, cfg.Devices[i]) != collection.Interval(svc.cfg, d):
			res.Changed = append(res.Changed, name)
			build = append(build, i)
		default:
			res.Unchanged++
		}
	}
	for name := range old {
		if _, ok := want[name]; !ok {
			res.Removed = append(res.Removed, name)
		}
	}
	slices.Sort(build)
	jobs, err := svc.buildJobs(cfg, build, profiles)
	if err != nil {
		res = ReloadResult{Err: err}
		log.Error("configuration reload rejected; the running configuration stays", "problems", err.Error())
		return res
	}

	// Apply: removed and changed devices stop (their poll in flight is
	// written), then the new and changed ones start.
	svc.fitLinger(cfg)
	var applyErr error
	for _, name := range slices.Concat(res.Removed, res.Changed) {
		applyErr = errors.Join(applyErr, svc.runner.Remove(name))
		delete(svc.devices, name)
		svc.polls.Remove(name)
		svc.readings.Forget(name)
	}
	applyErr = errors.Join(applyErr, svc.addJobs(cfg, jobs))
	for _, sec := range []struct {
		name     string
		old, new any
	}{{"storage", svc.cfg.Storage, cfg.Storage}, {"coordination", svc.cfg.Coordination, cfg.Coordination}} {
		if !reflect.DeepEqual(sec.old, sec.new) {
			res.RestartNeeded = append(res.RestartNeeded, sec.name)
		}
	}
	svc.cfg, svc.profiles = released(cfg), profiles
	slices.Sort(res.Added)
	slices.Sort(res.Removed)
	slices.Sort(res.Changed)
	if applyErr != nil {
		log.Error("configuration reload applied with errors", "error", applyErr)
	}
	log.Info("configuration reloaded", "added", len(res.Added), "removed", len(res.Removed), "changed", len(res.Changed),
		"unchanged", res.Unchanged, "devices", len(svc.devices))
	for _, name := range res.Removed {
		log.Info("device removed", "device", name)
	}
	if len(res.RestartNeeded) > 0 {
		log.Warn("these sections changed but take effect only at the next start", "sections", res.RestartNeeded)
	}
	res.Err = applyErr
	return res
}
