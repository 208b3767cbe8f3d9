package monthly

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/embodied"
	"github.com/ecometer/ecometer/internal/energinet"
	"github.com/ecometer/ecometer/internal/targetview"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/grid"
)

// Input is what a report is built from.
type Input struct {
	Config *config.Config
	// Store holds the samples and the grid intensity; StoreDesc names it.
	Store     accounting.Store
	StoreDesc string
	Period    accounting.Period
	// Sites to report on; nil: all the configuration's sites.
	Sites []config.Site
	// Assets is the stored asset inventory (section 8); Defaults the class
	// defaults (from report.boavizta_file), DefaultsFile their file.
	Assets       []carbon.Asset
	Defaults     map[string]carbon.ClassDefault
	DefaultsFile string
	// Generated is the report's date, printed and used as the PDF's
	// creation date: the same input gives the same bytes.
	Generated time.Time
	// PowerDown (section 7) and Anomalies come from the controller and the
	// anomaly detection when they exist; nil: not applied / not run.
	PowerDown *PowerDown
	Anomalies *Anomalies
	// Kept, when set, keeps months' figures between runs (see
	// internal/monthcache; opened before Build reads anything). The
	// report's own month is always read, and offered to it.
	Kept targetview.Kept
	// Progress, when set, is told each step as it starts.
	Progress func(step string)
}

// HistoryMonths is how many months the monthly emissions chart shows.
const HistoryMonths = 24

// NoDataError is a month without any metered energy at any reported site:
// there is nothing to report, and "0 kWh" would read as a measurement.
type NoDataError struct {
	Month string
	Store string
}

func (e *NoDataError) Error() string {
	return fmt.Sprintf("no metered energy for %s in %s: nothing was collected for that month (is the store the one `serve` writes to?)", e.Month, e.Store)
}

// Build assembles the report of in.Period.
func Build(ctx context.Context, in Input) (*Report, error) {
	step := func(s string) {
		if in.Progress != nil {
			in.Progress(s)
		}
	}
	cfg := in.Config
	sites := in.Sites
	if sites == nil {
		sites = cfg.Sites
	}
	if len(sites) == 0 {
		return nil, errors.New("report: no sites")
	}
	p := in.Period
	acc, err := accounting.New(cfg, in.Store)
	if err != nil {
		return nil, err
	}
	ms := targetview.NewMonthsOf(acc, sites)
	if in.Kept != nil {
		ms.Keep(in.Kept)
	}
	r := &Report{Month: p.Label(), From: p.From, To: p.To, Generated: in.Generated, Store: in.StoreDesc,
		MinCoveragePct: cfg.Report.MinCoveragePct}
	for _, s := range sites {
		r.Sites = append(r.Sites, s.Name)
	}

	step("accounting " + p.Label())
	// One read of the month for the sites' figures and every meter.
	siteFigs, siteErrs, meters, err := acc.Month(ctx, sites, p.From, p.To)
	if err != nil {
		return nil, fmt.Errorf("report %s: %w", p.Label(), err)
	}
	for i, e := range siteErrs {
		if e != nil {
			return nil, fmt.Errorf("report %s: %s: %w", p.Label(), sites[i].Name, e)
		}
	}
	if in.Kept != nil {
		in.Kept.Store(p, siteFigs)
	}
	cur := ms.Add(p.Year, p.Month, siteFigs, siteErrs)
	noData := true
	for _, s := range cur.Sites {
		if !s.NoData() {
			noData = false
		}
	}
	if noData {
		return nil, &NoDataError{Month: p.Label(), Store: in.StoreDesc}
	}
	r.Summary.Sites = cur.Sites
	r.Summary.Total = accounting.Total(cur.Sites)
	r.Complete = r.Summary.Total.CoveragePct >= r.MinCoveragePct

	step("previous months")
	if r.Summary.Previous, err = compared(ctx, ms, p.Previous(), r.Summary.Total); err != nil {
		return nil, err
	}
	if r.Summary.YearBefore, err = compared(ctx, ms, p.YearBefore(), r.Summary.Total); err != nil {
		return nil, err
	}

	step("target path and forecast")
	if r.Target, err = targetview.ComputeThrough(ctx, ms, p.Year, p.Month); err != nil {
		return nil, fmt.Errorf("report %s: %w", p.Label(), err)
	}

	step("breakdown")
	if r.Breakdown, err = breakdown(acc, meters); err != nil {
		return nil, fmt.Errorf("report %s: %w", p.Label(), err)
	}

	for k := HistoryMonths - 1; k >= 0; k-- {
		y, m := accounting.AddMonths(p.Year, p.Month, -k)
		mo, err := ms.Get(ctx, y, m)
		if err != nil {
			return nil, err
		}
		r.History = append(r.History, mo.Figure)
	}

	step("PUE trend")
	for k := 11; k >= 0; k-- {
		y, m := accounting.AddMonths(p.Year, p.Month, -k)
		mo, err := ms.Get(ctx, y, m)
		if err != nil {
			return nil, err
		}
		for _, s := range mo.Sites {
			pm := PUEMonth{Month: mo.Figure.Month, Site: s.Site, ITKWh: s.ITKWh, FacilityKWh: s.FacilityKWh}
			if s.PUE != nil && !s.NoData() {
				v := s.PUE.Value
				pm.PUE, pm.Assumed = &v, s.PUE.Assumed
			}
			r.PUE = append(r.PUE, pm)
		}
	}
	r.EED = eedItems(r.Summary.Total, cur.Sites)

	step("grid")
	r.Grid = gridOf(cur.Sites, r.Summary.Total)

	r.PowerDown, r.Anomalies = in.PowerDown, in.Anomalies

	step("embodied")
	if len(in.Assets) > 0 {
		var scen []embodied.Scenario
		for _, x := range cfg.Report.LifetimeExtensions {
			scen = append(scen, embodied.Scenario{Class: x.Class, FromYears: x.FromYears, Years: x.ToYears})
		}
		v, err := embodied.Month(in.Assets, p.Year, p.Month, embodied.Options{Defaults: in.Defaults, DefaultsFile: in.DefaultsFile, Scenarios: scen})
		if err != nil {
			return nil, fmt.Errorf("report %s: embodied: %w", p.Label(), err)
		}
		r.Embodied = &v
	}

	r.Quality = quality(cur, meters, r.MinCoveragePct)
	if r.Grid.Energinet {
		r.Sources = append(r.Sources, energinet.Attribution)
	}
	if r.Embodied != nil && len(r.Embodied.Defaults) > 0 {
		r.Sources = append(r.Sources, embodied.BoaviztaCitation)
	}
	return r, nil
}

// compared is the month's totals against an earlier month's.
func compared(ctx context.Context, ms *targetview.Months, p accounting.Period, now accounting.Totals) (Compared, error) {
	mo, err := ms.Get(ctx, p.Year, p.Month)
	if err != nil {
		return Compared{}, err
	}
	c := Compared{Month: p.Label(), Totals: accounting.Total(mo.Sites)}
	if c.Totals.EnergyKWh <= 0 || len(mo.Sites) != now.Sites {
		return c, nil
	}
	c.Available = true
	e := accounting.ChangeOf(c.Totals.EnergyKWh, now.EnergyKWh)
	l := accounting.ChangeOf(c.Totals.LocationKgCO2e, now.LocationKgCO2e)
	c.Energy, c.Location = &e, &l
	if c.Totals.MarketKgCO2e != nil && now.MarketKgCO2e != nil && c.Totals.MarketSites == now.MarketSites {
		m := accounting.ChangeOf(*c.Totals.MarketKgCO2e, *now.MarketKgCO2e)
		c.Market = &m
	}
	return c, nil
}

func breakdown(acc *accounting.Accounting, meters []accounting.Meter) (Breakdown, error) {
	var b Breakdown
	var err error
	if b.BySite, err = acc.Groups(meters, "site"); err != nil {
		return b, err
	}
	if b.ByRoom, err = acc.Groups(meters, "room"); err != nil {
		return b, err
	}
	if b.ByClass, err = acc.Groups(meters, "class"); err != nil {
		return b, err
	}
	devices, err := acc.Groups(meters, "device")
	if err != nil {
		return b, err
	}
	b.Devices = len(devices)
	// Groups sorts by site, then energy: the top consumers are across sites.
	slices.SortStableFunc(devices, func(x, y accounting.Group) int {
		switch {
		case x.EnergyKWh > y.EnergyKWh:
			return -1
		case x.EnergyKWh < y.EnergyKWh:
			return 1
		}
		return strings.Compare(x.Key, y.Key)
	})
	b.Top = devices[:min(TopN, len(devices))]
	bal, err := acc.Balances(meters)
	if err != nil {
		return b, err
	}
	for _, x := range bal {
		b.Balances = append(b.Balances, Balance{Site: x.Meter.Site, Meter: x.Meter.Device + "/" + x.Meter.Meter, Level: string(x.Level),
			MeasuredKWh: float64(x.Measured), AttributedKWh: float64(x.Attributed), UnmeteredKWh: float64(x.Unmetered),
			OverAttributed: x.OverAttributed, Leaves: x.Leaves, MissingLeaves: len(x.MissingLeaves)})
	}
	return b, nil
}

// References into the EED texts: Directive (EU) 2023/1791 Art. 12 and
// Annex VII (what data centres publish), Delegated Regulation (EU)
// 2024/1364 Art. 3 (monitoring and communicating to the European database)
// with the information and key performance indicators of its Annex I,
// measured as its Annex II says, and the sustainability indicators PUE,
// WUE, ERF and REF computed from them.
const (
	refKPI       = "Reg. (EU) 2024/1364 Art. 3, Annex I–II; Dir. (EU) 2023/1791 Annex VII"
	refIndicator = "Reg. (EU) 2024/1364 Art. 4, Annex III"
	refInfo      = "Reg. (EU) 2024/1364 Annex I; Dir. (EU) 2023/1791 Annex VII"
)

// eedItems says, per item, what ecometer supplies for the month.
func eedItems(t accounting.Totals, sites []accounting.Site) []EEDItem {
	val := func(v float64) *float64 { return &v }
	var out []EEDItem
	// EDC: the data centre's total energy consumption.
	edc := EEDItem{Key: "edc", Reference: refKPI, Unit: "kWh", Status: NotSupplied, Basis: "no_facility_meter"}
	if t.WholeSiteKWh != nil {
		edc.Value = val(*t.WholeSiteKWh)
		edc.Status, edc.Basis = Supplied, "measured"
		if t.WholeSiteEstimated {
			edc.Status, edc.Basis = Partial, "assumed_pue"
		}
	}
	out = append(out, edc)
	// EIT: the ICT equipment's energy consumption.
	eit := EEDItem{Key: "eit", Reference: refKPI, Unit: "kWh", Status: NotSupplied, Basis: "no_it_meter"}
	if t.ITKWh > 0 {
		eit.Value, eit.Status, eit.Basis = val(t.ITKWh), Supplied, "measured"
	}
	out = append(out, eit)
	// PUE = EDC / EIT.
	pue := EEDItem{Key: "pue", Reference: refIndicator, Status: NotSupplied, Basis: "no_facility_meter"}
	switch {
	case t.PUE != nil:
		pue.Value, pue.Status, pue.Basis = val(*t.PUE), Supplied, "measured"
	case slices.ContainsFunc(sites, func(s accounting.Site) bool { return s.PUE != nil }):
		pue.Status, pue.Basis = Partial, "assumed_pue"
	}
	out = append(out, pue)
	// Renewable energy (ERES-TOT and its parts; REF = ERES-TOT / EDC):
	// ecometer knows the guarantees of origin configured per site, not
	// power purchase agreements or on-site generation.
	res := EEDItem{Key: "renewable", Reference: refKPI + "; REF: " + refIndicator, Unit: "kWh", Status: NotSupplied, Basis: "no_instruments"}
	if t.GOCoveredKWh != nil {
		res.Value, res.Status, res.Basis = val(*t.GOCoveredKWh), Partial, "guarantees_of_origin"
	}
	out = append(out, res)
	for _, k := range []struct{ key, ref, basis string }{
		{"pdit", refKPI, "design_figure"},
		{"water", refKPI + "; WUE: " + refIndicator, "not_metered"},
		{"waste_heat", refKPI + "; ERF: " + refIndicator, "not_metered"},
		{"floor_area", refInfo, "building_data"},
		{"temperature", refKPI, "not_metered"},
		{"ict_capacity", refInfo, "it_inventory"},
	} {
		out = append(out, EEDItem{Key: k.key, Reference: k.ref, Status: NotSupplied, Basis: k.basis})
	}
	return out
}

func gridOf(sites []accounting.Site, t accounting.Totals) Grid {
	g := Grid{FallbackSharePct: t.FallbackSharePct}
	var hours []accounting.Hour
	by := t.EnergyBySource
	for _, s := range sites {
		g.Sites = append(g.Sites, GridSite{Site: s.Site, Area: s.Area, WeightedGPerKWh: s.Location.WeightedGPerKWh,
			PlainGPerKWh: s.Location.PlainGPerKWh, AreaMonthGPerKW: s.AreaPlainMean})
		hours = append(hours, s.Hours...)
	}
	for _, k := range grid.SourceOrder {
		if k == grid.BuiltInHourly || k == grid.BuiltInAnnual {
			if by[string(k)] == 0 {
				continue // listed only when used, beside the stored sources
			}
		}
		g.EnergyBySource = append(g.EnergyBySource, Source{Source: string(k), EnergyKWh: by[string(k)]})
	}
	// Energinet's data, stored or built in, lies behind every hour but
	// those of an annual factor from the config.
	for _, k := range []grid.Source{grid.Measured, grid.SameHourOfWeek, grid.BuiltInHourly, grid.BuiltInAnnual} {
		g.Energinet = g.Energinet || by[string(k)] > 0
	}
	g.HourOfDay = accounting.HourOfDayProfile(hours, danish)
	return g
}

var danish = mustLoad("Europe/Copenhagen")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

func quality(cur targetview.Month, meters []accounting.Meter, threshold float64) Quality {
	var q Quality
	for _, s := range cur.Sites {
		sq := SiteQuality{Site: s.Site, CoveragePct: s.CoveragePct, HoursWithEnergy: s.HoursWith, HoursInMonth: s.HoursIn,
			FallbackSharePct: s.Location.FallbackSharePct, PUEAssumed: s.PUE != nil && s.PUE.Assumed,
			MarketConfigured: s.Market.Configured, NoAccountingMtr: len(s.Meters) == 0}
		for _, fb := range s.Location.FallbackBases {
			sq.FallbackBases = append(sq.FallbackBases, strings.TrimPrefix(fb, "annual factor "))
		}
		q.Sites = append(q.Sites, sq)
	}
	q.Problems = cur.Missing
	// Devices: the lowest coverage of their meters, counted or not.
	type dev struct{ site, name string }
	low := map[dev]float64{}
	var order []dev
	for _, m := range meters {
		d := dev{m.Site, m.Device}
		c, ok := low[d]
		if !ok {
			order = append(order, d)
			c = 100
		}
		low[d] = min(c, m.CoveragePct)
	}
	for _, d := range order {
		if c := low[d]; c < threshold {
			q.Devices = append(q.Devices, DeviceQuality{Site: d.site, Device: d.name, CoveragePct: c, NoData: c == 0})
		}
	}
	slices.SortStableFunc(q.Devices, func(x, y DeviceQuality) int {
		switch {
		case x.CoveragePct < y.CoveragePct:
			return -1
		case x.CoveragePct > y.CoveragePct:
			return 1
		}
		return strings.Compare(x.Device, y.Device)
	})
	return q
}
