// Package embodied is the embodied (Scope 3) view of a month: each asset of
// the inventory amortised over its planned lifetime (its product footprint,
// else its class default), totalled per class, the assets that cannot be
// counted named, and lifetime-extension scenarios. `co2 embodied` prints it
// and the monthly report shows it; the arithmetic is models/carbon's.
package embodied

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/carbon"
)

// BoaviztaCitation is the attribution the ODbL asks for.
const BoaviztaCitation = "Boavizta environmental-footprint-data (ODbL-1.0)"

// Method says how the figure is made.
const Method = "Scope 3 embodied: product footprint, else class default, spread evenly over the planned lifetime (footprint / (lifetime × 12) a month)"

// View is one month's embodied emissions; its JSON is `co2 embodied --json`
// without the store line.
type View struct {
	Month  string `json:"month"`
	Method string `json:"method"`
	// KgCO2e sums the assets with a footprint or class default; the
	// Missing ones are not in it.
	KgCO2e     float64        `json:"kg_co2e"`
	Assets     int            `json:"assets_stored"`
	Amortising int            `json:"assets_in_amortisation_period"`
	ByClass    []Class        `json:"by_class"`
	Missing    []Asset        `json:"missing"`
	Defaults   []ClassDefault `json:"class_defaults,omitempty"`
	DefaultsOf string         `json:"class_defaults_file,omitempty"`
	Citation   string         `json:"class_defaults_source,omitempty"`
	Extensions []Extension    `json:"lifetime_extensions,omitempty"`
}

// Class is one class's assets in their amortisation period.
type Class struct {
	Class            string  `json:"class"`
	Assets           int     `json:"assets"`
	ProductFootprint int     `json:"with_product_footprint"`
	ClassDefault     int     `json:"with_class_default"`
	Missing          int     `json:"missing"`
	KgCO2e           float64 `json:"kg_co2e"`
}

// Asset is an asset that could not be counted.
type Asset struct {
	ID     string `json:"asset_id"`
	Class  string `json:"class"`
	Model  string `json:"model"`
	Reason string `json:"reason"`
}

// ClassDefault is a class default that was used.
type ClassDefault struct {
	Class    string  `json:"class"`
	KgCO2e   float64 `json:"kg_co2e"`
	Products int     `json:"products"`
	// Note is the default's own source where it is not the plain median
	// of the class (e.g. the switch default, a stand-in class).
	Note string `json:"note,omitempty"`
}

// Scenario asks: what if devices of Class were kept ToYears instead of
// FromYears?
type Scenario struct {
	Class            string
	FromYears, Years float64
}

// Extension is a lifetime-extension scenario's result.
type Extension struct {
	Class     string  `json:"class"`
	FromYears float64 `json:"from_years"`
	ToYears   float64 `json:"to_years"`
	// PerDevice is the avoided emission of one device at the class default.
	PerDeviceKgCO2ePerYr *float64 `json:"per_device_kg_co2e_per_year,omitempty"`
	DefaultKgCO2e        *float64 `json:"class_default_kg_co2e,omitempty"`
	// Assets are the stored assets of the class in their amortisation
	// period in the month (the current fleet); AssetsKgCO2ePerYr their
	// avoided emission, each at its own footprint (product or default).
	Assets            int      `json:"assets"`
	AssetsKgCO2ePerYr float64  `json:"assets_kg_co2e_per_year"`
	Missing           []string `json:"missing,omitempty"` // assets without footprint or default
	Note              string   `json:"note,omitempty"`
}

// ScenarioError is a scenario the model refuses (e.g. TO not after FROM).
type ScenarioError struct {
	Class string
	Err   error
}

func (e *ScenarioError) Error() string { return "extension " + e.Class + ": " + e.Err.Error() }
func (e *ScenarioError) Unwrap() error { return e.Err }

// Options say where the class defaults came from and which scenarios to
// compute.
type Options struct {
	Defaults     map[string]carbon.ClassDefault // by lower-case class
	DefaultsFile string                         // "" when none was given
	Scenarios    []Scenario
}

// Month computes the view of year-month over the stored assets.
func Month(assets []carbon.Asset, year int, month time.Month, opts Options) (View, error) {
	defaults := opts.Defaults
	if defaults == nil {
		defaults = map[string]carbon.ClassDefault{}
	}
	out := View{Month: fmt.Sprintf("%d-%02d", year, int(month)), Assets: len(assets), Missing: []Asset{}, Method: Method}
	noDefault := "no product footprint and no class default"
	if opts.DefaultsFile == "" {
		noDefault += " (no class defaults file given)"
	} else {
		out.DefaultsOf = opts.DefaultsFile
		out.Citation = BoaviztaCitation + ": median embodied footprint per subcategory, gwp_total × (1 − gwp_use_ratio): the use phase is left out, Scope 2 counts it"
		noDefault += " (no Boavizta subcategory of that name)"
	}
	usedDefaults := map[string]bool{}
	byClass := map[string]*Class{}
	var inService []carbon.Asset // in their amortisation period this month
	assets = slices.Clone(assets)
	slices.SortFunc(assets, func(a, b carbon.Asset) int {
		return strings.Compare(strings.ToLower(a.Class)+"\x00"+a.ID, strings.ToLower(b.Class)+"\x00"+b.ID)
	})
	for _, a := range assets {
		// The model's own rule says whether the month is in the asset's
		// amortisation period: a stand-in footprint of 1 kg amortises to
		// more than 0 exactly then.
		probe := a
		probe.Footprint, probe.HasFootprint = 1, true
		p, err := carbon.MonthlyAmortisation(probe, nil, year, month)
		if err != nil {
			return View{}, err
		}
		if p.Emissions == 0 {
			continue
		}
		inService = append(inService, a)
		key := strings.ToLower(a.Class)
		c := byClass[key]
		if c == nil {
			c = &Class{Class: a.Class}
			byClass[key] = c
		}
		c.Assets++
		out.Amortising++
		am, err := carbon.MonthlyAmortisation(a, defaults, year, month)
		if err != nil {
			c.Missing++
			out.Missing = append(out.Missing, Asset{ID: a.ID, Class: a.Class, Model: a.Model, Reason: noDefault})
			continue
		}
		if am.Default {
			c.ClassDefault++
			usedDefaults[key] = true
		} else {
			c.ProductFootprint++
		}
		c.KgCO2e += float64(am.Emissions)
		out.KgCO2e += float64(am.Emissions)
	}
	for _, k := range slices.Sorted(maps.Keys(byClass)) {
		out.ByClass = append(out.ByClass, *byClass[k])
	}
	for _, x := range opts.Scenarios {
		e, err := extension(x, defaults, inService, usedDefaults)
		if err != nil {
			return View{}, err
		}
		out.Extensions = append(out.Extensions, e)
	}
	for _, k := range slices.Sorted(maps.Keys(usedDefaults)) {
		d := defaults[k]
		cd := ClassDefault{Class: d.Class, KgCO2e: float64(d.Footprint), Products: d.Products}
		if d.Source != carbon.BoaviztaSource {
			cd.Note = d.Source
		}
		out.Defaults = append(out.Defaults, cd)
	}
	return out, nil
}

// extension computes one scenario over the class default and the fleet.
func extension(x Scenario, defaults map[string]carbon.ClassDefault, inService []carbon.Asset, used map[string]bool) (Extension, error) {
	e := Extension{Class: x.Class, FromYears: x.FromYears, ToYears: x.Years}
	key := strings.ToLower(x.Class)
	if d, ok := defaults[key]; ok {
		used[key] = true
		per, err := carbon.ExtensionAvoided(d.Footprint, x.FromYears, x.Years, 1)
		if err != nil {
			return e, &ScenarioError{Class: x.Class, Err: err}
		}
		perF, defF := float64(per), float64(d.Footprint)
		e.PerDeviceKgCO2ePerYr, e.DefaultKgCO2e = &perF, &defF
	}
	for _, a := range inService {
		if strings.ToLower(a.Class) != key {
			continue
		}
		e.Assets++
		f := a.Footprint
		if !a.HasFootprint {
			d, ok := defaults[key]
			if !ok {
				e.Missing = append(e.Missing, a.ID)
				continue
			}
			f = d.Footprint
		}
		avoided, err := carbon.ExtensionAvoided(f, x.FromYears, x.Years, 1)
		if err != nil {
			return e, &ScenarioError{Class: x.Class, Err: err}
		}
		e.AssetsKgCO2ePerYr += float64(avoided)
	}
	switch {
	case e.Assets == 0 && e.PerDeviceKgCO2ePerYr == nil:
		e.Note = fmt.Sprintf("no stored assets of class %s in service this month, and no class default for it", x.Class)
	case e.Assets == 0:
		e.Note = fmt.Sprintf("no stored assets of class %s in service this month", x.Class)
	}
	return e, nil
}
