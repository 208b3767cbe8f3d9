package demo

import (
	"bytes"
	"context"
	"fmt"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/internal/control/plan"
	"github.com/ecometer/ecometer/internal/control/policy"
	"github.com/ecometer/ecometer/models/procure"
	procreport "github.com/ecometer/ecometer/reports/procurement"
)

// Plan is the power-down plan the demo made (a dry run).
type Plan struct {
	*plan.Plan
	File       string // plan.json
	PolicyFile string
	Store      string
}

// makePlan plans the example policy at now, as `ecometer power plan`
// does, and writes the plan file (which `power apply` takes).
func makePlan(ctx context.Context, site *Site, st plan.Store, acc *accounting.Accounting, now time.Time) (Plan, error) {
	cfg := site.Config
	out := Plan{File: filepath.Join(filepath.Dir(site.ConfigPath), "plan.json"),
		PolicyFile: filepath.Join(filepath.Dir(site.ConfigPath), PolicyFile), Store: "embedded SQLite in " + cfg.Storage.DataDir}
	pols, err := policy.Load(cfg, []string{out.PolicyFile})
	if err != nil {
		return out, err
	}
	cal, err := calendar.New(cfg.Control)
	if err != nil {
		return out, err
	}
	out.Plan, err = plan.Make(ctx, plan.Inputs{Config: cfg, ConfigPath: site.ConfigPath, Policies: pols, PolicyFiles: []string{out.PolicyFile},
		Calendar: cal, Audit: audit.Open(apply.AuditPath(cfg)), At: now, Now: now, By: audit.Who(), Store: st, Accounting: acc})
	if err != nil {
		return out, err
	}
	return out, out.Plan.Write(out.File)
}

// Procurement is the check of the example offers.
type Procurement struct {
	Report *procreport.Report
	Sheets []string
	// PDF and Markdown are the written reports.
	PDF, Markdown string
}

// KWhPriceDKK is the electricity price the demo's lifetime costs assume (as
// the README's example does); `procure check --kwh-price` takes the real
// one.
const KWhPriceDKK = 1.9

// checkProcurement checks the example procurement sheets (copied into
// dir/procurement) against every shipped catalog on now's date, as
// `ecometer procure check` does, with the site's grid intensity for the
// use-phase CO2e, and writes the report as PDF and Markdown.
func checkProcurement(dir string, now time.Time, in map[string]anomalies.Intensity) (Procurement, error) {
	var out Procurement
	sheets, err := fs.Glob(examples.Copyable, "procurement/*")
	if err != nil {
		return out, err
	}
	var products []procure.Product
	for _, f := range sheets {
		path := filepath.Join(dir, filepath.FromSlash(f))
		data, err := os.ReadFile(path)
		if err != nil {
			return out, err
		}
		ps, err := procure.ParseSheet(path, data)
		if err != nil {
			return out, fmt.Errorf("demo: %w", err)
		}
		products = append(products, ps...)
		out.Sheets = append(out.Sheets, path)
	}
	if err := procure.CheckUnique(products); err != nil {
		return out, fmt.Errorf("demo: %w", err)
	}
	reg, err := procure.Embedded()
	if err != nil {
		return out, err
	}
	var g float64
	for _, site := range slices.Sorted(maps.Keys(in)) {
		g = in[site].GPerKWh
		break
	}
	y, m, d := now.Date()
	date := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	costs := procure.CostParams{KWhPriceDKK: KWhPriceDKK, CO2PriceDKKPerTonne: procure.DefaultCO2PriceDKKPerTonne,
		GridGPerKWh: math.Round(g), Load: 0.3, DefaultYears: 5}
	out.Report = &procreport.Report{Date: date, Catalogs: reg.Catalogs(), Assessments: procure.Evaluate(products, reg.Catalogs(), date),
		Lifetimes: procure.LifetimeCosts(products, costs), Costs: costs}
	out.PDF = filepath.Join(dir, "procurement", "check.pdf")
	out.Markdown = filepath.Join(dir, "procurement", "check.md")
	var pdf, md bytes.Buffer
	if err := out.Report.WritePDF(&pdf); err != nil {
		return out, err
	}
	if err := out.Report.WriteMarkdown(&md); err != nil {
		return out, err
	}
	if err := os.WriteFile(out.PDF, pdf.Bytes(), 0o644); err != nil {
		return out, err
	}
	return out, os.WriteFile(out.Markdown, md.Bytes(), 0o644)
}
