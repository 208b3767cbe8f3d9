package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/models/grid"
)

// Energi Data Service, Energinet's public API.
const (
	defaultGridAPI      = "https://api.energidataservice.dk"
	defaultGridPageSize = 10000
	defaultGridRetries  = 4 // attempts after the first
	defaultGridBackoff  = time.Second
)

// fetchDatasets are the datasets grid fetch knows, with the UTC column the
// API sorts them by (a stable order is what makes offset paging safe).
var fetchDatasets = map[string]string{
	"CO2Emis":                 "Minutes5UTC",
	"CO2EmisProg":             "Minutes5UTC",
	"DeclarationGridEmission": "HourUTC",
}

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
			&cli.StringFlag{Name: "base-url", Usage: "API `URL`", Value: defaultGridAPI},
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
	sortCol, ok := fetchDatasets[opts.Dataset]
	if !ok {
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

	f := &gridFetcher{
		base: strings.TrimRight(opts.BaseURL, "/"), dataset: opts.Dataset, sortCol: sortCol, area: area,
		start: from.Format("2006-01-02T15:04"), end: to.Format("2006-01-02T15:04"),
		pageSize: cmp.Or(opts.PageSize, defaultGridPageSize), retries: cmp.Or(opts.Retries, defaultGridRetries),
		backoff: cmp.Or(opts.Backoff, defaultGridBackoff), client: opts.Client, progress: progressTo(s.ErrOut),
	}
	if f.client == nil {
		f.client = &http.Client{Timeout: 60 * time.Second}
	}
	doc, n, err := f.fetchAll(ctx)
	if err != nil {
		return err
	}
	name := fmt.Sprintf("%s %s %s..%s", f.base, opts.Dataset, f.start, f.end)
	if n == 0 {
		return fmt.Errorf("grid fetch: %s returned no records for %s: nothing stored", name, area)
	}
	imp, err := grid.Parse(name, bytes.NewReader(doc), grid.Options{})
	if err != nil {
		return fmt.Errorf("grid fetch: unexpected response: %w (nothing stored)", err)
	}
	st, where, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	hours := toGridHours(imp.Hours, opts.Dataset)
	if err := st.WriteGrid(ctx, hours); err != nil {
		return err
	}
	if err := writeImportSummary(s.Out, "fetched", opts.Dataset, imp); err != nil {
		return err
	}
	_, err = fmt.Fprintf(s.Out, "Fetched %s in %s from %s; stored %s in %s%s.\n%s\n",
		plural(n, "record"), plural(f.pages, "page"), f.base, plural(len(hours), "hour"), where, note, gridSource)
	return err
}

type gridFetcher struct {
	base, dataset, sortCol, area, start, end string
	pageSize, retries                        int
	backoff                                  time.Duration
	client                                   *http.Client
	progress                                 io.Writer
	pages                                    int
}

// apiPage is one response of the API.
type apiPage struct {
	Total   int               `json:"total"`
	Limit   int               `json:"limit"`
	Dataset string            `json:"dataset"`
	Records []json.RawMessage `json:"records"`
}

// fetchAll reads every page and returns the records as one JSON document
// {"records": [...]} (what grid.Parse reads) and their number.
func (f *gridFetcher) fetchAll(ctx context.Context) ([]byte, int, error) {
	var records []json.RawMessage
	for offset := 0; ; {
		page, err := f.page(ctx, offset)
		if err != nil {
			return nil, 0, err
		}
		f.pages++
		records = append(records, page.Records...)
		offset += len(page.Records)
		fmt.Fprintf(f.progress, "fetched %d of %d records\n", offset, page.Total)
		if len(page.Records) == 0 || offset >= page.Total {
			break
		}
	}
	// One record per line: parse errors then name the record by its line
	// (record i is on line i + 2), and grid.Parse, which finds the column of
	// every record from the start of its line, stays linear.
	var doc bytes.Buffer
	doc.WriteString("{\"records\": [")
	for i, r := range records {
		if i > 0 {
			doc.WriteByte(',')
		}
		doc.WriteByte('\n')
		if err := json.Compact(&doc, r); err != nil {
			return nil, 0, fmt.Errorf("grid fetch: record %d: %w", i, err)
		}
	}
	doc.WriteString("\n]}\n")
	return doc.Bytes(), len(records), nil
}

// page fetches one page, retrying network errors, 429 and 5xx with
// exponential backoff.
func (f *gridFetcher) page(ctx context.Context, offset int) (apiPage, error) {
	filter, _ := json.Marshal(map[string][]string{"PriceArea": {f.area}})
	q := url.Values{
		"start":  {f.start},
		"end":    {f.end},
		"filter": {string(filter)},
		"sort":   {f.sortCol + " ASC"},
		"limit":  {strconv.Itoa(f.pageSize)},
		"offset": {strconv.Itoa(offset)},
	}
	u := f.base + "/dataset/" + url.PathEscape(f.dataset) + "?" + q.Encode()
	var last error
	for attempt := 0; attempt <= f.retries; attempt++ {
		if attempt > 0 {
			wait := f.backoff << (attempt - 1)
			fmt.Fprintf(f.progress, "%v; retrying in %s\n", last, wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return apiPage{}, fmt.Errorf("grid fetch: %w (after: %v)", ctx.Err(), last)
			}
		}
		page, retry, err := f.get(ctx, u)
		if err == nil {
			return page, nil
		}
		if !retry {
			return apiPage{}, err
		}
		last = err
	}
	return apiPage{}, fmt.Errorf("grid fetch: giving up after %d attempts: %w; if this machine is offline, download the %s export from www.energidataservice.dk and run `ecometer grid import FILE`",
		f.retries+1, last, f.dataset)
}

func (f *gridFetcher) get(ctx context.Context, u string) (apiPage, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return apiPage{}, false, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ecometer")
	resp, err := f.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return apiPage{}, false, fmt.Errorf("grid fetch: %w", err)
		}
		return apiPage{}, true, fmt.Errorf("cannot reach %s: %w", f.base, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return apiPage{}, true, fmt.Errorf("%s: reading the response: %w", f.base, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return apiPage{}, true, fmt.Errorf("%s: HTTP %d %s", f.base, resp.StatusCode, snippet(body))
	case resp.StatusCode != http.StatusOK:
		return apiPage{}, false, fmt.Errorf("grid fetch: %s: HTTP %d %s", u, resp.StatusCode, snippet(body))
	}
	var page apiPage
	if err := json.Unmarshal(body, &page); err != nil {
		return apiPage{}, false, fmt.Errorf("grid fetch: %s: not an Energi Data Service response: %w", u, err)
	}
	if page.Records == nil {
		return apiPage{}, false, fmt.Errorf("grid fetch: %s: response without a records array", u)
	}
	return page, false, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// snippet is the start of a response body, for error messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	if s == "" {
		return ""
	}
	return "(" + s + ")"
}
