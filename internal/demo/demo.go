// Package demo runs ecometer end to end on a simulated site, for
// `ecometer demo`: it starts the demo site's SNMP devices and Redfish BMCs
// on loopback (internal/sim, from the assets in examples/demo), collects
// them live with the collectors internal/collection builds from the site's
// config, fills the embedded store with months of history (hourly, with
// working-day, night and seasonal patterns, a power-down policy applied in
// the last months, planted anomalies and idle servers), and then runs what
// a user runs: the monthly report, a power-down plan, a procurement check,
// the anomaly detection and the idle finder, failing when a planted
// anomaly is not found. Every figure comes from the packages the commands
// use; this package only tells the story and wires them.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/examples"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/control/apply"
	"github.com/ecometer/ecometer/internal/control/audit"
	"github.com/ecometer/ecometer/internal/control/savings"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/carbon"
	"github.com/ecometer/ecometer/models/grid/builtin"
	"github.com/ecometer/ecometer/reports/monthly"
)

// DefaultMonths is how many months of history the demo writes, the report
// month the last of them; MinMonths the fewest that give the anomaly
// baselines (8 weeks) and the idle finder (30 + 60 days) their history.
const (
	DefaultMonths = 14
	MinMonths     = 4
)

// PolicyFile is the example policy the history applies and the plan uses,
// as copied into the output directory.
const PolicyFile = "policies/night-test-servers.yaml"

// Options say where and when the demo runs.
type Options struct {
	// Dir receives everything: it must exist. The caller decides whether
	// it is kept.
	Dir string
	// Now is the demo's wall clock: the live readings end at it, the
	// report is of the month before it.
	Now time.Time
	// Month is the report month (zero: the last full month before Now);
	// the history runs from Months before it to Now.
	Month accounting.Period
	// Months of history, the report month included (default
	// DefaultMonths, at least MinMonths).
	Months int
	// Step, when set, is told each step as it starts (progress).
	Step func(step string)
	// Done, when set, is called after each part with the result so far,
	// so that the caller can print it as it comes.
	Done func(p Part, r *Result)
	// Logger receives the collectors' warnings (default: discard).
	Logger *slog.Logger
	// Boavizta, when set, is the Boavizta CSV (boavizta-data-us.csv) whose
	// class medians give the report's embodied section the footprints the
	// inventory lacks (report.boavizta_file). Without it that section
	// counts none.
	Boavizta string
}

// Part names a part of the demo.
type Part string

// The parts, in the order they run.
const (
	PartSite        Part = "site"
	PartLive        Part = "live"
	PartHistory     Part = "history"
	PartAnomalies   Part = "anomalies"
	PartReport      Part = "report"
	PartPlan        Part = "plan"
	PartProcurement Part = "procurement"
)

// Result is what the demo did and where it put it.
type Result struct {
	Dir     string
	Site    *Site // running until Close (the caller keeps it for --keep)
	Period  accounting.Period
	Live    Live
	History History
	// Inventory is the asset inventory imported (Inventory: its file).
	Inventory       string
	InventoryAssets int
	Anomalies       *anomalies.Report
	Idle            *anomalies.IdleReport
	Intensities     map[string]anomalies.Intensity
	// Planted are the planted anomalies and idle servers, each marked
	// found or not.
	Planted     []Planted
	Savings     savings.Report
	Report      *monthly.Report
	ReportFiles monthly.Files
	Plan        Plan
	Procurement Procurement
	Took        time.Duration
}

// Close stops the simulated site.
func (r *Result) Close() error {
	if r == nil || r.Site == nil {
		return nil
	}
	return r.Site.Close()
}

// Run runs the demo. On success the site keeps running until r.Close. A
// planted anomaly the detection misses makes it return a *PlantedError,
// after every part has run (the result is returned with it); any other
// error stops it, with the site closed.
func Run(ctx context.Context, o Options) (r *Result, err error) {
	began := time.Now()
	if o.Months == 0 {
		o.Months = DefaultMonths
	}
	if o.Months < MinMonths {
		return nil, fmt.Errorf("demo: %d months of history: want at least %d", o.Months, MinMonths)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	step := func(s string) {
		if o.Step != nil {
			o.Step(s)
		}
	}
	r = &Result{Dir: o.Dir, Period: o.Month}
	if r.Period.From.IsZero() {
		r.Period = accounting.LastFullMonth(o.Now)
	}
	if !r.Period.To.Before(o.Now) {
		return nil, fmt.Errorf("demo: month %s has not ended at %s", r.Period.Label(), o.Now.Format(time.RFC3339))
	}
	if err := CheckHistory(r.Period, o.Months); err != nil {
		return nil, err
	}
	done := func(p Part) {
		if o.Done != nil {
			o.Done(p, r)
		}
	}
	defer func() {
		if err != nil && !errors.As(err, new(*PlantedError)) {
			r.Close()
		}
	}()

	step("copying the examples")
	if err := copyExamples(o.Dir); err != nil {
		return r, err
	}
	// The live readings: the last LiveMinutes before now, on whole 5-minute
	// slots so that the 5-minute devices are polled too.
	liveTo := o.Now.Truncate(5 * time.Minute)
	liveFrom := liveTo.Add(-LiveMinutes * time.Minute)

	step("starting the simulated site")
	if r.Site, err = startSite(ctx, examples.DemoYAML, examples.Demo, o.Dir, liveFrom, o.Now, o.Boavizta); err != nil {
		return r, err
	}
	done(PartSite)
	cfg := r.Site.Config
	st, err := backend.OpenEmbedded(ctx, cfg, backend.ReadWrite)
	if err != nil {
		return r, err
	}
	defer st.Close()

	step("collecting live")
	if r.Live, err = collectLive(ctx, r.Site, st, liveFrom, liveTo, o.Logger); err != nil {
		return r, err
	}
	done(PartLive)

	step("importing the asset inventory")
	r.Inventory = filepath.Join(o.Dir, "inventory.csv")
	if r.InventoryAssets, err = importInventory(ctx, st, r.Inventory); err != nil {
		return r, err
	}
	step("writing the history")
	if r.History, err = fillHistory(ctx, st, cfg, r.Live.Rows, r.Period, o.Months, liveFrom,
		filepath.Join(o.Dir, PolicyFile), step); err != nil {
		return r, err
	}
	done(PartHistory)

	acc, err := accounting.New(cfg, st)
	if err != nil {
		return r, err
	}
	step("checking for anomalies")
	p := r.Period
	if r.Anomalies, err = anomalies.Detect(ctx, st, cfg, anomalies.Options{From: p.From, To: p.To}); err != nil {
		return r, err
	}
	step("looking for idle equipment")
	if r.Intensities, err = anomalies.SiteIntensities(ctx, st, cfg, p.To); err != nil {
		return r, err
	}
	if r.Intensities, err = anomalies.ChainIntensities(ctx, acc, cfg, p.To, r.Intensities); err != nil {
		return r, err
	}
	if r.Idle, err = anomalies.FindIdle(ctx, st, cfg, anomalies.IdleOptions{Now: p.To, Days: monthly.MonthDays(p),
		Intensities: r.Intensities}); err != nil {
		return r, err
	}
	r.Planted = findPlanted(r.History.Planted, r.Anomalies, r.Idle)
	done(PartAnomalies)

	step("measuring the power-down savings")
	if r.Savings, err = savings.Month(ctx, acc, audit.Open(apply.AuditPath(cfg)), p); err != nil {
		return r, err
	}
	step("writing the monthly report")
	// The report's optional inputs are the figures above, as the report
	// command gets them (monthly.ControllerSavings, monthly.DetectedAnomalies).
	r.Report, r.ReportFiles, err = monthly.Produce(ctx, monthly.Params{Config: cfg, Period: p,
		OutDir: filepath.Join(o.Dir, "reports"), Generated: o.Now.UTC().Truncate(time.Second),
		PowerDown: func(context.Context, *config.Config, accounting.Store, accounting.Period) (*monthly.PowerDown, error) {
			return monthly.PowerDownFrom(r.Savings), nil
		},
		Anomalies: func(context.Context, *config.Config, accounting.Store, accounting.Period) (*monthly.Anomalies, error) {
			return monthly.AnomaliesFrom(r.Anomalies, r.Idle), nil
		},
		Progress: func(s string) { step("monthly report: " + s) }})
	if err != nil {
		return r, err
	}
	done(PartReport)

	step("making a power-down plan")
	if r.Plan, err = makePlan(ctx, r.Site, st, acc, o.Now); err != nil {
		return r, err
	}
	done(PartPlan)

	step("checking the procurement offers")
	if r.Procurement, err = checkProcurement(o.Dir, o.Now, r.Intensities); err != nil {
		return r, err
	}
	done(PartProcurement)
	r.Took = time.Since(began)

	var missed []Planted
	for _, x := range r.Planted {
		if !x.Found {
			missed = append(missed, x)
		}
	}
	if len(missed) > 0 {
		return r, &PlantedError{Missed: missed}
	}
	return r, nil
}

// copyExamples writes the example files the printed commands use
// (examples.Copyable) into dir.
func copyExamples(dir string) error {
	return fs.WalkDir(examples.Copyable, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := fs.ReadFile(examples.Copyable, p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// importInventory stores the asset inventory (as `ecometer inventory
// import` does): the report's embodied section reads it.
func importInventory(ctx context.Context, st *sqlite.Store, file string) (int, error) {
	f, err := os.Open(file)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	assets, err := carbon.ParseInventory(file, f)
	if err != nil {
		return 0, err
	}
	if _, err := st.WriteAssets(ctx, assets); err != nil {
		return 0, err
	}
	return len(assets), nil
}

// HistoryError is a report month and history length the demo cannot
// fill: hours before ecometer's built-in grid data would have no intensity.
type HistoryError struct{ Msg string }

func (e *HistoryError) Error() string { return "demo: " + e.Msg }

// CheckHistory says whether months of history ending with p lie within the
// built-in grid data of the demo site's price area (DK1).
func CheckHistory(p accounting.Period, months int) error {
	d, err := builtin.Data()
	if err != nil {
		return err
	}
	first := 0
	for _, m := range d.Annual {
		if m.Area == "DK1" && (first == 0 || m.Year < first) {
			first = m.Year
		}
	}
	fy, fm := accounting.AddMonths(p.Year, p.Month, -(months - 1))
	if fy < first {
		return &HistoryError{Msg: fmt.Sprintf("%d months ending with %s start in %d-%02d, before ecometer's built-in DK1 grid data (from %d): choose a later --month or fewer --months",
			months, p.Label(), fy, int(fm), first)}
	}
	return nil
}
