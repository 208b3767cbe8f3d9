// Package charts draws the reports' charts with gonum.org/v1/plot as PNG
// images (for fpdf), in the Go fonts so that æøå and CO₂ render. The
// caller passes every text already translated and a number formatter for
// the axis ticks, so a chart carries no language of its own; the figures
// are the caller's, charts only draws them.
package charts

import (
	"bytes"
	"fmt"
	"image/color"
	"math"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// DPI is the images' resolution: sharp in print at the sizes the reports
// use, a few hundred kB a chart.
const DPI = 200

// typeface is the Go fonts' name in gonum's font cache.
const typeface = "Go"

func init() {
	reg, err1 := opentype.Parse(goregular.TTF)
	bold, err2 := opentype.Parse(gobold.TTF)
	if err1 != nil || err2 != nil {
		panic(fmt.Sprintf("charts: Go fonts: %v %v", err1, err2))
	}
	font.DefaultCache.Add(font.Collection{
		{Font: font.Font{Typeface: typeface}, Face: reg},
		{Font: font.Font{Typeface: typeface, Weight: xfont.WeightBold}, Face: bold},
	})
}

// Palette: a calm, print-safe set (dark blue, teal, orange, grey, green).
var (
	Blue   = color.RGBA{R: 31, G: 78, B: 121, A: 255}
	Teal   = color.RGBA{R: 42, G: 157, B: 143, A: 255}
	Orange = color.RGBA{R: 231, G: 111, B: 81, A: 255}
	Grey   = color.RGBA{R: 140, G: 140, B: 140, A: 255}
	Green  = color.RGBA{R: 84, G: 140, B: 47, A: 255}
	Light  = color.NRGBA{R: 31, G: 78, B: 121, A: 70}
	Sand   = color.RGBA{R: 233, G: 196, B: 106, A: 255}
)

// Palette is the order series are coloured in.
var Palette = []color.Color{Blue, Teal, Orange, Green, Sand, Grey}

// Text is a chart's words: all of them translated by the caller.
type Text struct {
	Title  string
	XLabel string
	YLabel string // with its unit, e.g. "kg CO₂e"
	// Format writes the value-axis numbers (the language's separators).
	Format func(float64) string
	// NoZero lets the value axis start near the data instead of at 0
	// (a ratio such as PUE); LegendBottom puts the legend at the bottom
	// (for lines near the top).
	NoZero       bool
	LegendBottom bool
}

// Size is an image's size in millimetres, as placed in the PDF.
type Size struct{ W, H float64 }

// Series is one named set of values, one per category.
type Series struct {
	Name   string
	Values []float64
	Color  color.Color // nil: the palette's next
}

// newPlot is a plot with the Go fonts in every text.
func newPlot(t Text) *plot.Plot {
	p := plot.New()
	f := func(size float64, bold bool) font.Font {
		fnt := font.Font{Typeface: typeface, Size: font.Length(size)}
		if bold {
			fnt.Weight = xfont.WeightBold
		}
		return fnt
	}
	p.Title.Text = t.Title
	p.Title.TextStyle.Font = f(11, true)
	p.Title.Padding = vg.Points(6)
	p.X.Label.Text, p.Y.Label.Text = t.XLabel, t.YLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font = f(9, false)
		a.Tick.Label.Font = f(8, false)
		a.Color, a.Tick.Color = Grey, Grey
	}
	p.Legend.TextStyle.Font = f(8.5, false)
	p.Legend.Top = !t.LegendBottom
	return p
}

// valueTicks are ticks on a value axis, formatted by t.Format.
func valueTicks(t Text) plot.Ticker {
	return plot.TickerFunc(func(min, max float64) []plot.Tick {
		ticks := plot.DefaultTicks{}.Ticks(min, max)
		for i := range ticks {
			if ticks[i].Label != "" && t.Format != nil {
				ticks[i].Label = t.Format(ticks[i].Value)
			}
		}
		return ticks
	})
}

// gridLines draws light horizontal (or vertical) lines at the value ticks.
func gridLines(p *plot.Plot, vertical bool) {
	g := plotter.NewGrid()
	g.Horizontal.Color = color.Gray{Y: 225}
	g.Vertical.Color = color.Gray{Y: 225}
	if vertical {
		g.Horizontal.Color = nil
	} else {
		g.Vertical.Color = nil
	}
	p.Add(g)
}

// png renders p.
func render(p *plot.Plot, s Size) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(vg.Length(s.W)*vg.Millimeter, vg.Length(s.H)*vg.Millimeter), vgimg.UseDPI(DPI))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("chart %q: %w", p.Title.Text, err)
	}
	return buf.Bytes(), nil
}

// Bars draws series of values per category as grouped bars (horizontal
// when horizontal is set, for long category names).
func Bars(t Text, cats []string, series []Series, horizontal bool, s Size) ([]byte, error) {
	p := newPlot(t)
	gridLines(p, horizontal)
	n := float64(len(series))
	width := vg.Length(min(14, 110/max(1, float64(len(cats))*n))) * vg.Millimeter * vg.Length(s.W/170)
	if horizontal {
		width = vg.Length(min(6, (s.H-25)/max(1, float64(len(cats))*n))) * vg.Millimeter
	}
	for i, se := range series {
		vals := make(plotter.Values, len(cats))
		copy(vals, se.Values)
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", t.Title, err)
		}
		b.Horizontal = horizontal
		b.LineStyle.Width = 0
		b.Color = se.Color
		if b.Color == nil {
			b.Color = Palette[i%len(Palette)]
		}
		b.Offset = vg.Length(float64(i)-(n-1)/2) * width
		p.Add(b)
		if se.Name != "" && len(series) > 1 {
			p.Legend.Add(se.Name, b)
		}
	}
	if horizontal {
		p.NominalY(cats...)
		p.X.Tick.Marker = valueTicks(t)
		p.X.Min = math.Min(0, p.X.Min)
		if len(series) > 1 && p.X.Max > 0 {
			p.X.Max *= 1.35 // room for the legend beside the longest bar
		}
	} else {
		p.NominalX(cats...)
		p.Y.Tick.Marker = valueTicks(t)
		p.Y.Min = math.Min(0, p.Y.Min)
	}
	return render(p, s)
}

// Line is one line of a line chart; X are positions on the x axis.
type Line struct {
	Name   string
	X, Y   []float64
	Color  color.Color
	Dashed bool
	Points bool // mark each value
	Width  float64
}

// Band is a shaded range (a forecast's uncertainty).
type Band struct {
	Name      string
	X         []float64
	Low, High []float64
	Color     color.Color
}

// Columns are bars at x positions on a line chart's axis.
type Columns struct {
	Name  string
	X, Y  []float64
	Color color.Color
	Width float64 // in x units
}

// Lines draws columns, bands and lines (in that order, so lines stay on
// top) over an x axis with the given tick labels (nil: numbers).
func Lines(t Text, cols []Columns, bands []Band, lines []Line, xTicks []plot.Tick, s Size) ([]byte, error) {
	p := newPlot(t)
	gridLines(p, false)
	for _, c := range cols {
		for i := range c.X {
			if i >= len(c.Y) || math.IsNaN(c.Y[i]) {
				continue
			}
			w := c.Width / 2
			poly, err := plotter.NewPolygon(plotter.XYs{{X: c.X[i] - w, Y: 0}, {X: c.X[i] + w, Y: 0}, {X: c.X[i] + w, Y: c.Y[i]}, {X: c.X[i] - w, Y: c.Y[i]}})
			if err != nil {
				return nil, fmt.Errorf("chart %q: %w", t.Title, err)
			}
			poly.Color = c.Color
			poly.LineStyle.Width = 0
			p.Add(poly)
			if i == 0 && c.Name != "" {
				p.Legend.Add(c.Name, poly)
			}
		}
	}
	for _, b := range bands {
		if len(b.X) == 0 {
			continue
		}
		pts := make(plotter.XYs, 0, 2*len(b.X))
		for i := range b.X {
			pts = append(pts, plotter.XY{X: b.X[i], Y: b.High[i]})
		}
		for i := len(b.X) - 1; i >= 0; i-- {
			pts = append(pts, plotter.XY{X: b.X[i], Y: b.Low[i]})
		}
		poly, err := plotter.NewPolygon(pts)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", t.Title, err)
		}
		poly.Color = b.Color
		if poly.Color == nil {
			poly.Color = Light
		}
		poly.LineStyle.Width = 0
		p.Add(poly)
		if b.Name != "" {
			p.Legend.Add(b.Name, poly)
		}
	}
	for i, l := range lines {
		if len(l.X) == 0 {
			continue
		}
		xy := make(plotter.XYs, 0, len(l.X))
		for j := range l.X {
			if j < len(l.Y) && !math.IsNaN(l.Y[j]) {
				xy = append(xy, plotter.XY{X: l.X[j], Y: l.Y[j]})
			}
		}
		if len(xy) == 0 {
			continue
		}
		ln, err := plotter.NewLine(xy)
		if err != nil {
			return nil, fmt.Errorf("chart %q: %w", t.Title, err)
		}
		ln.Color = l.Color
		if ln.Color == nil {
			ln.Color = Palette[i%len(Palette)]
		}
		ln.Width = vg.Points(1.6)
		if l.Width > 0 {
			ln.Width = vg.Points(l.Width)
		}
		if l.Dashed {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		p.Add(ln)
		var thumb plot.Thumbnailer = ln
		if l.Points {
			sc, err := plotter.NewScatter(xy)
			if err != nil {
				return nil, fmt.Errorf("chart %q: %w", t.Title, err)
			}
			sc.GlyphStyle.Color = ln.Color
			sc.GlyphStyle.Shape = draw.CircleGlyph{}
			sc.GlyphStyle.Radius = vg.Points(2.2)
			p.Add(sc)
			thumb = thumbs{ln, sc}
		}
		if l.Name != "" {
			p.Legend.Add(l.Name, thumb)
		}
	}
	p.Y.Tick.Marker = valueTicks(t)
	if !t.NoZero {
		p.Y.Min = math.Min(0, p.Y.Min)
	} else {
		pad := (p.Y.Max - p.Y.Min) * 0.15
		if pad == 0 {
			pad = math.Abs(p.Y.Max)*0.05 + 0.01
		}
		p.Y.Min, p.Y.Max = p.Y.Min-pad, p.Y.Max+pad
	}
	if xTicks != nil {
		p.X.Tick.Marker = plot.ConstantTicks(xTicks)
	}
	// The x axis spans every position given, with or without a value, and
	// the ticks: one bar of a sparse series must not fill the chart.
	lo, hi := math.Inf(1), math.Inf(-1)
	span := func(xs []float64, pad float64) {
		for _, x := range xs {
			lo, hi = math.Min(lo, x-pad), math.Max(hi, x+pad)
		}
	}
	for _, c := range cols {
		span(c.X, c.Width)
	}
	for _, l := range lines {
		span(l.X, 0)
	}
	for _, b := range bands {
		span(b.X, 0)
	}
	for _, t := range xTicks {
		span([]float64{t.Value}, 0.5)
	}
	if lo < hi {
		p.X.Min, p.X.Max = math.Min(p.X.Min, lo), math.Max(p.X.Max, hi)
	}
	return render(p, s)
}

// thumbs draws several legend thumbnails over each other.
type thumbs []plot.Thumbnailer

func (t thumbs) Thumbnail(c *draw.Canvas) {
	for _, x := range t {
		x.Thumbnail(c)
	}
}
