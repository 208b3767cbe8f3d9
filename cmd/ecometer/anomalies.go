package main

import (
	"context"
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
	"github.com/ecometer/ecometer/internal/anomalies"
	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/idle"
)

func newAnomaliesCommand() *cli.Command {
	return &cli.Command{
		Name:      "anomalies",
		Usage:     "what was unusual in a recent period, and why it matters",
		UsageText: "ecometer anomalies --config FILE [--since 7d] [--until TIME] [--json]",
		Description: "Checks every power meter in the store over the period against its own\n" +
			"baseline: for each hour of the week, the median of that hour over the 8 weeks\n" +
			"before the period (a meter needs 4 of them). An hour is off when its modified\n" +
			"z-score (0.6745 × deviation / MAD) passes ±3.5; a deviation is reported after 3\n" +
			"such hours in a row, so one odd reading never is. Smaller changes that last are\n" +
			"found by a CUSUM of the daily mean scores: a level shift is reported as a\n" +
			"deviation, a change that keeps growing as a drift. Hours a server reported\n" +
			"PowerState Off are left out.\n\n" +
			"Domain rules: a meter that reports exactly the same value for 6 hours (flatline),\n" +
			"an energy counter that went backwards (counter_reset), a site whose daily PUE\n" +
			"moved by 0.1 or more for 3 days (pue_step; sites with a facility meter), a UPS\n" +
			"converting 2 points less of its input than it did at the same load\n" +
			"(ups_efficiency_drop), a device drawing more than 30 W while its Redfish power\n" +
			"state says Off (power_while_off; its own meters and the outlet that feeds it),\n" +
			"a three-phase device whose phases are unbalanced by more than 20 % for a day\n" +
			"(phase_imbalance). Each comes with a plain-language explanation and its\n" +
			"figures. The baseline stays the one from before the period, so check long spans\n" +
			"a month at a time.\n\n" +
			"Examples:\n" +
			"   ecometer anomalies --config site.yaml\n" +
			"   ecometer anomalies --config site.yaml --since 30d --json\n" +
			"   ecometer anomalies --config site.yaml --since 7d --until 2025-03-24\n\n" +
			"Exit codes: 0 (also when anomalies are found), 1 runtime error, 2 bad config or usage.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store)"},
			&cli.StringFlag{Name: "since", Value: "7d", Usage: "length of the period: `DURATION` in days (7d) or as Go duration (36h)"},
			untilFlag(),
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runAnomalies(ctx, anomaliesOptions{Config: cmd.String("config"), Since: cmd.String("since"),
				Until: cmd.String("until"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
	}
}

func newIdleCommand() *cli.Command {
	return &cli.Command{
		Name:      "idle",
		Usage:     "equipment that could be switched off, ranked by what it would save a year",
		UsageText: "ecometer idle --config FILE [--days 30] [--until TIME] [--intensity G] [--json]",
		Description: "Looks at the last --days days of every meter in the store and lists:\n" +
			"  server        servers whose power stayed near their idle level all the time (the\n" +
			"                95th percentile within 10 % + 5 W); the idle level is the device's\n" +
			"                tag idle_w (datasheet), else the 2nd percentile of its own power\n" +
			"                over the period and the 60 days before\n" +
			"  server_night  servers at their idle level every night (22–06 local time) but not\n" +
			"                by day: candidates for a power-down schedule\n" +
			"  outlet        outlets that drew under 10 W all the time for at least 14 days\n" +
			"  poe_night     PoE ports that drew power through the night; link activity is not\n" +
			"                collected, so whether they are used at night is not known\n" +
			"Each line says what switching off saves a year (kWh, and kg CO2e at the grid's\n" +
			"plain mean intensity over the last year from the store, else grid.annual_factors,\n" +
			"else the hours through the accounting's fallbacks, ecometer's built-in Energinet\n" +
			"data included; or --intensity) and why, with a confidence: high (datasheet), medium (its own\n" +
			"history shows it working harder before), low (power alone cannot tell). Patient-\n" +
			"critical and deny-listed devices are listed but marked protected: the power\n" +
			"controller never acts on them.\n\n" +
			"Examples:\n" +
			"   ecometer idle --config site.yaml\n" +
			"   ecometer idle --config site.yaml --days 60 --json\n\n" +
			"Exit codes: 0, 1 runtime error, 2 bad config or usage.",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` (sites, devices, store)"},
			&cli.IntFlag{Name: "days", Value: anomalies.DefaultIdleDays, Usage: "judge the last `N` days"},
			untilFlag(),
			&cli.FloatFlag{Name: "intensity", Usage: "rate savings at `G` g CO2e/kWh instead of the stored grid data"},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runIdle(ctx, idleOptions{Config: cmd.String("config"), Days: cmd.Int("days"), Until: cmd.String("until"),
				Intensity: cmd.Float("intensity"), JSON: cmd.Bool("json")}, streamsOf(cmd))
		},
	}
}

func untilFlag() cli.Flag {
	return &cli.StringFlag{Name: "until", Usage: "end of the period: `TIME` as RFC 3339 or YYYY-MM-DD (Danish midnight); default now"}
}

type anomaliesOptions struct {
	Config, Since, Until string
	JSON                 bool
	Now                  time.Time // zero: time.Now
}

type idleOptions struct {
	Config    string
	Days      int
	Until     string
	Intensity float64
	JSON      bool
	Now       time.Time // zero: time.Now
}

// parseSince reads a period length: "7d" or a Go duration.
func parseSince(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var d time.Duration
	var err error
	if n, ok := strings.CutSuffix(s, "d"); ok {
		var days int
		days, err = strconv.Atoi(n)
		d = time.Duration(days) * 24 * time.Hour
	} else {
		d, err = time.ParseDuration(s)
	}
	if err != nil || d < time.Hour {
		return 0, usageErrorf("--since %q: want at least an hour, in days (7d) or as a Go duration (36h)", s)
	}
	return d, nil
}

// parseUntil reads --until: RFC 3339, or a date meaning Danish midnight.
func parseUntil(s string, now time.Time) (time.Time, error) {
	if s == "" {
		return now, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	cph, err := time.LoadLocation("Europe/Copenhagen")
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.ParseInLocation("2006-01-02", s, cph)
	if err != nil {
		return time.Time{}, usageErrorf("--until %q: want RFC 3339 (2025-03-24T06:00:00Z) or a date (2025-03-24)", s)
	}
	return t, nil
}

// anomaliesJSON is what --json prints.
type anomaliesJSON struct {
	*anomalies.Report
	Open  map[anomaly.Kind]int `json:"open_by_kind"`
	Store string               `json:"store"`
}

func runAnomalies(ctx context.Context, opts anomaliesOptions, s streams) error {
	if opts.Config == "" {
		return usageErrorf("anomalies: --config FILE is required: the sites and devices come from it")
	}
	since, err := parseSince(opts.Since)
	if err != nil {
		return err
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	to, err := parseUntil(opts.Until, now)
	if err != nil {
		return err
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	progress := progressTo(s.ErrOut)
	rep, err := anomalies.Detect(ctx, st, cfg, anomalies.Options{From: to.Add(-since), To: to,
		Progress: func(n int) { fmt.Fprintf(progress, "\r\033[Kchecking: %d meters", n) }})
	fmt.Fprint(progress, "\r\033[K")
	if err != nil {
		return err
	}
	if opts.JSON {
		if rep.Anomalies == nil {
			rep.Anomalies = []anomaly.Anomaly{}
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(anomaliesJSON{Report: rep, Open: rep.CountOpen(), Store: where})
	}
	return writeAnomalies(s.Out, rep, where, danish())
}

// danish is the time zone times are printed in.
func danish() *time.Location {
	if l, err := time.LoadLocation("Europe/Copenhagen"); err == nil {
		return l
	}
	return time.UTC
}

const whenFormat = "Mon 2006-01-02 15:04 MST"

func writeAnomalies(w io.Writer, r *anomalies.Report, where string, loc *time.Location) error {
	fmt.Fprintf(w, "Anomalies %s – %s (%s, against a baseline from the %d weeks before)\n", r.From.In(loc).Format(whenFormat),
		r.To.In(loc).Format(whenFormat), fmtSpan(r.To.Sub(r.From)), r.BaselineWeeks)
	fmt.Fprintf(w, "Checked: %s (%d with a baseline), %s, %s with a Redfish power state, the PUE of %s\n\n",
		plural(r.Meters, "power meter"), r.Scored, plural(r.UPSs, "UPS"), plural(r.PowerStates, "device"), plural(r.PUESites, "site"))
	if len(r.Anomalies) == 0 {
		fmt.Fprintf(w, "Nothing unusual.\n")
	}
	for _, a := range r.Anomalies {
		state := "     "
		if a.Open {
			state = "OPEN "
		}
		what := a.Device
		if a.Meter != "" {
			what += "/" + a.Meter
		}
		if what == "" {
			what = "site " + a.Site
		}
		until := a.End.In(loc).Format(whenFormat)
		if a.Open {
			until = "still going"
		}
		fmt.Fprintf(w, "%s%-19s %-24s %s – %s\n", state, a.Kind, what, a.Start.In(loc).Format(whenFormat), until)
		for _, line := range wrap(a.Explanation, 92) {
			fmt.Fprintf(w, "     %s\n", line)
		}
		fmt.Fprintln(w)
	}
	counts, open := r.Count(), r.CountOpen()
	var parts []string
	for _, k := range anomaly.Kinds {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d (%d open)", k, counts[k], open[k]))
		}
	}
	if len(parts) > 0 {
		noun := "anomalies"
		if len(r.Anomalies) == 1 {
			noun = "anomaly"
		}
		fmt.Fprintf(w, "%d %s: %s\n", len(r.Anomalies), noun, strings.Join(parts, ", "))
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNot checked:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n", where)
	return err
}

func fmtSpan(d time.Duration) string {
	if d%(24*time.Hour) == 0 {
		return plural(int(d/(24*time.Hour)), "day")
	}
	return d.String()
}

// unitWords are words a line never starts with: they belong to the number
// before them.
var unitWords = map[string]bool{"%": true, "W": true, "kW": true, "kWh": true, "MWh": true, "g": true, "kg": true,
	"CET": true, "CEST": true, "UTC": true, "%)": true, "%,": true, "%.": true, "W,": true, "W.": true, "kWh.": true}

// wrap breaks text into lines of at most width runes, at spaces (a unit
// stays with its number, so a line may run over by one word).
func wrap(text string, width int) []string {
	var lines []string
	var cur []string
	n := 0
	for _, word := range strings.Fields(text) {
		l := len([]rune(word))
		if n > 0 && n+1+l > width && !unitWords[strings.TrimRight(word, ",.;:)")] && !unitWords[word] {
			lines = append(lines, strings.Join(cur, " "))
			cur, n = nil, 0
		}
		if n > 0 {
			n++
		}
		cur = append(cur, word)
		n += l
	}
	if len(cur) > 0 {
		lines = append(lines, strings.Join(cur, " "))
	}
	return lines
}

// idleJSON is what --json prints.
type idleJSON struct {
	*anomalies.IdleReport
	Intensities map[string]anomalies.Intensity `json:"intensities"`
	Store       string                         `json:"store"`
	Source      string                         `json:"source,omitempty"`
}

func runIdle(ctx context.Context, opts idleOptions, s streams) error {
	if opts.Config == "" {
		return usageErrorf("idle: --config FILE is required: the sites and devices come from it")
	}
	if opts.Days < 1 {
		return usageErrorf("idle: --days must be at least 1, got %d", opts.Days)
	}
	if opts.Intensity < 0 {
		return usageErrorf("idle: --intensity must not be negative, got %g", opts.Intensity)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	to, err := parseUntil(opts.Until, now)
	if err != nil {
		return err
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	out := idleJSON{Store: where, Intensities: map[string]anomalies.Intensity{}}
	if opts.Intensity > 0 {
		for _, site := range cfg.Sites {
			out.Intensities[site.Name] = anomalies.Intensity{GPerKWh: opts.Intensity, Source: "--intensity"}
		}
	} else if out.Intensities, err = anomalies.SiteIntensities(ctx, st, cfg, to); err != nil {
		return err
	} else {
		// Sites without stored data or factors: the accounting's chain,
		// ecometer's built-in grid data included.
		acc, err := accounting.New(cfg, st)
		if err != nil {
			return err
		}
		if out.Intensities, err = anomalies.ChainIntensities(ctx, acc, cfg, to, out.Intensities); err != nil {
			return err
		}
	}
	for _, in := range out.Intensities {
		if strings.Contains(in.Source, "Energinet") {
			out.Source = gridSource
		}
	}
	progress := progressTo(s.ErrOut)
	out.IdleReport, err = anomalies.FindIdle(ctx, st, cfg, anomalies.IdleOptions{Now: to, Days: opts.Days, Intensities: out.Intensities,
		Progress: func(n int) { fmt.Fprintf(progress, "\r\033[Klooking: %d meters", n) }})
	fmt.Fprint(progress, "\r\033[K")
	if err != nil {
		return err
	}
	if opts.JSON {
		if out.Candidates == nil {
			out.Candidates = []idle.Candidate{}
		}
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	return writeIdle(s.Out, out, danish())
}

func writeIdle(w io.Writer, r idleJSON, loc *time.Location) error {
	fmt.Fprintf(w, "Idle equipment, %s – %s (%s)\n", r.From.In(loc).Format("2006-01-02"), r.To.In(loc).Format("2006-01-02"), fmtSpan(r.To.Sub(r.From)))
	fmt.Fprintf(w, "%s read: %s, %s, %s judged\n\n", plural(r.Meters, "power meter"), plural(r.Servers, "server"),
		plural(r.Outlets, "outlet"), plural(r.PoEPorts, "PoE port"))
	if len(r.Candidates) == 0 {
		fmt.Fprintf(w, "No candidates.\n")
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(r.Candidates) > 0 {
		fmt.Fprintf(tw, "#\tkind\tequipment\tkWh/yr\tkg CO2e/yr\tconfidence\t\n")
	}
	for i, c := range r.Candidates {
		what := c.Device
		if c.Kind == idle.Outlet || c.Kind == idle.PoENight {
			what += "/" + c.Meter
		}
		kg := "–"
		if c.SavedKgCO2ePerYear > 0 {
			kg = fmt.Sprintf("%.1f", c.SavedKgCO2ePerYear)
		}
		prot := ""
		if c.Protected {
			prot = "protected"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%.0f\t%s\t%s\t%s\n", i+1, c.Kind, what, c.SavedKWhPerYear, kg, c.Confidence, prot)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for i, c := range r.Candidates {
		fmt.Fprintf(w, "\n%d. %s: %s\n", i+1, c.Action, c.Device+meterSuffix(c))
		for _, line := range wrap(c.Evidence, 92) {
			fmt.Fprintf(w, "   %s\n", line)
		}
	}
	if len(r.Candidates) > 0 {
		kg := fmt.Sprintf("%.1f kg CO2e", r.SavedKgCO2ePerYear)
		if len(r.Intensities) == 0 {
			kg = "CO2e not computed"
		}
		fmt.Fprintf(w, "\nAll not protected: %.0f kWh a year (%s).\n", r.SavedKWhPerYear, kg)
	}
	fmt.Fprintf(w, "\nIntensity:\n")
	for _, site := range sortedSites(r.Intensities) {
		in := r.Intensities[site]
		fmt.Fprintf(w, "  %s: %.1f g CO2e/kWh, %s\n", site, in.GPerKWh, in.Source)
	}
	if len(r.Intensities) == 0 {
		fmt.Fprintf(w, "  none: no grid data in the store and no grid.annual_factors; CO2e not computed\n")
	}
	if len(r.Notes) > 0 {
		fmt.Fprintf(w, "\nNotes:\n")
		for _, n := range r.Notes {
			fmt.Fprintf(w, "  - %s\n", n)
		}
	}
	fmt.Fprintf(w, "\nStore: %s\n", r.Store)
	if r.Source != "" {
		fmt.Fprintln(w, r.Source)
	}
	return nil
}

func meterSuffix(c idle.Candidate) string {
	if c.Kind == idle.Outlet || c.Kind == idle.PoENight {
		return "/" + c.Meter
	}
	return ""
}

func sortedSites(m map[string]anomalies.Intensity) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
