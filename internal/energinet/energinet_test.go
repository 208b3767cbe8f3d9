package energinet_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/energinet"
	"github.com/ecometer/ecometer/internal/energinet/replay"
	"github.com/ecometer/ecometer/models/grid"
)

func local(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

// One Danish day of the corpus through the client, page by page after a
// 503, parses into the day's 24 hours of 12 five-minute values each.
func TestFetchPagesAndRetries(t *testing.T) {
	api := &replay.Server{T: t, Records: replay.CorpusRecords(t, "2025-10-01", "2025-10-03"), Fail: 1}
	srv := httptest.NewServer(api)
	defer srv.Close()
	var progress bytes.Buffer
	c := energinet.Client{BaseURL: srv.URL + "/", PageSize: 50, Backoff: time.Millisecond, Progress: &progress}
	res, err := c.Fetch(context.Background(), energinet.Request{Dataset: "CO2EmisProg", Area: "DK1", From: local("2025-10-02"), To: local("2025-10-03")})
	if err != nil {
		t.Fatal(err)
	}
	// 288 records in pages of 50: 6 pages, after one refused request.
	if res.Records != 288 || res.Pages != 6 || api.Pages() != 6 {
		t.Errorf("records %d, pages %d (served %d); want 288 in 6", res.Records, res.Pages, api.Pages())
	}
	if !strings.Contains(progress.String(), "retrying in") || !strings.Contains(progress.String(), "fetched 288 of 288 records") {
		t.Errorf("progress:\n%s", &progress)
	}
	imp, err := grid.Parse(res.Name, bytes.NewReader(res.Doc), grid.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(imp.Hours) != 24 || imp.Records+imp.Missing != 288 {
		t.Errorf("%d hours from %d records (+%d missing)", len(imp.Hours), imp.Records, imp.Missing)
	}
	if !strings.Contains(res.Name, "CO2EmisProg 2025-10-02T00:00..2025-10-03T00:00") {
		t.Errorf("name %q", res.Name)
	}
}

func TestFetchErrors(t *testing.T) {
	api := &replay.Server{T: t}
	srv := httptest.NewServer(api)
	defer srv.Close()
	c := energinet.Client{BaseURL: srv.URL, Retries: 1, Backoff: time.Millisecond}
	day := energinet.Request{Dataset: "CO2EmisProg", Area: "DK1", From: local("2025-10-02"), To: local("2025-10-03")}

	// A client error is not retried.
	api.SetStatus(http.StatusBadRequest)
	if _, err := c.Fetch(context.Background(), day); err == nil || !strings.Contains(err.Error(), "HTTP 400") || api.Pages() != 0 {
		t.Errorf("HTTP 400: %v", err)
	}
	// Server errors are, then it gives up naming what to do offline.
	api.SetStatus(http.StatusBadGateway)
	_, err := c.Fetch(context.Background(), day)
	if err == nil || !strings.Contains(err.Error(), "giving up after 2 attempts") || !strings.Contains(err.Error(), "ecometer grid import") {
		t.Errorf("HTTP 502: %v", err)
	}
	for _, req := range []energinet.Request{
		{Dataset: "Elspot", Area: "DK1", From: day.From, To: day.To},
		{Dataset: "CO2Emis", Area: "DK1", From: day.To, To: day.From},
	} {
		if _, err := c.Fetch(context.Background(), req); err == nil {
			t.Errorf("%+v: no error", req)
		}
	}
	// A cancelled fetch stops during its backoff.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (energinet.Client{BaseURL: srv.URL, Backoff: time.Hour}).Fetch(ctx, day); err == nil {
		t.Error("cancelled fetch succeeded")
	}
}
