// Package pdfdoc holds the basics every ecometer PDF report shares: the Go
// fonts (Unicode TrueType from golang.org/x/image/font/gofont, so æøå and
// CO₂ render), a page header and footer, headings, paragraphs, a table that
// repeats its header across pages, and a fixed creation date so the same
// input gives the same bytes.
package pdfdoc

import (
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

const (
	family   = "Go"
	margin   = 15.0 // mm
	bodySize = 9.0  // pt
	lineH    = 4.2  // mm per body line
)

// Doc is a report being written. Its methods record the first error; Write
// returns it.
type Doc struct {
	pdf   *fpdf.Fpdf
	title string
}

// Options describe a document.
type Options struct {
	Title     string    // on every page's header and in the PDF metadata
	Subtitle  string    // under the title on every page (e.g. the period or date)
	Author    string    // PDF metadata
	Created   time.Time // creation and modification date: pass the report's date, never time.Now, for reproducible output
	Landscape bool
}

// New starts a document with the Go fonts registered and the header and
// footer set.
func New(o Options) *Doc {
	orient := "P"
	if o.Landscape {
		orient = "L"
	}
	pdf := fpdf.New(orient, "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(family, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(family, "B", gobold.TTF)
	pdf.SetCreationDate(o.Created)
	pdf.SetModificationDate(o.Created)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(o.Title, true)
	pdf.SetAuthor(o.Author, true)
	pdf.SetCreator("ecometer", true)
	pdf.SetMargins(margin, margin+8, margin)
	pdf.SetAutoPageBreak(true, margin+5)
	pdf.AliasNbPages("{nb}")
	pdf.SetHeaderFuncMode(func() {
		w, _ := pdf.GetPageSize()
		pdf.SetY(margin - 3)
		pdf.SetFont(family, "B", 10)
		pdf.CellFormat(0, 5, o.Title, "", 1, "L", false, 0, "")
		if o.Subtitle != "" {
			pdf.SetFont(family, "", 8)
			pdf.CellFormat(0, 4, o.Subtitle, "", 1, "L", false, 0, "")
		}
		pdf.SetDrawColor(150, 150, 150)
		y := pdf.GetY() + 1
		pdf.Line(margin, y, w-margin, y)
		pdf.SetY(y + 3)
		pdf.SetFont(family, "", bodySize)
	}, true)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-margin)
		pdf.SetFont(family, "", 7.5)
		pdf.SetTextColor(90, 90, 90)
		pdf.CellFormat(0, 4, fmt.Sprintf("%s · page %d of {nb}", o.Title, pdf.PageNo()), "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	pdf.SetFont(family, "", bodySize)
	return &Doc{pdf: pdf, title: o.Title}
}

// Heading writes a section heading.
func (d *Doc) Heading(text string) {
	d.pdf.Ln(2)
	if _, y := d.pdf.GetXY(); y > d.pageH()-margin-25 {
		d.pdf.AddPage()
	}
	d.pdf.SetFont(family, "B", 11)
	d.pdf.MultiCell(0, 6, text, "", "L", false)
	d.pdf.SetFont(family, "", bodySize)
}

// Para writes a paragraph of body text.
func (d *Doc) Para(text string) {
	d.pdf.MultiCell(0, lineH, text, "", "L", false)
	d.pdf.Ln(1)
}

// Small writes small print (sources, notes).
func (d *Doc) Small(text string) {
	d.pdf.SetFont(family, "", 7)
	d.pdf.MultiCell(0, 3.3, text, "", "L", false)
	d.pdf.SetFont(family, "", bodySize)
}

// Column is a table column: its title and share of the page width.
type Column struct {
	Title string
	Width float64 // relative weight; the columns fill the text width
	Align string  // L, C or R (default L)
}

// Fill colours a table row.
type Fill struct{ R, G, B int }

// Table writes rows under a header; long cells wrap, and the header is
// repeated on each page the table continues on. fills, when not nil, gives
// each row's background (nil entries: none).
func (d *Doc) Table(cols []Column, rows [][]string, fills []*Fill) {
	pdf := d.pdf
	w := d.textW()
	total := 0.0
	for _, c := range cols {
		total += c.Width
	}
	widths := make([]float64, len(cols))
	for i, c := range cols {
		widths[i] = w * c.Width / total
	}
	const size = 7.5
	const lh = 3.5
	header := func() {
		pdf.SetFont(family, "B", size)
		pdf.SetFillColor(225, 230, 235)
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.Title
		}
		d.row(cells, widths, cols, lh, true)
		pdf.SetFont(family, "", size)
	}
	header()
	for i, r := range rows {
		lines := d.rowLines(r, widths)
		if _, y := pdf.GetXY(); y+float64(lines)*lh+2 > d.pageH()-margin-5 {
			pdf.AddPage()
			header()
		}
		fill := false
		if i < len(fills) && fills[i] != nil {
			pdf.SetFillColor(fills[i].R, fills[i].G, fills[i].B)
			fill = true
		}
		d.row(r, widths, cols, lh, fill)
	}
	pdf.SetFont(family, "", bodySize)
	pdf.Ln(2)
}

func (d *Doc) rowLines(cells []string, widths []float64) int {
	n := 1
	for i, c := range cells {
		if i < len(widths) {
			n = max(n, len(d.pdf.SplitText(c, widths[i]-2)))
		}
	}
	return n
}

func (d *Doc) row(cells []string, widths []float64, cols []Column, lh float64, fill bool) {
	pdf := d.pdf
	h := float64(d.rowLines(cells, widths))*lh + 1.5
	x0, y0 := pdf.GetXY()
	x := x0
	for i := range widths {
		text := ""
		if i < len(cells) {
			text = cells[i]
		}
		style := "D"
		if fill {
			style = "FD"
		}
		pdf.SetDrawColor(190, 190, 190)
		pdf.Rect(x, y0, widths[i], h, style)
		pdf.SetXY(x+1, y0+0.75)
		align := cols[i].Align
		if align == "" {
			align = "L"
		}
		pdf.MultiCell(widths[i]-2, lh, text, "", align, false)
		x += widths[i]
	}
	pdf.SetXY(x0, y0+h)
}

func (d *Doc) pageH() float64 { _, h := d.pdf.GetPageSize(); return h }

func (d *Doc) textW() float64 {
	w, _ := d.pdf.GetPageSize()
	l, _, r, _ := d.pdf.GetMargins()
	return w - l - r
}

// Write renders the document to w.
func (d *Doc) Write(w io.Writer) error {
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("pdf %q: %w", d.title, err)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("pdf %q: %w", d.title, err)
	}
	return nil
}

// Clean replaces characters the fonts lack with close ones, so no glyph is
// drawn as a box. The Go fonts cover Latin-1 and the subscript digits.
func Clean(s string) string {
	return strings.NewReplacer("≥", ">=", "≤", "<=", "→", "->", "…", "...").Replace(s)
}
