// Package pdfdoc holds the basics every ecometer PDF shares (the monthly
// report, the procurement check): the Go fonts (Unicode TrueType from
// golang.org/x/image/font/gofont, so æøå and CO₂ render), a page header and
// footer, titles, headings, paragraphs, small print, notice and key-figure
// boxes, images with their reading, a table that repeats its header across
// pages, and a fixed creation date so the same input gives the same bytes.
package pdfdoc

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goitalic"
	"golang.org/x/image/font/gofont/goregular"
)

const (
	family   = "Go"
	margin   = 16.0 // mm
	bodySize = 9.5  // pt
	lineH    = 4.6  // mm per body line
)

// Row fills for a table: a good and a worrying row.
var (
	OKFill   = Fill{226, 242, 230}
	WarnFill = Fill{253, 236, 200}
)

// Accent colours (dark blue headings, light fills).
var (
	accent    = Fill{31, 78, 121}
	headFill  = Fill{225, 232, 240}
	warnFill  = WarnFill
	warnLine  = Fill{214, 140, 20}
	okFill    = OKFill
	greyText  = Fill{90, 90, 90}
	boxBorder = Fill{200, 205, 212}
)

// Doc is a document being written. Its methods record the first error;
// Write returns it.
type Doc struct {
	pdf    *fpdf.Fpdf
	title  string
	images int
}

// Options describe a document.
type Options struct {
	Title    string    // on every page's header and in the PDF metadata
	Subtitle string    // under the title on every page
	Author   string    // PDF metadata
	Created  time.Time // creation and modification date: the report's date, never time.Now, for reproducible output
	// Footer writes a page's footer text from its number; "{nb}" in it is
	// the page count. Default: "<Title> · page N of {nb}".
	Footer    func(page int) string
	Landscape bool
}

// New starts an A4 document (portrait unless o.Landscape) with the Go
// fonts (Unicode TrueType: æøå and CO₂ render) and the header and footer
// set.
func New(o Options) *Doc {
	orient := "P"
	if o.Landscape {
		orient = "L"
	}
	pdf := fpdf.New(orient, "mm", "A4", "")
	pdf.AddUTF8FontFromBytes(family, "", goregular.TTF)
	pdf.AddUTF8FontFromBytes(family, "B", gobold.TTF)
	pdf.AddUTF8FontFromBytes(family, "I", goitalic.TTF)
	pdf.SetCreationDate(o.Created)
	pdf.SetModificationDate(o.Created)
	pdf.SetCatalogSort(true)
	pdf.SetTitle(o.Title, true)
	pdf.SetAuthor(o.Author, true)
	pdf.SetCreator("ecometer", true)
	pdf.SetProducer("ecometer", true)
	pdf.SetMargins(margin, margin+10, margin)
	pdf.SetAutoPageBreak(true, margin+6)
	pdf.AliasNbPages("{nb}")
	d := &Doc{pdf: pdf, title: o.Title}
	pdf.SetHeaderFuncMode(func() {
		w, _ := pdf.GetPageSize()
		pdf.SetY(margin - 4)
		pdf.SetFont(family, "B", 9)
		pdf.SetTextColor(accent.R, accent.G, accent.B)
		pdf.CellFormat(0, 4.5, o.Title, "", 1, "L", false, 0, "")
		if o.Subtitle != "" {
			pdf.SetFont(family, "", 8)
			pdf.SetTextColor(greyText.R, greyText.G, greyText.B)
			pdf.CellFormat(0, 4, o.Subtitle, "", 1, "L", false, 0, "")
		}
		pdf.SetTextColor(0, 0, 0)
		pdf.SetDrawColor(accent.R, accent.G, accent.B)
		pdf.SetLineWidth(0.4)
		y := pdf.GetY() + 1
		pdf.Line(margin, y, w-margin, y)
		pdf.SetLineWidth(0.2)
		pdf.SetY(y + 4)
		pdf.SetFont(family, "", bodySize)
	}, true)
	pdf.SetFooterFunc(func() {
		pdf.SetY(-margin)
		pdf.SetFont(family, "", 7.5)
		pdf.SetTextColor(greyText.R, greyText.G, greyText.B)
		text := fmt.Sprintf("%s · page %d of {nb}", o.Title, pdf.PageNo())
		if o.Footer != nil {
			text = o.Footer(pdf.PageNo())
		}
		pdf.CellFormat(0, 4, text, "", 0, "C", false, 0, "")
		pdf.SetTextColor(0, 0, 0)
	})
	pdf.AddPage()
	pdf.SetFont(family, "", bodySize)
	return d
}

// PageBreak starts a new page.
func (d *Doc) PageBreak() { d.pdf.AddPage() }

// ensure starts a new page unless h mm are left on this one.
func (d *Doc) ensure(h float64) {
	if d.pdf.GetY()+h > d.pageH()-margin-6 {
		d.pdf.AddPage()
	}
}

// Title writes the document's big title.
func (d *Doc) Title(text, sub string) {
	d.pdf.SetFont(family, "B", 18)
	d.pdf.SetTextColor(accent.R, accent.G, accent.B)
	d.pdf.MultiCell(0, 8, text, "", "L", false)
	d.pdf.SetTextColor(0, 0, 0)
	if sub != "" {
		d.pdf.SetFont(family, "", 10.5)
		d.pdf.MultiCell(0, 5.5, sub, "", "L", false)
	}
	d.pdf.Ln(3)
	d.pdf.SetFont(family, "", bodySize)
}

// Heading writes a section heading; it keeps at least need mm of the
// section's start on the same page.
func (d *Doc) Heading(text string) {
	d.pdf.Ln(3)
	d.ensure(40)
	d.pdf.SetFont(family, "B", 13)
	d.pdf.SetTextColor(accent.R, accent.G, accent.B)
	d.pdf.MultiCell(0, 7, text, "", "L", false)
	d.pdf.SetTextColor(0, 0, 0)
	d.pdf.Ln(1)
	d.pdf.SetFont(family, "", bodySize)
}

// Subheading writes a heading within a section.
func (d *Doc) Subheading(text string) {
	d.pdf.Ln(1.5)
	d.ensure(25)
	d.pdf.SetFont(family, "B", 10)
	d.pdf.MultiCell(0, 5.5, text, "", "L", false)
	d.pdf.SetFont(family, "", bodySize)
}

// KeepWith starts a new page unless h mm are left: a paragraph that leads
// into a table stays with its first rows.
func (d *Doc) KeepWith(h float64) { d.ensure(h) }

// Para writes a paragraph of body text.
func (d *Doc) Para(text string) {
	d.pdf.MultiCell(0, lineH, text, "", "L", false)
	d.pdf.Ln(1.2)
}

// Small writes small print (sources, notes).
func (d *Doc) Small(text string) {
	d.pdf.SetFont(family, "", 7.5)
	d.pdf.SetTextColor(greyText.R, greyText.G, greyText.B)
	d.pdf.MultiCell(0, 3.5, text, "", "L", false)
	d.pdf.SetTextColor(0, 0, 0)
	d.pdf.SetFont(family, "", bodySize)
	d.pdf.Ln(0.8)
}

// Notice writes a framed box: a warning (warn) or a plain remark.
func (d *Doc) Notice(title, text string, warn bool) {
	fill, line := okFill, boxBorder
	if warn {
		fill, line = warnFill, warnLine
	}
	pdf := d.pdf
	w := d.textW()
	pdf.SetFont(family, "", bodySize)
	lines := len(pdf.SplitText(text, w-8))
	h := float64(lines)*lineH + 4
	if title != "" {
		h += 5.5
	}
	d.ensure(h + 2)
	x, y := pdf.GetXY()
	pdf.SetFillColor(fill.R, fill.G, fill.B)
	pdf.SetDrawColor(line.R, line.G, line.B)
	pdf.Rect(x, y, w, h, "FD")
	pdf.SetXY(x+4, y+2)
	if title != "" {
		pdf.SetFont(family, "B", bodySize+0.5)
		pdf.CellFormat(w-8, 5.5, title, "", 2, "L", false, 0, "")
		pdf.SetX(x + 4)
		pdf.SetFont(family, "", bodySize)
	}
	pdf.MultiCell(w-8, lineH, text, "", "L", false)
	pdf.SetXY(x, y+h+3)
}

// KeyFigure is one box of a key-figure row.
type KeyFigure struct {
	Label string // what it is
	Value string // the figure with its unit
	Note  string // one line under it (change, basis)
}

// KeyFigures writes a row of boxes with big figures.
func (d *Doc) KeyFigures(figs []KeyFigure) {
	pdf := d.pdf
	const gap, h = 3.0, 31.0
	d.ensure(h + 3)
	w := (d.textW() - gap*float64(len(figs)-1)) / float64(len(figs))
	x0, y := pdf.GetXY()
	for i, f := range figs {
		x := x0 + float64(i)*(w+gap)
		pdf.SetFillColor(headFill.R, headFill.G, headFill.B)
		pdf.SetDrawColor(boxBorder.R, boxBorder.G, boxBorder.B)
		pdf.Rect(x, y, w, h, "FD")
		pdf.SetFillColor(accent.R, accent.G, accent.B)
		pdf.Rect(x, y, 1.4, h, "F")
		pdf.SetXY(x+3.5, y+2.5)
		pdf.SetFont(family, "", 8)
		pdf.SetTextColor(greyText.R, greyText.G, greyText.B)
		pdf.MultiCell(w-5, 3.6, f.Label, "", "L", false)
		pdf.SetXY(x+3.5, y+10.5)
		pdf.SetFont(family, "B", 14)
		pdf.SetTextColor(accent.R, accent.G, accent.B)
		pdf.CellFormat(w-5, 7, f.Value, "", 0, "L", false, 0, "")
		pdf.SetXY(x+3.5, y+19)
		pdf.SetFont(family, "", 7.5)
		pdf.SetTextColor(0, 0, 0)
		pdf.MultiCell(w-5, 3.4, f.Note, "", "L", false)
	}
	pdf.SetTextColor(0, 0, 0)
	pdf.SetFont(family, "", bodySize)
	pdf.SetXY(x0, y+h+4)
}

// Image places a PNG at the text width's share frac (1: full width) with
// its aspect ratio kept, height h mm; with reading, a one-line reading of
// it in italics underneath.
func (d *Doc) Image(png []byte, w, h float64, reading string) {
	pdf := d.pdf
	d.images++
	name := fmt.Sprintf("img%d", d.images)
	info := pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(png))
	if info == nil {
		return
	}
	d.ensure(h + 10)
	x, y := pdf.GetXY()
	x += (d.textW() - w) / 2
	pdf.ImageOptions(name, x, y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	pdf.SetY(y + h + 1)
	if reading != "" {
		d.Reading(reading)
	}
}

// Images places two PNGs side by side, each w × h mm, with their readings.
func (d *Doc) Images(left, right []byte, w, h float64, readLeft, readRight string) {
	pdf := d.pdf
	d.ensure(h + 14)
	x0, y := pdf.GetXY()
	gap := d.textW() - 2*w
	for i, img := range [][]byte{left, right} {
		d.images++
		name := fmt.Sprintf("img%d", d.images)
		if pdf.RegisterImageOptionsReader(name, fpdf.ImageOptions{ImageType: "PNG"}, bytes.NewReader(img)) == nil {
			return
		}
		pdf.ImageOptions(name, x0+float64(i)*(w+gap), y, w, h, false, fpdf.ImageOptions{ImageType: "PNG"}, 0, "")
	}
	pdf.SetFont(family, "I", 8.5)
	maxY := y + h + 1
	for i, text := range []string{readLeft, readRight} {
		pdf.SetXY(x0+float64(i)*(w+gap), y+h+1)
		pdf.MultiCell(w, 4, text, "", "L", false)
		maxY = max(maxY, pdf.GetY())
	}
	pdf.SetFont(family, "", bodySize)
	pdf.SetXY(x0, maxY+2)
}

// Reading writes a chart's one-line reading.
func (d *Doc) Reading(text string) {
	d.pdf.SetFont(family, "I", 8.5)
	d.pdf.MultiCell(0, 4, text, "", "L", false)
	d.pdf.SetFont(family, "", bodySize)
	d.pdf.Ln(2)
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
// each row's background (nil entries: none); a row of bold is written bold.
func (d *Doc) Table(cols []Column, rows [][]string, fills []*Fill) {
	d.table(cols, rows, fills, -1)
}

// TableTotal is Table with the last row in bold (a total).
func (d *Doc) TableTotal(cols []Column, rows [][]string) {
	d.table(cols, rows, nil, len(rows)-1)
}

func (d *Doc) table(cols []Column, rows [][]string, fills []*Fill, boldRow int) {
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
	const size = 8.0
	const lh = 3.9
	header := func() {
		pdf.SetFont(family, "B", size)
		pdf.SetFillColor(headFill.R, headFill.G, headFill.B)
		cells := make([]string, len(cols))
		for i, c := range cols {
			cells[i] = c.Title
		}
		d.row(cells, widths, cols, lh, true)
		pdf.SetFont(family, "", size)
	}
	d.ensure(3 * (lh + 2))
	header()
	for i, r := range rows {
		lines := d.rowLines(r, widths)
		if pdf.GetY()+float64(lines)*lh+2 > d.pageH()-margin-6 {
			pdf.AddPage()
			header()
		}
		fill := false
		if i < len(fills) && fills[i] != nil {
			pdf.SetFillColor(fills[i].R, fills[i].G, fills[i].B)
			fill = true
		}
		if i == boldRow {
			pdf.SetFont(family, "B", size)
		}
		d.row(r, widths, cols, lh, fill)
		pdf.SetFont(family, "", size)
	}
	pdf.SetFont(family, "", bodySize)
	pdf.Ln(2.5)
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
	h := float64(d.rowLines(cells, widths))*lh + 1.6
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
		pdf.SetDrawColor(boxBorder.R, boxBorder.G, boxBorder.B)
		pdf.Rect(x, y0, widths[i], h, style)
		pdf.SetXY(x+1, y0+0.8)
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
