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
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/models/grid"
)

func newCO2Command() *cli.Command {
	return &cli.Command{
		Name:      "co2",
		Usage:     "Scope 2 emissions of a month per site, location- and market-based",
		UsageText: "ecometer co2 --config FILE --month YYYY-MM [--site S] [--json]",
		Description: "Hourly energy per meter from the store, totalled per site at its accounting\n" +
			"level, times the hourly grid intensity of the site's price area (location-based),\n" +
			"with the fallback for hours without imported data: the same hour of the nearest\n" +
			"week with data, ecometer's built-in Energinet data of that hour (DK1 2025), the\n" +
			"config's grid.annual_factors, then the built-in annual means (DK1 2022-2025),\n" +
			"each labelled in the output. Market-based (sites[].market: go_share_pct of the\n" +
			"consumption covered by guarantees of origin at 0 g/kWh, the rest at\n" +
			"residual_g_per_kwh) is shown beside it, labelled, never netted. The month is the\n" +
			"Danish calendar month.\n" +
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
	Now    time.Time // zero: time.Now
}

type co2JSON struct {
	Month  string            `json:"month"`
	From   time.Time         `json:"from"`
	To     time.Time         `json:"to"`
	Sites  []accounting.Site `json:"sites"`
	Store  string            `json:"store"`
	Source string            `json:"source"`
}

func runCO2(ctx context.Context, opts co2Options, s streams) error {
	if opts.Config == "" {
		return usageErrorf("co2: --config FILE is required: the sites and devices come from it")
	}
	if opts.Month == "" {
		return usageErrorf("co2: --month YYYY-MM is required")
	}
	period, err := parseMonth("month", opts.Month, opts.Now)
	if err != nil {
		return err
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	sites, err := selectSites(cfg, opts.Site, opts.Config)
	if err != nil {
		return err
	}
	v, err := openAccounting(ctx, cfg)
	if err != nil {
		return err
	}
	defer v.Close()
	acc, where := v.acc, v.where
	out := co2JSON{Month: period.Label(), From: period.From, To: period.To, Store: where, Source: gridSource}
	for _, site := range sites {
		res, err := acc.Site(ctx, site, period.From, period.To)
		if err != nil {
			return err
		}
		out.Sites = append(out.Sites, res)
	}
	if opts.JSON {
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else if err := writeCO2Text(s.Out, out); err != nil {
		return err
	}
	return noDataError("co2", period.Label(), where, out.Sites, s.ErrOut)
}

// noDataError fails a month in which no site has metered energy, and warns
// about each site that has none: "0 kWh" must never read as a measurement.
func noDataError(cmd, month, where string, sites []accounting.Site, errOut io.Writer) error {
	empty := 0
	for _, r := range sites {
		if r.NoData() {
			empty++
			fmt.Fprintf(errOut, "WARNING: site %s has no metered energy in %s (coverage %.1f %%): its figures are not measurements\n", r.Site, month, r.CoveragePct)
		}
	}
	if len(sites) > 0 && empty == len(sites) {
		return fmt.Errorf("%s: no metered energy for %s in %s: nothing was collected for that month (is the store the one `serve` writes to?)", cmd, month, where)
	}
	return nil
}

// selectSites returns the config's sites, or the one named.
func selectSites(cfg *config.Config, name, file string) ([]config.Site, error) {
	if name == "" {
		return cfg.Sites, nil
	}
	i := slices.IndexFunc(cfg.Sites, func(x config.Site) bool { return x.Name == name })
	if i < 0 {
		var names []string
		for _, x := range cfg.Sites {
			names = append(names, x.Name)
		}
		return nil, usageErrorf("--site %q is not in %s (sites: %s)", name, file, strings.Join(names, ", "))
	}
	return cfg.Sites[i : i+1], nil
}

func writeCO2Text(w io.Writer, out co2JSON) error {
	fmt.Fprintf(w, "CO2e for %s (Danish calendar month: %s – %s)\n", out.Month, out.From.Format(hourFormat), out.To.Format(hourFormat))
	for _, r := range out.Sites {
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(tw, "\nSite %s (%s, accounting level %s)\n", r.Site, r.Area, r.Level)
		fmt.Fprintf(tw, "  energy\t%.3f kWh  %s at %s; coverage %.1f %%, %d of %d hours with energy\n", r.EnergyKWh,
			plural(len(r.Meters), "accounting meter"), strings.Join(r.Meters, ", "), r.CoveragePct, r.HoursWith, r.HoursIn)
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
			fmt.Fprintf(tw, "  \t%s\n", accounting.Scope2NotNetted)
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
		src := make([]string, 0, len(grid.SourceOrder))
		for _, k := range grid.SourceOrder {
			share := 100 * l.EnergyBySource[string(k)] / r.EnergyKWh
			if share > 0 || k == grid.Measured {
				src = append(src, fmt.Sprintf("%s %.1f %%", k, share))
			}
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
		if e := r.FacilityEstimate; e != nil {
			fmt.Fprintf(tw, "  whole site (estimate)\t%.3f kWh, %.3f kg CO2e location-based", e.EnergyKWh, e.LocationKgCO2e)
			if e.MarketKgCO2e != nil {
				fmt.Fprintf(tw, ", %.3f kg CO2e market-based", *e.MarketKgCO2e)
			}
			fmt.Fprintf(tw, "\n  \t%s\n", e.Note)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n%s\n", out.Store, out.Source)
	return err
}
