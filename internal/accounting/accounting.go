// Package accounting is the accounting of a site over a period, the figures
// every command and report shares: hourly energy per meter from the store
// (the device's own counter, else integrated power), totalled at each site's
// accounting level without double counting, with its coverage; location-based
// CO2e (hourly kWh × the hour's grid intensity, with the fallbacks named) and
// market-based CO2e side by side; PUE; and energy per meter and group.
//
// It reads the store and the configuration and leaves the arithmetic to the
// pure models (energy, topology, grid, carbon).
package accounting

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/grid/builtin"
	"github.com/ecometer/ecometer/models/sample"
	"github.com/ecometer/ecometer/models/topology"
	"github.com/ecometer/ecometer/models/units"
)

// Store is what the accounting reads: samples and grid intensity.
type Store interface {
	store.Reader
	store.GridReader
}

// Accounting turns stored samples into per-site energy and emissions. It
// caches the grid data it reads and the bounds of the store's samples, so
// one Accounting serves many periods of one run; samples and grid data
// written after it first read them are seen by a new Accounting.
type Accounting struct {
	cfg     *config.Config
	st      Store
	chain   topology.Chain
	level   map[energy.MeterRef]topology.Level
	inChain map[energy.MeterRef]bool
	devices map[string]config.Device
	grid    map[string][]grid.HourValue // by area, all stored hours
	builtIn grid.BuiltIn                // the grid data shipped with ecometer

	spanMu   sync.Mutex
	spanRead bool       // span and hasData are known
	span     store.Span // bounds of the store's power samples
	hasData  bool
}

// New builds the accounting of cfg's sites over st. A power chain that would
// count energy twice is a *ChainError.
func New(cfg *config.Config, st Store) (*Accounting, error) {
	a := &Accounting{cfg: cfg, st: st, level: map[energy.MeterRef]topology.Level{},
		inChain: map[energy.MeterRef]bool{}, devices: map[string]config.Device{}, grid: map[string][]grid.HourValue{}}
	for _, d := range cfg.Devices {
		a.devices[d.Name] = d
	}
	chain, err := BuildChain(cfg)
	if err != nil {
		return nil, err
	}
	if a.builtIn, err = builtin.Data(); err != nil {
		return nil, err
	}
	a.chain = chain
	for _, m := range chain {
		a.level[m.Ref] = m.Accounting
		a.inChain[m.Ref] = true
	}
	return a, nil
}

// Chain is the power chain derived from the configuration.
func (a *Accounting) Chain() topology.Chain { return a.chain }

// Config is the configuration the accounting was built from.
func (a *Accounting) Config() *config.Config { return a.cfg }

// Site is one site's figures over a period. The JSON names are the `co2
// --json` output.
type Site struct {
	Site        string   `json:"site"`
	Area        string   `json:"price_area"`
	Level       string   `json:"accounting_level"`
	Meters      []string `json:"accounting_meters"`
	EnergyNote  string   `json:"energy_note,omitempty"`
	EnergyKWh   float64  `json:"energy_kwh"`
	CoveragePct float64  `json:"coverage_pct"`
	HoursWith   int      `json:"hours_with_energy"`
	HoursIn     int      `json:"hours_in_month"`

	Location Location `json:"location_based"`
	Market   Market   `json:"market_based"`
	PUE      *PUE     `json:"pue,omitempty"`
	// FacilityEstimate is the whole site (IT × assumed PUE) when the site
	// accounts at IT level and its PUE is assumed: the Scope 2 figures
	// above are then IT only, and this line must be read beside them.
	FacilityEstimate *Estimate `json:"facility_estimate,omitempty"`
	// AreaPlainMean is the plain mean of the area's measured hourly values
	// over the whole period (what a flat load would see); 0 without data.
	AreaPlainMean float64  `json:"area_month_plain_mean_g_per_kwh,omitempty"`
	Problems      []string `json:"problems,omitempty"`

	// Hours is the hourly use behind the figures (energy at the accounting
	// level, the intensity used and where it came from), oldest first.
	Hours []Hour `json:"-"`
	// ITKWh and FacilityKWh are the metered totals of both levels (0 when
	// the site has no meter of that level).
	ITKWh       float64 `json:"-"`
	FacilityKWh float64 `json:"-"`
}

// Hour is a site's energy in one UTC hour and the intensity applied to it.
type Hour struct {
	Hour      time.Time
	KWh       float64
	GPerKWh   float64
	Source    grid.Source
	KgCO2e    float64
	Basis     string
	Intensity bool // false: no intensity was resolved (no energy)
}

// Location is the location-based Scope 2 result.
type Location struct {
	KgCO2e           float64            `json:"kg_co2e"`
	WeightedGPerKWh  float64            `json:"consumption_weighted_g_per_kwh"`
	PlainGPerKWh     float64            `json:"plain_average_g_per_kwh"`
	Hours            int                `json:"hours"`
	EnergyBySource   map[string]float64 `json:"energy_kwh_by_intensity_source"`
	FallbackSharePct float64            `json:"fallback_share_pct"`
	FallbackBases    []string           `json:"fallback_bases,omitempty"`
}

// Market is the market-based Scope 2 result, or why there is none.
type Market struct {
	Configured  bool         `json:"configured"`
	KgCO2e      *float64     `json:"kg_co2e,omitempty"` // set when configured, 0 included
	Instruments *Instruments `json:"instruments,omitempty"`
	Note        string       `json:"note"`
}

// Instruments is how the market-based figure was obtained.
type Instruments struct {
	GOSharePct      float64 `json:"go_share_pct"`
	ResidualGPerKWh float64 `json:"residual_g_per_kwh"`
	ResidualSource  string  `json:"residual_source"`
	CoveredByGOKWh  float64 `json:"energy_kwh_covered_by_go"`
	ResidualKWh     float64 `json:"energy_kwh_at_residual"`
}

// PUE is a site's power usage effectiveness over the period.
type PUE struct {
	Value   float64 `json:"value"`
	Assumed bool    `json:"assumed"`
}

// Estimate is a labelled estimate of the whole site from IT figures.
type Estimate struct {
	EnergyKWh        float64  `json:"energy_kwh"`
	LocationKgCO2e   float64  `json:"location_based_kg_co2e"`
	MarketKgCO2e     *float64 `json:"market_based_kg_co2e,omitempty"`
	AssumedPUE       float64  `json:"assumed_pue"`
	Note             string   `json:"note"`
	LocationFromSite float64  `json:"-"`
}

// MarketNotConfigured is the market-based note of a site without instruments.
const MarketNotConfigured = "not configured: the config has no contractual instruments (guarantees of origin, residual factor) for this site"

// Scope2NotNetted says how the two Scope 2 figures relate.
const Scope2NotNetted = "location- and market-based are two views of the same energy: shown side by side, never netted or added"

// NoData reports whether the site has no metered energy in the period.
func (s Site) NoData() bool { return s.HoursWith == 0 || s.CoveragePct == 0 }

// Site computes a site's energy and emissions in [from, to).
func (a *Accounting) Site(ctx context.Context, site config.Site, from, to time.Time) (Site, error) {
	perMeter, err := a.read(ctx, store.Query{Site: site.Name}, from, to, a.accountingMeter)
	if err != nil {
		return Site{}, fmt.Errorf("accounting %s: %w", site.Name, err)
	}
	return a.siteOf(ctx, site, from, to, perMeter)
}

// accountingMeter keeps the meters totals are taken at.
func (a *Accounting) accountingMeter(ref energy.MeterRef) bool { return a.level[ref] != topology.None }

// Sites computes several sites' figures in [from, to) from one read of the
// store (one query instead of one per site). errs[i] is site i's own
// problem (no grid data for its area, say), its figures then zero; err is
// the store failing.
func (a *Accounting) Sites(ctx context.Context, sites []config.Site, from, to time.Time) (out []Site, errs []error, err error) {
	perMeter, err := a.read(ctx, a.queryOf(sites), from, to, a.accountingMeter)
	if err != nil {
		return nil, nil, fmt.Errorf("accounting: %w", err)
	}
	return a.sitesOf(ctx, sites, from, to, perMeter)
}

func (a *Accounting) sitesOf(ctx context.Context, sites []config.Site, from, to time.Time, perMeter map[energy.MeterRef][]energy.Hourly) ([]Site, []error, error) {
	out := make([]Site, len(sites))
	errs := make([]error, len(sites))
	for i, s := range sites {
		if err := ctx.Err(); err != nil {
			return nil, nil, err
		}
		out[i], errs[i] = a.siteOf(ctx, s, from, to, perMeter)
	}
	return out, errs, nil
}

// Month is the sites' figures and every meter of theirs in [from, to),
// from one read of the store: what a report of a month needs, at the cost
// of one pass over its data.
func (a *Accounting) Month(ctx context.Context, sites []config.Site, from, to time.Time) ([]Site, []error, []Meter, error) {
	perMeter, err := a.read(ctx, a.queryOf(sites), from, to, a.inSites(sites))
	if err != nil {
		return nil, nil, nil, fmt.Errorf("accounting: %w", err)
	}
	out, errs, err := a.sitesOf(ctx, sites, from, to, perMeter)
	if err != nil {
		return nil, nil, nil, err
	}
	return out, errs, a.metersOf(perMeter, a.inSites(sites), from, to), nil
}

// queryOf reads one site, or all of them (a subset of several is filtered
// as it is read).
func (a *Accounting) queryOf(sites []config.Site) store.Query {
	if len(sites) == 1 {
		return store.Query{Site: sites[0].Name}
	}
	return store.Query{}
}

// inSites keeps the meters of the given sites.
func (a *Accounting) inSites(sites []config.Site) func(energy.MeterRef) bool {
	names := map[string]bool{}
	for _, s := range sites {
		names[s.Name] = true
	}
	return func(ref energy.MeterRef) bool { return names[ref.Site] }
}

// siteOf computes a site's figures from the hourly energy per meter read
// for [from, to) (which may hold other sites' meters too).
func (a *Accounting) siteOf(ctx context.Context, site config.Site, from, to time.Time, perMeter map[energy.MeterRef][]energy.Hourly) (Site, error) {
	hoursIn := int(to.Sub(from) / time.Hour)
	r := Site{Site: site.Name, Area: string(site.PriceArea), Level: string(site.Accounting), HoursIn: hoursIn,
		Market: Market{Note: MarketNotConfigured}}
	var err error
	// Hourly energy per level.
	byLevel := map[topology.Level]map[time.Time]units.KWh{topology.IT: {}, topology.Facility: {}}
	covered := map[topology.Level]float64{}
	meters := map[topology.Level][]string{}
	for _, m := range a.chain {
		if m.Ref.Site != site.Name || m.Accounting == topology.None {
			continue
		}
		meters[m.Accounting] = append(meters[m.Accounting], meterName(m.Ref))
		for _, h := range perMeter[m.Ref] {
			byLevel[m.Accounting][h.Hour] += h.Energy
			covered[m.Accounting] += h.CoveragePct / 100
		}
	}
	level, scaledByPUE := levelOf(a.chain, site)
	use := byLevel[level]
	r.Meters = meters[level]
	scale := 1.0
	switch {
	case len(meters[level]) > 0 && !scaledByPUE:
		r.CoveragePct = 100 * covered[level] / float64(len(meters[level])*hoursIn)
	case scaledByPUE && len(meters[topology.IT]) > 0:
		// No facility meter: IT energy × the site's assumed PUE, labelled.
		scale = site.AssumedPUE
		r.CoveragePct = 100 * covered[topology.IT] / float64(len(meters[topology.IT])*hoursIn)
		r.EnergyNote = fmt.Sprintf("facility energy = IT energy × assumed PUE %.2f (the site has no facility meter)", site.AssumedPUE)
	default:
		want := topology.Level(site.Accounting)
		r.Problems = append(r.Problems, fmt.Sprintf("no %s accounting meter: no device of this site has accounting_role %s", want, want))
	}
	// PUE over the period.
	itE, facE := sumKWh(byLevel[topology.IT]), sumKWh(byLevel[topology.Facility])
	r.ITKWh, r.FacilityKWh = float64(itE), float64(facE)
	switch {
	case len(meters[topology.Facility]) > 0 && itE > 0:
		r.PUE = &PUE{Value: float64(facE / itE)}
	case len(meters[topology.Facility]) == 0 && site.AssumedPUE >= 1:
		r.PUE = &PUE{Value: site.AssumedPUE, Assumed: true}
	}

	var uses []carbon.Use
	var usedHours []time.Time
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		if e, ok := use[h]; ok {
			uses = append(uses, carbon.Use{Hour: h, Energy: units.KWh(float64(e) * scale)})
			usedHours = append(usedHours, h)
			r.HoursWith++
		}
	}
	values, err := a.gridValues(ctx, r.Area)
	if err != nil {
		return Site{}, err
	}
	if stats, err := grid.PeriodStats(r.Area, values, from, to); err == nil {
		r.AreaPlainMean = float64(stats.Mean)
	}
	r.Location.EnergyBySource = map[string]float64{}
	var loc carbon.Location
	in, hasMarket := instruments(site.Market)
	var mkt carbon.Market
	var intensity []grid.Intensity
	if len(uses) > 0 {
		// Only the hours with energy need an intensity.
		intensity, err = a.resolve(r.Area, values, usedHours)
		if err != nil {
			return Site{}, fmt.Errorf("accounting %s: %w", site.Name, err)
		}
		if hasMarket {
			// Both from the same hourly use: the market-based figure applies
			// the instruments to exactly the energy the location-based one counts.
			both, err := carbon.BothScope2(uses, intensity, in)
			if err != nil {
				return Site{}, fmt.Errorf("accounting %s: %w", site.Name, err)
			}
			loc, mkt = both.Location, both.Market
		} else if loc, err = carbon.LocationBased(uses, intensity); err != nil {
			return Site{}, fmt.Errorf("accounting %s: %w", site.Name, err)
		}
		r.Location.FallbackBases = fallbackBases(intensity)
	}
	for i, u := range uses {
		h := Hour{Hour: u.Hour, KWh: float64(u.Energy)}
		if i < len(intensity) {
			in := intensity[i]
			h.GPerKWh, h.Source, h.Basis, h.Intensity = float64(in.Value), in.Source, in.Basis, true
			h.KgCO2e = h.KWh * h.GPerKWh / 1000
		}
		r.Hours = append(r.Hours, h)
	}
	r.EnergyKWh = float64(loc.Energy)
	r.Location.KgCO2e = float64(loc.Emissions)
	r.Location.WeightedGPerKWh = float64(loc.Weighted)
	r.Location.PlainGPerKWh = float64(loc.Plain)
	r.Location.Hours = loc.Hours
	for k, v := range loc.EnergyBySource {
		r.Location.EnergyBySource[string(k)] = float64(v)
	}
	r.Location.FallbackSharePct = 100 * loc.FallbackShare()
	if hasMarket {
		if len(uses) == 0 {
			if mkt, err = carbon.MarketBased(0, in); err != nil {
				return Site{}, fmt.Errorf("accounting %s: %w", site.Name, err)
			}
		}
		r.Market = marketResult(mkt, in)
	}
	if level == topology.IT && !scaledByPUE && r.PUE != nil && r.PUE.Assumed && r.EnergyKWh > 0 {
		e := &Estimate{EnergyKWh: r.EnergyKWh * r.PUE.Value, LocationKgCO2e: r.Location.KgCO2e * r.PUE.Value,
			AssumedPUE: r.PUE.Value,
			Note: fmt.Sprintf("whole site, estimated: the IT figures above × assumed PUE %.2f (no facility meter); the Scope 2 figures above are IT only",
				r.PUE.Value)}
		if r.Market.KgCO2e != nil {
			m := *r.Market.KgCO2e * r.PUE.Value
			e.MarketKgCO2e = &m
		}
		r.FacilityEstimate = e
	}
	return r, nil
}

// read streams the hourly aggregates of the meters keep accepts for
// [from, to) and returns their hourly energy, hours outside the period
// dropped. It reads one hour before the period, so that the first hour's
// counter delta starts at the last reading before it.
func (a *Accounting) read(ctx context.Context, q store.Query, from, to time.Time, keep func(energy.MeterRef) bool) (map[energy.MeterRef][]energy.Hourly, error) {
	q.From, q.To = from.Add(-time.Hour), to
	want := keep
	keep = withInlets(want) // a device without a total is totalled from its inlets
	out := map[energy.MeterRef][]energy.Hourly{}
	if skip, err := a.noData(ctx, q.From, q.To); err != nil || skip {
		return out, err
	}
	var (
		cur    energy.MeterRef
		series sample.Series
		rows   []energy.HourlyAggregate
		seen   = map[energy.MeterRef]sample.Series{}
	)
	flush := func() error {
		if len(rows) == 0 {
			return nil
		}
		res, err := energy.HourlyFromAggregates(rows, a.interval(cur.Device), 0)
		if err != nil {
			return err
		}
		hours := res.Hours[:0]
		for _, h := range res.Hours {
			if !h.Hour.Before(from) && h.Hour.Before(to) {
				hours = append(hours, h)
			}
		}
		out[cur] = hours
		rows = nil
		return nil
	}
	twoSeries := func(ref energy.MeterRef, a, b sample.Series) error {
		return fmt.Errorf("meter %s has samples in two series (%s and %s); cannot tell which to count", ref, describeSeries(a), describeSeries(b))
	}
	err := a.st.HourlyEach(ctx, q, func(h store.Hourly) error {
		ref := energy.MeterRef{Site: h.Series.Site, Device: h.Series.Device, Meter: h.Series.Meter}
		if !keep(ref) {
			return nil
		}
		if len(rows) == 0 || ref != cur {
			if err := flush(); err != nil {
				return err
			}
			if first, dup := seen[ref]; dup {
				return twoSeries(ref, first, h.Series)
			}
			cur, series = ref, h.Series
			seen[ref] = series
		} else if h.Series != series || !h.Hour.After(rows[len(rows)-1].Hour) {
			return twoSeries(ref, series, h.Series)
		}
		rows = append(rows, Aggregate(ref, h))
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	totalsFromInlets(out)
	for ref := range out {
		if !want(ref) {
			delete(out, ref)
		}
	}
	return out, nil
}

// noData reports whether the store is known to hold no power sample in
// [from, to), so that reading it would return nothing: a store that bounds
// its samples (store.Spanner) is asked once, and periods outside the bounds
// (the years of a target view before the first sample) are not read.
func (a *Accounting) noData(ctx context.Context, from, to time.Time) (bool, error) {
	sp, ok := a.st.(store.Spanner)
	if !ok {
		return false, nil
	}
	a.spanMu.Lock()
	defer a.spanMu.Unlock()
	if !a.spanRead {
		span, has, err := sp.PowerSpan(ctx)
		if err != nil {
			return false, err
		}
		a.span, a.hasData, a.spanRead = span, has, true
	}
	return !a.hasData || !a.span.Overlaps(from, to), nil
}

// describeSeries names what tells two series of one meter apart.
func describeSeries(s sample.Series) string {
	return fmt.Sprintf("source %s, room %q, rack %q, class %s", s.Source, s.Room, s.Rack, s.Class)
}

// interval is a device's poll interval (its own, else its class's), which
// bounds how much of an hour one power sample covers.
func (a *Accounting) interval(device string) time.Duration {
	d, ok := a.devices[device]
	if !ok {
		return time.Minute
	}
	if iv := d.Interval.Std(); iv > 0 {
		return iv
	}
	if iv := a.cfg.Collection.Intervals.For(d.Class).Std(); iv > 0 {
		return iv
	}
	return time.Minute
}

// Aggregate converts a store row for the energy model.
func Aggregate(ref energy.MeterRef, h store.Hourly) energy.HourlyAggregate {
	return energy.HourlyAggregate{Meter: ref, Hour: h.Hour,
		PowerSamples: h.PowerSamples, PowerMeanW: h.PowerMeanW, CounterSamples: h.CounterSamples,
		CounterFirstKWh: h.CounterFirstKWh, CounterLastKWh: h.CounterLastKWh,
		CounterFirstAt: h.CounterFirstAt, CounterLastAt: h.CounterLastAt}
}

// sumKWh adds up the hours in time order: floating-point addition in map
// order would make the last digits differ from run to run.
func sumKWh(m map[time.Time]units.KWh) units.KWh {
	hours := slices.SortedFunc(maps.Keys(m), time.Time.Compare)
	var s units.KWh
	for _, h := range hours {
		s += m[h]
	}
	return s
}

// gridValues returns every stored hour of area (the fallback may reach for
// the same hour of a week outside the period).
func (a *Accounting) gridValues(ctx context.Context, area string) ([]grid.HourValue, error) {
	if v, ok := a.grid[area]; ok {
		return v, nil
	}
	hours, err := a.st.GridHours(ctx, area, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	v := store.HourValues(hours)
	a.grid[area] = v
	return v, nil
}

// factors are the config's annual factors; they are given for grid.area.
func (a *Accounting) factors(area string) []grid.Factor {
	if area != string(a.cfg.Grid.Area) {
		return nil
	}
	var out []grid.Factor
	for _, f := range a.cfg.Grid.AnnualFactors {
		out = append(out, grid.Factor{Area: area, Year: f.Year, Intensity: units.GramsPerKWh(f.GPerKWh), Source: f.Source})
	}
	return out
}

// instruments converts a site's configured market block.
func instruments(m *config.Market) (carbon.Instruments, bool) {
	if m == nil {
		return carbon.Instruments{}, false
	}
	in := carbon.Instruments{GOShare: m.GOSharePct / 100, ResidualSource: m.ResidualSource}
	if m.ResidualGPerKWh != nil {
		in.Residual = units.GramsPerKWh(*m.ResidualGPerKWh)
	} else {
		in.ResidualSource = "none needed: all consumption covered by guarantees of origin"
	}
	return in, true
}

// marketResult labels a market-based result for output.
func marketResult(m carbon.Market, in carbon.Instruments) Market {
	kg := float64(m.Emissions)
	return Market{Configured: true, KgCO2e: &kg,
		Instruments: &Instruments{GOSharePct: 100 * in.GOShare, ResidualGPerKWh: float64(in.Residual), ResidualSource: in.ResidualSource,
			CoveredByGOKWh: float64(m.CoveredByGO), ResidualKWh: float64(m.Residual)},
		Note: "Scope 2, " + strings.TrimPrefix(m.Method, "market-based: ")}
}
