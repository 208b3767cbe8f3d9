package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/energy"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/topology"
	"github.com/ecometer/ecometer/models/units"
)

// accountingMeter is the meter of a device that its totals are read from.
const accountingMeter = "total"

func newCO2Command() *cli.Command {
	return &cli.Command{
		Name:      "co2",
		Usage:     "Scope 2 emissions of a month per site, location- and market-based",
		UsageText: "ecometer co2 --config FILE --month YYYY-MM [--site S] [--json]",
		Description: "Hourly energy per meter from the store, totalled per site at its accounting\n" +
			"level, times the hourly grid intensity of the site's price area (location-based),\n" +
			"with the fallback for hours without data (same hour of the nearest week, then\n" +
			"grid.annual_factors). Market-based (sites[].market: go_share_pct of the consumption\n" +
			"covered by guarantees of origin at 0 g/kWh, the rest at residual_g_per_kwh) is\n" +
			"shown beside it, labelled, never netted. The month is the Danish calendar month.\n" +
			gridSource + "\n\n" +
			"Examples:\n   ecometer co2 --config site.yaml --month 2025-10\n" +
			"   ecometer co2 --config site.yaml --month 2025-10 --site odense-dc1 --json\n" +
			"   ecometer co2 target --config site.yaml\n" +
			"   ecometer co2 embodied --config site.yaml --month 2025-10 --boavizta boavizta-data-us.csv",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store)"},
			&cli.StringFlag{Name: "month", Usage: "Danish calendar `MONTH`, YYYY-MM"},
			&cli.StringFlag{Name: "site", Usage: "only `SITE`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unknown subcommand or argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runCO2(ctx, co2Options{Config: cmd.String("config"), Month: cmd.String("month"),
				Site: cmd.String("site"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
		Commands: []*cli.Command{newCO2TargetCommand(), newCO2EmbodiedCommand()},
	}
}

type co2Options struct {
	Config string
	Month  string
	Site   string
	JSON   bool
}

// siteCO2 is one site's month.
type siteCO2 struct {
	Site        string   `json:"site"`
	Area        string   `json:"price_area"`
	Level       string   `json:"accounting_level"`
	Meters      []string `json:"accounting_meters"`
	EnergyNote  string   `json:"energy_note,omitempty"`
	EnergyKWh   float64  `json:"energy_kwh"`
	CoveragePct float64  `json:"coverage_pct"`
	HoursWith   int      `json:"hours_with_energy"`
	HoursInMon  int      `json:"hours_in_month"`

	Location locationJSON `json:"location_based"`
	Market   marketJSON   `json:"market_based"`
	PUE      *pueJSON     `json:"pue,omitempty"`
	// AreaPlainMean is the plain mean of the area's measured hourly values
	// over the whole month (what a flat load would see); 0 without data.
	AreaPlainMean float64  `json:"area_month_plain_mean_g_per_kwh,omitempty"`
	Problems      []string `json:"problems,omitempty"`
}

type locationJSON struct {
	KgCO2e           float64            `json:"kg_co2e"`
	WeightedGPerKWh  float64            `json:"consumption_weighted_g_per_kwh"`
	PlainGPerKWh     float64            `json:"plain_average_g_per_kwh"`
	Hours            int                `json:"hours"`
	EnergyBySource   map[string]float64 `json:"energy_kwh_by_intensity_source"`
	FallbackSharePct float64            `json:"fallback_share_pct"`
	FallbackBases    []string           `json:"fallback_bases,omitempty"`
}

type marketJSON struct {
	Configured  bool             `json:"configured"`
	KgCO2e      *float64         `json:"kg_co2e,omitempty"` // set when configured, 0 included
	Instruments *instrumentsJSON `json:"instruments,omitempty"`
	Note        string           `json:"note"`
}

// instrumentsJSON is how the market-based figure was obtained.
type instrumentsJSON struct {
	GOSharePct      float64 `json:"go_share_pct"`
	ResidualGPerKWh float64 `json:"residual_g_per_kwh"`
	ResidualSource  string  `json:"residual_source"`
	CoveredByGOKWh  float64 `json:"energy_kwh_covered_by_go"`
	ResidualKWh     float64 `json:"energy_kwh_at_residual"`
}

type pueJSON struct {
	Value   float64 `json:"value"`
	Assumed bool    `json:"assumed"`
}

type co2JSON struct {
	Month  string    `json:"month"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Sites  []siteCO2 `json:"sites"`
	Store  string    `json:"store"`
	Source string    `json:"source"`
}

const marketNotConfigured = "not configured: the config has no contractual instruments (guarantees of origin, residual factor) for this site"

// scope2NotNetted says how the two Scope 2 figures relate.
const scope2NotNetted = "location- and market-based are two views of the same energy: shown side by side, never netted or added"

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
func marketResult(m carbon.Market, in carbon.Instruments) marketJSON {
	kg := float64(m.Emissions)
	return marketJSON{Configured: true, KgCO2e: &kg,
		Instruments: &instrumentsJSON{GOSharePct: 100 * in.GOShare, ResidualGPerKWh: float64(in.Residual), ResidualSource: in.ResidualSource,
			CoveredByGOKWh: float64(m.CoveredByGO), ResidualKWh: float64(m.Residual)},
		Note: "Scope 2, " + strings.TrimPrefix(m.Method, "market-based: ")}
}

func runCO2(ctx context.Context, opts co2Options, s streams) error {
	if opts.Config == "" {
		return usageErrorf("co2: --config FILE is required: the sites and devices come from it")
	}
	if opts.Month == "" {
		return usageErrorf("co2: --month YYYY-MM is required")
	}
	year, month, err := parseMonth("month", opts.Month)
	if err != nil {
		return err
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	sites := cfg.Sites
	if opts.Site != "" {
		i := slices.IndexFunc(sites, func(x config.Site) bool { return x.Name == opts.Site })
		if i < 0 {
			var names []string
			for _, x := range sites {
				names = append(names, x.Name)
			}
			return usageErrorf("co2: --site %q is not in %s (sites: %s)", opts.Site, opts.Config, strings.Join(names, ", "))
		}
		sites = sites[i : i+1]
	}
	st, where, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	acc, err := newAccounting(cfg, st)
	if err != nil {
		return err
	}
	from, to := grid.DanishMonth(year, month)
	out := co2JSON{Month: opts.Month, From: from, To: to, Store: where, Source: gridSource}
	for _, site := range sites {
		res, err := acc.month(ctx, site, from, to)
		if err != nil {
			return err
		}
		out.Sites = append(out.Sites, res.json)
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeCO2Text(s.Out, out)
}

func writeCO2Text(w io.Writer, out co2JSON) error {
	fmt.Fprintf(w, "CO2e for %s (Danish calendar month: %s – %s)\n", out.Month, out.From.Format(hourFormat), out.To.Format(hourFormat))
	for _, r := range out.Sites {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "\nSite %s (%s, accounting level %s)\n", r.Site, r.Area, r.Level)
		fmt.Fprintf(tw, "  energy\t%.3f kWh  %s at %s; coverage %.1f %%, %d of %d hours with energy\n", r.EnergyKWh,
			plural(len(r.Meters), "accounting meter"), strings.Join(r.Meters, ", "), r.CoveragePct, r.HoursWith, r.HoursInMon)
		if r.EnergyNote != "" {
			fmt.Fprintf(tw, "  \t%s\n", r.EnergyNote)
		}
		if len(r.Problems) > 0 {
			for _, p := range r.Problems {
				fmt.Fprintf(tw, "  problem\t%s\n", p)
			}
		}
		l := r.Location
		fmt.Fprintf(tw, "  location-based\t%.3f kg CO2e  Scope 2, Σ hourly kWh × hourly %s intensity\n", l.KgCO2e, r.Area)
		fmt.Fprintf(tw, "  market-based\t")
		if m := r.Market; m.Configured && m.KgCO2e != nil && m.Instruments != nil {
			fmt.Fprintf(tw, "%.3f kg CO2e  %s\n", *m.KgCO2e, m.Note)
			fmt.Fprintf(tw, "  \t%.3f kWh covered by guarantees of origin (0 g/kWh), %.3f kWh at the residual factor\n",
				m.Instruments.CoveredByGOKWh, m.Instruments.ResidualKWh)
			fmt.Fprintf(tw, "  \t%s\n", scope2NotNetted)
		} else {
			fmt.Fprintf(tw, "%s\n", m.Note)
		}
		if r.EnergyKWh == 0 {
			fmt.Fprintf(tw, "  intensity\tnone: no metered energy in the month\n")
			if r.AreaPlainMean > 0 {
				fmt.Fprintf(tw, "  \t%.4f g/kWh  plain mean of %s over the whole month (measured hours)\n", r.AreaPlainMean, r.Area)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			continue
		}
		fmt.Fprintf(tw, "  intensity\t%.4f g/kWh  consumption-weighted\n", l.WeightedGPerKWh)
		fmt.Fprintf(tw, "  \t%.4f g/kWh  plain average of the same %d hours\n", l.PlainGPerKWh, l.Hours)
		if r.AreaPlainMean > 0 {
			fmt.Fprintf(tw, "  \t%.4f g/kWh  plain mean of %s over the whole month (measured hours)\n", r.AreaPlainMean, r.Area)
		}
		src := make([]string, 0, 3)
		for _, k := range []grid.Source{grid.Measured, grid.SameHourOfWeek, grid.AnnualFactor} {
			share := 0.0
			if r.EnergyKWh > 0 {
				share = 100 * l.EnergyBySource[string(k)] / r.EnergyKWh
			}
			src = append(src, fmt.Sprintf("%s %.1f %%", k, share))
		}
		fmt.Fprintf(tw, "  intensity source\t%s of the energy\n", strings.Join(src, ", "))
		for _, b := range l.FallbackBases {
			fmt.Fprintf(tw, "  \tfallback: %s\n", b)
		}
		if r.PUE != nil {
			label := "measured: facility / IT energy"
			if r.PUE.Assumed {
				label = "assumed (site's assumed_pue; no facility meter)"
			}
			fmt.Fprintf(tw, "  PUE\t%.2f  %s\n", r.PUE.Value, label)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n%s\n", out.Store, out.Source)
	return err
}

// accounting turns stored samples into per-site energy and emissions.
type accounting struct {
	cfg     *config.Config
	st      dataStore
	chain   topology.Chain
	level   map[energy.MeterRef]topology.Level
	devices map[string]config.Device
	grid    map[string][]grid.HourValue // by area, all stored hours
}

func newAccounting(cfg *config.Config, st dataStore) (*accounting, error) {
	a := &accounting{cfg: cfg, st: st, level: map[energy.MeterRef]topology.Level{},
		devices: map[string]config.Device{}, grid: map[string][]grid.HourValue{}}
	for _, d := range cfg.Devices {
		a.devices[d.Name] = d
	}
	chain, err := buildChain(cfg)
	if err != nil {
		return nil, err
	}
	a.chain = chain
	for _, m := range chain {
		a.level[m.Ref] = m.Accounting
	}
	return a, nil
}

// buildChain derives the power chain from the devices: each device's total
// meter, fed by the meter its feeds names (a meter other than total, such as
// pdu-a/outlet/5, is itself fed by its device's total). A device with
// accounting role it or facility is an accounting meter of that level unless
// a device upstream of it already has the same role: totals are taken at the
// top of each role's part of the chain, so nothing is counted twice.
func buildChain(cfg *config.Config) (topology.Chain, error) {
	byName := map[string]config.Device{}
	for _, d := range cfg.Devices {
		byName[d.Name] = d
	}
	total := func(d config.Device) energy.MeterRef {
		return energy.MeterRef{Site: d.Site, Device: d.Name, Meter: accountingMeter}
	}
	feeder := func(d config.Device) (energy.MeterRef, bool) {
		if d.Feeds == "" {
			return energy.MeterRef{}, false
		}
		ref, err := config.ParseMeterRef(d.Feeds)
		up, ok := byName[ref.Device]
		if err != nil || !ok {
			return energy.MeterRef{}, false
		}
		return energy.MeterRef{Site: up.Site, Device: up.Name, Meter: ref.Meter}, true
	}
	var chain topology.Chain
	extra := map[energy.MeterRef]bool{}
	for _, d := range cfg.Devices {
		m := topology.Meter{Ref: total(d)}
		if f, ok := feeder(d); ok {
			m.FedBy = f
			if f.Meter != accountingMeter && !extra[f] {
				extra[f] = true
				chain = append(chain, topology.Meter{Ref: f, FedBy: total(byName[f.Device])})
			}
		}
		role := topology.Level(d.AccountingRole)
		if role == topology.IT || role == topology.Facility {
			m.Accounting = role
			seen := map[string]bool{d.Name: true}
			for up := d; ; {
				f, ok := feeder(up)
				if !ok || seen[f.Device] {
					break
				}
				seen[f.Device] = true
				up = byName[f.Device]
				if topology.Level(up.AccountingRole) == role {
					m.Accounting = topology.None
					break
				}
			}
		}
		chain = append(chain, m)
	}
	if err := chain.Validate(); err != nil {
		return nil, &exitError{code: exitBadUse, err: fmt.Errorf("power chain from the config's feeds and accounting roles: %w", err)}
	}
	return chain, nil
}

// siteMonth is one site's result, with the figures the target needs.
type siteMonth struct {
	json      siteCO2
	emissions units.KgCO2e
	energy    units.KWh
}

// month computes a site's energy and location-based emissions in [from, to).
func (a *accounting) month(ctx context.Context, site config.Site, from, to time.Time) (siteMonth, error) {
	hoursIn := int(to.Sub(from) / time.Hour)
	r := siteCO2{Site: site.Name, Area: string(site.PriceArea), Level: string(site.Accounting), HoursInMon: hoursIn,
		Market: marketJSON{Note: marketNotConfigured}}
	// One hour before the month, so the first hour's counter delta starts
	// at the last reading before it.
	rows, err := a.st.Hourly(ctx, store.Query{Site: site.Name, From: from.Add(-time.Hour), To: to})
	if err != nil {
		return siteMonth{}, err
	}
	perMeter := map[energy.MeterRef][]energy.HourlyAggregate{}
	for _, h := range rows {
		ref := energy.MeterRef{Site: h.Series.Site, Device: h.Series.Device, Meter: h.Series.Meter}
		if a.level[ref] == topology.None {
			continue // only accounting meters make totals
		}
		rs := perMeter[ref]
		if len(rs) > 0 && !h.Hour.After(rs[len(rs)-1].Hour) {
			return siteMonth{}, fmt.Errorf("co2 %s: meter %s has samples from more than one source (%s); cannot tell which to count",
				site.Name, ref, h.Series.Source)
		}
		perMeter[ref] = append(rs, hourlyAggregate(ref, h))
	}
	// Hourly energy per level.
	byLevel := map[topology.Level]map[time.Time]units.KWh{topology.IT: {}, topology.Facility: {}}
	covered := map[topology.Level]float64{}
	meters := map[topology.Level][]string{}
	for _, m := range a.chain {
		if m.Ref.Site != site.Name || m.Accounting == topology.None {
			continue
		}
		meters[m.Accounting] = append(meters[m.Accounting], m.Ref.Device+"/"+m.Ref.Meter)
		agg := perMeter[m.Ref]
		if len(agg) == 0 {
			continue
		}
		res, err := energy.HourlyFromAggregates(agg, a.devices[m.Ref.Device].Interval.Std(), 0)
		if err != nil {
			return siteMonth{}, fmt.Errorf("co2 %s: %w", site.Name, err)
		}
		for _, h := range res.Hours {
			if h.Hour.Before(from) || !h.Hour.Before(to) {
				continue
			}
			byLevel[m.Accounting][h.Hour] += h.Energy
			covered[m.Accounting] += h.CoveragePct / 100
		}
	}
	level := topology.Level(site.Accounting)
	use := byLevel[level]
	r.Meters = meters[level]
	scale := 1.0
	switch {
	case len(meters[level]) > 0:
		r.CoveragePct = 100 * covered[level] / float64(len(meters[level])*hoursIn)
	case level == topology.Facility && len(meters[topology.IT]) > 0:
		// No facility meter: IT energy × the site's assumed PUE, labelled.
		use, scale, r.Meters = byLevel[topology.IT], site.AssumedPUE, meters[topology.IT]
		r.CoveragePct = 100 * covered[topology.IT] / float64(len(meters[topology.IT])*hoursIn)
		r.EnergyNote = fmt.Sprintf("facility energy = IT energy × assumed PUE %.2f (the site has no facility meter)", site.AssumedPUE)
	default:
		r.Problems = append(r.Problems, fmt.Sprintf("no %s accounting meter: no device of this site has accounting_role %s", level, level))
	}
	// PUE over the month.
	itE, facE := sumKWh(byLevel[topology.IT]), sumKWh(byLevel[topology.Facility])
	switch {
	case len(meters[topology.Facility]) > 0 && itE > 0:
		r.PUE = &pueJSON{Value: float64(facE / itE)}
	case len(meters[topology.Facility]) == 0 && site.AssumedPUE >= 1:
		r.PUE = &pueJSON{Value: site.AssumedPUE, Assumed: true}
	}

	var uses []carbon.Use
	for h := from; h.Before(to); h = h.Add(time.Hour) {
		if e, ok := use[h]; ok {
			uses = append(uses, carbon.Use{Hour: h, Energy: units.KWh(float64(e) * scale)})
			r.HoursWith++
		}
	}
	values, err := a.gridValues(ctx, r.Area)
	if err != nil {
		return siteMonth{}, err
	}
	if stats, err := grid.PeriodStats(r.Area, values, from, to); err == nil {
		r.AreaPlainMean = float64(stats.Mean)
	}
	r.Location.EnergyBySource = map[string]float64{}
	var loc carbon.Location
	in, hasMarket := instruments(site.Market)
	var mkt carbon.Market
	if len(uses) > 0 {
		intensity, err := grid.Resolve(r.Area, values, a.factors(r.Area), from, to)
		if err != nil {
			return siteMonth{}, fmt.Errorf("co2 %s: %w; import grid data (`ecometer grid import`/`fetch`) or add grid.annual_factors to the config", site.Name, err)
		}
		if hasMarket {
			// Both from the same hourly use: the market-based figure applies
			// the instruments to exactly the energy the location-based one counts.
			both, err := carbon.BothScope2(uses, intensity, in)
			if err != nil {
				return siteMonth{}, fmt.Errorf("co2 %s: %w", site.Name, err)
			}
			loc, mkt = both.Location, both.Market
		} else if loc, err = carbon.LocationBased(uses, intensity); err != nil {
			return siteMonth{}, fmt.Errorf("co2 %s: %w", site.Name, err)
		}
		seen := map[string]bool{}
		used := map[time.Time]bool{}
		for _, u := range uses {
			used[u.Hour] = true
		}
		for _, in := range intensity {
			if in.Source == grid.AnnualFactor && used[in.Hour] && !seen[in.Basis] {
				seen[in.Basis] = true
				r.Location.FallbackBases = append(r.Location.FallbackBases, "annual factor "+in.Basis)
			}
		}
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
				return siteMonth{}, fmt.Errorf("co2 %s: %w", site.Name, err)
			}
		}
		r.Market = marketResult(mkt, in)
	}
	return siteMonth{json: r, emissions: loc.Emissions, energy: loc.Energy}, nil
}

// hourlyAggregate converts a store row for the energy model.
func hourlyAggregate(ref energy.MeterRef, h store.Hourly) energy.HourlyAggregate {
	return energy.HourlyAggregate{Meter: ref, Hour: h.Hour,
		PowerSamples: h.PowerSamples, PowerMeanW: h.PowerMeanW, CounterSamples: h.CounterSamples,
		CounterFirstKWh: h.CounterFirstKWh, CounterLastKWh: h.CounterLastKWh,
		CounterFirstAt: h.CounterFirstAt, CounterLastAt: h.CounterLastAt}
}

func sumKWh(m map[time.Time]units.KWh) units.KWh {
	var s units.KWh
	for _, v := range m {
		s += v
	}
	return s
}

// gridValues returns every stored hour of area (the fallback may reach for
// the same hour of a week outside the month).
func (a *accounting) gridValues(ctx context.Context, area string) ([]grid.HourValue, error) {
	if v, ok := a.grid[area]; ok {
		return v, nil
	}
	hours, err := a.st.GridHours(ctx, area, time.Time{}, time.Time{})
	if err != nil {
		return nil, err
	}
	v := fromGridHours(hours)
	a.grid[area] = v
	return v, nil
}

// factors are the config's annual factors; they are given for grid.area.
func (a *accounting) factors(area string) []grid.Factor {
	if area != string(a.cfg.Grid.Area) {
		return nil
	}
	var out []grid.Factor
	for _, f := range a.cfg.Grid.AnnualFactors {
		out = append(out, grid.Factor{Area: area, Year: f.Year, Intensity: units.GramsPerKWh(f.GPerKWh), Source: f.Source})
	}
	return out
}
