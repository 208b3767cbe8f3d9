package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/demo"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/models/procure"
)

func newDemoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "run ecometer end to end on a simulated datacenter: collection, history, report, plan, procurement, anomalies",
		UsageText: "ecometer demo [--out DIR] [--keep] [--month YYYY-MM] [--months N] [--boavizta FILE]",
		Description: "Starts a simulated site on 127.0.0.1 from examples/demo (a UPS, APC, Raritan and Sentry4\n" +
			"PDUs and a PoE switch on ecometer's SNMP simulator, four servers' Redfish BMCs over HTTPS),\n" +
			"writes its config with the simulators' addresses as DIR/site.yaml, and collects it live for\n" +
			"10 minutes of simulated time with the collectors `serve` uses. It then writes 14 months of\n" +
			"history into the embedded store in DIR/data (working-day, night and seasonal patterns, the\n" +
			"example policy night-test-servers applied for the last 10 weeks, planted anomalies and idle\n" +
			"servers) and runs what a user runs: last month's report (PDF, CSV, JSON), a power-down plan\n" +
			"(dry run), the check of the example procurement offers, the anomaly detection and the idle\n" +
			"finder. It fails (exit 1) when the detection misses a planted anomaly. At the end it prints\n" +
			"where each output is and commands to run on it.\n\n" +
			"Grid intensity: ecometer's built-in Energinet data (DK1 hourly 2025, annual means\n" +
			"2022-2025); hours after 2025 take the 2025 mean, and the output says so.\n\n" +
			"Embodied emissions: the example inventory gives no product footprints; --boavizta FILE\n" +
			"(boavizta-data-us.csv of github.com/Boavizta/environmental-footprint-data) gives the\n" +
			"report's section 8 class medians, as report.boavizta_file does for a real site.\n\n" +
			"DIR defaults to ./" + demo.DefaultOut + ", replaced on the next run; a DIR you name must be\n" +
			"new, empty or a previous demo's output. Ctrl-C stops the demo and removes what it wrote\n" +
			"(never a directory you named). --keep leaves the simulated devices running until Ctrl-C,\n" +
			"for probe, power status and serve; without it they stop with the demo.\n\n" +
			"Examples:\n   ecometer demo\n   ecometer demo --out /tmp/demo --keep\n\n" +
			"Exit codes: 0 done, 1 a failure or a planted anomaly not found, 2 bad usage or --out.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default ./" + demo.DefaultOut + ", replaced on the next run)"},
			&cli.BoolFlag{Name: "keep", Usage: "keep the simulated devices running until Ctrl-C"},
			&cli.StringFlag{Name: "month", Usage: "report `MONTH` YYYY-MM (default: last month); a month of 2025 gets the built-in hourly grid data"},
			&cli.StringFlag{Name: "boavizta", Usage: "Boavizta CSV `FILE` for the class defaults of the report's embodied emissions"},
			&cli.IntFlag{Name: "months", Value: demo.DefaultMonths, Usage: fmt.Sprintf("`N` months of history, the report month the last (%d to 36)", demo.MinMonths)},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("demo: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			// Ctrl-C ends the demo through its context, so that what it
			// wrote is removed.
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			s := streamsOf(cmd)
			return runDemo(ctx, demoOptions{Out: cmd.String("out"), Keep: cmd.Bool("keep"), Month: cmd.String("month"), Months: int(cmd.Int("months")),
				Boavizta: cmd.String("boavizta"),
				Now:      time.Now(), Progress: progressTo(s.ErrOut)}, s)
		},
	}
}

type demoOptions struct {
	Out      string // "" = ./ecometer-demo
	Keep     bool
	Month    string // "" = the last full month
	Months   int
	Boavizta string // Boavizta CSV for the embodied class defaults
	Now      time.Time
	Progress io.Writer
	// Kept, when set, is called with the result instead of waiting for
	// Ctrl-C with --keep (tests).
	Kept func(*demo.Result)
}

func runDemo(ctx context.Context, o demoOptions, s streams) error {
	if o.Months < demo.MinMonths || o.Months > 36 {
		return usageErrorf("demo: --months must be %d to 36, got %d", demo.MinMonths, o.Months)
	}
	var month accounting.Period
	if o.Month != "" {
		var err error
		if month, err = parseMonth("month", o.Month, o.Now); err != nil {
			return err
		}
		if !month.To.Before(o.Now) {
			return usageErrorf("demo: --month %s has not ended yet", o.Month)
		}
	}
	check := month
	if check.From.IsZero() {
		check = accounting.LastFullMonth(o.Now)
	}
	if err := demo.CheckHistory(check, o.Months); err != nil {
		return usageErrorf("%v", err)
	}
	if o.Boavizta != "" {
		// The written site.yaml lives elsewhere: its relative paths would
		// resolve against its own directory.
		abs, err := filepath.Abs(o.Boavizta)
		if err == nil {
			_, err = os.Stat(abs)
		}
		if err != nil {
			return usageErrorf("demo: --boavizta: %v", err)
		}
		o.Boavizta = abs
	}
	named := o.Out != ""
	if !named {
		o.Out = demo.DefaultOut
	}
	out, err := demo.PrepareOut(o.Out, named)
	var oe *demo.OutDirError
	if errors.As(err, &oe) {
		return usageErrorf("%v", err)
	}
	if err != nil {
		return err
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	fmt.Fprintf(s.Out, "ecometer demo: a simulated datacenter on 127.0.0.1, collected, accounted and reported end to end\n")
	where := "replaced by the next run; --out DIR names another"
	if named {
		where = "named by --out"
	}
	if out.Replaced {
		where += "; the previous demo's output was removed"
	}
	fmt.Fprintf(s.Out, "Output: %s (%s)\n", o.Out, where)

	progress := func(step string) { fmt.Fprintf(o.Progress, "\r\033[Kdemo: %s…", step) }
	clear := func() { fmt.Fprint(o.Progress, "\r\033[K") }
	log := slog.New(slog.NewTextHandler(s.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	r, err := demo.Run(ctx, demo.Options{Dir: o.Out, Now: o.Now, Month: month, Months: o.Months, Step: progress, Logger: log, Boavizta: o.Boavizta,
		Done: func(p demo.Part, r *demo.Result) {
			clear()
			writeDemoPart(s.Out, p, r)
		}})
	clear()
	var pe *demo.PlantedError
	switch {
	case err != nil && ctx.Err() != nil:
		r.Close()
		what := "removed what it wrote in " + o.Out
		if rmErr := out.Remove(); rmErr != nil {
			what = fmt.Sprintf("could not remove all it wrote in %s: %v", o.Out, rmErr)
		}
		return fmt.Errorf("demo: interrupted; %s", what)
	case errors.As(err, &pe):
		r.Close()
		return fmt.Errorf("%w\n(the outputs are in %s)", err, o.Out)
	case err != nil:
		r.Close()
		return fmt.Errorf("%w\n(what was written so far is in %s)", err, o.Out)
	}
	defer r.Close()
	writeDemoNext(s.Out, r, o)
	if !o.Keep {
		return nil
	}
	if o.Kept != nil {
		o.Kept(r)
		return nil
	}
	fmt.Fprintf(s.Out, "\nThe simulated site runs until Ctrl-C.\n")
	<-ctx.Done()
	fmt.Fprintf(s.Out, "stopped; the outputs stay in %s\n", o.Out)
	return nil
}

// writeDemoPart prints one part of the demo as it finishes.
func writeDemoPart(w io.Writer, p demo.Part, r *demo.Result) {
	loc := danish()
	switch p {
	case demo.PartSite:
		site := r.Site
		fmt.Fprintf(w, "\n1. Simulated site (examples/demo), config %s\n", site.ConfigPath)
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, d := range site.SNMP {
			prof := d.Profile
			if prof == "" {
				prof = "detected"
			}
			fmt.Fprintf(tw, "   %s\tSNMP v2c %s, community %s, profile %s\n", d.Device, site.Agent.Addr(), d.Community, prof)
		}
		for _, b := range site.BMCs {
			fmt.Fprintf(tw, "   %s\tRedfish %s (certificate %s)\n", b.Device, b.URL, site.CAPath)
		}
		tw.Flush()
	case demo.PartLive:
		lv := r.Live
		fmt.Fprintf(w, "\n2. Live collection: %d polls of %d devices in %s, simulated %s – %s, read back as `ecometer readings` shows it:\n",
			lv.Polls, lv.Devices, lv.Took.Round(time.Millisecond), lv.From.In(loc).Format("15:04"), lv.To.In(loc).Format("15:04 MST"))
		var b strings.Builder
		writeReadingsText(&b, lv.Rows, lv.To.Sub(lv.From), lv.To, "embedded SQLite in "+r.Site.Config.Storage.DataDir)
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(w, "   %s\n", line)
		}
	case demo.PartHistory:
		h := r.History
		fmt.Fprintf(w, "\n3. History: %d months, %s – %s (Danish time), written in %s: %d hourly aggregates of %d meters, %d raw samples\n",
			h.Months, h.From.In(loc).Format("2006-01-02"), h.To.In(loc).Format("2006-01-02 15:04"), h.Took.Round(time.Millisecond),
			h.Hourly, h.Series, h.Raw)
		fmt.Fprintf(w, "   Load follows working hours, nights, weekends and a ±2 %% seasonal swing; UPS input and output every 10 minutes from %s.\n",
			h.RawUPSFrom.In(loc).Format("2006-01-02"))
		fmt.Fprintf(w, "   Policy %s (%s) applied from %s: %d off-windows of %s, %d audit log entries.\n",
			h.Policy, h.PolicyFile, h.PolicyFrom.In(loc).Format("2006-01-02"), h.Windows, strings.Join(h.Targets, " and "), h.AuditEntries)
		fmt.Fprintf(w, "   Asset inventory: %d assets from %s.\n", r.InventoryAssets, r.Inventory)
		fmt.Fprintf(w, "   Planted for %s:\n", r.Period.Label())
		for _, p := range h.Planted {
			fmt.Fprintf(w, "   - %s\n", p.What)
		}
	case demo.PartAnomalies:
		writeDemoAnomalies(w, r)
	case demo.PartReport:
		rep := r.Report
		t := rep.Summary.Total
		fmt.Fprintf(w, "\n5. Monthly report %s (%s), from the same figures as `energy`, `co2` and `power savings`:\n", rep.Month, r.Site.Config.Report.Language)
		for _, f := range r.ReportFiles.List() {
			fmt.Fprintf(w, "   %s\n", f)
		}
		fmt.Fprintf(w, "   IT energy %.0f kWh (coverage %.1f %%), location-based %.0f kg CO2e at %.0f g/kWh consumption-weighted",
			t.ITKWh, t.CoveragePct, t.LocationKgCO2e, t.WeightedGPerKWh)
		if t.WholeSiteKWh != nil && t.WholeSiteEstimated {
			fmt.Fprintf(w, "; whole site %.0f kWh with the assumed PUE", *t.WholeSiteKWh)
		}
		fmt.Fprintln(w)
		for _, s := range rep.Quality.Sites {
			if len(s.FallbackBases) > 0 {
				fmt.Fprintf(w, "   grid intensity: %s\n", strings.Join(s.FallbackBases, "; "))
				if strings.Contains(strings.Join(s.FallbackBases, " "), "stands in") {
					fmt.Fprintf(w, "   (the built-in hourly data covers DK1 in 2025: `ecometer demo --month 2025-10` reports a month with it)\n")
				}
			}
		}
		if pd := rep.PowerDown; pd != nil {
			fmt.Fprintf(w, "   power-down savings: %.1f kWh, %.1f kg CO2e avoided (%d of %d hours off compared with days without the policy)\n",
				pd.KWhAvoided, pd.KgCO2eAvoided, r.Savings.Compared, r.Savings.Hours)
		}
		if a := rep.Anomalies; a != nil {
			fmt.Fprintf(w, "   unusual consumption: %d findings, %d idle-equipment candidates listed\n", len(a.Items), len(a.Idle))
		}
		if e := rep.Embodied; e != nil {
			fmt.Fprintf(w, "   embodied emissions: %.1f kg CO2e this month from %d of the %d assets in their planned lifetime",
				e.KgCO2e, e.Amortising-len(e.Missing), e.Amortising)
			if e.DefaultsOf == "" {
				fmt.Fprintf(w, " (the example inventory has no footprints: --boavizta boavizta-data-us.csv gives class medians)")
			}
			fmt.Fprintln(w)
		}
		if len(rep.Sources) > 0 {
			fmt.Fprintf(w, "   %s\n", strings.Join(rep.Sources, "; "))
		}
	case demo.PartPlan:
		pl := r.Plan
		fmt.Fprintf(w, "\n6. Power-down plan (a dry run; nothing is switched) with %s, at %s:\n", pl.PolicyFile, pl.At.In(loc).Format("2006-01-02 15:04"))
		var b strings.Builder
		writePlanText(&b, pl.Plan, loc, pl.Store)
		for _, line := range strings.Split(strings.TrimRight(b.String(), "\n"), "\n") {
			fmt.Fprintf(w, "   %s\n", line)
		}
		fmt.Fprintf(w, "   written to %s (hash %.16s…)\n", pl.File, pl.Hash)
	case demo.PartProcurement:
		pr := r.Procurement
		rep := pr.Report
		fmt.Fprintf(w, "\n7. Procurement: %d offers checked against %d catalogs on %s: %s\n", len(rep.Assessments), len(rep.Catalogs),
			rep.Date.Format("2006-01-02"), rep.Verdicts())
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		for _, a := range rep.Assessments {
			fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\n", a.Product.ID, a.Product.Text("model"), a.Verdict, demoCounts(a))
		}
		tw.Flush()
		for _, l := range rep.Lifetimes {
			if l.Rank == 1 {
				fmt.Fprintf(w, "   cheapest over its life among the %ss: %s (%s), DKK %.0f\n", l.Class, l.ID, l.Model, l.TotalDKK)
			}
		}
		fmt.Fprintf(w, "   lifetime costs at an assumed DKK %.2f/kWh (give yours with --kwh-price), %.0f g CO2e/kWh (the site's grid), DKK %.0f/t CO2e\n",
			rep.Costs.KWhPriceDKK, rep.Costs.GridGPerKWh, rep.Costs.CO2PriceDKKPerTonne)
		fmt.Fprintf(w, "   %s\n   %s\n", pr.PDF, pr.Markdown)
	}
}

func demoCounts(a procure.Assessment) string {
	var parts []string
	for _, s := range []procure.Status{procure.Pass, procure.Fail, procure.Missing, procure.Unverified} {
		if n := a.Count(s); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	return strings.Join(parts, ", ")
}

// writeDemoAnomalies prints the month's anomalies and idle candidates,
// grouped, each planted one marked.
func writeDemoAnomalies(w io.Writer, r *demo.Result) {
	loc := danish()
	an, id := r.Anomalies, r.Idle
	fmt.Fprintf(w, "\n4. Anomalies in %s (each meter against its own hour-of-week baseline of the %d weeks before, and the domain rules):\n",
		r.Period.Label(), an.BaselineWeeks)
	planted := func(kind, device, meter string) string {
		for _, p := range r.Planted {
			if p.Kind == kind && p.Device == device && (p.Meter == "" || p.Meter == meter) && p.Found {
				return "  ← planted"
			}
		}
		return ""
	}
	// One line per episode; the meters of one device that moved together
	// are listed on it.
	type key struct {
		kind   anomaly.Kind
		device string
		start  time.Time
	}
	var order []key
	meters := map[key][]string{}
	first := map[key]anomaly.Anomaly{}
	for _, a := range an.Anomalies {
		k := key{a.Kind, a.Device, a.Start}
		if _, ok := first[k]; !ok {
			order = append(order, k)
			first[k] = a
		}
		meters[k] = append(meters[k], a.Meter)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, k := range order {
		a := first[k]
		until := a.End.In(loc).Format("Jan 2 15:04")
		if a.Open {
			until = "still going at the month's end"
		}
		mark := ""
		for _, m := range meters[k] {
			if mark == "" {
				mark = planted(string(k.kind), k.device, m)
			}
		}
		what := k.device
		if len(meters[k]) > 0 && meters[k][0] != "" {
			what += " " + strings.Join(meters[k], ", ")
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s – %s\t%s%s\n", k.kind, what, a.Start.In(loc).Format("Jan 2 15:04"), until, demoEvidence(a), mark)
	}
	tw.Flush()
	if len(an.Anomalies) == 0 {
		fmt.Fprintln(w, "   nothing unusual")
	}
	fmt.Fprintf(w, "   Idle equipment over the %d days to %s:\n", int(id.To.Sub(id.From).Round(24*time.Hour).Hours()/24), id.To.In(loc).Format("2006-01-02"))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, c := range id.Candidates {
		what := c.Device
		if c.Kind == idle.Outlet || c.Kind == idle.PoENight {
			what += "/" + c.Meter
		}
		kg := "–"
		if c.SavedKgCO2ePerYear > 0 {
			kg = fmt.Sprintf("%.0f kg CO2e", c.SavedKgCO2ePerYear)
		}
		fmt.Fprintf(tw, "   %s\t%s\t%.0f kWh\t%s a year\t%s confidence: %s%s\n", c.Kind, what, c.SavedKWhPerYear, kg, c.Confidence, c.Action,
			planted(string(c.Kind), c.Device, ""))
	}
	tw.Flush()
	if len(id.Candidates) == 0 {
		fmt.Fprintln(w, "   no candidates")
	}
	for _, in := range r.Intensities {
		fmt.Fprintf(w, "   (CO2e at %.0f g/kWh: %s)\n", in.GPerKWh, in.Source)
		break
	}
	found := 0
	for _, p := range r.Planted {
		if p.Found {
			found++
		}
	}
	fmt.Fprintf(w, "   Planted: %d of %d found.\n", found, len(r.Planted))
}

// demoEvidence is an anomaly's key figures in a few words.
func demoEvidence(a anomaly.Anomaly) string {
	e := a.Evidence
	switch a.Kind {
	case anomaly.Deviation, anomaly.Drift:
		return fmt.Sprintf("%.0f W against %.0f W usual (%+.0f %%)", e["observed_w"], e["expected_w"], e["change_pct"])
	case anomaly.Flatline:
		return fmt.Sprintf("%.0f W for %.0f hours", e["value_w"], e["hours"])
	case anomaly.UPSEfficiency:
		return fmt.Sprintf("%.1f %% efficient against %.1f %% at the same load", e["efficiency_pct"], e["reference_efficiency_pct"])
	case anomaly.CounterReset:
		return fmt.Sprintf("%.1f → %.1f kWh", e["from_kwh"], e["to_kwh"])
	}
	return ""
}

// writeDemoNext prints what to run on the outputs.
func writeDemoNext(w io.Writer, r *demo.Result, o demoOptions) {
	fmt.Fprintf(w, "\nDone in %s. Next, on the outputs (each works as printed, from this directory):\n", r.Took.Round(100*time.Millisecond))
	next := r.Next(o.Now)
	var site []string
	for _, c := range next {
		line := fmt.Sprintf("   %s\n      # %s", c.String(), c.What)
		if c.Site {
			site = append(site, line)
			continue
		}
		fmt.Fprintln(w, line)
	}
	if o.Keep {
		fmt.Fprintf(w, "\nWhile this runs, the simulated devices answer (SNMP agent %s, community = device name; BMCs: user %s, password in %s):\n",
			r.Site.Agent.Addr(), demo.BMCUser, r.Site.PasswordPath)
	} else {
		fmt.Fprintf(w, "\nThe simulated devices stopped with the demo; `ecometer demo --keep` keeps them for:\n")
	}
	for _, l := range site {
		fmt.Fprintln(w, l)
	}
	fmt.Fprintf(w, "\nLook at the report: pdftoppm -png -r 60 %s page\n", r.ReportFiles.PDF)
}
