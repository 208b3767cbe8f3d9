package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/models/carbon"
)

// boaviztaCitation is the attribution the ODbL asks for.
const boaviztaCitation = "Boavizta environmental-footprint-data (ODbL-1.0)"

func newCO2EmbodiedCommand() *cli.Command {
	return &cli.Command{
		Name:      "embodied",
		Usage:     "embodied (Scope 3) emissions of the stored asset inventory in a month, and lifetime-extension scenarios",
		UsageText: "ecometer co2 embodied [--config FILE] --month YYYY-MM [--boavizta FILE] [--extend CLASS:FROM:TO]... [--json]",
		Description: "Each asset of the inventory (`ecometer inventory import`) is amortised evenly over\n" +
			"its planned lifetime from the month it entered service: its product footprint\n" +
			"when the inventory gives one, else its class default, the median gwp_total of the\n" +
			"class in the Boavizta CSV given by --boavizta (" + boaviztaCitation + ";\n" +
			"classes are matched to Boavizta subcategories regardless of case). An asset with\n" +
			"neither is listed as missing, never counted as zero.\n\n" +
			"--extend CLASS:FROM:TO (e.g. laptop:4:6) prints the embodied emission avoided per\n" +
			"year by keeping devices of CLASS TO instead of FROM years: F/FROM − F/TO per\n" +
			"device, for the class default and for the stored assets of the class in service\n" +
			"in the month.\n\n" +
			"Examples:\n   ecometer co2 embodied --config site.yaml --month 2025-10 --boavizta boavizta-data-us.csv\n" +
			"   ecometer co2 embodied --config site.yaml --month 2025-10 --boavizta boavizta-data-us.csv --extend laptop:4:6",
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "month", Usage: "calendar `MONTH`, YYYY-MM"},
			&cli.StringFlag{Name: "boavizta", Usage: "Boavizta environmental-footprint-data CSV `FILE` (boavizta-data-us.csv) for class defaults"},
			&cli.StringSliceFlag{Name: "extend", Usage: "lifetime-extension scenario `CLASS:FROM:TO` in years, e.g. laptop:4:6 (repeatable)"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runCO2Embodied(ctx, co2EmbodiedOptions{Config: cmd.String("config"), Month: cmd.String("month"),
				Boavizta: cmd.String("boavizta"), Extend: cmd.StringSlice("extend"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
	}
}

type co2EmbodiedOptions struct {
	Config   string
	Month    string
	Boavizta string
	Extend   []string
	JSON     bool
}

type embodiedJSON struct {
	Month  string `json:"month"`
	Method string `json:"method"`
	// KgCO2e sums the assets with a footprint or class default; the
	// Missing ones are not in it.
	KgCO2e     float64          `json:"kg_co2e"`
	Assets     int              `json:"assets_stored"`
	Amortising int              `json:"assets_in_amortisation_period"`
	ByClass    []embodiedClass  `json:"by_class"`
	Missing    []embodiedAsset  `json:"missing"`
	Defaults   []embodiedClassD `json:"class_defaults,omitempty"`
	DefaultsOf string           `json:"class_defaults_file,omitempty"`
	Citation   string           `json:"class_defaults_source,omitempty"`
	Extensions []extensionJSON  `json:"lifetime_extensions,omitempty"`
	Store      string           `json:"store"`
}

// embodiedClass is one class's assets in their amortisation period.
type embodiedClass struct {
	Class            string  `json:"class"`
	Assets           int     `json:"assets"`
	ProductFootprint int     `json:"with_product_footprint"`
	ClassDefault     int     `json:"with_class_default"`
	Missing          int     `json:"missing"`
	KgCO2e           float64 `json:"kg_co2e"`
}

type embodiedAsset struct {
	ID     string `json:"asset_id"`
	Class  string `json:"class"`
	Model  string `json:"model"`
	Reason string `json:"reason"`
}

// embodiedClassD is a class default that was used.
type embodiedClassD struct {
	Class    string  `json:"class"`
	KgCO2e   float64 `json:"kg_co2e"`
	Products int     `json:"products"`
}

type extensionJSON struct {
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

type extension struct {
	class    string
	from, to float64
}

func parseExtension(s string) (extension, error) {
	parts := strings.Split(s, ":")
	bad := func(why string) (extension, error) {
		return extension{}, usageErrorf("--extend %q: %s (want CLASS:FROM:TO in years, e.g. laptop:4:6)", s, why)
	}
	if len(parts) != 3 || strings.TrimSpace(parts[0]) == "" {
		return bad("not three parts")
	}
	from, err1 := strconv.ParseFloat(parts[1], 64)
	to, err2 := strconv.ParseFloat(parts[2], 64)
	if err1 != nil || err2 != nil {
		return bad("FROM and TO must be numbers of years")
	}
	if !(from > 0) || !(to > from) || to > 100 {
		return bad("want 0 < FROM < TO ≤ 100")
	}
	return extension{class: strings.TrimSpace(parts[0]), from: from, to: to}, nil
}

func runCO2Embodied(ctx context.Context, opts co2EmbodiedOptions, s streams) error {
	if opts.Month == "" {
		return usageErrorf("co2 embodied: --month YYYY-MM is required")
	}
	year, month, err := parseMonth("month", opts.Month)
	if err != nil {
		return err
	}
	var exts []extension
	for _, e := range opts.Extend {
		x, err := parseExtension(e)
		if err != nil {
			return err
		}
		exts = append(exts, x)
	}
	defaults := map[string]carbon.ClassDefault{}
	if opts.Boavizta != "" {
		f, err := os.Open(opts.Boavizta)
		if err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("co2 embodied: --boavizta: %w", err)}
		}
		defaults, err = carbon.BoaviztaMedians(opts.Boavizta, f)
		f.Close()
		if err != nil {
			return &exitError{code: exitBadUse, err: fmt.Errorf("co2 embodied: --boavizta: %w", err)}
		}
	}
	cfg, note, err := loadConfigOrDefault(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	st, err := openEmbedded(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	assets, err := st.Assets(ctx)
	if err != nil {
		return err
	}
	out := embodiedJSON{Month: opts.Month, Assets: len(assets), Missing: []embodiedAsset{},
		Method: "Scope 3 embodied: product footprint, else class default, spread evenly over the planned lifetime (footprint / (lifetime × 12) a month)",
		Store:  "the embedded SQLite store in " + cfg.Storage.DataDir + note}
	if opts.Boavizta != "" {
		out.DefaultsOf, out.Citation = opts.Boavizta, boaviztaCitation+": median embodied footprint per subcategory, gwp_total × (1 − gwp_use_ratio): the use phase is left out, Scope 2 counts it"
	}
	noDefault := "no product footprint and no class default"
	if opts.Boavizta == "" {
		noDefault += " (no --boavizta file given)"
	} else {
		noDefault += " (no Boavizta subcategory of that name)"
	}
	usedDefaults := map[string]bool{}
	byClass := map[string]*embodiedClass{}
	var inService []carbon.Asset // in their amortisation period this month
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
			return fmt.Errorf("co2 embodied: %w", err)
		}
		if p.Emissions == 0 {
			continue
		}
		inService = append(inService, a)
		key := strings.ToLower(a.Class)
		c := byClass[key]
		if c == nil {
			c = &embodiedClass{Class: a.Class}
			byClass[key] = c
		}
		c.Assets++
		out.Amortising++
		am, err := carbon.MonthlyAmortisation(a, defaults, year, month)
		if err != nil {
			c.Missing++
			out.Missing = append(out.Missing, embodiedAsset{ID: a.ID, Class: a.Class, Model: a.Model, Reason: noDefault})
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
	for _, k := range sortedKeys(byClass) {
		out.ByClass = append(out.ByClass, *byClass[k])
	}
	for _, x := range exts {
		e := extensionJSON{Class: x.class, FromYears: x.from, ToYears: x.to}
		key := strings.ToLower(x.class)
		if d, ok := defaults[key]; ok {
			usedDefaults[key] = true
			per, err := carbon.ExtensionAvoided(d.Footprint, x.from, x.to, 1)
			if err != nil {
				return usageErrorf("co2 embodied: --extend %s: %v", x.class, err)
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
			avoided, err := carbon.ExtensionAvoided(f, x.from, x.to, 1)
			if err != nil {
				return usageErrorf("co2 embodied: --extend %s: %v", x.class, err)
			}
			e.AssetsKgCO2ePerYr += float64(avoided)
		}
		switch {
		case e.Assets == 0 && e.PerDeviceKgCO2ePerYr == nil:
			e.Note = fmt.Sprintf("no stored assets of class %s in service this month, and no class default for it", x.class)
		case e.Assets == 0:
			e.Note = fmt.Sprintf("no stored assets of class %s in service this month", x.class)
		}
		out.Extensions = append(out.Extensions, e)
	}
	for _, k := range sortedKeys(usedDefaults) {
		d := defaults[k]
		out.Defaults = append(out.Defaults, embodiedClassD{Class: d.Class, KgCO2e: float64(d.Footprint), Products: d.Products})
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeEmbodiedText(s.Out, out)
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func writeEmbodiedText(w io.Writer, out embodiedJSON) error {
	fmt.Fprintf(w, "Embodied emissions (Scope 3) for %s\n", out.Month)
	fmt.Fprintf(w, "%s.\n", out.Method)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\n  total\t%.3f kg CO2e\tfrom %d of the %d assets in their amortisation period (%s stored)",
		out.KgCO2e, out.Amortising-len(out.Missing), out.Amortising, plural(out.Assets, "asset"))
	if len(out.Missing) > 0 {
		fmt.Fprintf(tw, "; %d missing, not counted", len(out.Missing))
	}
	fmt.Fprintln(tw)
	if len(out.ByClass) > 0 {
		fmt.Fprintf(tw, "\n  class\tassets\tproduct footprint\tclass default\tmissing\tkg CO2e\n")
		for _, c := range out.ByClass {
			fmt.Fprintf(tw, "  %s\t%d\t%d\t%d\t%d\t%.3f\n", c.Class, c.Assets, c.ProductFootprint, c.ClassDefault, c.Missing, c.KgCO2e)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(out.Missing) > 0 {
		fmt.Fprintf(w, "\nMissing (amortising this month, but no footprint to amortise; add footprint_kg_co2e or a class default):\n")
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, a := range out.Missing {
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", a.ID, a.Class, a.Model, a.Reason)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(out.Defaults) > 0 {
		fmt.Fprintf(w, "\nClass defaults: %s, from %s:\n", out.Citation, out.DefaultsOf)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range out.Defaults {
			fmt.Fprintf(tw, "  %s\t%.1f kg CO2e\tmedian of %s\n", d.Class, d.KgCO2e, plural(d.Products, "product"))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	for _, e := range out.Extensions {
		fmt.Fprintf(w, "\nLifetime extension, %s %g → %g years (avoided: F/%g − F/%g per device and year):\n", e.Class, e.FromYears, e.ToYears, e.FromYears, e.ToYears)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		if e.PerDeviceKgCO2ePerYr != nil {
			fmt.Fprintf(tw, "  per device\t%.3f kg CO2e/yr avoided\tat the class default %.1f kg CO2e\n", *e.PerDeviceKgCO2ePerYr, *e.DefaultKgCO2e)
		} else {
			fmt.Fprintf(tw, "  per device\tno class default for %s\n", e.Class)
		}
		if e.Assets > 0 {
			fmt.Fprintf(tw, "  stored assets\t%.3f kg CO2e/yr avoided\t%s of class %s in service this month, each at its own footprint", e.AssetsKgCO2ePerYr, plural(e.Assets-len(e.Missing), "asset"), e.Class)
			if len(e.Missing) > 0 {
				fmt.Fprintf(tw, "; %d without footprint or default not counted: %s", len(e.Missing), strings.Join(e.Missing, ", "))
			}
			fmt.Fprintln(tw)
		}
		if e.Note != "" {
			fmt.Fprintf(tw, "  \t%s\n", e.Note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\nInventory: %s\n", out.Store)
	return err
}
