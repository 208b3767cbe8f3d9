// Package energinet reads grid CO2 intensity from Energi Data Service,
// Energinet's public API (CC BY 4.0; every output that uses it says
// "Source: Energinet (www.energidataservice.dk)"): the CO2Emis, CO2EmisProg
// and DeclarationGridEmission datasets, page by page, retrying server
// errors with backoff.
package energinet

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
)

// Attribution is the credit line Energinet's licence (CC BY 4.0) asks for.
const Attribution = "Source: Energinet (www.energidataservice.dk)"

// Defaults of a Client.
const (
	DefaultBaseURL  = "https://api.energidataservice.dk"
	DefaultPageSize = 10000
	DefaultRetries  = 4 // attempts after the first
	DefaultBackoff  = time.Second
)

// Datasets are the datasets Fetch knows, with the UTC column the API sorts
// them by (a stable order is what makes offset paging safe).
var Datasets = map[string]string{
	"CO2Emis":                 "Minutes5UTC",
	"CO2EmisProg":             "Minutes5UTC",
	"DeclarationGridEmission": "HourUTC",
}

// Request is what to fetch: a dataset of one price area over [From, To),
// given as Danish local wall-clock times (the API's start and end).
type Request struct {
	Dataset  string
	Area     string
	From, To time.Time
}

// Result is every record of a request as one JSON document
// {"records": [...]}, one record per line (what grid.Parse reads; its
// errors then name a record by its line, record i on line i + 2).
type Result struct {
	Doc     []byte
	Records int
	Pages   int
	// Name describes the request, for messages.
	Name string
}

// Fetch reads every page of req.
func (c Client) Fetch(ctx context.Context, req Request) (Result, error) {
	sortCol, ok := Datasets[req.Dataset]
	if !ok {
		return Result{}, fmt.Errorf("energinet: unknown dataset %q (want CO2Emis, CO2EmisProg or DeclarationGridEmission)", req.Dataset)
	}
	if !req.To.After(req.From) {
		return Result{}, fmt.Errorf("energinet: period ends (%s) before it starts (%s)", req.To, req.From)
	}
	f := &fetch{Client: c, dataset: req.Dataset, sortCol: sortCol, area: req.Area,
		start: req.From.Format("2006-01-02T15:04"), end: req.To.Format("2006-01-02T15:04")}
	f.BaseURL = strings.TrimRight(cmp.Or(f.BaseURL, DefaultBaseURL), "/")
	f.PageSize = cmp.Or(f.PageSize, DefaultPageSize)
	f.Retries = cmp.Or(f.Retries, DefaultRetries)
	f.Backoff = cmp.Or(f.Backoff, DefaultBackoff)
	if f.HTTP == nil {
		f.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	if f.Progress == nil {
		f.Progress = io.Discard
	}
	doc, n, err := f.fetchAll(ctx)
	if err != nil {
		return Result{}, err
	}
	return Result{Doc: doc, Records: n, Pages: f.pages,
		Name: fmt.Sprintf("%s %s %s..%s", f.BaseURL, req.Dataset, f.start, f.end)}, nil
}

// Client reads Energi Data Service. The zero value uses the defaults.
type Client struct {
	BaseURL  string // DefaultBaseURL when empty
	PageSize int
	Retries  int
	Backoff  time.Duration
	HTTP     *http.Client
	// Progress receives a line per page and per retry (nil: nowhere).
	Progress io.Writer
}

type fetch struct {
	Client
	dataset, sortCol, area, start, end string
	pages                              int
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
func (f *fetch) fetchAll(ctx context.Context) ([]byte, int, error) {
	var records []json.RawMessage
	for offset := 0; ; {
		page, err := f.page(ctx, offset)
		if err != nil {
			return nil, 0, err
		}
		f.pages++
		records = append(records, page.Records...)
		offset += len(page.Records)
		fmt.Fprintf(f.Progress, "fetched %d of %d records\n", offset, page.Total)
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
			return nil, 0, fmt.Errorf("energinet: record %d: %w", i, err)
		}
	}
	doc.WriteString("\n]}\n")
	return doc.Bytes(), len(records), nil
}

// page fetches one page, retrying network errors, 429 and 5xx with
// exponential backoff.
func (f *fetch) page(ctx context.Context, offset int) (apiPage, error) {
	filter, _ := json.Marshal(map[string][]string{"PriceArea": {f.area}})
	q := url.Values{
		"start":  {f.start},
		"end":    {f.end},
		"filter": {string(filter)},
		"sort":   {f.sortCol + " ASC"},
		"limit":  {strconv.Itoa(f.PageSize)},
		"offset": {strconv.Itoa(offset)},
	}
	u := f.BaseURL + "/dataset/" + url.PathEscape(f.dataset) + "?" + q.Encode()
	var last error
	for attempt := 0; attempt <= f.Retries; attempt++ {
		if attempt > 0 {
			wait := f.Backoff << (attempt - 1)
			fmt.Fprintf(f.Progress, "%v; retrying in %s\n", last, wait)
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				return apiPage{}, fmt.Errorf("energinet: %w (after: %v)", ctx.Err(), last)
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
	return apiPage{}, fmt.Errorf("energinet: giving up after %d attempts: %w; if this machine is offline, download the %s export from www.energidataservice.dk and run `ecometer grid import FILE`",
		f.Retries+1, last, f.dataset)
}

func (f *fetch) get(ctx context.Context, u string) (apiPage, bool, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return apiPage{}, false, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "ecometer")
	resp, err := f.HTTP.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return apiPage{}, false, fmt.Errorf("energinet: %w", err)
		}
		return apiPage{}, true, fmt.Errorf("cannot reach %s: %w", f.BaseURL, unwrapURLError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 512<<20))
	if err != nil {
		return apiPage{}, true, fmt.Errorf("%s: reading the response: %w", f.BaseURL, err)
	}
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return apiPage{}, true, fmt.Errorf("%s: HTTP %d %s", f.BaseURL, resp.StatusCode, snippet(body))
	case resp.StatusCode != http.StatusOK:
		return apiPage{}, false, fmt.Errorf("energinet: %s: HTTP %d %s", u, resp.StatusCode, snippet(body))
	}
	var page apiPage
	if err := json.Unmarshal(body, &page); err != nil {
		return apiPage{}, false, fmt.Errorf("energinet: %s: not an Energi Data Service response: %w", u, err)
	}
	if page.Records == nil {
		return apiPage{}, false, fmt.Errorf("energinet: %s: response without a records array", u)
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
