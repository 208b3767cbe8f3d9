package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/procurement"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/procure"
	report "github.com/ecometer/ecometer/reports/procurement"
)

func newProcureCommand() *cli.Command {
	return &cli.Command{
		Name:      "procure",
		Usage:     "check offered equipment against green requirements, and delivered equipment against its datasheet",
		UsageText: "ecometer procure check|catalogs|verify [options] [SHEET...]",
		Description: "Product sheets are YAML (one product, or a list) or a CSV tender sheet (one product\n" +
			"per row); `ecometer procure catalogs --fields` lists their fields. Requirement\n" +
			"catalogs are embedded; --catalog-dir adds your own (*.yaml), and one with a shipped\n" +
			"catalog's name replaces it (the region profile is meant to be replaced so).\n\n" +
			"Examples:\n   ecometer procure check examples/procurement/tender.csv --catalog eu-2019-2021 --catalog tco-gen10\n" +
			"   ecometer procure catalogs\n" +
			"   ecometer procure verify --config site.yaml --days 14 delivered.csv",
		Commands: []*cli.Command{newProcureCheckCommand(), newProcureCatalogsCommand(), newProcureVerifyCommand()},
	}
}

func catalogDirFlag() cli.Flag {
	return &cli.StringFlag{Name: "catalog-dir", Usage: "`DIR` of your own catalogs (*.yaml), beside the shipped ones"}
}

func newProcureCheckCommand() *cli.Command {
	return &cli.Command{
		Name:      "check",
		Usage:     "check product sheets against requirement catalogs; compare lifetime costs",
		UsageText: "ecometer procure check SHEET... [--catalog NAME]... [--format table|md|json|pdf] [-o FILE]",
		Description: "Every product is checked against every requirement of the chosen catalogs (all\n" +
			"shipped ones by default) for its class, on --date (default today): pass, fail,\n" +
			"missing evidence, not applicable, or unverified — a requirement whose values were\n" +
			"not verified against its legal source never makes a product pass. A product passes\n" +
			"when all its applicable requirements pass. Lifetime cost = price + kWh × --kwh-price\n" +
			"+ (use-phase + embodied CO2e) × --co2-price.\n\n" +
			"Every problem in the sheets (unknown column, bad value) is reported as\n" +
			"FILE:LINE:COLUMN in one run.\n\n" +
			"Examples:\n   ecometer procure check examples/procurement/tender.csv --catalog eu-2019-2021 --catalog eu-2019-2013 --catalog tco-gen10\n" +
			"   ecometer procure check examples/procurement/*.yaml --kwh-price 1.9 --grid-g-per-kwh 120 --format pdf -o check.pdf\n\n" +
			"Exit codes: 0 every product passes; 1 a product fails or is incomplete (or a runtime\n" +
			"error); 2 bad sheets, catalogs or usage.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "catalog", Usage: "catalog `NAME` to check against (repeatable; default: all)"},
			catalogDirFlag(),
			&cli.StringFlag{Name: "date", Usage: "check `DATE` (YYYY-MM-DD) for certificate validity and requirements in force (default today)"},
			&cli.StringFlag{Name: "format", Value: "table", Usage: "output `FORMAT`: table, md, json or pdf"},
			&cli.StringFlag{Name: "output", Aliases: []string{"o"}, Usage: "write to `FILE` instead of standard output (required for pdf)"},
			&cli.FloatFlag{Name: "kwh-price", Usage: "electricity price, `DKK` per kWh (energy cost left out when 0)"},
			&cli.FloatFlag{Name: "co2-price", Value: procure.DefaultCO2PriceDKKPerTonne, Usage: "price of CO2e, `DKK` per tonne"},
			&cli.FloatFlag{Name: "grid-g-per-kwh", Usage: "grid intensity for use-phase CO2e, `G` CO2e per kWh (left out when 0)"},
			&cli.FloatFlag{Name: "load", Value: 0.3, Usage: "share of time at max_w when only idle_w and max_w are given (`0..1`)"},
			&cli.FloatFlag{Name: "years", Value: 5, Usage: "lifetime in `YEARS` when a sheet gives no lifetime_years"},
			&cli.StringFlag{Name: "boavizta", Usage: "Boavizta CSV `FILE` for embodied class defaults when a sheet gives no embodied_kg_co2e"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if !cmd.Args().Present() {
				return usageErrorf("%s: want one or more SHEET arguments (usage: %s)", commandPath(cmd), cmd.UsageText)
			}
			return runProcureCheck(procureCheckOptions{Sheets: cmd.Args().Slice(), Catalogs: cmd.StringSlice("catalog"),
				CatalogDir: cmd.String("catalog-dir"), Date: cmd.String("date"), Format: cmd.String("format"), Output: cmd.String("output"),
				Costs: procure.CostParams{KWhPriceDKK: cmd.Float("kwh-price"), CO2PriceDKKPerTonne: cmd.Float("co2-price"),
					GridGPerKWh: cmd.Float("grid-g-per-kwh"), Load: cmd.Float("load"), DefaultYears: cmd.Float("years")},
				Boavizta: cmd.String("boavizta")}, streamsOf(cmd))
		},
	}
}

type procureCheckOptions struct {
	Sheets     []string
	Catalogs   []string
	CatalogDir string
	Date       string
	Format     string
	Output     string
	Costs      procure.CostParams
	Boavizta   string
	Now        func() time.Time // tests set it
}

// loadCatalogs returns the shipped catalogs plus those in dir.
func loadCatalogs(dir string, errOut io.Writer) (*procure.Registry, error) {
	var user []procure.File
	if dir != "" {
		names, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
		if err != nil {
			return nil, usageErrorf("--catalog-dir: %v", err)
		}
		if _, err := os.Stat(dir); err != nil {
			return nil, usageErrorf("--catalog-dir: %v", err)
		}
		for _, n := range names {
			data, err := os.ReadFile(n)
			if err != nil {
				return nil, usageErrorf("--catalog-dir: %v", err)
			}
			user = append(user, procure.File{Name: n, Data: data})
		}
	}
	reg, err := procure.Load(user...)
	if err != nil {
		return nil, problemsError("catalogs", err, errOut)
	}
	return reg, nil
}

// problemsError prints every problem and returns an exit-2 error.
func problemsError(what string, err error, errOut io.Writer) error {
	var ps procure.Problems
	if errors.As(err, &ps) {
		fmt.Fprintln(errOut, ps.Error())
		return &exitError{code: exitBadUse, err: fmt.Errorf("%s: %s", what, plural(len(ps), "problem"))}
	}
	return &exitError{code: exitBadUse, err: fmt.Errorf("%s: %w", what, err)}
}

// readSheets reads every sheet, reporting all problems of all files at once.
func readSheets(files []string, errOut io.Writer) ([]procure.Product, error) {
	var all []procure.Product
	var problems procure.Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		ps, err := procure.ParseSheet(f, data)
		if err != nil {
			var list procure.Problems
			if !errors.As(err, &list) {
				return nil, &exitError{code: exitBadUse, err: err}
			}
			problems = append(problems, list...)
		}
		all = append(all, ps...)
	}
	if err := procure.CheckUnique(all); err != nil {
		var list procure.Problems
		errors.As(err, &list)
		problems = append(problems, list...)
	}
	if err := problems.Err(); err != nil {
		return nil, problemsError("sheets", err, errOut)
	}
	return all, nil
}

func runProcureCheck(o procureCheckOptions, s streams) error {
	if o.Format != "table" && o.Format != "md" && o.Format != "json" && o.Format != "pdf" {
		return usageErrorf("procure check: --format %q: want table, md, json or pdf", o.Format)
	}
	if o.Format == "pdf" && o.Output == "" {
		return usageErrorf("procure check: --format pdf needs -o FILE")
	}
	if o.Costs.Load < 0 || o.Costs.Load > 1 || o.Costs.KWhPriceDKK < 0 || o.Costs.CO2PriceDKKPerTonne < 0 || o.Costs.GridGPerKWh < 0 || o.Costs.DefaultYears <= 0 {
		return usageErrorf("procure check: --load must be 0..1, prices and intensity ≥ 0, --years > 0")
	}
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	y, m, d := now().Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	if o.Date != "" {
		t, err := time.Parse(time.DateOnly, o.Date)
		if err != nil {
			return usageErrorf("procure check: --date %q: want YYYY-MM-DD", o.Date)
		}
		date = t
	}
	reg, err := loadCatalogs(o.CatalogDir, s.ErrOut)
	if err != nil {
		return err
	}
	cats := reg.Catalogs()
	if len(o.Catalogs) > 0 {
		cats = nil
		for _, n := range o.Catalogs {
			c, ok := reg.Lookup(n)
			if !ok {
				return usageErrorf("procure check: unknown catalog %q (have %s)", n, strings.Join(reg.Names(), ", "))
			}
			cats = append(cats, c)
		}
	}
	products, err := readSheets(o.Sheets, s.ErrOut)
	if err != nil {
		return err
	}
	if o.Boavizta != "" {
		f, err := os.Open(o.Boavizta)
		if err != nil {
			return usageErrorf("procure check: --boavizta: %v", err)
		}
		defaults, err := carbon.BoaviztaMedians(o.Boavizta, f)
		f.Close()
		if err != nil {
			return usageErrorf("procure check: --boavizta: %v", err)
		}
		o.Costs.EmbodiedDefaults, o.Costs.EmbodiedSource = procure.EmbodiedDefaults(defaults), boaviztaCitation
	}
	rep := &report.Report{Date: date, Catalogs: cats, Assessments: procure.Evaluate(products, cats, date),
		Lifetimes: procure.LifetimeCosts(products, o.Costs), Costs: o.Costs}
	out := s.Out
	var file *os.File
	if o.Output != "" {
		if file, err = os.Create(o.Output); err != nil {
			return err
		}
		out = file
	}
	switch o.Format {
	case "md":
		err = rep.WriteMarkdown(out)
	case "json":
		err = rep.WriteJSON(out)
	case "pdf":
		err = rep.WritePDF(out)
	default:
		err = rep.WriteTable(out)
	}
	if file != nil {
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err == nil {
			fmt.Fprintf(s.ErrOut, "wrote %s (%s)\n", o.Output, rep.Verdicts())
		}
	}
	if err != nil {
		return err
	}
	for _, a := range rep.Assessments {
		if a.Verdict != procure.VerdictPass {
			return &exitError{code: exitRuntime, err: fmt.Errorf("procure check: not every product passes (%s)", rep.Verdicts())}
		}
	}
	return nil
}

func newProcureCatalogsCommand() *cli.Command {
	return &cli.Command{
		Name:        "catalogs",
		Usage:       "list the requirement catalogs, each requirement's citation and whether its values are verified",
		UsageText:   "ecometer procure catalogs [--catalog-dir DIR] [--fields] [--json]",
		Description: "Examples:\n   ecometer procure catalogs\n   ecometer procure catalogs --fields    the fields a product sheet may have",
		Flags: []cli.Flag{catalogDirFlag(),
			&cli.BoolFlag{Name: "fields", Usage: "list the product sheet fields instead"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(_ context.Context, cmd *cli.Command) error {
			s := streamsOf(cmd)
			if cmd.Bool("fields") {
				return writeFields(s.Out, cmd.Bool("json"))
			}
			reg, err := loadCatalogs(cmd.String("catalog-dir"), s.ErrOut)
			if err != nil {
				return err
			}
			return writeCatalogs(s.Out, reg, cmd.Bool("json"))
		},
	}
}

func writeFields(w io.Writer, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(procure.Fields)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tTYPE\tUNIT\tDESCRIPTION")
	for _, f := range procure.Fields {
		kind := f.Kind.String()
		if f.Kind == procure.Enum {
			kind = strings.Join(f.Values, "|")
		}
		req := ""
		if f.Required {
			req = " (required)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s%s\n", f.Name, kind, f.Unit, f.Help, req)
	}
	return tw.Flush()
}

func writeCatalogs(w io.Writer, reg *procure.Registry, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		return enc.Encode(reg.Catalogs())
	}
	for _, c := range reg.Catalogs() {
		verified := 0
		for _, r := range c.Requirements {
			if r.Verified {
				verified++
			}
		}
		fmt.Fprintf(w, "%s (%s) — %s\n  %s; %d of %d requirements verified; from %s\n", c.Name, c.Kind, c.Title, c.Source, verified, len(c.Requirements), c.File)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, r := range c.Requirements {
			v := "verified"
			if !r.Verified {
				v = "UNVERIFIED"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\n", r.ID, v, strings.Join(r.Classes, ","), r.Citation)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

func newProcureVerifyCommand() *cli.Command {
	return &cli.Command{
		Name:      "verify",
		Usage:     "compare delivered equipment's declared idle and max power with measured power",
		UsageText: "ecometer procure verify [--config FILE] [--from DATE --to DATE | --days N] [--tolerance PCT] [--json] SHEET...",
		Description: "For every product of the sheets with a meter field (DEVICE, or DEVICE/METER such as\n" +
			"pdu-a/outlet/12), the lowest and highest hourly mean power measured in the period\n" +
			"are compared with the declared idle_w and max_w; more than --tolerance percent above\n" +
			"the declared value is flagged. asset_id is checked against the stored inventory\n" +
			"(`ecometer inventory import`).\n\n" +
			"Examples:\n   ecometer procure verify --config site.yaml --days 14 delivered.csv\n\n" +
			"Exit codes: 0 all within tolerance; 1 a deviation (or a runtime error); 2 bad usage or sheets.",
		Flags: []cli.Flag{configFlag(),
			&cli.StringFlag{Name: "from", Usage: "first `DATE` (YYYY-MM-DD, UTC) of the period"},
			&cli.StringFlag{Name: "to", Usage: "`DATE` after the period (exclusive)"},
			&cli.IntFlag{Name: "days", Value: 14, Usage: "period of the last `N` days when --from is not given"},
			&cli.FloatFlag{Name: "tolerance", Value: procurement.DefaultTolerancePct, Usage: "allowed `PERCENT` above the declared value"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"}},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if !cmd.Args().Present() {
				return usageErrorf("%s: want one or more SHEET arguments (usage: %s)", commandPath(cmd), cmd.UsageText)
			}
			return runProcureVerify(ctx, procureVerifyOptions{Config: cmd.String("config"), Sheets: cmd.Args().Slice(), From: cmd.String("from"),
				To: cmd.String("to"), Days: cmd.Int("days"), Tolerance: cmd.Float("tolerance"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
	}
}

type procureVerifyOptions struct {
	Config, From, To string
	Sheets           []string
	Days             int
	Tolerance        float64
	JSON             bool
	Now              func() time.Time
}

func runProcureVerify(ctx context.Context, o procureVerifyOptions, s streams) error {
	now := time.Now
	if o.Now != nil {
		now = o.Now
	}
	to := now().UTC().Truncate(time.Hour)
	from := to.AddDate(0, 0, -o.Days)
	if o.From != "" {
		f, err := time.Parse(time.DateOnly, o.From)
		if err != nil {
			return usageErrorf("procure verify: --from %q: want YYYY-MM-DD", o.From)
		}
		from = f
		if o.To != "" {
			t, err := time.Parse(time.DateOnly, o.To)
			if err != nil || !t.After(f) {
				return usageErrorf("procure verify: --to %q: want YYYY-MM-DD after --from", o.To)
			}
			to = t
		}
	}
	if o.Tolerance < 0 || o.Days <= 0 {
		return usageErrorf("procure verify: --tolerance must be ≥ 0 and --days > 0")
	}
	products, err := readSheets(o.Sheets, s.ErrOut)
	if err != nil {
		return err
	}
	cfg, note, err := loadConfigOrDefault(o.Config, s.ErrOut)
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	findings, err := procurement.Verify(ctx, st, products, procurement.Params{From: from, To: to, TolerancePct: o.Tolerance})
	if err != nil {
		return err
	}
	inv, err := backend.OpenEmbedded(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return storeError(err)
	}
	assets, err := inv.Assets(ctx)
	inv.Close()
	if err != nil {
		return err
	}
	known := map[string]bool{}
	for _, a := range assets {
		known[a.ID] = true
	}
	for i := range findings {
		if id := findings[i].AssetID; id != "" && !known[id] {
			findings[i].Note = strings.TrimPrefix(findings[i].Note+"; asset "+id+" is not in the stored inventory", "; ")
		}
	}
	if o.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"from": from, "to": to, "tolerance_pct": o.Tolerance, "store": where + note, "findings": findings}); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(s.Out, "Declared vs measured power, %s to %s, tolerance %g %% (%s%s)\n", from.Format(time.RFC3339), to.Format(time.RFC3339), o.Tolerance, where, note)
		tw := tabwriter.NewWriter(s.Out, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tASSET\tMETER\tHOURS\tIDLE DECL/MEAS W\tIDLE\tMAX DECL/MEAS W\tMAX\tNOTE")
		for _, f := range findings {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\n", f.ID, dashEmpty(f.AssetID), dashEmpty(f.Meter), f.Hours,
				pair(f.DeclaredIdleW, f.MeasuredIdleW, f.Hours), f.Idle, pair(f.DeclaredMaxW, f.MeasuredMaxW, f.Hours), f.Max, f.Note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		fmt.Fprintln(s.Out, "Measured idle is the lowest hourly mean, measured max the highest; the 10 % default is the idle tolerance of Regulation (EU) 2019/424 Annex IV as given in the issue (not verified against the text).")
	}
	for _, f := range findings {
		if f.Idle == procurement.AboveDecl || f.Max == procurement.AboveDecl {
			return &exitError{code: exitRuntime, err: errors.New("procure verify: measured power above the declared value beyond the tolerance")}
		}
	}
	return nil
}

func dashEmpty(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func pair(decl, meas float64, hours int) string {
	m := "—"
	if hours > 0 {
		m = fmt.Sprintf("%.1f", meas)
	}
	return fmt.Sprintf("%g / %s", decl, m)
}
