package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/readings"
	"github.com/ecometer/ecometer/models/sample"
)

func newReadingsCommand() *cli.Command {
	return &cli.Command{
		Name:      "readings",
		Usage:     "latest and recent values per device and meter, from the configured store",
		UsageText: "ecometer readings --config FILE [--device D] [--site S] [--since 1h] [--json|--csv]",
		Description: "Reads the store the config names (embedded SQLite or InfluxDB), read-only: for\n" +
			"every device its latest poll (reachable, poll time, Redfish power state), for every\n" +
			"meter its latest values (W, kWh counter, V, A, VA, load) and its power over --since\n" +
			"(samples, min, mean, max); UPS battery and runtime. A value older than --since is\n" +
			"marked stale. Times are UTC in JSON and CSV, local in the table.\n\n" +
			"Examples:\n   ecometer readings --config site.yaml\n" +
			"   ecometer readings --config site.yaml --device pdu-a --since 15m\n" +
			"   ecometer readings --config site.yaml --csv > readings.csv",
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "config", Usage: "config `FILE` naming the store"},
			&cli.StringFlag{Name: "device", Usage: "only `DEVICE`"},
			&cli.StringFlag{Name: "site", Usage: "only `SITE`"},
			&cli.DurationFlag{Name: "since", Usage: "the recent window, e.g. 15m, 1h, 24h", Value: time.Hour},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
			&cli.BoolFlag{Name: "csv", Usage: "print CSV"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("readings: unexpected argument %q (usage: %s)", cmd.Args().First(), cmd.UsageText)
			}
			return runReadings(ctx, readingsOptions{Config: cmd.String("config"), Device: cmd.String("device"), Site: cmd.String("site"),
				Since: cmd.Duration("since"), JSON: cmd.Bool("json"), CSV: cmd.Bool("csv")}, streamsOf(cmd))
		},
	}
}

type readingsOptions struct {
	Config, Device, Site string
	Since                time.Duration
	JSON, CSV            bool
	Now                  time.Time // zero: time.Now
}

type readingsJSON struct {
	Since  string         `json:"since"`
	Now    time.Time      `json:"now"`
	Store  string         `json:"store"`
	Series []readings.Row `json:"series"`
}

func runReadings(ctx context.Context, opts readingsOptions, s streams) error {
	if opts.Config == "" {
		return usageErrorf("readings: --config FILE is required: the store comes from it")
	}
	if opts.JSON && opts.CSV {
		return usageErrorf("readings: --json and --csv exclude each other")
	}
	if opts.Since <= 0 {
		return usageErrorf("readings: --since must be positive, got %s", opts.Since)
	}
	cfg, err := readConfig(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	if opts.Site != "" {
		if _, err := selectSites(cfg, opts.Site, opts.Config); err != nil {
			return err
		}
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	st, where, err := openStore(ctx, cfg, backend.ReadOnly)
	if err != nil {
		return err
	}
	defer st.Close()
	rows, err := readings.Read(ctx, st, readings.Filter{Site: opts.Site, Device: opts.Device}, opts.Since, now)
	if err != nil {
		return err
	}
	if len(rows) == 0 {
		what := "anything"
		if opts.Device != "" {
			what = "device " + opts.Device
		}
		return fmt.Errorf("readings: the store (%s) holds nothing for %s", where, what)
	}
	switch {
	case opts.JSON:
		enc := json.NewEncoder(s.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(readingsJSON{Since: opts.Since.String(), Now: now.UTC(), Store: where, Series: rows})
	case opts.CSV:
		return writeReadingsCSV(s.Out, rows)
	}
	return writeReadingsText(s.Out, rows, opts.Since, now, where)
}

// readingColumns are the value columns of the table, per measurement.
var readingColumns = map[string][]struct{ field, head, format string }{
	sample.Power: {{"power_w", "W", "%.1f"}, {"energy_kwh", "kWh", "%.3f"}, {"voltage_v", "V", "%.1f"},
		{"current_a", "A", "%.2f"}, {"apparent_va", "VA", "%.0f"}, {"load_pct", "load %", "%.1f"}, {"frequency_hz", "Hz", "%.2f"}},
	sample.UPS: {{"battery_charge_pct", "battery %", "%.0f"}, {"runtime_min", "runtime min", "%.0f"},
		{"on_battery", "on battery", "%.0f"}, {"input_w", "in W", "%.0f"}, {"output_w", "out W", "%.0f"}},
}

func writeReadingsText(w io.Writer, rows []readings.Row, since time.Duration, now time.Time, where string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "DEVICE\tMETER\tLATEST\tVALUES\tLAST %s (n, min / mean / max W)\n", strings.ToUpper(since.String()))
	for _, r := range rows {
		age := now.Sub(r.Latest).Round(time.Second)
		when := fmt.Sprintf("%s (%s ago)", r.Latest.Local().Format("2006-01-02 15:04:05"), age)
		if r.Stale {
			when += " STALE"
		}
		var vals []string
		switch r.Measurement {
		case sample.Device:
			if v, ok := r.Values["reachable"]; ok {
				vals = append(vals, map[bool]string{true: "reachable", false: "UNREACHABLE"}[v == 1])
			}
			if v, ok := r.Values["poll_ms"]; ok {
				vals = append(vals, fmt.Sprintf("poll %.0f ms", v))
			}
			if st := r.Text["power_state"]; st != "" {
				vals = append(vals, "power "+st)
			}
		default:
			for _, c := range readingColumns[r.Measurement] {
				if v, ok := r.Values[c.field]; ok {
					vals = append(vals, fmt.Sprintf(c.format+" %s", v, c.head))
				}
			}
		}
		meter := r.Meter
		if r.Measurement != sample.Power {
			meter = "(" + r.Measurement + ")"
		}
		recent := ""
		if rc := r.Recent; rc != nil {
			recent = fmt.Sprintf("%d, %.1f / %.1f / %.1f", rc.Samples, rc.MinW, rc.MeanW, rc.MaxW)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", r.Device, meter, when, strings.Join(vals, ", "), recent)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nStore: %s\n", where)
	return err
}

func writeReadingsCSV(w io.Writer, rows []readings.Row) error {
	cw := csv.NewWriter(w)
	head := []string{"measurement", "site", "room", "rack", "device", "class", "meter", "source", "latest_utc", "stale"}
	var fields []string
	for _, m := range []string{sample.Power, sample.UPS, sample.Device} {
		fields = append(fields, sample.FieldNames(m)...)
	}
	head = append(head, fields...)
	head = append(head, "recent_samples", "recent_min_w", "recent_mean_w", "recent_max_w")
	if err := cw.Write(head); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, r := range rows {
		rec := []string{r.Measurement, r.Site, r.Room, r.Rack, r.Device, r.Class, r.Meter, r.Source,
			r.Latest.Format(time.RFC3339), strconv.FormatBool(r.Stale)}
		for _, f := range fields {
			if v, ok := r.Values[f]; ok {
				rec = append(rec, num(v))
			} else {
				rec = append(rec, r.Text[f])
			}
		}
		if rc := r.Recent; rc != nil {
			rec = append(rec, strconv.Itoa(rc.Samples), num(rc.MinW), num(rc.MeanW), num(rc.MaxW))
		} else {
			rec = append(rec, "", "", "", "")
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
