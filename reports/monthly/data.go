package monthly

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"

	"github.com/ecometer/ecometer/internal/accounting"
)

// WriteJSON writes the report as indented JSON.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// Row is one figure of the CSV: which section and item it is, for which
// site (or "all") and period, in which unit.
type Row struct {
	Section, Item, Site, Period, Unit string
	Value                             float64
}

// CSVHeader are the CSV's columns.
var CSVHeader = []string{"section", "item", "site", "period", "unit", "value"}

// WriteCSV writes every figure of the report as one row, values in full
// precision with a decimal point.
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return err
	}
	for _, x := range Rows(r) {
		if err := cw.Write([]string{x.Section, x.Item, x.Site, x.Period, x.Unit, strconv.FormatFloat(x.Value, 'f', -1, 64)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// Rows lists the report's figures, section by section, in the order of the
// PDF.
func Rows(r *Report) []Row {
	var out []Row
	add := func(section, item, site, period, unit string, v float64) {
		out = append(out, Row{section, item, site, period, unit, v})
	}
	opt := func(section, item, site, period, unit string, v *float64) {
		if v != nil {
			add(section, item, site, period, unit, *v)
		}
	}
	m := r.Month
	totals := func(section, period string, t accounting.Totals) {
		add(section, "energy", "all", period, "kWh", t.EnergyKWh)
		add(section, "location_based", "all", period, "kg CO2e", t.LocationKgCO2e)
		opt(section, "market_based", "all", period, "kg CO2e", t.MarketKgCO2e)
		add(section, "consumption_weighted_intensity", "all", period, "g CO2e/kWh", t.WeightedGPerKWh)
		add(section, "coverage", "all", period, "%", t.CoveragePct)
		opt(section, "pue", "all", period, "", t.PUE)
	}
	// 1 Summary.
	totals("summary", m, r.Summary.Total)
	for _, s := range r.Summary.Sites {
		add("summary", "energy", s.Site, m, "kWh", s.EnergyKWh)
		add("summary", "location_based", s.Site, m, "kg CO2e", s.Location.KgCO2e)
		opt("summary", "market_based", s.Site, m, "kg CO2e", s.Market.KgCO2e)
		add("summary", "coverage", s.Site, m, "%", s.CoveragePct)
		if s.PUE != nil {
			item := "pue"
			if s.PUE.Assumed {
				item = "pue_assumed"
			}
			add("summary", item, s.Site, m, "", s.PUE.Value)
		}
		if e := s.FacilityEstimate; e != nil {
			add("summary", "whole_site_estimate_energy", s.Site, m, "kWh", e.EnergyKWh)
			add("summary", "whole_site_estimate_location_based", s.Site, m, "kg CO2e", e.LocationKgCO2e)
			opt("summary", "whole_site_estimate_market_based", s.Site, m, "kg CO2e", e.MarketKgCO2e)
		}
	}
	for _, c := range []struct {
		name string
		c    Compared
	}{{"previous_month", r.Summary.Previous}, {"same_month_last_year", r.Summary.YearBefore}} {
		if !c.c.Available {
			continue
		}
		totals(c.name, c.c.Month, c.c.Totals)
		for _, ch := range []struct {
			item string
			c    *accounting.Change
		}{{"energy", c.c.Energy}, {"location_based", c.c.Location}, {"market_based", c.c.Market}} {
			if ch.c != nil {
				add(c.name, ch.item+"_change", "all", m, "", ch.c.Difference)
				opt(c.name, ch.item+"_change_pct", "all", m, "%", ch.c.Pct)
			}
		}
	}
	// 2 Target.
	t := r.Target
	opt("target", "baseline", "all", strconv.Itoa(t.BaselineYear), "kg CO2e", t.BaselineKgCO2e)
	if t.GoalKgCO2e > 0 {
		add("target", "goal", "all", strconv.Itoa(t.TargetYear), "kg CO2e", t.GoalKgCO2e)
	}
	for _, p := range t.Path {
		add("target", "path", "all", strconv.Itoa(p.Year), "kg CO2e", p.KgCO2e)
	}
	for _, a := range t.Actuals {
		add("target", "actual", "all", strconv.Itoa(a.Year), "kg CO2e", a.KgCO2e)
		add("target", "actual_complete_months", "all", strconv.Itoa(a.Year), "months", float64(a.Months))
	}
	for _, y := range t.YearToDate {
		add("target", "year_to_date", "all", y.Month, "kg CO2e", y.KgCO2e)
		if y.PathKgCO2e > 0 {
			add("target", "year_to_date_path", "all", y.Month, "kg CO2e", y.PathKgCO2e)
		}
	}
	opt("target", "deviation_from_path", "all", strconv.Itoa(t.Year), "%", t.DeviationPct)
	opt("target", "required_annual_reduction", "all", strconv.Itoa(t.Year), "%", t.RequiredAnnualPc)
	for _, c := range t.Forecast.Combined {
		add("target", "forecast", "all", c.Month, "kg CO2e", c.Value)
		opt("target", "forecast_low", "all", c.Month, "kg CO2e", c.Low)
		opt("target", "forecast_high", "all", c.Month, "kg CO2e", c.High)
	}
	// 3 What changed.
	if c := t.Change; c.Available {
		period := c.After.From + ".." + c.After.To
		add("change", "total", "all", period, "kg CO2e", c.TotalKgCO2e)
		add("change", "grid", "all", period, "kg CO2e", c.GridKgCO2e)
		add("change", "usage", "all", period, "kg CO2e", c.UsageKgCO2e)
	}
	// 4 Breakdown.
	for _, g := range [][]accounting.Group{r.Breakdown.BySite, r.Breakdown.ByRoom, r.Breakdown.ByClass, r.Breakdown.Top} {
		for _, x := range g {
			add("breakdown_"+x.By, x.Key, x.Site, m, "kWh", x.EnergyKWh)
		}
	}
	for _, b := range r.Breakdown.Balances {
		add("balance", b.Meter+" measured", b.Site, m, "kWh", b.MeasuredKWh)
		add("balance", b.Meter+" attributed", b.Site, m, "kWh", b.AttributedKWh)
		add("balance", b.Meter+" losses_unmetered", b.Site, m, "kWh", b.UnmeteredKWh)
	}
	// 5 PUE and EED.
	for _, p := range r.PUE {
		item := "pue"
		if p.Assumed {
			item = "pue_assumed"
		}
		opt("pue_trend", item, p.Site, p.Month, "", p.PUE)
	}
	for _, e := range r.EED {
		opt("eed", e.Key+" ("+e.Status+")", "all", m, e.Unit, e.Value)
	}
	// 6 Grid.
	for _, g := range r.Grid.Sites {
		add("grid", "consumption_weighted_intensity", g.Site, m, "g CO2e/kWh", g.WeightedGPerKWh)
		add("grid", "plain_average_intensity", g.Site, m, "g CO2e/kWh", g.PlainGPerKWh)
	}
	for _, s := range r.Grid.EnergyBySource {
		add("grid", "energy_intensity_"+s.Source, "all", m, "kWh", s.EnergyKWh)
	}
	for _, h := range r.Grid.HourOfDay {
		hh := strconv.Itoa(h.Hour)
		add("grid_hour_of_day", "mean_energy", "all", hh, "kWh", h.MeanKWh)
		add("grid_hour_of_day", "consumption_weighted_intensity", "all", hh, "g CO2e/kWh", h.WeightedGPerKWh)
	}
	// 7 Power-down.
	if pd := r.PowerDown; pd != nil {
		add("power_down", "energy_avoided", "all", m, "kWh", pd.KWhAvoided)
		add("power_down", "emissions_avoided", "all", m, "kg CO2e", pd.KgCO2eAvoided)
		for _, p := range pd.Policies {
			add("power_down", p.Name+" energy_avoided", "all", m, "kWh", p.KWhAvoided)
		}
	}
	if a := r.Anomalies; a != nil {
		for _, x := range a.Items {
			add("anomaly", x.Device+" "+x.Kind, x.Site, m, "kWh", x.KWh)
		}
	}
	// 8 Embodied.
	if e := r.Embodied; e != nil {
		add("embodied", "total", "all", m, "kg CO2e", e.KgCO2e)
		for _, c := range e.ByClass {
			add("embodied", c.Class, "all", m, "kg CO2e", c.KgCO2e)
		}
		for _, x := range e.Extensions {
			add("embodied_extension", x.Class+" fleet", "all", m, "kg CO2e/year", x.AssetsKgCO2ePerYr)
			opt("embodied_extension", x.Class+" per_device", "all", m, "kg CO2e/year", x.PerDeviceKgCO2ePerYr)
		}
	}
	// 9 Data quality.
	for _, s := range r.Quality.Sites {
		add("data_quality", "coverage", s.Site, m, "%", s.CoveragePct)
		add("data_quality", "fallback_share", s.Site, m, "%", s.FallbackSharePct)
	}
	for _, d := range r.Quality.Devices {
		add("data_quality", "device_coverage "+d.Device, d.Site, m, "%", d.CoveragePct)
	}
	return out
}
