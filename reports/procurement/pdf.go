package procurement

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/procure"
	"github.com/ecometer/ecometer/reports/pdfdoc"
)

var statusFill = map[procure.Status]*pdfdoc.Fill{
	procure.Pass:       {R: 222, G: 241, B: 222},
	procure.Fail:       {R: 248, G: 215, B: 215},
	procure.Missing:    {R: 252, G: 239, B: 205},
	procure.Unverified: {R: 232, G: 232, B: 244},
}

// WritePDF writes the report as a PDF for the tender file: a summary of
// verdicts, each product's requirements with the numbers compared and the
// citation, the lifetime cost comparison and the sources.
func (r *Report) WritePDF(w io.Writer) error {
	c := pdfdoc.Clean
	doc := pdfdoc.New(pdfdoc.Options{
		Title:     "Procurement check: green requirements",
		Subtitle:  fmt.Sprintf("Checked on %s against %s", r.Date.Format(time.DateOnly), r.catalogNames()),
		Author:    "ecometer",
		Created:   r.Date,
		Landscape: true,
	})
	doc.Heading("Summary")
	doc.Para(fmt.Sprintf("%d products: %s. A product passes when every requirement that applies to it passes; "+
		"missing evidence or an unverified requirement makes it incomplete, never a pass.", len(r.Assessments), r.Verdicts()))
	var rows [][]string
	for i := range r.Assessments {
		a := &r.Assessments[i]
		rows = append(rows, []string{a.Product.ID, c(title(a.Product)), strings.ToUpper(a.Verdict), counts(a)})
	}
	doc.Table([]pdfdoc.Column{{Title: "ID", Width: 2}, {Title: "Product", Width: 5}, {Title: "Verdict", Width: 2}, {Title: "Requirements", Width: 6}}, rows, nil)
	for i := range r.Assessments {
		a := &r.Assessments[i]
		doc.Heading(c(fmt.Sprintf("%s: %s — %s", a.Product.ID, title(a.Product), strings.ToUpper(a.Verdict))))
		var rows [][]string
		var fills []*pdfdoc.Fill
		na := 0
		for _, res := range a.Results {
			if res.Status == procure.NotApplicable {
				na++
				continue
			}
			rows = append(rows, []string{string(res.Status), c(res.Catalog + "/" + res.Requirement + ": " + res.Text), c(res.Compared), c(res.Note), c(res.Citation)})
			fills = append(fills, statusFill[res.Status])
		}
		doc.Table([]pdfdoc.Column{{Title: "Status", Width: 2}, {Title: "Requirement", Width: 6}, {Title: "Compared", Width: 5}, {Title: "Note", Width: 4}, {Title: "Citation", Width: 4}}, rows, fills)
		if na > 0 {
			doc.Small(fmt.Sprintf("%d requirements do not apply (other tier, exemption or condition); the JSON and Markdown output list them.", na))
		}
	}
	doc.Heading("Lifetime cost")
	doc.Para(c("Purchase price + energy (kWh × price) + CO₂e (use phase and embodied) × CO₂e price. " + strings.Join(r.assumptions(), "; ") + "."))
	rows = nil
	for _, l := range r.Lifetimes {
		rows = append(rows, []string{l.ID, l.Class, fmt.Sprintf("%g", l.Years), fmt.Sprintf("%.0f", float64(l.KWh)), fmt.Sprintf("%.0f", float64(l.UseKg)),
			fmt.Sprintf("%.0f", float64(l.EmbodiedKg)), dkk(l.PriceDKK), dkk(l.EnergyDKK), dkk(l.CO2DKK), dkk(l.TotalDKK), rank(l), strings.Join(l.Missing, ", ")})
	}
	right := "R"
	doc.Table([]pdfdoc.Column{{Title: "ID", Width: 2}, {Title: "Class", Width: 1.5}, {Title: "Years", Width: 1, Align: right}, {Title: "kWh", Width: 1.3, Align: right},
		{Title: "Use kg CO₂e", Width: 1.4, Align: right}, {Title: "Embodied kg CO₂e", Width: 1.6, Align: right}, {Title: "Price DKK", Width: 1.5, Align: right},
		{Title: "Energy DKK", Width: 1.5, Align: right}, {Title: "CO₂e DKK", Width: 1.4, Align: right}, {Title: "Total DKK", Width: 1.6, Align: right},
		{Title: "Rank", Width: 0.9, Align: right}, {Title: "Not ranked: missing", Width: 3.5}}, rows, nil)
	doc.Heading("Catalogs and sources")
	for _, cat := range r.Catalogs {
		verified, total := 0, len(cat.Requirements)
		for _, q := range cat.Requirements {
			if q.Verified {
				verified++
			}
		}
		doc.Small(c(fmt.Sprintf("%s (%s): %s. %d of %d requirements verified against their source.", cat.Name, cat.Kind, cat.Source, verified, total)))
	}
	return doc.Write(w)
}
