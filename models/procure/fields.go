// Package procure checks offered equipment against green procurement
// requirements: requirement catalogs (embedded YAML: EU ecodesign and energy
// label regulations, certificates, EU GPP criteria, a region profile), product
// sheets (YAML per product or a CSV tender sheet), the evaluation of each
// product against each requirement, and a lifetime cost comparison.
//
// The package is pure: it reads no files, network or clock. Callers pass the
// bytes of sheets and user catalogs, and the date certificates must be valid on.
package procure

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Kind is the type of a product field's value.
type Kind uint8

// Field kinds.
const (
	Number Kind = iota
	Integer
	Text
	Enum
	Bool
	Date
)

func (k Kind) String() string {
	return [...]string{"number", "integer", "text", "enum", "boolean", "date"}[k]
}

// FieldSpec describes one field of a product sheet.
type FieldSpec struct {
	Name     string
	Kind     Kind
	Unit     string   // for numbers: W, %, years, kWh, kg CO2e, DKK
	Min, Max float64  // numeric range (inclusive)
	Values   []string // for enums, from worst to best where Ordered
	Ordered  bool     // enum values are ranked: ">= gold" means gold or better
	Required bool
	Help     string
}

// Fields are the columns of a CSV tender sheet and the keys of a YAML product
// sheet. Names are matched regardless of case.
var Fields = []FieldSpec{
	{Name: "id", Kind: Text, Required: true, Help: "offer/product identifier, unique in a run"},
	{Name: "class", Kind: Enum, Required: true, Values: []string{"server", "storage", "switch", "monitor", "notebook", "desktop", "tablet", "smartphone"}, Help: "product class"},
	{Name: "vendor", Kind: Text, Help: "manufacturer"},
	{Name: "model", Kind: Text, Required: true, Help: "model identifier"},
	{Name: "offer", Kind: Text, Help: "tender lot or bidder"},
	{Name: "price_dkk", Kind: Number, Unit: "DKK", Max: 1e9, Help: "purchase price"},

	{Name: "idle_w", Kind: Number, Unit: "W", Max: 1e6, Help: "declared idle state power"},
	{Name: "max_w", Kind: Number, Unit: "W", Max: 1e6, Help: "declared maximum power"},
	{Name: "sockets", Kind: Integer, Min: 1, Max: 64, Help: "processor sockets (per node for multi-node servers)"},
	{Name: "form", Kind: Enum, Values: []string{"rack", "tower", "blade", "multi-node"}, Help: "server form factor"},
	{Name: "resilient", Kind: Bool, Help: "resilient server (2019/424 definition)"},
	{Name: "hpc", Kind: Bool, Help: "high-performance computing server"},
	{Name: "dc_powered", Kind: Bool, Help: "direct-current server or storage product"},
	{Name: "sert_score", Kind: Number, Max: 1e4, Help: "active state efficiency (SERT)"},
	{Name: "idle_allowance_w", Kind: Number, Unit: "W", Max: 1e5, Help: "sum of the additional idle power allowances the manufacturer declares"},
	{Name: "psu_outputs", Kind: Enum, Values: []string{"multi", "single"}, Help: "PSU type: single or multi output"},
	{Name: "psu_eff_10", Kind: Number, Unit: "%", Max: 100, Help: "PSU efficiency at 10 % of rated load"},
	{Name: "psu_eff_20", Kind: Number, Unit: "%", Max: 100, Help: "PSU efficiency at 20 % of rated load"},
	{Name: "psu_eff_50", Kind: Number, Unit: "%", Max: 100, Help: "PSU efficiency at 50 % of rated load"},
	{Name: "psu_eff_100", Kind: Number, Unit: "%", Max: 100, Help: "PSU efficiency at 100 % of rated load"},
	{Name: "psu_pf_50", Kind: Number, Max: 1, Help: "PSU power factor at 50 % of rated load"},
	{Name: "plus_80", Kind: Enum, Ordered: true, Values: []string{"white", "bronze", "silver", "gold", "platinum", "titanium"}, Help: "80 PLUS level"},
	{Name: "operating_class", Kind: Enum, Ordered: true, Values: []string{"A1", "A2", "A3", "A4"}, Help: "operating condition class"},

	{Name: "energy_class", Kind: Enum, Ordered: true, Values: []string{"G", "F", "E", "D", "C", "B", "A"}, Help: "energy label class (derived from eei_label when absent)"},
	{Name: "eei_label", Kind: Number, Max: 100, Help: "energy efficiency index of the energy label, (EU) 2019/2013"},
	{Name: "eei_ecodesign", Kind: Number, Max: 100, Help: "energy efficiency index for the ecodesign limit, (EU) 2019/2021"},
	{Name: "resolution", Kind: Enum, Values: []string{"hd", "uhd", "above-uhd", "microled"}, Help: "display resolution band: up to HD, above HD up to UHD, above UHD, microLED"},

	{Name: "tco_generation", Kind: Integer, Min: 1, Max: 99, Help: "TCO Certified generation"},
	{Name: "tco_id", Kind: Text, Help: "TCO Certified certificate number"},
	{Name: "tco_expires", Kind: Date, Help: "TCO Certified certificate expiry (YYYY-MM-DD)"},
	{Name: "epeat_tier", Kind: Enum, Ordered: true, Values: []string{"bronze", "silver", "gold"}, Help: "EPEAT tier"},
	{Name: "epeat_climate_plus", Kind: Bool, Help: "EPEAT Climate+ designation"},
	{Name: "epeat_id", Kind: Text, Help: "EPEAT registration id"},
	{Name: "epeat_expires", Kind: Date, Help: "EPEAT registration valid until (YYYY-MM-DD)"},

	{Name: "warranty_years", Kind: Number, Unit: "years", Max: 50, Help: "warranty"},
	{Name: "spare_parts_years", Kind: Number, Unit: "years", Max: 50, Help: "spare parts availability after end of production"},
	{Name: "recycled_plastic_pct", Kind: Number, Unit: "%", Max: 100, Help: "post-consumer recycled plastic"},
	{Name: "take_back", Kind: Bool, Help: "take-back scheme offered"},

	{Name: "annual_kwh", Kind: Number, Unit: "kWh", Max: 1e8, Help: "expected energy use per year (else from idle_w, max_w and the load)"},
	{Name: "lifetime_years", Kind: Number, Unit: "years", Min: 0.1, Max: 50, Help: "planned lifetime"},
	{Name: "embodied_kg_co2e", Kind: Number, Unit: "kg CO2e", Max: 1e7, Help: "embodied (manufacturing, transport, end of life) footprint"},

	{Name: "asset_id", Kind: Text, Help: "delivered asset (inventory id), for procure verify"},
	{Name: "meter", Kind: Text, Help: "metered device that measures it: DEVICE or DEVICE/METER, for procure verify"},
}

var fieldIndex = func() map[string]*FieldSpec {
	m := map[string]*FieldSpec{}
	for i := range Fields {
		m[Fields[i].Name] = &Fields[i]
	}
	return m
}()

// LookupField returns the spec of a field name (case-insensitive).
func LookupField(name string) (*FieldSpec, bool) {
	f, ok := fieldIndex[strings.ToLower(strings.TrimSpace(name))]
	return f, ok
}

// Value is a product field's value.
type Value struct {
	Kind Kind
	Num  float64 // Number, Integer, Bool (0/1)
	Text string  // Text, Enum (canonical spelling)
	Date time.Time
}

// String renders the value as written in reports.
func (v Value) String() string {
	switch v.Kind {
	case Number, Integer:
		return strconv.FormatFloat(v.Num, 'f', -1, 64)
	case Bool:
		if v.Num != 0 {
			return "yes"
		}
		return "no"
	case Date:
		return v.Date.Format(time.DateOnly)
	}
	return v.Text
}

// rank is an ordered enum value's position (higher is better), or -1.
func (f *FieldSpec) rank(s string) int {
	for i, v := range f.Values {
		if strings.EqualFold(v, s) {
			return i
		}
	}
	return -1
}

// Parse reads text as a value of the field: numbers with `.` or `,` as decimal
// mark, booleans as true/false/yes/no/ja/nej, dates as YYYY-MM-DD, enums
// regardless of case.
func (f *FieldSpec) Parse(text string) (Value, error) {
	s := strings.TrimSpace(text)
	switch f.Kind {
	case Text:
		return Value{Kind: Text, Text: s}, nil
	case Number, Integer:
		s = strings.TrimSuffix(strings.TrimSpace(strings.TrimSuffix(s, f.Unit)), "%")
		s = strings.TrimSpace(s)
		if strings.Contains(s, ",") && !strings.Contains(s, ".") {
			s = strings.Replace(s, ",", ".", 1)
		}
		x, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(x) || math.IsInf(x, 0) {
			return Value{}, fmt.Errorf("invalid %s %q", f.Kind, text)
		}
		if f.Kind == Integer && x != math.Trunc(x) {
			return Value{}, fmt.Errorf("invalid integer %q", text)
		}
		if x < f.Min || x > f.Max {
			return Value{}, fmt.Errorf("%v out of range (want %v to %v%s)", x, f.Min, f.Max, unitSuffix(f.Unit))
		}
		return Value{Kind: f.Kind, Num: x}, nil
	case Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "ja", "y", "1":
			return Value{Kind: Bool, Num: 1}, nil
		case "false", "no", "nej", "n", "0":
			return Value{Kind: Bool}, nil
		}
		return Value{}, fmt.Errorf("invalid boolean %q (want yes or no)", text)
	case Date:
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			return Value{}, fmt.Errorf("invalid date %q (want YYYY-MM-DD)", text)
		}
		return Value{Kind: Date, Date: d}, nil
	case Enum:
		if i := f.rank(s); i >= 0 {
			return Value{Kind: Enum, Text: f.Values[i], Num: float64(i)}, nil
		}
		return Value{}, fmt.Errorf("invalid value %q (want one of %s)", text, strings.Join(f.Values, ", "))
	}
	return Value{}, fmt.Errorf("field %s: unknown kind", f.Name)
}

func unitSuffix(u string) string {
	if u == "" || u == "%" {
		return u
	}
	return " " + u
}

// suggestField returns the field name closest to a misspelt one, or "".
func suggestField(word string) string {
	names := make([]string, len(Fields))
	for i, f := range Fields {
		names[i] = f.Name
	}
	return suggest(strings.ToLower(word), names)
}

func suggest(word string, candidates []string) string {
	best, bestDist := "", 3
	for _, c := range candidates {
		if d := levenshtein(word, c); d < bestDist && d < len(word) {
			best, bestDist = c, d
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}

// Product is one offered product: its fields as read from a sheet.
type Product struct {
	ID     string
	File   string // the sheet it came from
	Line   int    // where it starts (CSV row or YAML document)
	Fields map[string]Value
}

// Get returns a field's value, with energy_class derived from eei_label
// (Regulation (EU) 2019/2013, Annex II, Table 1) when not declared.
func (p *Product) Get(name string) (Value, bool) {
	v, ok := p.Fields[name]
	if ok || name != "energy_class" {
		return v, ok
	}
	eei, ok := p.Fields["eei_label"]
	if !ok {
		return Value{}, false
	}
	c := LabelClass(eei.Num)
	f, _ := LookupField("energy_class")
	return Value{Kind: Enum, Text: c, Num: float64(f.rank(c))}, true
}

// Text returns a text field or "".
func (p *Product) Text(name string) string { v, _ := p.Fields[name]; return v.Text }

// Class is the product class.
func (p *Product) Class() string { return p.Text("class") }

// LabelClass is the energy efficiency class of an electronic display for an
// energy efficiency index EEI_label: Regulation (EU) 2019/2013, Annex II,
// point A, Table 1 (A: EEI < 0,30; B: 0,30 ≤ EEI < 0,40; C: < 0,50;
// D: < 0,60; E: < 0,75; F: < 0,90; G: 0,90 ≤ EEI).
func LabelClass(eei float64) string {
	bounds := []struct {
		below float64
		class string
	}{{0.30, "A"}, {0.40, "B"}, {0.50, "C"}, {0.60, "D"}, {0.75, "E"}, {0.90, "F"}}
	for _, b := range bounds {
		if eei < b.below {
			return b.class
		}
	}
	return "G"
}
