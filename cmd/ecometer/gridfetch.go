package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/internal/backend"
	"github.com/ecometer/ecometer/internal/energinet"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/models/grid"
)

func newGridFetchCommand() *cli.Command {
	return &cli.Command{
		Name:      "fetch",
		Usage:     "download grid intensity from Energi Data Service and store it",
		UsageText: "ecometer grid fetch [--config FILE] --area DK1 --from YYYY-MM-DD --to YYYY-MM-DD [--dataset NAME] [--base-url URL]",
		Description: "Reads CO2Emis (default), CO2EmisProg or DeclarationGridEmission from\n" +
			"Energinet's public API, page by page, retrying server errors with backoff.\n" +
			"--from and --to are Danish local dates (or YYYY-MM-DDTHH:MM); --to is exclusive.\n" +
			"Fetching a period again replaces it, so nothing is stored twice. Without\n" +
			"network access, download the export by hand and use `ecometer grid import`.\n\n" +
			"Example:\n   ecometer grid fetch --config site.yaml --area DK1 --from 2026-10-01 --to 2026-11-01",
		Flags: []cli.Flag{
			configFlag(),
			&cli.StringFlag{Name: "area", Usage: "price `AREA` (default: grid.area of the config, DK1)"},
			&cli.StringFlag{Name: "from", Usage: "first Danish local `DATE`, YYYY-MM-DD", Required: true},
			&cli.StringFlag{Name: "to", Usage: "Danish local `DATE` to stop before, YYYY-MM-DD", Required: true},
			&cli.StringFlag{Name: "dataset", Usage: "`NAME`: CO2Emis, CO2EmisProg or DeclarationGridEmission", Value: "CO2Emis"},
			&cli.StringFlag{Name: "base-url", Usage: "API `URL`", Value: energinet.DefaultBaseURL},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			if cmd.Args().Present() {
				return usageErrorf("%s: unexpected argument %q (usage: %s)", commandPath(cmd), cmd.Args().First(), cmd.UsageText)
			}
			return runGridFetch(ctx, gridFetchOptions{
				Config: cmd.String("config"), Area: cmd.String("area"), From: cmd.String("from"), To: cmd.String("to"),
				Dataset: cmd.String("dataset"), BaseURL: cmd.String("base-url"),
			}, streamsOf(cmd))
		},
	}
}

type gridFetchOptions struct {
	Config   string
	Area     string
	From, To string // Danish local, YYYY-MM-DD or YYYY-MM-DDTHH:MM
	Dataset  string
	BaseURL  string

	// Tests set these; zero values mean the defaults.
	PageSize int
	Retries  int
	Backoff  time.Duration
	Client   *http.Client
}

// parseLocal parses a Danish local date or date-time into the API's format.
func parseLocal(flag, s string) (time.Time, error) {
	for _, layout := range []string{"2006-01-02", "2006-01-02T15:04"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, usageErrorf("--%s %q: want a Danish local date YYYY-MM-DD or YYYY-MM-DDTHH:MM", flag, s)
}

func runGridFetch(ctx context.Context, opts gridFetchOptions, s streams) error {
	if _, ok := energinet.Datasets[opts.Dataset]; !ok {
		return usageErrorf("--dataset %q: want CO2Emis, CO2EmisProg or DeclarationGridEmission", opts.Dataset)
	}
	from, err := parseLocal("from", opts.From)
	if err != nil {
		return err
	}
	to, err := parseLocal("to", opts.To)
	if err != nil {
		return err
	}
	if !to.After(from) {
		return usageErrorf("--to %s is not after --from %s", opts.To, opts.From)
	}
	base, err := url.Parse(opts.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return usageErrorf("--base-url %q: want http(s)://host", opts.BaseURL)
	}
	cfg, note, err := loadConfigOrDefault(opts.Config, s.ErrOut)
	if err != nil {
		return err
	}
	area := opts.Area
	if area == "" {
		area = string(cfg.Grid.Area)
	}
	if area != "DK1" && area != "DK2" {
		return usageErrorf("--area %q: want DK1 or DK2", area)
	}
	client := energinet.Client{BaseURL: opts.BaseURL, PageSize: opts.PageSize, Retries: opts.Retries, Backoff: opts.Backoff,
		HTTP: opts.Client, Progress: progressTo(s.ErrOut)}
	res, err := client.Fetch(ctx, energinet.Request{Dataset: opts.Dataset, Area: area, From: from, To: to})
	if err != nil {
		return fmt.Errorf("grid fetch: %w", err)
	}
	if res.Records == 0 {
		return fmt.Errorf("grid fetch: %s returned no records for %s: nothing stored", res.Name, area)
	}
	imp, err := grid.Parse(res.Name, bytes.NewReader(res.Doc), grid.Options{})
	if err != nil {
		return fmt.Errorf("grid fetch: unexpected response: %w (nothing stored)", err)
	}
	st, where, err := openStore(ctx, cfg, backend.ReadWrite)
	if err != nil {
		return err
	}
	defer st.Close()
	hours := store.GridHoursOf(imp.Hours, opts.Dataset)
	if err := st.WriteGrid(ctx, hours); err != nil {
		return err
	}
	if err := writeImportSummary(s.Out, "fetched", opts.Dataset, imp); err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.Out, "Fetched %s in %s from %s; stored %s in %s%s.\n%s\n",
		plural(res.Records, "record"), plural(res.Pages, "page"), strings.TrimRight(opts.BaseURL, "/"), plural(len(hours), "hour"), where, note, gridSource)
	return err
}
