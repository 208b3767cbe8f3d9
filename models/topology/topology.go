// Package topology holds the power chain: which meter feeds which, the meters
// that totals are taken at (accounting level), what leaf meters attribute under
// them, and PUE (DESIGN.md, energy rules 3 and 4).
package topology

import (
	"errors"
	"fmt"
	"math"
	"sort"

	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/units"
)

// Level is an accounting level.
type Level string

const (
	None     Level = ""         // not an accounting meter
	IT       Level = "it"       // IT energy is taken here
	Facility Level = "facility" // facility (whole site) energy is taken here
)

// Meter is one meter in a power chain.
type Meter struct {
	Ref        energy.MeterRef
	FedBy      energy.MeterRef // the meter that feeds this one; zero for a root
	Accounting Level
}

// Chain is a site's power chain.
type Chain []Meter

// Validate checks the chain: known levels, no duplicate meters, parents that
// exist, no cycles, and no double counting (an accounting meter fed, directly
// or not, by another accounting meter of the same level, or a facility meter
// fed by an IT one). It reports every problem, naming the meters involved.
func (c Chain) Validate() error {
	var errs []error
	byRef := make(map[energy.MeterRef]Meter, len(c))
	for _, m := range c {
		if m.Accounting != None && m.Accounting != IT && m.Accounting != Facility {
			errs = append(errs, fmt.Errorf("meter %s: unknown accounting level %q (want it or facility)", m.Ref, m.Accounting))
		}
		if _, dup := byRef[m.Ref]; dup {
			errs = append(errs, fmt.Errorf("meter %s: listed twice", m.Ref))
		}
		byRef[m.Ref] = m
	}
	for _, m := range c {
		if m.FedBy == (energy.MeterRef{}) {
			continue
		}
		if _, ok := byRef[m.FedBy]; !ok {
			errs = append(errs, fmt.Errorf("meter %s: fed by unknown meter %s", m.Ref, m.FedBy))
		}
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, m := range c {
		seen := map[energy.MeterRef]bool{m.Ref: true}
		for p := m.FedBy; p != (energy.MeterRef{}); p = byRef[p].FedBy {
			if seen[p] {
				errs = append(errs, fmt.Errorf("meter %s: its feed chain loops back at %s", m.Ref, p))
				break
			}
			seen[p] = true
			up := byRef[p]
			if m.Accounting == None || up.Accounting == None {
				continue
			}
			switch {
			case up.Accounting == m.Accounting:
				errs = append(errs, fmt.Errorf("meters %s and %s: both are %s accounting meters and %s feeds %s, so their energy would be counted twice",
					up.Ref, m.Ref, m.Accounting, up.Ref, m.Ref))
			case up.Accounting == IT && m.Accounting == Facility:
				errs = append(errs, fmt.Errorf("meters %s and %s: IT accounting meter %s feeds facility meter %s",
					up.Ref, m.Ref, up.Ref, m.Ref))
			}
		}
	}
	return errors.Join(errs...)
}

// Balance is the energy account of one accounting meter over a period.
type Balance struct {
	Meter      energy.MeterRef
	Level      Level
	Measured   units.KWh // the accounting meter's own figure
	Attributed units.KWh // the sum of the leaf meters under it
	// Unmetered is Measured − Attributed: losses and unmetered loads. It is
	// negative when the leaves add up to more than the meter (OverAttributed).
	Unmetered      units.KWh
	OverAttributed bool
	Leaves         int
	MissingLeaves  []energy.MeterRef // leaves without an energy figure
}

// Balances returns, for every accounting meter (in chain order), the energy it
// measured, what its leaf meters attribute and the rest. energies holds one
// figure per meter for the same period. The chain must be valid; an accounting
// meter without a figure is an error.
func (c Chain) Balances(energies map[energy.MeterRef]units.KWh) ([]Balance, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	children := make(map[energy.MeterRef][]energy.MeterRef)
	for _, m := range c {
		if m.FedBy != (energy.MeterRef{}) {
			children[m.FedBy] = append(children[m.FedBy], m.Ref)
		}
	}
	var out []Balance
	for _, m := range c {
		if m.Accounting == None {
			continue
		}
		measured, ok := energies[m.Ref]
		if !ok {
			return nil, fmt.Errorf("accounting meter %s: no energy figure", m.Ref)
		}
		b := Balance{Meter: m.Ref, Level: m.Accounting, Measured: measured}
		var walk func(energy.MeterRef)
		walk = func(r energy.MeterRef) {
			for _, ch := range children[r] {
				if len(children[ch]) > 0 {
					walk(ch)
					continue
				}
				b.Leaves++
				e, ok := energies[ch]
				if !ok {
					b.MissingLeaves = append(b.MissingLeaves, ch)
					continue
				}
				b.Attributed += e
			}
		}
		walk(m.Ref)
		b.Unmetered = b.Measured - b.Attributed
		b.OverAttributed = b.Unmetered < 0
		out = append(out, b)
	}
	return out, nil
}

// Total is the energy at one accounting level: the sum of that level's
// accounting meters. A valid chain never has one of them under another, so no
// energy is counted twice.
func (c Chain) Total(level Level, energies map[energy.MeterRef]units.KWh) (units.KWh, error) {
	if err := c.Validate(); err != nil {
		return 0, err
	}
	var sum units.KWh
	refs := make([]energy.MeterRef, 0, len(c))
	for _, m := range c {
		if m.Accounting == level {
			refs = append(refs, m.Ref)
		}
	}
	sort.Slice(refs, func(i, j int) bool { return refs[i].String() < refs[j].String() })
	for _, r := range refs {
		e, ok := energies[r]
		if !ok {
			return 0, fmt.Errorf("%s accounting meter %s: no energy figure", level, r)
		}
		sum += e
	}
	return sum, nil
}

// PUE is power usage effectiveness over a period.
type PUE struct {
	Value    float64
	Assumed  bool // true: the site's configured PUE, not measured
	Facility units.KWh
	IT       units.KWh
}

// ComputePUE returns facility energy / IT energy (ISO/IEC 30134-2) when the
// chain has a facility accounting meter; otherwise the site's assumed PUE,
// labelled as assumed (the facility energy is then IT × assumed).
func (c Chain) ComputePUE(energies map[energy.MeterRef]units.KWh, assumed float64) (PUE, error) {
	it, err := c.Total(IT, energies)
	if err != nil {
		return PUE{}, fmt.Errorf("pue: %w", err)
	}
	hasFacility := false
	for _, m := range c {
		hasFacility = hasFacility || m.Accounting == Facility
	}
	if !hasFacility {
		if !(assumed >= 1) || math.IsInf(assumed, 0) {
			return PUE{}, fmt.Errorf("pue: no facility meter and the assumed site PUE %v is not ≥ 1", assumed)
		}
		return PUE{Value: assumed, Assumed: true, IT: it, Facility: units.KWh(float64(it) * assumed)}, nil
	}
	fac, err := c.Total(Facility, energies)
	if err != nil {
		return PUE{}, fmt.Errorf("pue: %w", err)
	}
	if it <= 0 {
		return PUE{}, fmt.Errorf("pue: IT energy is %v kWh; PUE is undefined", it)
	}
	return PUE{Value: float64(fac) / float64(it), Facility: fac, IT: it}, nil
}
