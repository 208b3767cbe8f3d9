// Package procurement renders the procurement check — each offered product
// against each requirement, its verdict, and the lifetime cost comparison —
// as a terminal table, Markdown, JSON or PDF.
package procurement

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ecometer/ecometer/models/procure"
)

// Report is a finished check, ready to render.
type Report struct {
	Date        time.Time // the check date (certificate validity, requirements in force)
	Catalogs    []*procure.Catalog
	Assessments []procure.Assessment
	Lifetimes   []procure.Lifetime
	Costs       procure.CostParams
}

// Verdicts counts products per verdict, in a fixed order.
func (r *Report) Verdicts() string {
	counts := map[string]int{}
	for _, a := range r.Assessments {
		counts[a.Verdict]++
	}
	var parts []string
	for _, v := range []string{procure.VerdictPass, procure.VerdictFail, procure.VerdictIncomplete, procure.VerdictNone} {
		if counts[v] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[v], v))
		}
	}
	return strings.Join(parts, ", ")
}

func (r *Report) catalogNames() string {
	var names []string
	for _, c := range r.Catalogs {
		names = append(names, c.Name)
	}
	return strings.Join(names, ", ")
}

func counts(a *procure.Assessment) string {
	var parts []string
	for _, s := range []procure.Status{procure.Pass, procure.Fail, procure.Missing, procure.Unverified, procure.NotApplicable} {
		if n := a.Count(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

func title(p *procure.Product) string {
	s := p.Text("model")
	if v := p.Text("vendor"); v != "" {
		s = v + " " + s
	}
	if o := p.Text("offer"); o != "" {
		s += ", offer " + o
	}
	return fmt.Sprintf("%s (%s)", s, p.Class())
}

func dkk(x float64) string {
	s := fmt.Sprintf("%.0f", x)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// assumptions describes the cost parameters.
func (r *Report) assumptions() []string {
	c := r.Costs
	var out []string
	if c.KWhPriceDKK > 0 {
		out = append(out, fmt.Sprintf("electricity %.2f DKK/kWh", c.KWhPriceDKK))
	} else {
		out = append(out, "electricity price not given (--kwh-price): energy cost left out")
	}
	if c.GridGPerKWh > 0 {
		out = append(out, fmt.Sprintf("grid %.1f g CO2e/kWh", c.GridGPerKWh))
	} else {
		out = append(out, "grid intensity not given (--grid-g-per-kwh): use-phase CO2e left out")
	}
	out = append(out, fmt.Sprintf("CO2e priced at %s DKK/tonne", dkk(c.CO2PriceDKKPerTonne)))
	out = append(out, fmt.Sprintf("lifetime %g years unless the sheet gives lifetime_years", c.DefaultYears))
	out = append(out, fmt.Sprintf("energy from annual_kwh, else idle_w + %.0f %% load × (max_w − idle_w)", c.Load*100))
	return out
}

func rank(l procure.Lifetime) string {
	if l.Rank == 0 {
		return "—"
	}
	return fmt.Sprint(l.Rank)
}

// WriteTable writes the report for a terminal: per product its verdict and
// every applicable requirement (not-applicable ones are counted), then the
// lifetime costs.
func (r *Report) WriteTable(w io.Writer) error {
	fmt.Fprintf(w, "Procurement check on %s against %s\n", r.Date.Format(time.DateOnly), r.catalogNames())
	fmt.Fprintf(w, "%d products: %s\n", len(r.Assessments), r.Verdicts())
	for i := range r.Assessments {
		a := &r.Assessments[i]
		fmt.Fprintf(w, "\n%s  %s  %s\n  %s\n", strings.ToUpper(a.Verdict), a.Product.ID, title(a.Product), counts(a))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "  STATUS\tREQUIREMENT\tCOMPARED\tNOTE\tCITATION")
		for _, res := range a.Results {
			if res.Status == procure.NotApplicable {
				continue
			}
			fmt.Fprintf(tw, "  %s\t%s/%s\t%s\t%s\t%s\n", res.Status, res.Catalog, res.Requirement, dash(res.Compared), dash(res.Note), res.Citation)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	fmt.Fprintf(w, "\nLifetime cost (%s)\n", strings.Join(r.assumptions(), "; "))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ID\tCLASS\tYEARS\tKWH\tUSE KG CO2E\tEMBODIED KG CO2E\tPRICE DKK\tENERGY DKK\tCO2E DKK\tTOTAL DKK\tRANK\t")
	for _, l := range r.Lifetimes {
		fmt.Fprintf(tw, "%s\t%s\t%g\t%.0f\t%.0f\t%.0f\t%s\t%s\t%s\t%s\t%s\t\n", l.ID, l.Class, l.Years, float64(l.KWh), float64(l.UseKg), float64(l.EmbodiedKg),
			dkk(l.PriceDKK), dkk(l.EnergyDKK), dkk(l.CO2DKK), dkk(l.TotalDKK), rank(l))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, l := range r.Lifetimes {
		if len(l.Missing) > 0 {
			fmt.Fprintf(w, "%s: not ranked, missing %s\n", l.ID, strings.Join(l.Missing, ", "))
		}
	}
	_, err := fmt.Fprintln(w, "Unverified requirements were not checked against their source and never make a product pass; see `ecometer procure catalogs`.")
	return err
}

func dash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func mdEscape(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// WriteMarkdown writes the report as Markdown, every requirement included.
func (r *Report) WriteMarkdown(w io.Writer) error {
	fmt.Fprintf(w, "# Procurement check, %s\n\nCatalogs: %s. %d products: %s.\n", r.Date.Format(time.DateOnly), r.catalogNames(), len(r.Assessments), r.Verdicts())
	for i := range r.Assessments {
		a := &r.Assessments[i]
		fmt.Fprintf(w, "\n## %s: %s — %s\n\n%s\n\n", a.Product.ID, title(a.Product), strings.ToUpper(a.Verdict), counts(a))
		fmt.Fprintln(w, "| status | requirement | compared | note | citation |\n|---|---|---|---|---|")
		for _, res := range a.Results {
			fmt.Fprintf(w, "| %s | %s/%s: %s | %s | %s | %s |\n", res.Status, res.Catalog, res.Requirement, mdEscape(res.Text),
				mdEscape(res.Compared), mdEscape(res.Note), mdEscape(res.Citation))
		}
	}
	fmt.Fprintf(w, "\n## Lifetime cost\n\n%s.\n\n", strings.Join(r.assumptions(), "; "))
	fmt.Fprintln(w, "| id | class | years | kWh | use kg CO2e | embodied kg CO2e | price DKK | energy DKK | CO2e DKK | total DKK | rank |\n|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
	for _, l := range r.Lifetimes {
		fmt.Fprintf(w, "| %s | %s | %g | %.0f | %.0f | %.0f | %s | %s | %s | %s | %s |\n", l.ID, l.Class, l.Years, float64(l.KWh), float64(l.UseKg),
			float64(l.EmbodiedKg), dkk(l.PriceDKK), dkk(l.EnergyDKK), dkk(l.CO2DKK), dkk(l.TotalDKK), rank(l))
	}
	_, err := fmt.Fprintln(w, "\nUnverified requirements were not checked against their source and never make a product pass.")
	return err
}

type jsonReport struct {
	Date      string        `json:"date"`
	Catalogs  []jsonCatalog `json:"catalogs"`
	Products  []jsonProduct `json:"products"`
	Lifetime  []jsonCost    `json:"lifetime_cost"`
	CostBasis []string      `json:"lifetime_cost_assumptions"`
}

type jsonCatalog struct {
	Name   string `json:"name"`
	Title  string `json:"title"`
	Kind   string `json:"kind"`
	Source string `json:"source"`
}

type jsonProduct struct {
	ID      string           `json:"id"`
	File    string           `json:"file"`
	Line    int              `json:"line"`
	Class   string           `json:"class"`
	Vendor  string           `json:"vendor,omitempty"`
	Model   string           `json:"model"`
	Offer   string           `json:"offer,omitempty"`
	Verdict string           `json:"verdict"`
	Results []procure.Result `json:"results"`
}

type jsonCost struct {
	ID            string   `json:"id"`
	Class         string   `json:"class"`
	Years         float64  `json:"years"`
	KWh           float64  `json:"kwh"`
	KWhBasis      string   `json:"kwh_basis,omitempty"`
	UseKg         float64  `json:"use_kg_co2e"`
	EmbodiedKg    float64  `json:"embodied_kg_co2e"`
	EmbodiedBasis string   `json:"embodied_basis,omitempty"`
	PriceDKK      float64  `json:"price_dkk"`
	EnergyDKK     float64  `json:"energy_dkk"`
	CO2DKK        float64  `json:"co2e_dkk"`
	TotalDKK      float64  `json:"total_dkk"`
	Rank          int      `json:"rank,omitempty"`
	Missing       []string `json:"missing,omitempty"`
}

// WriteJSON writes the report as indented JSON.
func (r *Report) WriteJSON(w io.Writer) error {
	out := jsonReport{Date: r.Date.Format(time.DateOnly), CostBasis: r.assumptions()}
	for _, c := range r.Catalogs {
		out.Catalogs = append(out.Catalogs, jsonCatalog{c.Name, c.Title, c.Kind, c.Source})
	}
	for _, a := range r.Assessments {
		p := a.Product
		out.Products = append(out.Products, jsonProduct{ID: p.ID, File: p.File, Line: p.Line, Class: p.Class(), Vendor: p.Text("vendor"),
			Model: p.Text("model"), Offer: p.Text("offer"), Verdict: a.Verdict, Results: a.Results})
	}
	for _, l := range r.Lifetimes {
		out.Lifetime = append(out.Lifetime, jsonCost{ID: l.ID, Class: l.Class, Years: l.Years, KWh: float64(l.KWh), KWhBasis: l.KWhBasis,
			UseKg: float64(l.UseKg), EmbodiedKg: float64(l.EmbodiedKg), EmbodiedBasis: l.EmbodiedBasis, PriceDKK: l.PriceDKK,
			EnergyDKK: l.EnergyDKK, CO2DKK: l.CO2DKK, TotalDKK: l.TotalDKK, Rank: l.Rank, Missing: l.Missing})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}
