package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/embodied"
	"github.com/ecometer/ecometer/models/carbon"
)

// boaviztaCitation is the attribution the ODbL asks for.
const boaviztaCitation = embodied.BoaviztaCitation

func newCO2EmbodiedCommand() *cli.Command {
	return &cli.Command{
		Name:      "embodied",
		Usage:     "embodied (Scope 3) emissions of the stored asset inventory in a month, and lifetime-extension scenarios",
		UsageText: "ecometer co2 embodied [--config FILE] --month YYYY-MM [--boavizta FILE] [--extend CLASS:FROM:TO]... [--json]",
		Description: "Each asset of the inventory (`ecometer inventory import`) is amortised evenly over\n" +
			"its planned lifetime from the month it entered service: its product footprint\n" +
			"when the inventory gives one, else its class default: the median embodied\n" +
			"footprint of the class's products in the Boavizta CSV given by --boavizta\n" +
			"(" + boaviztaCitation + "), gwp_total × (1 − gwp_use_ratio), i.e.\n" +
			"manufacturing, transport and end of life without the use phase, which Scope 2\n" +
			"already counts from the meters. Classes are matched to Boavizta subcategories\n" +
			"regardless of case. An asset with neither is listed as missing, never counted as\n" +
			"zero.\n\n" +
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

// embodiedJSON is the --json output: the view and where the inventory is.
type embodiedJSON struct {
	embodied.View
	Store string `json:"store"`
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
	period, err := parseMonth("month", opts.Month, time.Time{})
	if err != nil {
		return err
	}
	var scenarios []embodied.Scenario
	for _, e := range opts.Extend {
		x, err := parseExtension(e)
		if err != nil {
			return err
		}
		scenarios = append(scenarios, embodied.Scenario{Class: x.class, FromYears: x.from, Years: x.to})
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
	st, err := backend.OpenEmbedded(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return storeError(err)
	}
	defer st.Close()
	assets, err := st.Assets(ctx)
	if err != nil {
		return err
	}
	view, err := embodied.Month(assets, period.Year, period.Month, embodied.Options{Defaults: defaults, DefaultsFile: opts.Boavizta, Scenarios: scenarios})
	var se *embodied.ScenarioError
	if errors.As(err, &se) {
		return usageErrorf("co2 embodied: --extend %s: %v", se.Class, se.Err)
	}
	if err != nil {
		return fmt.Errorf("co2 embodied: %w", err)
	}
	out := embodiedJSON{View: view, Store: "the embedded SQLite store in " + cfg.Storage.DataDir + note}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeEmbodiedText(s.Out, out)
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
			note := ""
			if d.Note != "" {
				note = "; " + d.Note
			}
			fmt.Fprintf(tw, "  %s\t%.1f kg CO2e\tmedian of %s%s\n", d.Class, d.KgCO2e, plural(d.Products, "product"), note)
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
