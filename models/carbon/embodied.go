package carbon

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// Asset is one item of the asset inventory (a CMDB export).
type Asset struct {
	ID            string
	Class         string // e.g. Server, Laptop, Monitor (matched to a Boavizta subcategory)
	Model         string
	InService     time.Time
	LifetimeYears float64 // planned lifetime
	// Footprint is the product's embodied footprint (kg CO2e) when known;
	// HasFootprint is false when the class default applies.
	Footprint    units.KgCO2e
	HasFootprint bool
}

// InventoryError locates a problem in an inventory file.
type InventoryError struct {
	File         string
	Line, Column int
	Field        string
	Err          error
}

func (e *InventoryError) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s: %v", e.File, e.Line, e.Column, e.Field, e.Err)
}

func (e *InventoryError) Unwrap() error { return e.Err }

// Inventory columns, matched regardless of case; footprint_kg_co2e may be
// empty (or absent) when the product footprint is unknown.
var inventoryColumns = []string{"asset_id", "class", "model", "in_service", "lifetime_years", "footprint_kg_co2e"}

// ParseInventory reads an asset inventory CSV (`,` or `;` separated; dates as
// 2006-01-02; decimals with `.` or `,`), named name in messages. Any bad row
// rejects the file.
func ParseInventory(name string, r io.Reader) ([]Asset, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: read: %w", name, err)
	}
	text := strings.TrimPrefix(string(data), "\ufeff")
	cr := csv.NewReader(strings.NewReader(text))
	head, _, _ := strings.Cut(text, "\n")
	if strings.Count(head, ";") > strings.Count(head, ",") {
		cr.Comma = ';'
	}
	cerr := func(err error) error {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return &InventoryError{File: name, Line: pe.Line, Column: pe.Column, Field: "csv", Err: pe.Err}
		}
		return fmt.Errorf("%s: %w", name, err)
	}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("%s: empty file", name)
		}
		return nil, cerr(err)
	}
	idx := map[string]int{}
	for i, h := range header {
		k := strings.ToLower(strings.TrimSpace(h))
		if _, dup := idx[k]; dup {
			return nil, &InventoryError{File: name, Line: 1, Column: i + 1, Field: h, Err: errors.New("column appears twice")}
		}
		idx[k] = i
	}
	for _, c := range inventoryColumns[:5] {
		if _, ok := idx[c]; !ok {
			return nil, &InventoryError{File: name, Line: 1, Column: 1, Field: c, Err: fmt.Errorf("missing column (want %s)", strings.Join(inventoryColumns, ", "))}
		}
	}
	var out []Asset
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, cerr(err)
		}
		bad := func(col string, err error) error {
			line, c := cr.FieldPos(idx[col])
			return &InventoryError{File: name, Line: line, Column: c, Field: col, Err: err}
		}
		get := func(col string) string { return strings.TrimSpace(rec[idx[col]]) }
		a := Asset{ID: get("asset_id"), Class: get("class"), Model: get("model")}
		if a.ID == "" {
			return nil, bad("asset_id", errors.New("empty"))
		}
		if line, dup := seen[a.ID]; dup {
			return nil, bad("asset_id", fmt.Errorf("asset %q appears twice (also at line %d)", a.ID, line))
		}
		seen[a.ID], _ = cr.FieldPos(0)
		if a.Class == "" {
			return nil, bad("class", errors.New("empty"))
		}
		if a.InService, err = time.Parse(time.DateOnly, get("in_service")); err != nil {
			return nil, bad("in_service", fmt.Errorf("invalid date %q (want 2006-01-02)", get("in_service")))
		}
		if a.LifetimeYears, err = parseNumber(get("lifetime_years")); err != nil || a.LifetimeYears <= 0 || a.LifetimeYears > 100 {
			return nil, bad("lifetime_years", fmt.Errorf("invalid lifetime %q (want years, > 0 and ≤ 100)", get("lifetime_years")))
		}
		if _, ok := idx["footprint_kg_co2e"]; ok && get("footprint_kg_co2e") != "" {
			f, err := parseNumber(get("footprint_kg_co2e"))
			if err != nil || f < 0 {
				return nil, bad("footprint_kg_co2e", fmt.Errorf("invalid footprint %q (want kg CO2e ≥ 0)", get("footprint_kg_co2e")))
			}
			a.Footprint, a.HasFootprint = units.KgCO2e(f), true
		}
		out = append(out, a)
	}
}

// parseNumber reads a finite decimal with `.` or `,` as decimal mark.
func parseNumber(s string) (float64, error) {
	if strings.Contains(s, ",") && !strings.Contains(s, ".") {
		s = strings.ReplaceAll(s, ",", ".")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("not a finite number: %q", s)
	}
	return v, nil
}

// BoaviztaSource cites the data behind class defaults.
const BoaviztaSource = "Boavizta environmental-footprint-data (boavizta-data-us.csv, ODbL-1.0): median embodied footprint per subcategory, gwp_total × (1 − gwp_use_ratio)"

// ClassDefault is the default embodied footprint of an asset class.
type ClassDefault struct {
	Class     string // the subcategory as first spelled in the data
	Footprint units.KgCO2e
	Products  int // products with gwp_total and gwp_use_ratio behind the median
	Source    string
}

// BoaviztaMedians computes the median embodied footprint (kg CO2e) per
// subcategory of a Boavizta environmental-footprint-data CSV. A product's
// embodied footprint is its gwp_total less the use phase: gwp_total × (1 −
// gwp_use_ratio), i.e. manufacturing, transport and end of life. The use phase
// is electricity, which Scope 2 already counts from the meters; leaving it in
// would count a server's electricity twice (for servers it is most of
// gwp_total). Subcategories are matched regardless of case ("Thin Client" and
// "Thin client" are one class); the keys are lower case. Rows without
// gwp_total or gwp_use_ratio cannot be split and are skipped.
func BoaviztaMedians(name string, r io.Reader) (map[string]ClassDefault, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: header: %w", name, err)
	}
	sub, gwp, use := -1, -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case "subcategory":
			sub = i
		case "gwp_total":
			gwp = i
		case "gwp_use_ratio":
			use = i
		}
	}
	if sub < 0 || gwp < 0 || use < 0 {
		return nil, fmt.Errorf("%s:1: no subcategory, gwp_total or gwp_use_ratio column", name)
	}
	values := map[string][]float64{}
	names := map[string]string{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if len(rec) <= sub || len(rec) <= gwp || len(rec) <= use ||
			strings.TrimSpace(rec[gwp]) == "" || strings.TrimSpace(rec[use]) == "" {
			continue
		}
		line, col := cr.FieldPos(gwp)
		total, err := parseNumber(strings.TrimSpace(rec[gwp]))
		if err != nil || total < 0 {
			return nil, fmt.Errorf("%s:%d:%d: gwp_total: invalid value %q", name, line, col, rec[gwp])
		}
		line, col = cr.FieldPos(use)
		ratio, err := parseNumber(strings.TrimSpace(rec[use]))
		if err != nil || ratio < 0 || ratio > 1 {
			return nil, fmt.Errorf("%s:%d:%d: gwp_use_ratio: invalid value %q (want 0 to 1)", name, line, col, rec[use])
		}
		v := total * (1 - ratio)
		s := strings.TrimSpace(rec[sub])
		k := strings.ToLower(s)
		if _, ok := names[k]; !ok {
			names[k] = s
		}
		values[k] = append(values[k], v)
	}
	out := make(map[string]ClassDefault, len(values))
	for k, vs := range values {
		out[k] = ClassDefault{Class: names[k], Footprint: units.KgCO2e(median(vs)), Products: len(vs), Source: BoaviztaSource}
	}
	// The inventory and the meters know network switches (class switch);
	// Boavizta's data has none, only its "Network" subcategory of home Wi-Fi
	// routers and access points. That is the closest class it has, so the
	// switch default is taken from it and says so: it is a lower bound for
	// an enterprise switch (more ports, PSUs and ASICs), to be replaced by
	// the product's own footprint where the vendor publishes one.
	if n, ok := out["network"]; ok {
		if _, ok := out["switch"]; !ok {
			out["switch"] = ClassDefault{Class: "Switch", Footprint: n.Footprint, Products: n.Products, Source: SwitchSource}
		}
	}
	return out, nil
}

// SwitchSource cites the switch class default.
const SwitchSource = "Boavizta environmental-footprint-data (ODbL-1.0) has no network switches: median embodied footprint of its \"Network\" subcategory (home Wi-Fi routers and access points), gwp_total × (1 − gwp_use_ratio); a lower bound for an enterprise switch"

func median(vs []float64) float64 {
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Amortised is one asset's embodied emission in one month.
type Amortised struct {
	Emissions units.KgCO2e
	Default   bool   // the class default was used
	Basis     string // the footprint's source
}

// MonthlyAmortisation spreads an asset's footprint evenly over its planned
// lifetime: footprint / (lifetime × 12) in each of the round(lifetime × 12)
// months starting with the month it entered service, 0 outside them. Without a
// product footprint the class default applies; without either it is an error.
func MonthlyAmortisation(a Asset, defaults map[string]ClassDefault, year int, month time.Month) (Amortised, error) {
	f, out := a.Footprint, Amortised{Basis: "product footprint"}
	if !a.HasFootprint {
		d, ok := defaults[strings.ToLower(a.Class)]
		if !ok {
			return Amortised{}, fmt.Errorf("asset %s: no footprint and no default for class %q", a.ID, a.Class)
		}
		f, out.Default, out.Basis = d.Footprint, true, fmt.Sprintf("class default %s (%s)", d.Class, d.Source)
	}
	if !(a.LifetimeYears > 0) {
		return Amortised{}, fmt.Errorf("asset %s: lifetime %v years", a.ID, a.LifetimeYears)
	}
	months := int(math.Round(a.LifetimeYears * 12))
	k := (year-a.InService.Year())*12 + int(month) - int(a.InService.Month()) // 0 = the in-service month
	if k >= 0 && k < months {
		out.Emissions = units.KgCO2e(float64(f) / (a.LifetimeYears * 12))
	}
	return out, nil
}

// ExtensionAvoided is the embodied emission avoided per year by keeping
// devices longer: footprint/from − footprint/to per device, times devices
// (e.g. laptops 4 → 6 years: F/4 − F/6 = F/12 kg CO2e per device and year).
func ExtensionAvoided(footprint units.KgCO2e, fromYears, toYears float64, devices int) (units.KgCO2e, error) {
	if !(fromYears > 0) || !(toYears >= fromYears) || devices < 0 {
		return 0, fmt.Errorf("lifetime extension: want 0 < from ≤ to and devices ≥ 0, got %v → %v years, %d devices", fromYears, toYears, devices)
	}
	per := float64(footprint)/fromYears - float64(footprint)/toYears
	return units.KgCO2e(per * float64(devices)), nil
}
