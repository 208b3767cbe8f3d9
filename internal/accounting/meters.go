package accounting

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/models/topology"
	"github.com/ecometer/ecometer/models/units"
)

// Meter is one meter's energy over a period.
type Meter struct {
	Site   string `json:"site"`
	Room   string `json:"room,omitempty"`
	Rack   string `json:"rack,omitempty"`
	Device string `json:"device"`
	Class  string `json:"class"`
	Meter  string `json:"meter"`

	EnergyKWh   float64  `json:"energy_kwh"`
	MeanW       float64  `json:"mean_w"`
	CoveragePct float64  `json:"coverage_pct"`
	Methods     []string `json:"methods"` // counter, integrated
	// Accounting is it or facility for the meters a site's totals are taken
	// at, empty for the rest.
	Accounting string `json:"accounting,omitempty"`
	// Counted: the meter is in the power chain at or below the meters the
	// site's total is taken at, so its own share (OwnKWh) is part of the
	// site's total. Sub-meters outside the chain (phases, unconnected
	// outlets) are shown but not counted.
	Counted bool `json:"counted"`
	// OwnKWh is the meter's energy less that of the metered meters it feeds
	// directly: for a leaf the load itself, for the rest its losses and
	// unmetered loads. The own shares of a site's counted meters add up to
	// its total exactly.
	OwnKWh float64 `json:"own_kwh"`
}

// Ref is the meter's reference.
func (m Meter) Ref() energy.MeterRef {
	return energy.MeterRef{Site: m.Site, Device: m.Device, Meter: m.Meter}
}

// Meters returns the energy of every power meter in [from, to) of one site
// (all when site is empty), ordered by site, device and meter, with the
// chain's meters that were not read as zero-coverage rows.
func (a *Accounting) Meters(ctx context.Context, site string, from, to time.Time) ([]Meter, error) {
	hours, err := a.read(ctx, store.Query{Site: site}, from, to, func(energy.MeterRef) bool { return true })
	if err != nil {
		return nil, fmt.Errorf("accounting: %w", err)
	}
	return a.metersOf(hours, func(ref energy.MeterRef) bool { return site == "" || ref.Site == site }, from, to), nil
}

// metersOf turns the hourly energy per meter into Meters, adding the
// chain's meters of the wanted sites that have no hours as zero-coverage
// rows. hours gains those meters.
func (a *Accounting) metersOf(hours map[energy.MeterRef][]energy.Hourly, want func(energy.MeterRef) bool, from, to time.Time) []Meter {
	measuredAtOutlet(a.chain, hours)
	for _, m := range a.chain {
		if _, ok := hours[m.Ref]; !ok && want(m.Ref) {
			hours[m.Ref] = nil
		}
	}
	span := to.Sub(from).Hours()
	byRef := map[energy.MeterRef]*Meter{}
	var out []Meter
	for ref, hs := range hours {
		if !want(ref) {
			continue
		}
		d := a.devices[ref.Device]
		m := Meter{Site: ref.Site, Room: d.Room, Rack: d.Rack, Device: ref.Device, Class: string(d.Class), Meter: ref.Meter,
			Accounting: string(a.level[ref]), Methods: []string{}}
		var covered float64
		for _, h := range hs {
			m.EnergyKWh += float64(h.Energy)
			covered += h.CoveragePct / 100
			if !slices.Contains(m.Methods, string(h.Method)) {
				m.Methods = append(m.Methods, string(h.Method))
			}
		}
		slices.Sort(m.Methods)
		if span > 0 {
			m.CoveragePct = 100 * covered / span
		}
		if covered > 0 {
			m.MeanW = 1000 * m.EnergyKWh / covered
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(x, y Meter) int {
		return cmp.Or(cmp.Compare(x.Site, y.Site), cmp.Compare(x.Device, y.Device), sample.CompareMeters(x.Meter, y.Meter))
	})
	for i := range out {
		byRef[out[i].Ref()] = &out[i]
	}
	a.attribute(byRef)
	return out
}

// attribute marks the meters counted in their site's total and gives each
// its own share: its energy less that of the chain meters it feeds.
func (a *Accounting) attribute(byRef map[energy.MeterRef]*Meter) {
	children := map[energy.MeterRef][]energy.MeterRef{}
	for _, m := range a.chain {
		if m.FedBy != (energy.MeterRef{}) {
			children[m.FedBy] = append(children[m.FedBy], m.Ref)
		}
	}
	var mark func(energy.MeterRef)
	mark = func(r energy.MeterRef) {
		m, ok := byRef[r]
		if !ok || m.Counted {
			return
		}
		m.Counted = true
		m.OwnKWh = m.EnergyKWh
		for _, c := range children[r] {
			if cm, ok := byRef[c]; ok {
				m.OwnKWh -= cm.EnergyKWh
			}
			mark(c)
		}
	}
	sites := map[string]config.Site{}
	for _, s := range a.cfg.Sites {
		sites[s.Name] = s
	}
	for _, m := range a.chain {
		site, ok := sites[m.Ref.Site]
		if !ok {
			continue
		}
		if level, _ := levelOf(a.chain, site); m.Accounting == level {
			mark(m.Ref)
		}
	}
}

// Group is the energy of a group of devices (a rack, a room, a class, a
// site, or one device): the own shares of its counted meters.
type Group struct {
	By        string  `json:"by"`
	Key       string  `json:"key"`
	Site      string  `json:"site"`
	EnergyKWh float64 `json:"energy_kwh"`
	// LossesKWh is the part of EnergyKWh that is the losses and unmetered
	// loads of meters feeding other metered meters.
	LossesKWh float64 `json:"losses_unmetered_kwh"`
	// CoveragePct is the lowest coverage of the group's counted meters.
	CoveragePct float64 `json:"coverage_pct"`
	Meters      int     `json:"meters"`
}

// GroupBy are the groupings Groups knows.
var GroupBy = []string{"device", "rack", "room", "class", "site"}

// Groups totals the counted meters by device, rack, room, class or site.
// The groups of a site add up to the site's metered total at its
// accounting level.
func (a *Accounting) Groups(meters []Meter, by string) ([]Group, error) {
	if !slices.Contains(GroupBy, by) {
		return nil, fmt.Errorf("group by %q: want one of %v", by, GroupBy)
	}
	feeds := map[energy.MeterRef]bool{}
	for _, m := range a.chain {
		if m.FedBy != (energy.MeterRef{}) {
			feeds[m.FedBy] = true
		}
	}
	idx := map[[2]string]int{}
	var out []Group
	for _, m := range meters {
		if !m.Counted {
			continue
		}
		key := map[string]string{"device": m.Device, "rack": m.Rack, "room": m.Room, "class": m.Class, "site": m.Site}[by]
		if key == "" {
			key = "(none)"
		}
		k := [2]string{m.Site, key}
		i, ok := idx[k]
		if !ok {
			i = len(out)
			idx[k] = i
			out = append(out, Group{By: by, Key: key, Site: m.Site, CoveragePct: 100})
		}
		g := &out[i]
		g.EnergyKWh += m.OwnKWh
		if feeds[m.Ref()] {
			g.LossesKWh += m.OwnKWh
		}
		g.CoveragePct = min(g.CoveragePct, m.CoveragePct)
		g.Meters++
	}
	slices.SortFunc(out, func(x, y Group) int {
		return cmp.Or(cmp.Compare(x.Site, y.Site), cmp.Compare(y.EnergyKWh, x.EnergyKWh), cmp.Compare(x.Key, y.Key))
	})
	return out, nil
}

// Balances are the chain's balances, for the sites of meters, (what each accounting meter measured,
// what the leaves under it attribute, the rest) for meters' energies.
func (a *Accounting) Balances(meters []Meter) ([]topology.Balance, error) {
	energies := map[energy.MeterRef]units.KWh{}
	sites := map[string]bool{}
	for _, m := range meters {
		energies[m.Ref()] = units.KWh(m.EnergyKWh)
		sites[m.Site] = true
	}
	var chain topology.Chain
	for _, m := range a.chain {
		if sites[m.Ref.Site] {
			chain = append(chain, m)
		}
	}
	return chain.Balances(energies)
}
