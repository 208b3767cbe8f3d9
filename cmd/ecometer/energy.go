package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/accounting"
)

func newEnergyCommand() *cli.Command {
	return &cli.Command{
		Name:      "energy",
		Usage:     "energy of a month per meter and per device, rack, room, class or site, with coverage",
		UsageText: "ecometer energy --config FILE --month YYYY-MM [--by device|rack|room|class|site] [--site S] [--csv|--json]",
		Description: "The same accounting as `ecometer co2`: each meter's energy from its own counter,\n" +
			"else its integrated power, with the share of the month it covers. Groups add up\n" +
			"each counted meter's own share (its energy less that of the metered meters it\n" +
			"feeds), so a UPS and the PDUs behind it are not counted twice: a site's groups\n" +
			"add up to its metered total at its accounting level, and what a feeding meter\n" +
			"measures beyond its metered loads is shown as losses/unmetered. Sub-meters\n" +
			"outside the power chain (phases, unconnected outlets) are listed, not counted.\n\n" +
			"Examples:\n   ecometer energy --config site.yaml --month 2026-10\n" +
			"   ecometer energy --config site.yaml --month 2026-10 --by rack --csv > racks.csv",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store)"},
			&cli.StringFlag{Name: "month", Usage: "Danish calendar `MONTH`, YYYY-MM"},
			&cli.StringFlag{Name: "by", Usage: "group by `GROUP`: device, rack, room, class or site", Value: "device"},
			&cli.StringFlag{Name: "site", Usage: "only `SITE`"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV (the groups; --json has the meters too)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("energy: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			return runEnergy(ctx, energyOptions{Config: cmd.String("config"), Month: cmd.String("month"), By: cmd.String("by"),
				Site: cmd.String("site"), JSON: cmd.Bool("json"), CSV: cmd.Bool("csv")}, streamsOf(cmd))
		},
	}
}

type energyOptions struct {
	Config, Month, By, Site string
	JSON, CSV               bool
	Now                     time.Time // zero: time.Now
}

type energyJSON struct {
	Month  string             `json:"month"`
	From   time.Time          `json:"from"`
	To     time.Time          `json:"to"`
	By     string             `json:"by"`
	Sites  []energySite       `json:"sites"`
	Groups []accounting.Group `json:"groups"`
	Meters []accounting.Meter `json:"meters"`
	Store  string             `json:"store"`
}

// energySite is a site's metered total at its accounting level, which its
// groups add up to.
type energySite struct {
	Site        string  `json:"site"`
	Level       string  `json:"accounting_level"`
	EnergyKWh   float64 `json:"metered_energy_kwh"`
	CoveragePct float64 `json:"coverage_pct"`
	Note        string  `json:"note,omitempty"`
}

func runEnergy(ctx context.Context, opts energyOptions, s streams) error {
	switch {
	case opts.Config == "":
		return usageErrorf("energy: --config FILE is required: the sites and devices come from it")
	case opts.Month == "":
		return usageErrorf("energy: --month YYYY-MM is required")
	case opts.JSON && opts.CSV:
		return usageErrorf("energy: --json and --csv exclude each other")
	case !slices.Contains(accounting.GroupBy, opts.By):
		return usageErrorf("energy: --by %q: want one of %s", opts.By, strings.Join(accounting.GroupBy, ", "))
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
	out := energyJSON{Month: period.Label(), From: period.From, To: period.To, By: opts.By, Store: where}
	var siteResults []accounting.Site
	for _, site := range sites {
		ms, err := acc.Meters(ctx, site.Name, period.From, period.To)
		if err != nil {
			return err
		}
		out.Meters = append(out.Meters, ms...)
		gs, err := acc.Groups(ms, opts.By)
		if err != nil {
			return err
		}
		out.Groups = append(out.Groups, gs...)
		r, err := acc.Site(ctx, site, period.From, period.To)
		if err != nil {
			return err
		}
		siteResults = append(siteResults, r)
		es := energySite{Site: site.Name, Level: r.Level, EnergyKWh: r.ITKWh, CoveragePct: r.CoveragePct}
		if r.Level == "facility" && r.FacilityKWh > 0 {
			es.EnergyKWh = r.FacilityKWh
		}
		if r.EnergyNote != "" {
			es.Note = r.EnergyNote + fmt.Sprintf("; `co2` counts %.3f kWh", r.EnergyKWh)
		}
		out.Sites = append(out.Sites, es)
	}
	switch {
	case opts.JSON:
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	case opts.CSV:
		if err := writeEnergyCSV(s.Out, out.Groups); err != nil {
			return err
		}
	default:
		if err := writeEnergyText(s.Out, out); err != nil {
			return err
		}
	}
	return noDataError("energy", period.Label(), where, siteResults, s.ErrOut)
}

func writeEnergyText(w io.Writer, out energyJSON) error {
	fmt.Fprintf(w, "Energy for %s (Danish calendar month: %s – %s)\n", out.Month, out.From.Format(hourFormat), out.To.Format(hourFormat))
	for _, site := range out.Sites {
		fmt.Fprintf(w, "\nSite %s: %.3f kWh metered at the %s accounting level, coverage %.1f %%\n", site.Site, site.EnergyKWh, site.Level, site.CoveragePct)
		if site.Note != "" {
			fmt.Fprintf(w, "  %s\n", site.Note)
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(tw, "%s\tkWh\tof which losses/unmetered\tmeters\tlowest coverage\t\n", strings.ToUpper(out.By))
		var sum float64
		for _, g := range out.Groups {
			if g.Site != site.Site {
				continue
			}
			sum += g.EnergyKWh
			losses := ""
			if g.LossesKWh != 0 {
				losses = fmt.Sprintf("%.3f", g.LossesKWh)
			}
			fmt.Fprintf(tw, "%s\t%.3f\t%s\t%d\t%.1f %%\t\n", g.Key, g.EnergyKWh, losses, g.Meters, g.CoveragePct)
		}
		fmt.Fprintf(tw, "total\t%.3f\t\t\t\t\n", sum)
		if err := tw.Flush(); err != nil {
			return err
		}
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintf(w, "\n  Meters:\n")
		fmt.Fprintf(tw, "  DEVICE\tMETER\tkWh\tMEAN W\tCOVERAGE\tMETHOD\tCOUNTED\n")
		for _, m := range out.Meters {
			if m.Site != site.Site {
				continue
			}
			var counted string
			switch {
			case m.Counted && m.Accounting != "":
				counted = "yes (" + m.Accounting + " accounting meter)"
			case m.Counted:
				counted = "yes"
			case m.Accounting != "":
				counted = "no (" + m.Accounting + " accounting meter; the site's total is taken at the " + site.Level + " level)"
			default:
				counted = "no (sub-meter outside the power chain)"
			}
			fmt.Fprintf(tw, "  %s\t%s\t%.3f\t%.0f\t%.1f %%\t%s\t%s\n", m.Device, m.Meter, m.EnergyKWh, m.MeanW, m.CoveragePct,
				strings.Join(m.Methods, "+"), counted)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n", out.Store)
	return err
}

func writeEnergyCSV(w io.Writer, groups []accounting.Group) error {
	cw := csv.NewWriter(w)
	if err := cw.Write([]string{"site", "by", "key", "energy_kwh", "losses_unmetered_kwh", "meters", "coverage_pct"}); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 6, 64) }
	for _, g := range groups {
		if err := cw.Write([]string{g.Site, g.By, g.Key, f(g.EnergyKWh), f(g.LossesKWh), strconv.Itoa(g.Meters), f(g.CoveragePct)}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
