package monthly

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/reports/pdfdoc"

	"gonum.org/v1/plot"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/reports/charts"
	"github.com/ecometer/ecometer/reports/i18n"
)

// WritePDF renders the report in lang. The PDF's bytes depend only on the
// report and the language (its creation date is r.Generated).
func WritePDF(w io.Writer, r *Report, lang i18n.Lang) error {
	_, err := writePDF(w, r, lang)
	return err
}

// writePDF also returns the printer, whose Missing lists untranslated keys.
func writePDF(w io.Writer, r *Report, lang i18n.Lang) (*i18n.Printer, error) {
	p := i18n.New(lang)
	period, _ := time.Parse("2006-01", r.Month)
	monthName := p.MonthYear(period.Year(), period.Month())
	title := p.T("doc.title")
	d := pdfdoc.New(pdfdoc.Options{Title: title + " · " + monthName, Subtitle: p.T("doc.subtitle", strings.Join(r.Sites, ", ")),
		Author: "ecometer", Created: r.Generated,
		Footer: func(page int) string { return p.T("doc.footer", p.Date(local(r.Generated)), page) }})
	rw := &reportWriter{d: d, p: p, r: r, month: monthName}
	rw.summary()
	if err := rw.target(); err != nil {
		return p, err
	}
	if err := rw.change(); err != nil {
		return p, err
	}
	if err := rw.breakdown(); err != nil {
		return p, err
	}
	if err := rw.pue(); err != nil {
		return p, err
	}
	if err := rw.gridSection(); err != nil {
		return p, err
	}
	rw.powerDown()
	rw.embodied()
	rw.quality()
	return p, d.Write(w)
}

// local is t in Danish time (the report's date as the reader knows it).
func local(t time.Time) time.Time { return t.In(danish) }

type reportWriter struct {
	d      *pdfdoc.Doc
	p      *i18n.Printer
	r      *Report
	month  string
	charts int
}

// size is a chart's size, its width a fraction of a millimetre wider for
// each chart drawn before it. fpdf (catalog sort on) writes images sorted
// by pixel width alone, images of equal width in map order: unique widths
// keep the PDF's bytes the same from run to run. 0.13 mm is one pixel at
// charts.DPI; the difference does not show.
func (w *reportWriter) size(width, height float64) charts.Size {
	w.charts++
	return charts.Size{W: width + 0.13*float64(w.charts), H: height}
}

// Units as printed.
const (
	unitKWh  = "kWh"
	unitKg   = "kg CO₂e"
	unitInt  = "g CO₂e/kWh"
	chartW   = 178.0
	chartH   = 72.0
	halfW    = 87.0
	halfH    = 62.0
	sectionN = 9
)

func (w *reportWriter) kwh(v float64) string {
	dec := 0
	if math.Abs(v) < 100 {
		dec = 1
	}
	return w.p.Num(v, dec) + " " + unitKWh
}
func (w *reportWriter) kg(v float64) string {
	dec := 0
	if math.Abs(v) < 1000 {
		dec = 1
	}
	return w.p.Num(v, dec) + " " + unitKg
}
func (w *reportWriter) num(dec int) func(float64) string {
	return func(v float64) string { return w.p.Num(v, dec) }
}

// changeNote is "−3,2 % mod september 2025" or why there is no comparison.
func (w *reportWriter) changeNote(c Compared, ch *accounting.Change) string {
	if !c.Available || ch == nil || ch.Pct == nil {
		return w.p.T("change.none", w.p.Label(c.Month))
	}
	return w.p.T("change.vs", w.p.SignedPct(*ch.Pct, 1), w.p.Label(c.Month))
}

func (w *reportWriter) summary() {
	d, p, r := w.d, w.p, w.r
	s := r.Summary
	t := s.Total
	d.Title(p.T("doc.title")+" – "+w.month, p.T("summary.sub", strings.Join(r.Sites, ", "), p.Date(local(r.Generated))))
	if !r.Complete {
		var low []string
		for _, q := range r.Quality.Sites {
			if q.CoveragePct < r.MinCoveragePct {
				low = append(low, fmt.Sprintf("%s (%s)", q.Site, p.Pct(q.CoveragePct, 1)))
			}
		}
		d.Notice(p.T("summary.incomplete.title"), p.T("summary.incomplete", strings.Join(low, ", "), p.Pct(r.MinCoveragePct, 0)), true)
	}
	market := p.T("summary.market.none")
	marketNote := p.T("summary.market.none.note")
	if t.MarketKgCO2e != nil {
		market = w.kg(*t.MarketKgCO2e)
		marketNote = w.changeNote(s.Previous, s.Previous.Market)
		if t.MarketSites < t.Sites {
			marketNote = p.T("summary.market.partial", t.MarketSites, t.Sites)
		}
	}
	pue, pueNote := "–", p.T("summary.pue.none")
	switch {
	case t.PUE != nil:
		pue, pueNote = p.Num(*t.PUE, 2), p.T("summary.pue.measured")
	default:
		var parts []string
		for _, x := range s.Sites {
			if x.PUE != nil {
				label := p.T("pue.measured.short")
				if x.PUE.Assumed {
					label = p.T("pue.assumed.short")
				}
				parts = append(parts, fmt.Sprintf("%s %s (%s)", x.Site, p.Num(x.PUE.Value, 2), label))
			}
		}
		if len(parts) > 0 {
			pue, pueNote = p.T("summary.pue.persite"), strings.Join(parts, "; ")
		}
	}
	d.KeyFigures([]pdfdoc.KeyFigure{
		{Label: p.T("summary.energy"), Value: w.kwh(t.EnergyKWh), Note: w.changeNote(s.Previous, s.Previous.Energy)},
		{Label: p.T("summary.location"), Value: w.kg(t.LocationKgCO2e), Note: w.changeNote(s.Previous, s.Previous.Location)},
		{Label: p.T("summary.market"), Value: market, Note: marketNote},
		{Label: p.T("summary.pue"), Value: pue, Note: pueNote},
	})
	// The month in words.
	text := p.T("summary.words", w.month, w.kwh(t.EnergyKWh), w.kg(t.LocationKgCO2e), p.Num(t.WeightedGPerKWh, 1)+" "+unitInt)
	if s.Previous.Available && s.Previous.Energy.Pct != nil {
		text += " " + p.T("summary.words.prev", p.SignedPct(*s.Previous.Energy.Pct, 1), p.Label(s.Previous.Month))
	}
	if s.YearBefore.Available && s.YearBefore.Energy.Pct != nil {
		text += " " + p.T("summary.words.year", p.SignedPct(*s.YearBefore.Energy.Pct, 1), p.Label(s.YearBefore.Month))
	}
	d.Para(text)
	d.Small(p.T("summary.scope2"))

	// Comparison table.
	cols := []pdfdoc.Column{{Title: "", Width: 2.2}, {Title: w.month, Width: 1.6, Align: "R"},
		{Title: p.Label(s.Previous.Month), Width: 1.6, Align: "R"}, {Title: p.T("table.change"), Width: 1.1, Align: "R"},
		{Title: p.Label(s.YearBefore.Month), Width: 1.6, Align: "R"}, {Title: p.T("table.change"), Width: 1.1, Align: "R"}}
	cell := func(c Compared, v float64, ok bool, ch *accounting.Change) (string, string) {
		if !c.Available || !ok {
			return "–", "–"
		}
		pct := "–"
		if ch != nil && ch.Pct != nil {
			pct = p.SignedPct(*ch.Pct, 1)
		}
		return w.p.Num(v, 0), pct
	}
	mk := func(get func(accounting.Totals) (float64, bool), label string, chP, chY *accounting.Change) []string {
		now, ok := get(t)
		row := []string{label, "–"}
		if ok {
			row[1] = p.Num(now, 0)
		}
		pv, pok := get(s.Previous.Totals)
		a, b := cell(s.Previous, pv, pok, chP)
		yv, yok := get(s.YearBefore.Totals)
		c, e := cell(s.YearBefore, yv, yok, chY)
		return append(row, a, b, c, e)
	}
	rows := [][]string{
		mk(func(x accounting.Totals) (float64, bool) { return x.EnergyKWh, true }, p.T("table.energy")+" ("+unitKWh+")", s.Previous.Energy, s.YearBefore.Energy),
		mk(func(x accounting.Totals) (float64, bool) { return x.LocationKgCO2e, true }, p.T("table.location")+" ("+unitKg+")", s.Previous.Location, s.YearBefore.Location),
		mk(func(x accounting.Totals) (float64, bool) {
			if x.MarketKgCO2e == nil {
				return 0, false
			}
			return *x.MarketKgCO2e, true
		}, p.T("table.market")+" ("+unitKg+")", s.Previous.Market, s.YearBefore.Market),
	}
	d.Table(cols, rows, nil)

	// Year to date against the path.
	tv := r.Target
	switch {
	case tv.BaselineKgCO2e == nil:
		d.Notice(p.T("summary.target.title"), p.T("summary.target.nobaseline", tv.BaselineYear), false)
	case tv.Ahead != nil && tv.DeviationPct != nil:
		key := "summary.target.ahead"
		if !*tv.Ahead {
			key = "summary.target.behind"
		}
		d.Notice(p.T("summary.target.title"), p.T(key, p.Label(tv.YearToDate[0].Month), w.month, w.kg(tv.AnnualisedKgCO2e), tv.Year,
			w.kg(tv.PathYearKgCO2e), p.Pct(math.Abs(*tv.DeviationPct), 1), p.Pct(tv.ReductionPct, 0), tv.TargetYear, tv.BaselineYear), !*tv.Ahead)
	default:
		d.Notice(p.T("summary.target.title"), p.T("summary.target.noposition", p.Pct(targetMinCoverage, 0)), false)
	}

	// Per site.
	d.Subheading(p.T("summary.sites"))
	cols = []pdfdoc.Column{{Title: p.T("table.site"), Width: 1.6}, {Title: p.T("table.energy") + " (" + unitKWh + ")", Width: 1.3, Align: "R"},
		{Title: p.T("table.location") + " (" + unitKg + ")", Width: 1.5, Align: "R"}, {Title: p.T("table.market") + " (" + unitKg + ")", Width: 1.5, Align: "R"},
		{Title: "PUE", Width: 1.2, Align: "R"}, {Title: p.T("table.coverage"), Width: 1, Align: "R"}}
	rows = nil
	for _, x := range s.Sites {
		mkt := p.T("summary.market.none")
		if x.Market.KgCO2e != nil {
			mkt = p.Num(*x.Market.KgCO2e, 1)
		}
		pv := "–"
		if x.PUE != nil {
			pv = p.Num(x.PUE.Value, 2)
			if x.PUE.Assumed {
				pv += " " + p.T("pue.assumed.mark")
			}
		}
		rows = append(rows, []string{x.Site, p.Num(x.EnergyKWh, 0), p.Num(x.Location.KgCO2e, 1), mkt, pv, p.Pct(x.CoveragePct, 1)})
	}
	d.Table(cols, rows, nil)
	for _, x := range s.Sites {
		if e := x.FacilityEstimate; e != nil {
			d.Small(p.T("summary.estimate", x.Site, p.Num(e.AssumedPUE, 2), w.kwh(e.EnergyKWh), w.kg(e.LocationKgCO2e)))
		}
	}
	d.Small(p.T("summary.units"))
}

// targetMinCoverage is the coverage the target view needs of a month.
const targetMinCoverage = 90.0

func (w *reportWriter) target() error {
	d, p, r := w.d, w.p, w.r
	tv := r.Target
	d.PageBreak()
	d.Heading(p.T("target.heading"))
	if tv.BaselineKgCO2e == nil {
		d.Para(p.T("target.nobaseline", tv.BaselineYear))
	} else {
		src := p.T("target.baseline.store")
		if tv.BaselineFrom == "config" {
			src = p.T("target.baseline.config", tv.BaselineSource)
		}
		d.Para(p.T("target.intro", p.Pct(tv.ReductionPct, 0), tv.TargetYear, tv.BaselineYear, w.kg(*tv.BaselineKgCO2e), src, w.kg(tv.GoalKgCO2e)))
	}
	// Yearly: path, actuals, this year's projection.
	if len(tv.Path) > 0 || len(tv.Actuals) > 0 {
		var px, py []float64
		for _, v := range tv.Path {
			px, py = append(px, float64(v.Year)), append(py, v.KgCO2e)
		}
		var cx, cy, ix, iy []float64
		for _, a := range tv.Actuals {
			if a.Complete {
				cx, cy = append(cx, float64(a.Year)), append(cy, a.KgCO2e)
			} else {
				ix, iy = append(ix, float64(a.Year)), append(iy, a.KgCO2e)
			}
		}
		lines := []charts.Line{{Name: p.T("target.chart.path"), X: px, Y: py, Dashed: true, Color: charts.Blue}}
		if tv.Forecast.YearKgCO2e != nil {
			lines = append(lines, charts.Line{Name: p.T("target.chart.projected", tv.Year), X: []float64{float64(tv.Year)},
				Y: []float64{*tv.Forecast.YearKgCO2e}, Points: true, Color: charts.Orange})
		}
		from, to := tv.BaselineYear, tv.TargetYear
		var ticks []plot.Tick
		for y := from; y <= to; y++ {
			ticks = append(ticks, plot.Tick{Value: float64(y), Label: fmt.Sprint(y)})
		}
		img, err := charts.Lines(charts.Text{Title: p.T("target.chart.title", from, to), YLabel: p.T("unit.kgyear"), Format: w.num(0)},
			[]charts.Columns{{Name: p.T("target.chart.actual"), X: cx, Y: cy, Color: charts.Teal, Width: 0.6},
				{Name: p.T("target.chart.partial"), X: ix, Y: iy, Color: charts.Sand, Width: 0.6}},
			nil, lines, ticks, w.size(chartW, chartH))
		if err != nil {
			return err
		}
		d.Image(img, chartW, chartH, w.pathReading())
	}
	// Monthly: the last 24 months and the forecast.
	var hx, hy []float64
	var ticks []plot.Tick
	idx := map[string]float64{}
	for i, m := range r.History {
		idx[m.Month] = float64(i)
		hx = append(hx, float64(i))
		v := m.KgCO2e
		if m.EnergyKWh == 0 {
			v = math.NaN()
		}
		hy = append(hy, v)
	}
	f := tv.Forecast
	var fx, fy, lo, hi []float64
	for i, c := range f.Combined {
		x := float64(len(r.History) + i)
		idx[c.Month] = x
		fx, fy = append(fx, x), append(fy, c.Value)
		if c.Low != nil && c.High != nil {
			lo, hi = append(lo, *c.Low), append(hi, *c.High)
		}
	}
	for label, x := range idx {
		t, _ := time.Parse("2006-01", label)
		if t.Month() == time.January || t.Month() == time.July {
			ticks = append(ticks, plot.Tick{Value: x, Label: p.MonthShort(t.Month()) + " " + fmt.Sprint(t.Year())})
		}
	}
	slices.SortFunc(ticks, func(a, b plot.Tick) int { return int(a.Value - b.Value) })
	var bands []charts.Band
	if len(lo) == len(fx) && len(fx) > 0 {
		bands = append(bands, charts.Band{Name: p.T("target.chart.band"), X: fx, Low: lo, High: hi})
	}
	img, err := charts.Lines(charts.Text{Title: p.T("target.monthly.title"), YLabel: p.T("unit.kgmonth"), Format: w.num(0)},
		[]charts.Columns{{Name: p.T("target.monthly.actual"), X: hx, Y: hy, Color: charts.Teal, Width: 0.7}},
		bands, []charts.Line{{Name: p.T("target.monthly.forecast"), X: fx, Y: fy, Color: charts.Orange}},
		ticks, w.size(chartW, chartH))
	if err != nil {
		return err
	}
	reading := p.T("target.monthly.noforecast", f.HistoryMonths)
	if f.Note == "" && !f.CombinedGoodEnough {
		reading = p.T("target.monthly.notgood")
	}
	if f.CombinedGoodEnough && len(f.Combined) > 0 && f.Combined[0].Low != nil && f.Combined[0].High != nil {
		c := f.Combined[0]
		reading = p.T("target.monthly.forecast.reading", p.Label(c.Month), w.kg(c.Value), p.Num(*c.Low, 0), p.Num(*c.High, 0))
	}
	d.Image(img, chartW, chartH, reading)
	if f.Energy != nil || f.Intensity != nil {
		var rows [][]string
		for _, s := range []struct {
			name string
			s    *targetview.Series
		}{{p.T("target.fit.energy"), f.Energy}, {p.T("target.fit.intensity"), f.Intensity}} {
			if s.s == nil {
				continue
			}
			ok := p.T("target.fit.fails")
			if s.s.GoodEnough {
				ok = p.T("target.fit.passes")
			}
			rows = append(rows, []string{s.name, p.Pct(s.s.CVRMSEPct, 1), p.Pct(s.s.NMBEPct, 1), ok})
		}
		d.Table([]pdfdoc.Column{{Title: p.T("target.fit.series"), Width: 2}, {Title: "CV(RMSE)", Width: 1, Align: "R"},
			{Title: "NMBE", Width: 1, Align: "R"}, {Title: p.T("target.fit.verdict"), Width: 2.4}}, rows, nil)
		d.Small(p.T("target.fit.note", f.HistoryMonths))
	}
	return nil
}

// pathReading is the yearly chart's one line.
func (w *reportWriter) pathReading() string {
	p, tv := w.p, w.r.Target
	if tv.Ahead != nil && tv.DeviationPct != nil {
		key := "target.chart.reading.ahead"
		if !*tv.Ahead {
			key = "target.chart.reading.behind"
		}
		return p.T(key, tv.Year, p.Pct(math.Abs(*tv.DeviationPct), 1), w.kg(tv.AnnualisedKgCO2e), w.kg(tv.PathYearKgCO2e))
	}
	return p.T("target.chart.reading.none", tv.Year)
}

func (w *reportWriter) change() error {
	d, p := w.d, w.p
	c := w.r.Target.Change
	d.Heading(p.T("change.heading"))
	if !c.Available || c.Before == nil || c.After == nil {
		d.Para(p.T("change.unavailable", p.Pct(targetMinCoverage, 0)))
		return nil
	}
	before := p.Label(c.Before.From) + " – " + p.Label(c.Before.To)
	after := p.Label(c.After.From) + " – " + p.Label(c.After.To)
	img, err := charts.Bars(charts.Text{Title: p.T("change.chart.title"), XLabel: unitKg, Format: w.num(0)},
		[]string{p.T("change.grid"), p.T("change.usage"), p.T("change.total")},
		[]charts.Series{{Values: []float64{c.GridKgCO2e, c.UsageKgCO2e, c.TotalKgCO2e}, Color: charts.Blue}}, true,
		w.size(chartW, 55))
	if err != nil {
		return err
	}
	dir := "change.fell"
	if c.TotalKgCO2e > 0 {
		dir = "change.rose"
	}
	d.Image(img, chartW, 55, p.T(dir, w.kg(math.Abs(c.TotalKgCO2e)), before, after, w.kg(c.GridKgCO2e), w.kg(c.UsageKgCO2e)))
	d.Table([]pdfdoc.Column{{Title: "", Width: 2}, {Title: before, Width: 1.6, Align: "R"}, {Title: after, Width: 1.6, Align: "R"}},
		[][]string{
			{p.T("table.energy") + " (" + unitKWh + ")", p.Num(c.Before.EnergyKWh, 0), p.Num(c.After.EnergyKWh, 0)},
			{p.T("change.intensity"), p.Num(c.Before.IntensityGPerKWh, 1), p.Num(c.After.IntensityGPerKWh, 1)},
			{p.T("table.location") + " (" + unitKg + ")", p.Num(c.Before.KgCO2e, 0), p.Num(c.After.KgCO2e, 0)},
		}, nil)
	d.Small(p.T("change.method"))
	return nil
}

func (w *reportWriter) breakdown() error {
	d, p, b := w.d, w.p, w.r.Breakdown
	d.Heading(p.T("breakdown.heading"))
	d.Para(p.T("breakdown.intro"))
	groupTable := func(title string, gs []accounting.Group) {
		d.Subheading(title)
		var rows [][]string
		for _, g := range gs {
			rows = append(rows, []string{w.groupKey(g.Key), g.Site, p.Num(g.EnergyKWh, 0), p.Num(g.LossesKWh, 0), p.Pct(g.CoveragePct, 1)})
		}
		d.Table([]pdfdoc.Column{{Title: p.T("table.group"), Width: 1.8}, {Title: p.T("table.site"), Width: 1.6},
			{Title: p.T("table.energy") + " (kWh)", Width: 1.3, Align: "R"}, {Title: p.T("table.losses"), Width: 1.6, Align: "R"},
			{Title: p.T("table.coverage.low"), Width: 1.2, Align: "R"}}, rows, nil)
	}
	// Chart: energy by room, losses apart.
	var cats []string
	var total, loss []float64
	for _, g := range b.ByRoom {
		cats = append(cats, w.groupKey(g.Key)+" ("+g.Site+")")
		total, loss = append(total, g.EnergyKWh), append(loss, g.LossesKWh)
	}
	if len(cats) > 0 {
		img, err := charts.Bars(charts.Text{Title: p.T("breakdown.chart.title"), XLabel: unitKWh, Format: w.num(0)}, cats,
			[]charts.Series{{Name: p.T("breakdown.chart.total"), Values: total, Color: charts.Teal}, {Name: p.T("breakdown.chart.losses"), Values: loss, Color: charts.Sand}},
			true, w.size(chartW, 20+9*float64(len(cats))))
		if err != nil {
			return err
		}
		top := b.ByRoom[0]
		for _, g := range b.ByRoom {
			if g.EnergyKWh > top.EnergyKWh {
				top = g
			}
		}
		d.Image(img, chartW, 20+9*float64(len(cats)), p.T("breakdown.chart.reading", w.groupKey(top.Key), top.Site, w.kwh(top.EnergyKWh)))
	}
	groupTable(p.T("breakdown.bysite"), b.BySite)
	groupTable(p.T("breakdown.byroom"), b.ByRoom)
	groupTable(p.T("breakdown.byclass"), b.ByClass)
	d.Subheading(p.T("breakdown.top", len(b.Top), b.Devices))
	var rows [][]string
	for i, g := range b.Top {
		rows = append(rows, []string{fmt.Sprint(i + 1), g.Key, g.Site, p.Num(g.EnergyKWh, 0), p.Pct(g.CoveragePct, 1)})
	}
	d.Table([]pdfdoc.Column{{Title: "#", Width: 0.4, Align: "R"}, {Title: p.T("table.device"), Width: 1.8}, {Title: p.T("table.site"), Width: 1.6},
		{Title: p.T("table.energy") + " (kWh)", Width: 1.3, Align: "R"}, {Title: p.T("table.coverage"), Width: 1.1, Align: "R"}}, rows, nil)
	d.Subheading(p.T("breakdown.balances"))
	rows = nil
	for _, x := range b.Balances {
		rows = append(rows, []string{x.Meter, x.Site, p.T("level." + x.Level), p.Num(x.MeasuredKWh, 0), p.Num(x.AttributedKWh, 0), p.Num(x.UnmeteredKWh, 0)})
	}
	d.Table([]pdfdoc.Column{{Title: p.T("table.meter"), Width: 1.7}, {Title: p.T("table.site"), Width: 1.5}, {Title: p.T("table.level"), Width: 0.9},
		{Title: p.T("table.measured"), Width: 1.2, Align: "R"}, {Title: p.T("table.attributed"), Width: 1.4, Align: "R"},
		{Title: p.T("table.unmetered"), Width: 1.4, Align: "R"}}, rows, nil)
	d.Small(p.T("breakdown.balances.note"))
	return nil
}

// groupKey is a group's name; the accounting names devices without a room
// or rack "(none)".
func (w *reportWriter) groupKey(k string) string {
	if k == "(none)" {
		return w.p.T("breakdown.nogroup")
	}
	return k
}

func (w *reportWriter) pue() error {
	d, p, r := w.d, w.p, w.r
	d.Heading(p.T("pue.heading"))
	d.Para(p.T("pue.intro"))
	// One line per site over the twelve months.
	var months []string
	for _, m := range r.PUE {
		if !slices.Contains(months, m.Month) {
			months = append(months, m.Month)
		}
	}
	var lines []charts.Line
	var ticks []plot.Tick
	for i, m := range months {
		t, _ := time.Parse("2006-01", m)
		ticks = append(ticks, plot.Tick{Value: float64(i), Label: p.MonthShort(t.Month())})
	}
	assumed := false
	for i, site := range r.Sites {
		l := charts.Line{Name: site, Points: true, Color: charts.Palette[i%len(charts.Palette)]}
		for j, m := range months {
			for _, x := range r.PUE {
				if x.Month == m && x.Site == site && x.PUE != nil {
					l.X, l.Y = append(l.X, float64(j)), append(l.Y, *x.PUE)
					if x.Assumed {
						l.Dashed, assumed = true, true
					}
				}
			}
		}
		if l.Dashed {
			l.Name += " (" + p.T("pue.assumed.short") + ")"
		}
		lines = append(lines, l)
	}
	img, err := charts.Lines(charts.Text{Title: p.T("pue.chart.title"), YLabel: p.T("pue.chart.y"), Format: w.num(2), NoZero: true, LegendBottom: true}, nil, nil, lines, ticks,
		w.size(chartW, 62))
	if err != nil {
		return err
	}
	var parts []string
	for _, x := range r.Summary.Sites {
		if x.PUE != nil && !x.PUE.Assumed {
			parts = append(parts, p.T("pue.reading.site", x.Site, p.Num(x.PUE.Value, 2)))
		}
	}
	reading := p.T("pue.reading.none")
	if len(parts) > 0 {
		reading = p.T("pue.reading", w.month, strings.Join(parts, ", "))
	}
	if assumed {
		reading += " " + p.T("pue.reading.assumed")
	}
	d.Image(img, chartW, 62, reading)

	d.Subheading(p.T("eed.heading"))
	d.Para(p.T("eed.intro"))
	var rows [][]string
	var fills []*pdfdoc.Fill
	for _, e := range r.EED {
		val := "–"
		if e.Value != nil {
			switch e.Unit {
			case "kWh":
				val = w.kwh(*e.Value)
			default:
				val = p.Num(*e.Value, 2)
			}
		}
		rows = append(rows, []string{p.T("eed." + e.Key), p.T("eed.ref." + e.Key), p.T("eed.status." + e.Status), val, p.T("eed.basis." + e.Basis)})
		switch e.Status {
		case Supplied:
			fills = append(fills, &pdfdoc.OKFill)
		case Partial:
			fills = append(fills, &pdfdoc.WarnFill)
		default:
			fills = append(fills, nil)
		}
	}
	d.Table([]pdfdoc.Column{{Title: p.T("eed.col.item"), Width: 2.1}, {Title: p.T("eed.col.ref"), Width: 2}, {Title: p.T("eed.col.status"), Width: 1.1},
		{Title: p.T("eed.col.value"), Width: 1.3, Align: "R"}, {Title: p.T("eed.col.basis"), Width: 2.6}}, rows, fills)
	d.Small(p.T("eed.note"))
	return nil
}

func (w *reportWriter) gridSection() error {
	d, p, g := w.d, w.p, w.r.Grid
	d.Heading(p.T("grid.heading"))
	d.Para(p.T("grid.intro"))
	var rows [][]string
	for _, s := range g.Sites {
		rows = append(rows, []string{s.Site, s.Area, p.Num(s.WeightedGPerKWh, 1), p.Num(s.PlainGPerKWh, 1), p.Num(s.AreaMonthGPerKW, 1)})
	}
	d.Table([]pdfdoc.Column{{Title: p.T("table.site"), Width: 1.5}, {Title: p.T("grid.area"), Width: 0.8},
		{Title: p.T("grid.weighted"), Width: 1.6, Align: "R"}, {Title: p.T("grid.plain"), Width: 1.6, Align: "R"},
		{Title: p.T("grid.areamonth"), Width: 1.6, Align: "R"}}, rows, nil)
	var kwh, plain, weighted, hx []float64
	for _, h := range g.HourOfDay {
		hx = append(hx, float64(h.Hour))
		kwh = append(kwh, h.MeanKWh)
		pl, we := h.PlainGPerKWh, h.WeightedGPerKWh
		if h.Hours == 0 {
			pl, we = math.NaN(), math.NaN()
		}
		plain, weighted = append(plain, pl), append(weighted, we)
	}
	var ticks []plot.Tick
	for hh := 0; hh < 24; hh += 3 {
		ticks = append(ticks, plot.Tick{Value: float64(hh), Label: fmt.Sprintf("%02d", hh)})
	}
	use, err := charts.Lines(charts.Text{Title: p.T("grid.use.title"), XLabel: p.T("grid.hour"), YLabel: unitKWh, Format: w.num(0)},
		[]charts.Columns{{X: hx, Y: kwh, Color: charts.Teal, Width: 0.75}}, nil, nil, ticks, w.size(halfW, halfH))
	if err != nil {
		return err
	}
	inten, err := charts.Lines(charts.Text{Title: p.T("grid.int.title"), XLabel: p.T("grid.hour"), YLabel: unitInt, Format: w.num(0), LegendBottom: true},
		nil, nil, []charts.Line{{Name: p.T("grid.int.plain"), X: hx, Y: plain, Color: charts.Grey}, {Name: p.T("grid.int.weighted"), X: hx, Y: weighted, Color: charts.Blue, Dashed: true}},
		ticks, w.size(halfW, halfH))
	if err != nil {
		return err
	}
	peak, clean := 0, -1
	for i, h := range g.HourOfDay {
		if h.MeanKWh > g.HourOfDay[peak].MeanKWh {
			peak = i
		}
		if h.Hours > 0 && (clean < 0 || h.PlainGPerKWh < g.HourOfDay[clean].PlainGPerKWh) {
			clean = i
		}
	}
	readClean := p.T("grid.int.reading.none")
	if clean >= 0 {
		readClean = p.T("grid.int.reading", fmt.Sprintf("%02d", clean), p.Num(g.HourOfDay[clean].PlainGPerKWh, 0)+" "+unitInt)
	}
	d.Images(use, inten, halfW, halfH, p.T("grid.use.reading", fmt.Sprintf("%02d", peak), w.kwh(g.HourOfDay[peak].MeanKWh)), readClean)
	var src []string
	for _, s := range g.EnergyBySource {
		src = append(src, p.T("grid.source."+s.Source)+" "+w.kwh(s.EnergyKWh))
	}
	d.Small(p.T("grid.sources", strings.Join(src, "; "), p.Pct(g.FallbackSharePct, 1)))
	return nil
}

func (w *reportWriter) powerDown() {
	d, p, r := w.d, w.p, w.r
	d.Heading(p.T("powerdown.heading"))
	if r.PowerDown == nil {
		d.Para(p.T("powerdown.none"))
	} else {
		pd := r.PowerDown
		d.Para(p.T("powerdown.total", w.kwh(pd.KWhAvoided), w.kg(pd.KgCO2eAvoided)))
		var rows [][]string
		for _, x := range pd.Policies {
			rows = append(rows, []string{x.Name, fmt.Sprint(x.Windows), fmt.Sprint(x.Devices), p.Num(x.KWhAvoided, 1), p.Num(x.KgCO2eAvoided, 1)})
		}
		d.Table([]pdfdoc.Column{{Title: p.T("powerdown.policy"), Width: 2}, {Title: p.T("powerdown.windows"), Width: 1, Align: "R"},
			{Title: p.T("powerdown.devices"), Width: 1, Align: "R"}, {Title: p.T("powerdown.kwh"), Width: 1.3, Align: "R"},
			{Title: p.T("powerdown.kg"), Width: 1.3, Align: "R"}}, rows, nil)
		d.Small(p.T("powerdown.method"))
	}
	if a := r.Anomalies; a != nil {
		d.Subheading(p.T("anomaly.heading"))
		if len(a.Items) == 0 {
			d.Para(p.T("anomaly.none"))
		} else {
			var rows [][]string
			for _, x := range a.Items {
				kind := "anomaly.kind." + x.Kind
				if !i18n.Has(kind) {
					kind = "anomaly.kind.other"
				}
				what := x.Device
				if x.Meter != "" && x.Meter != "total" {
					what += " " + x.Meter
				}
				if what == "" {
					what = x.Site
				}
				since := x.Start.In(danish).Format("02.01. 15:04")
				if x.Open {
					since += " " + p.T("anomaly.open")
				}
				rows = append(rows, []string{what, x.Site, p.T(kind), since})
			}
			d.Table([]pdfdoc.Column{{Title: p.T("table.device"), Width: 1.8}, {Title: p.T("table.site"), Width: 1.4},
				{Title: p.T("anomaly.kind"), Width: 2.2}, {Title: p.T("anomaly.since"), Width: 1.3}}, rows, nil)
			d.Small(p.T("anomaly.more"))
		}
		if len(a.Idle) > 0 {
			d.Subheading(p.T("idle.heading"))
			var rows [][]string
			for _, x := range a.Idle {
				kind := "idle.kind." + x.Kind
				if !i18n.Has(kind) {
					kind = "anomaly.kind.other"
				}
				what := x.Device
				if x.Meter != "" && x.Meter != "total" {
					what += " " + x.Meter
				}
				rows = append(rows, []string{what, x.Site, p.T(kind), p.Num(x.MeanW, 0), p.Num(x.SavedKWhPerYear, 0), p.Num(x.SavedKgCO2ePerYear, 1)})
			}
			d.Table([]pdfdoc.Column{{Title: p.T("table.device"), Width: 1.8}, {Title: p.T("table.site"), Width: 1.3},
				{Title: p.T("idle.action"), Width: 1.9}, {Title: p.T("idle.mean_w"), Width: 0.9, Align: "R"},
				{Title: p.T("idle.kwh"), Width: 1.1, Align: "R"}, {Title: p.T("idle.kg"), Width: 1.1, Align: "R"}}, rows, nil)
			d.Small(p.T("idle.method"))
		}
	}
}

func (w *reportWriter) embodied() {
	d, p, e := w.d, w.p, w.r.Embodied
	d.Heading(p.T("embodied.heading"))
	if e == nil {
		d.Para(p.T("embodied.none"))
		return
	}
	d.Para(p.T("embodied.intro", w.kg(e.KgCO2e), e.Amortising-len(e.Missing), e.Amortising))
	var rows [][]string
	for _, c := range e.ByClass {
		rows = append(rows, []string{c.Class, fmt.Sprint(c.Assets), fmt.Sprint(c.ProductFootprint), fmt.Sprint(c.ClassDefault), fmt.Sprint(c.Missing), p.Num(c.KgCO2e, 1)})
	}
	d.Table([]pdfdoc.Column{{Title: p.T("embodied.class"), Width: 1.5}, {Title: p.T("embodied.assets"), Width: 0.9, Align: "R"},
		{Title: p.T("embodied.product"), Width: 1.3, Align: "R"}, {Title: p.T("embodied.default"), Width: 1.3, Align: "R"},
		{Title: p.T("embodied.missing"), Width: 1, Align: "R"}, {Title: unitKg, Width: 1.2, Align: "R"}}, rows, nil)
	if len(e.Extensions) > 0 {
		d.Subheading(p.T("embodied.ext.heading"))
		rows = nil
		for _, x := range e.Extensions {
			per := "–"
			if x.PerDeviceKgCO2ePerYr != nil {
				per = p.Num(*x.PerDeviceKgCO2ePerYr, 1)
			}
			rows = append(rows, []string{x.Class, p.T("embodied.ext.years", p.Num(x.FromYears, 0), p.Num(x.ToYears, 0)), per,
				fmt.Sprint(x.Assets), p.Num(x.AssetsKgCO2ePerYr, 1)})
		}
		d.Table([]pdfdoc.Column{{Title: p.T("embodied.class"), Width: 1.3}, {Title: p.T("embodied.ext.lifetime"), Width: 1.4},
			{Title: p.T("embodied.ext.per"), Width: 1.6, Align: "R"}, {Title: p.T("embodied.assets"), Width: 0.9, Align: "R"},
			{Title: p.T("embodied.ext.fleet"), Width: 1.6, Align: "R"}}, rows, nil)
		d.Small(p.T("embodied.ext.note"))
	}
	d.Small(p.T("embodied.method"))
}

func (w *reportWriter) quality() {
	d, p, r := w.d, w.p, w.r
	q := r.Quality
	d.Heading(p.T("quality.heading"))
	var rows [][]string
	var fills []*pdfdoc.Fill
	for _, s := range q.Sites {
		fb := "–"
		if len(s.FallbackBases) > 0 {
			fb = strings.Join(s.FallbackBases, "; ")
		}
		pue := p.T("pue.measured.short")
		if s.PUEAssumed {
			pue = p.T("pue.assumed.short")
		}
		rows = append(rows, []string{s.Site, p.Pct(s.CoveragePct, 1), fmt.Sprintf("%d / %d", s.HoursWithEnergy, s.HoursInMonth),
			p.Pct(s.FallbackSharePct, 1), fb, pue})
		if s.CoveragePct < r.MinCoveragePct {
			fills = append(fills, &pdfdoc.WarnFill)
		} else {
			fills = append(fills, nil)
		}
	}
	d.Table([]pdfdoc.Column{{Title: p.T("table.site"), Width: 1.5}, {Title: p.T("table.coverage"), Width: 1, Align: "R"},
		{Title: p.T("quality.hours"), Width: 1.1, Align: "R"}, {Title: p.T("quality.fallback"), Width: 1.3, Align: "R"},
		{Title: p.T("quality.bases"), Width: 2}, {Title: "PUE", Width: 0.9}}, rows, fills)
	if len(q.Devices) == 0 {
		d.Para(p.T("quality.devices.none", p.Pct(r.MinCoveragePct, 0)))
	} else {
		key := "quality.devices"
		if len(q.Devices) == 1 {
			key = "quality.devices.one"
		}
		d.KeepWith(25)
		d.Para(p.T(key, len(q.Devices), p.Pct(r.MinCoveragePct, 0)))
		rows = nil
		for _, x := range q.Devices {
			state := p.T("quality.partial")
			if x.NoData {
				state = p.T("quality.nodata")
			}
			rows = append(rows, []string{x.Device, x.Site, p.Pct(x.CoveragePct, 1), state})
		}
		d.Table([]pdfdoc.Column{{Title: p.T("table.device"), Width: 1.6}, {Title: p.T("table.site"), Width: 1.5},
			{Title: p.T("table.coverage"), Width: 1, Align: "R"}, {Title: p.T("quality.state"), Width: 2.5}}, rows, nil)
	}
	for _, s := range q.Sites {
		if s.NoAccountingMtr {
			d.Para(p.T("quality.nometer", s.Site))
		}
	}
	d.Subheading(p.T("quality.method.heading"))
	d.Small(p.T("quality.method"))
	if r.Grid.Energinet {
		d.Para(p.T("quality.energinet"))
	}
	if r.Embodied != nil && len(r.Embodied.Defaults) > 0 {
		d.Small(p.T("quality.boavizta"))
	}
}
