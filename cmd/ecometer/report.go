package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/reports/delivery"
	"github.com/ecometer/ecometer/reports/i18n"
	"github.com/ecometer/ecometer/reports/monthly"
)

func newReportCommand() *cli.Command {
	return &cli.Command{
		Name:      "report",
		Usage:     "reports for the sustainability office",
		UsageText: "ecometer report monthly --config FILE --month YYYY-MM [options]",
		Description: "The monthly sustainability report (see ecometer report monthly --help).\n\n" +
			"Example:\n   ecometer report monthly --config site.yaml --month 2026-10",
		Commands: []*cli.Command{newReportMonthlyCommand()},
		Action: func(_ context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("report: unknown subcommand %q (see ecometer report --help)", cmd.Args().First())
			}
			return cli.ShowSubcommandHelp(cmd)
		},
	}
}

func newReportMonthlyCommand() *cli.Command {
	return &cli.Command{
		Name:      "monthly",
		Usage:     "the monthly sustainability report: PDF in Danish or English, with CSV and JSON of the same figures",
		UsageText: "ecometer report monthly --config FILE --month YYYY-MM [--site S] [--lang da|en] [--out DIR] [--send]",
		Description: "Writes report-YYYY-MM.pdf, .csv and .json (report-YYYY-MM-SITE.* with --site) into --out\n" +
			"(default report.out_dir, else <storage.data_dir>/reports). The figures are those of\n" +
			"`ecometer co2`, `co2 target` and `co2 embodied`: energy, CO2e location- and market-based,\n" +
			"PUE, the month against the previous one and the same month last year, the path to the\n" +
			"target with the forecast, what changed (cleaner grid or less use), where the energy went,\n" +
			"the EU Energy Efficiency Directive items, the grid's hourly intensity, power-down savings\n" +
			"(`power savings`) with the month's anomalies and idle equipment (`anomalies`, `idle`),\n" +
			"embodied emissions and data quality. A month whose metering covers less than\n" +
			"report.min_coverage_pct (default 90 %) is still written; its first page says so.\n" +
			"The language is --lang, else report.language (default da). --send also e-mails the\n" +
			"three files to report.email.recipients (STARTTLS, retried); the files are kept either way.\n" +
			"The figures of earlier months (path, forecast, comparisons) come from the month cache in\n" +
			"<storage.data_dir>/cache/months when nothing they depend on changed since (embedded store\n" +
			"only; see README, \"Where data goes\"); --no-cache reads every month from the store.\n" +
			"`ecometer serve` with report.schedule: true does the same on the 1st at 06:00 Danish time.\n\n" +
			"Examples:\n   ecometer report monthly --config site.yaml --month 2026-10\n" +
			"   ecometer report monthly --config site.yaml --month 2026-10 --lang en --out /tmp/reports\n" +
			"   ecometer report monthly --config site.yaml --month 2026-10 --site odense-dc1 --send\n\n" +
			"Exit codes: 0 written (and sent), 1 no data for the month or a runtime failure,\n" +
			"2 bad configuration or usage (future month, unknown site or language).",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store, report)"},
			&cli.StringFlag{Name: "month", Usage: "Danish calendar `MONTH`, YYYY-MM"},
			&cli.StringFlag{Name: "site", Usage: "only `SITE`"},
			&cli.StringFlag{Name: "lang", Usage: "`LANGUAGE` of the PDF: da or en (default report.language)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default report.out_dir)"},
			&cli.BoolFlag{Name: "send", Usage: "also e-mail the report (report.email)"},
			&cli.BoolFlag{Name: "no-cache", Usage: "account every month from the store, not from the month cache"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			s := streamsOf(cmd)
			return runReportMonthly(ctx, reportOptions{Config: cmd.String("config"), Month: cmd.String("month"), Site: cmd.String("site"),
				Lang: cmd.String("lang"), Out: cmd.String("out"), Send: cmd.Bool("send"), NoCache: cmd.Bool("no-cache"),
				Progress: progressTo(s.ErrOut)}, s)
		},
	}
}

type reportOptions struct {
	Config, Month, Site, Lang, Out string
	Send, NoCache                  bool
	Now                            time.Time // zero: time.Now; the report's date and the future-month check
	Progress                       io.Writer
}

func runReportMonthly(ctx context.Context, o reportOptions, s streams) error {
	if o.Config == "" {
		return usageErrorf("report monthly: --config FILE is required: the sites, devices and store come from it")
	}
	if o.Month == "" {
		return usageErrorf("report monthly: --month YYYY-MM is required")
	}
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	period, err := parseMonth("month", o.Month, now)
	if err != nil {
		return err
	}
	var lang i18n.Lang
	if o.Lang != "" {
		if lang, err = i18n.Parse(o.Lang); err != nil {
			return usageErrorf("report monthly: --lang: %v", err)
		}
	}
	cfg, err := readConfig(o.Config, s.ErrOut)
	if err != nil {
		return err
	}
	if o.Send && cfg.Report.Email == nil {
		return usageErrorf("report monthly: --send needs report.email in %s", o.Config)
	}
	progress := func(step string) {}
	if o.Progress != nil && o.Progress != io.Discard {
		progress = func(step string) { fmt.Fprintf(o.Progress, "\r\033[Kreport %s: %s…", period.Label(), step) }
		defer fmt.Fprint(o.Progress, "\r\033[K")
	}
	r, files, err := monthly.Produce(ctx, monthly.Params{Config: cfg, Period: period, Site: o.Site, Lang: lang, OutDir: o.Out,
		Generated: now.UTC().Truncate(time.Second), Progress: progress, NoCache: o.NoCache,
		PowerDown: monthly.ControllerSavings, Anomalies: monthly.DetectedAnomalies})
	var se *monthly.SiteError
	if errors.As(err, &se) {
		return usageErrorf("report monthly: --site %q is not in %s", se.Site, o.Config)
	}
	if err != nil {
		return storeError(fmt.Errorf("report monthly: %w", err))
	}
	progress("")
	if o.Progress != nil && o.Progress != io.Discard {
		fmt.Fprint(o.Progress, "\r\033[K")
	}
	for _, f := range files.List() {
		fmt.Fprintln(s.Out, f)
	}
	if !r.Complete {
		fmt.Fprintf(s.ErrOut, "WARNING: metering covers %.1f %% of %s at the least covered site (below %.0f %%); the report says so on page 1\n",
			r.Summary.Total.CoveragePct, period.Label(), r.MinCoveragePct)
	}
	if !o.Send {
		return nil
	}
	m, err := delivery.New(*cfg.Report.Email, delivery.Options{})
	if err != nil { // an unreadable password or CA file: the configuration's
		return &exitError{code: exitBadUse, err: fmt.Errorf("report monthly: %w", err)}
	}
	if lang == "" {
		lang, _ = i18n.Parse(cfg.Report.Language)
	}
	msg, err := monthly.Mail(r, files, lang)
	if err != nil {
		return err
	}
	if err := m.Send(ctx, msg); err != nil {
		return fmt.Errorf("report monthly: not sent (the files are written): %w", err)
	}
	fmt.Fprintf(s.ErrOut, "sent to %d recipients\n", len(cfg.Report.Email.Recipients))
	return nil
}
