package main

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"os/signal"
	"path"
	"strings"
	"sync/atomic"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/collection"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/topology"
)

// demoConfigName is how the embedded demo site is named in messages.
const demoConfigName = "examples/demo/site.yaml (embedded)"

func newDemoCommand() *cli.Command {
	return &cli.Command{
		Name:      "demo",
		Usage:     "run ecometer end to end on a simulated site, no devices or servers needed",
		UsageText: "ecometer demo [--hours N] [--data-dir DIR]",
		Description: "Starts ecometer's SNMP simulator on 127.0.0.1 with a UPS feeding two rack PDUs\n" +
			"(examples/demo), polls them over real SNMP for every slot of a simulated day\n" +
			"(yesterday, Danish time, at each device class's poll interval), stores the\n" +
			"samples in the embedded SQLite store, then derives energy per meter, the site's\n" +
			"total without double counting (the PDUs are fed by the UPS), and location-based\n" +
			"CO2e. Without imported grid data the hours take ecometer's built-in Energinet\n" +
			"data (DK1: hourly 2025, annual means 2022-2025; a later year gets the latest\n" +
			"year's mean), and the output names the dataset and year used.\n\n" +
			"The data goes to a temporary directory that is removed afterwards, unless\n" +
			"--data-dir names one to keep (then try `ecometer co2` on it).\n\n" +
			"Examples:\n   ecometer demo\n   ecometer demo --hours 6 --data-dir ./demo-data",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "hours", Value: 24, Usage: "simulated `HOURS` of collection (1 to 744)"},
			&cli.StringFlag{Name: "data-dir", Usage: "keep the embedded store in `DIR` (default: a temporary directory)"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("demo: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			// Ctrl-C ends the demo through its context, so that the
			// temporary store is still removed.
			ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
			defer stop()
			err := runDemo(ctx, demoOptions{Config: examples.DemoYAML, Recordings: examples.Demo,
				Hours: int(cmd.Int("hours")), DataDir: cmd.String("data-dir"), Now: time.Now}, streamsOf(cmd))
			if err != nil && ctx.Err() != nil {
				kept := "the temporary store was removed"
				if cmd.String("data-dir") != "" {
					kept = "what was collected stays in " + cmd.String("data-dir")
				}
				return fmt.Errorf("demo: interrupted; %s", kept)
			}
			return err
		},
	}
}

type demoOptions struct {
	Config     []byte // the site to simulate
	Recordings fs.FS  // demo/*.snmprec, one per device, named after it
	Hours      int
	DataDir    string           // "" = a temporary directory, removed at the end
	Now        func() time.Time // the day before Now is simulated
}

// runDemo simulates the site, collects, stores and reports.
func runDemo(ctx context.Context, opts demoOptions, s streams) error {
	if opts.Hours < 1 || opts.Hours > 744 {
		return usageErrorf("demo: --hours must be 1 to 744, got %d", opts.Hours)
	}
	cfg, err := config.Parse(demoConfigName, opts.Config)
	if err == nil {
		err = collection.Check(cfg, nil)
	}
	if err != nil {
		// The demo site is embedded and tested: this is a build defect.
		return fmt.Errorf("demo: %s is invalid:\n%w", demoConfigName, err)
	}
	site := cfg.Sites[0]
	loc, err := site.Location()
	if err != nil {
		return err
	}
	y, m, d := opts.Now().In(loc).AddDate(0, 0, -1).Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, loc).UTC()
	to := from.Add(time.Duration(opts.Hours) * time.Hour)

	dir := opts.DataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "ecometer-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	st, err := sqlite.Open(ctx, sqlite.Options{Path: dir, RawRetention: 400 * 24 * time.Hour})
	if err != nil {
		return err
	}
	defer st.Close()

	// The simulator's clock is the simulated poll time, so its power values
	// move through the simulated day.
	var clock atomic.Int64
	clock.Store(from.UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	agent, jobs, err := startDemoSite(ctx, cfg, opts.Recordings, now)
	if err != nil {
		return err
	}
	defer agent.Close()

	fmt.Fprintf(s.Out, "ecometer demo: site %s (%s), %d devices on the SNMP simulator at %s\n",
		site.Name, site.PriceArea, len(jobs), agent.Addr())
	where := dir + " (removed at the end; --data-dir DIR keeps it)"
	if opts.DataDir != "" {
		where = dir
	}
	fmt.Fprintf(s.Out, "Collecting %s to %s (%d h simulated, Danish time) into embedded SQLite in %s\n",
		from.In(loc).Format("2006-01-02 15:04"), to.In(loc).Format("2006-01-02 15:04 MST"), opts.Hours, where)

	log := slog.New(slog.NewTextHandler(s.ErrOut, &slog.HandlerOptions{Level: slog.LevelWarn}))
	runner, err := collectors.NewRunner(st, collectors.RunnerOptions{Logger: log, Now: now})
	if err != nil {
		return err
	}
	polls, began := 0, time.Now()
	progress := progressTo(s.ErrOut)
	for _, j := range jobs {
		for at := from; at.Before(to); at = at.Add(j.Interval) {
			if err := ctx.Err(); err != nil {
				return err
			}
			clock.Store(at.UnixNano())
			runner.Poll(ctx, j, at)
			polls++
		}
		fmt.Fprintf(progress, "\r  %-10s polled %d times  ", j.Target.Device, int(to.Sub(from)/j.Interval))
	}
	fmt.Fprintf(progress, "\r%60s\r", "")
	for _, j := range jobs {
		j.Collector.Close()
	}
	took := time.Since(began)
	fmt.Fprintf(s.Out, "%d polls over real SNMP in %s (%.0f polls/s)\n\n", polls, took.Round(time.Millisecond), float64(polls)/took.Seconds())

	acc, err := accounting.New(cfg, st)
	if err != nil {
		return err
	}
	meters, err := acc.Meters(ctx, site.Name, from, to)
	if err != nil {
		return err
	}
	if err := writeDemoMeters(s.Out, meters); err != nil {
		return err
	}
	balances, err := acc.Balances(meters)
	if err != nil {
		return err
	}
	res, err := acc.Site(ctx, site, from, to)
	if err != nil {
		return err
	}
	if err := writeDemoSite(s.Out, res, balances); err != nil {
		return err
	}
	if opts.DataDir != "" {
		fmt.Fprintf(s.Out, "\nThe samples stay in the embedded store in %s.\n", dir)
	}
	return nil
}

// startDemoSite serves the recordings on one loopback agent and builds a
// polling job per SNMP device of cfg, pointed at it.
func startDemoSite(ctx context.Context, cfg *config.Config, recs fs.FS, now func() time.Time) (*simsnmp.Agent, []collectors.Job, error) {
	files, err := fs.Glob(recs, "demo/*.snmprec")
	if err != nil || len(files) == 0 {
		return nil, nil, fmt.Errorf("demo: no recordings embedded (%v)", err)
	}
	var list []*simsnmp.Recording
	for _, f := range files {
		b, err := fs.ReadFile(recs, f)
		if err != nil {
			return nil, nil, err
		}
		r, err := simsnmp.Parse(strings.TrimSuffix(path.Base(f), ".snmprec"), strings.NewReader(string(b)))
		if err != nil {
			return nil, nil, fmt.Errorf("demo: %w", err)
		}
		list = append(list, r)
	}
	reg, err := snmp.Embedded()
	if err != nil {
		return nil, nil, err
	}
	agent, err := simsnmp.Start(ctx, simsnmp.Options{Listen: "127.0.0.1:0", Recordings: list, Now: now,
		Variation: &simsnmp.Variation{Seed: 1, Pct: 12, Power: powerPrefixes(reg)}})
	if err != nil {
		return nil, nil, fmt.Errorf("demo: start the SNMP simulator: %w", err)
	}
	var jobs []collectors.Job
	for _, d := range cfg.Devices {
		if d.Protocol != config.ProtocolSNMP {
			continue
		}
		community, err := d.SNMP.Community.Resolve()
		if err != nil {
			agent.Close()
			return nil, nil, err
		}
		target := collectors.Target{Site: d.Site, Room: d.Room, Rack: d.Rack, Device: d.Name, Class: string(d.Class)}
		c, err := snmp.New(snmp.Device{Target: target, Profile: d.Profile, Conn: snmp.Conn{
			Addr: agent.Addr().Addr().String(), Port: agent.Addr().Port(), Version: snmp.V2c,
			Community: community, Timeout: time.Second, Retries: 1}}, snmp.Options{Profiles: reg})
		if err != nil {
			agent.Close()
			return nil, nil, err
		}
		jobs = append(jobs, collectors.Job{Target: target, Source: snmp.Source, Interval: d.Interval.Std(), Collector: c})
	}
	return agent, jobs, nil
}

// writeDemoMeters prints every power meter's energy over the period.
func writeDemoMeters(w io.Writer, meters []accounting.Meter) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tMETER\tENERGY kWh\tMEAN W\tCOVERAGE\tMETHOD")
	for _, m := range meters {
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%.0f\t%.1f %%\t%s\n", m.Device, m.Meter, m.EnergyKWh, m.MeanW,
			m.CoveragePct, strings.Join(m.Methods, "+"))
	}
	return tw.Flush()
}

// writeDemoSite prints the site's total and emissions.
func writeDemoSite(w io.Writer, r accounting.Site, balances []topology.Balance) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\nSite %s (%s), accounting level %s\n", r.Site, r.Area, r.Level)
	fmt.Fprintf(tw, "  IT energy\t%.3f kWh at %s only (the meters it feeds are not added again); coverage %.1f %%\n",
		r.EnergyKWh, strings.Join(r.Meters, ", "), r.CoveragePct)
	for _, b := range balances {
		if b.Leaves == 0 {
			continue
		}
		fmt.Fprintf(tw, "  %s\t%.3f kWh attributed to %d metered loads below it, %.3f kWh losses/unmetered (%.1f %%)\n",
			b.Meter.Device+"/"+b.Meter.Meter, float64(b.Attributed), b.Leaves, float64(b.Unmetered), 100*float64(b.Unmetered)/float64(b.Measured))
	}
	for _, p := range r.Problems {
		fmt.Fprintf(tw, "  problem\t%s\n", p)
	}
	fmt.Fprintf(tw, "  location-based\t%.3f kg CO2e  (Scope 2: Σ hourly kWh × hourly %s intensity)\n", r.Location.KgCO2e, r.Area)
	fmt.Fprintf(tw, "  market-based\t%s\n", r.Market.Note)
	if r.EnergyKWh > 0 {
		fmt.Fprintf(tw, "  intensity\t%.1f g/kWh consumption-weighted, %.1f g/kWh plain average\n",
			r.Location.WeightedGPerKWh, r.Location.PlainGPerKWh)
		fmt.Fprintf(tw, "  intensity source\t%.1f %% of the energy from fallbacks", r.Location.FallbackSharePct)
		if len(r.Location.FallbackBases) > 0 {
			fmt.Fprintf(tw, " (%s)", strings.Join(r.Location.FallbackBases, "; "))
		}
		fmt.Fprintf(tw, "; import Energinet data with `ecometer grid import` for hourly values\n")
	}
	if r.PUE != nil {
		label := "measured: facility / IT energy"
		if r.PUE.Assumed {
			label = "assumed (site's assumed_pue; no facility meter)"
		}
		fmt.Fprintf(tw, "  PUE\t%.2f %s\n", r.PUE.Value, label)
	}
	if r.Location.UsesEnerginet() {
		fmt.Fprintf(tw, "  \t%s\n", gridSource)
	}
	return tw.Flush()
}
