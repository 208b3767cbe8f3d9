package procure

import (
	"fmt"
	"sort"

	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/units"
)

// DefaultCO2PriceDKKPerTonne is the default price put on a tonne of CO2e in
// the lifetime cost (the figure for Danish public procurement; the
// source was not verified here, so it is a flag).
const DefaultCO2PriceDKKPerTonne = 1500

// CostParams are the assumptions of a lifetime cost comparison. Each is
// printed with the comparison.
type CostParams struct {
	KWhPriceDKK         float64 // electricity price; 0 leaves energy cost out
	CO2PriceDKKPerTonne float64 // price of a tonne of CO2e
	GridGPerKWh         float64 // grid intensity for use-phase CO2e; 0 leaves it out
	Load                float64 // share of time at max power when only idle_w and max_w are declared (0..1)
	DefaultYears        float64 // lifetime when a product declares none
	// EmbodiedDefaults are class defaults (kg CO2e) used when a product
	// declares no embodied_kg_co2e, with their source.
	EmbodiedDefaults map[string]units.KgCO2e
	EmbodiedSource   string
}

// Lifetime is one product's lifetime cost.
type Lifetime struct {
	ID, Class, Model string
	Years            float64
	KWh              units.KWh
	KWhBasis         string // "annual_kwh" or "idle/max at load …"
	UseKg            units.KgCO2e
	EmbodiedKg       units.KgCO2e
	EmbodiedBasis    string
	PriceDKK         float64
	EnergyDKK        float64
	CO2DKK           float64
	TotalDKK         float64
	Missing          []string // parts that could not be computed
	Rank             int      // 1 = cheapest complete offer of its class
}

// LifetimeCosts computes each product's lifetime cost: purchase price +
// energy (kWh × price) + CO2e × price, where CO2e is the use phase (kWh ×
// grid intensity) plus the embodied footprint. Offers are ranked within
// their class among those with every part known.
func LifetimeCosts(products []Product, cp CostParams) []Lifetime {
	out := make([]Lifetime, 0, len(products))
	for i := range products {
		p := &products[i]
		l := Lifetime{ID: p.ID, Class: p.Class(), Model: p.Text("model"), Years: cp.DefaultYears}
		if v, ok := p.Get("lifetime_years"); ok {
			l.Years = v.Num
		}
		if l.Years <= 0 {
			l.Missing = append(l.Missing, "lifetime_years")
		}
		annual, basis, ok := annualKWh(p, cp.Load)
		if ok {
			l.KWh, l.KWhBasis = units.KWh(annual*l.Years), basis
		} else {
			l.Missing = append(l.Missing, "annual_kwh (or idle_w and max_w)")
		}
		if v, ok := p.Get("price_dkk"); ok {
			l.PriceDKK = v.Num
		} else {
			l.Missing = append(l.Missing, "price_dkk")
		}
		if cp.KWhPriceDKK > 0 {
			l.EnergyDKK = float64(l.KWh) * cp.KWhPriceDKK
		} else {
			l.Missing = append(l.Missing, "electricity price")
		}
		if cp.GridGPerKWh > 0 {
			l.UseKg = l.KWh.Times(units.GramsPerKWh(cp.GridGPerKWh))
		} else {
			l.Missing = append(l.Missing, "grid intensity")
		}
		if v, ok := p.Get("embodied_kg_co2e"); ok {
			l.EmbodiedKg, l.EmbodiedBasis = units.KgCO2e(v.Num), "declared"
		} else if d, ok := cp.EmbodiedDefaults[l.Class]; ok {
			l.EmbodiedKg, l.EmbodiedBasis = d, "class default ("+cp.EmbodiedSource+")"
		} else {
			l.Missing = append(l.Missing, "embodied_kg_co2e")
		}
		l.CO2DKK = float64(l.UseKg+l.EmbodiedKg) / 1000 * cp.CO2PriceDKKPerTonne
		l.TotalDKK = l.PriceDKK + l.EnergyDKK + l.CO2DKK
		out = append(out, l)
	}
	byClass := map[string][]*Lifetime{}
	for i := range out {
		if len(out[i].Missing) == 0 {
			byClass[out[i].Class] = append(byClass[out[i].Class], &out[i])
		}
	}
	for _, ls := range byClass {
		sort.SliceStable(ls, func(i, j int) bool { return ls[i].TotalDKK < ls[j].TotalDKK })
		for i, l := range ls {
			l.Rank = i + 1
		}
	}
	return out
}

// annualKWh is the declared annual energy, or the mean of idle and max power
// weighted by load, over 8,760 hours.
func annualKWh(p *Product, load float64) (float64, string, bool) {
	if v, ok := p.Get("annual_kwh"); ok {
		return v.Num, "annual_kwh declared", true
	}
	idle, ok1 := p.Get("idle_w")
	maxw, ok2 := p.Get("max_w")
	if !ok1 || !ok2 {
		return 0, "", false
	}
	w := idle.Num + load*(maxw.Num-idle.Num)
	return w * 8760 / 1000, fmt.Sprintf("idle_w + %.0f %% × (max_w − idle_w) = %.1f W all year", load*100, w), true
}

// boaviztaClass maps product classes to Boavizta subcategories (lower case).
var boaviztaClass = map[string]string{
	"server": "server", "monitor": "monitor", "notebook": "laptop", "desktop": "desktop",
	"tablet": "tablet", "smartphone": "smartphone", "switch": "switch",
}

// EmbodiedDefaults maps carbon class defaults (keyed by lower-case Boavizta
// subcategory) to product classes.
func EmbodiedDefaults(d map[string]carbon.ClassDefault) map[string]units.KgCO2e {
	out := map[string]units.KgCO2e{}
	for class, sub := range boaviztaClass {
		if cd, ok := d[sub]; ok {
			out[class] = cd.Footprint
		}
	}
	return out
}
