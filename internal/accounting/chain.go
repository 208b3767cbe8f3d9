package accounting

import (
	"fmt"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/topology"
)

// TotalMeter is the meter of a device that its totals are read from.
const TotalMeter = "total"

// ChainError is a power chain the configuration describes that would count
// energy twice (or loops): a configuration problem, not a runtime one.
type ChainError struct{ Err error }

func (e *ChainError) Error() string {
	return "power chain from the config's feeds and accounting roles: " + e.Err.Error()
}
func (e *ChainError) Unwrap() error { return e.Err }

// BuildChain derives the power chain from the devices: each device's total
// meter, fed by the meter its feeds names (a meter other than total, such as
// pdu-a/outlet/5, is itself fed by its device's total). A device with
// accounting role it or facility is an accounting meter of that level unless
// a device upstream of it already has the same role: totals are taken at the
// top of each role's part of the chain, so nothing is counted twice.
func BuildChain(cfg *config.Config) (topology.Chain, error) {
	byName := map[string]config.Device{}
	for _, d := range cfg.Devices {
		byName[d.Name] = d
	}
	total := func(d config.Device) energy.MeterRef {
		return energy.MeterRef{Site: d.Site, Device: d.Name, Meter: TotalMeter}
	}
	feeder := func(d config.Device) (energy.MeterRef, bool) {
		if d.Feeds == "" {
			return energy.MeterRef{}, false
		}
		ref, err := config.ParseMeterRef(d.Feeds)
		up, ok := byName[ref.Device]
		if err != nil || !ok {
			return energy.MeterRef{}, false
		}
		return energy.MeterRef{Site: up.Site, Device: up.Name, Meter: ref.Meter}, true
	}
	var chain topology.Chain
	extra := map[energy.MeterRef]bool{}
	for _, d := range cfg.Devices {
		m := topology.Meter{Ref: total(d)}
		if f, ok := feeder(d); ok {
			m.FedBy = f
			if f.Meter != TotalMeter && !extra[f] {
				extra[f] = true
				chain = append(chain, topology.Meter{Ref: f, FedBy: total(byName[f.Device])})
			}
		}
		role := topology.Level(d.AccountingRole)
		if role == topology.IT || role == topology.Facility {
			m.Accounting = role
			seen := map[string]bool{d.Name: true}
			for up := d; ; {
				f, ok := feeder(up)
				if !ok || seen[f.Device] {
					break
				}
				seen[f.Device] = true
				up = byName[f.Device]
				if topology.Level(up.AccountingRole) == role {
					m.Accounting = topology.None
					break
				}
			}
		}
		chain = append(chain, m)
	}
	if err := chain.Validate(); err != nil {
		return nil, &ChainError{Err: err}
	}
	return chain, nil
}

// levelOf is the level a site's totals are taken at: its configured level,
// or IT (scaled by the assumed PUE) when it asks for facility energy and has
// no facility meter.
func levelOf(chain topology.Chain, site config.Site) (level topology.Level, scaled bool) {
	level = topology.Level(site.Accounting)
	if level != topology.Facility {
		return level, false
	}
	for _, m := range chain {
		if m.Ref.Site == site.Name && m.Accounting == topology.Facility {
			return level, false
		}
	}
	return topology.IT, true
}

// String renders a meter as device/meter, as the config's feeds names it.
func meterName(r energy.MeterRef) string { return fmt.Sprintf("%s/%s", r.Device, r.Meter) }
