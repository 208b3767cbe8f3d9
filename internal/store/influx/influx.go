// Package influx is the InfluxDB backend of store.Store.
//
// It speaks the InfluxDB v2 API (line protocol to /api/v2/write, Flux to
// /api/v2/query) through influxdb-client-go, so it works with InfluxDB 2.x
// (URL, org, bucket, token) and with InfluxDB 1.8+ through its v2
// compatibility endpoints (bucket "database/retention-policy", org ignored,
// token "user:password" or empty).
//
// Writes: samples are encoded to line protocol here (lineproto.go), in
// batches of Options.BatchSize, gzip-compressed at the fastest level and
// posted through the client's HTTP service (auth, user agent, error
// decoding), two batches in flight per Write. The client's WriteAPIBlocking
// is not used: it can only gzip at the default level, through a pipe and a
// goroutine per request, which cost about as much CPU as everything else on
// our side together (see the figures at BenchmarkWrite).
// Timestamps are written with second precision when every sample of a batch
// is on a whole second (the normal case: sample times are poll times rounded
// down to the poll interval), otherwise with nanosecond precision, so a time
// is never truncated.
//
// Reads: Flux, with aggregation (last, count, mean, first, last per hour)
// done by InfluxDB; on 1.x (no Org) the hourly aggregates come from
// InfluxQL instead (hourly_ql.go), which 1.8 runs far faster than Flux's
// window().
//
// Overwrite semantics are InfluxDB's: a point with the same series and time
// replaces the fields it carries; fields of the earlier point that the later
// one lacks are kept.
package influx

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	influxdb2 "github.com/influxdata/influxdb-client-go/v2"
	"github.com/influxdata/influxdb-client-go/v2/api"
	influxhttp "github.com/influxdata/influxdb-client-go/v2/api/http"

	"github.com/ecometer/ecometer/internal/store"
)

// Defaults of Options.
const (
	DefaultBatchSize = 5000
	DefaultTimeout   = 30 * time.Second
)

// writeConcurrency is how many batches of one Write call are in flight at once:
// one being encoded and compressed while the other is sent and stored.
const writeConcurrency = 2

// Options configure a Store.
type Options struct {
	URL string // server URL, e.g. http://localhost:8086
	// Org is the InfluxDB 2.x organisation; empty for 1.x, which also
	// makes hourly reads use InfluxQL (1.x's /query) instead of Flux.
	Org    string
	Bucket string // 2.x bucket, or "database/retention-policy" for 1.8
	// Token is a 2.x API token, or "user:password" (or empty) for 1.8. It is
	// sent in the Authorization header and never logged or put in errors.
	Token string
	// Timeout bounds every write request, every Latest query and
	// connecting. Range and Hourly, which may read months of data, run for
	// as long as the caller's context allows. Default 30 s.
	Timeout time.Duration
	// BatchSize is the number of samples per write request. Default 5000.
	BatchSize int
	// RawHourly makes hourly reads aggregate the raw points only, never
	// the hourly rollups Materialize keeps (see rollup.go): for checking
	// them, or when something other than ecometer writes the power
	// measurement.
	RawHourly bool
	// HTTPClient replaces the default HTTP client (for TLS settings,
	// proxies…). Its own Timeout, if any, applies in addition to Timeout.
	HTTPClient *http.Client
}

// Store is an InfluxDB-backed store.Store. It is safe for concurrent use.
type Store struct {
	url       string // for error messages
	bucket    string
	timeout   time.Duration
	batchSize int

	client  influxdb2.Client
	http    influxhttp.Service
	writeS  string // write URL, second precision
	writeNS string // write URL, nanosecond precision
	query   api.QueryAPI
	// influxQL: hourly aggregates are read with InfluxQL (InfluxDB 1.x,
	// recognised by the absent organisation), else with Flux.
	influxQL bool
	// rawHourly: Options.RawHourly.
	rawHourly bool
}

var _ store.Store = (*Store)(nil)

// New returns a Store for the server and bucket in o. It does not contact the
// server.
func New(o Options) (*Store, error) {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("influxdb: invalid URL %q: want http(s)://host:port", o.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("influxdb %s://%s: put credentials in the token, not the URL", u.Scheme, u.Host)
	}
	base := strings.TrimRight(u.String(), "/")
	if o.Bucket == "" {
		return nil, fmt.Errorf("influxdb %s: empty bucket", base)
	}
	if o.BatchSize < 0 || o.Timeout < 0 {
		return nil, fmt.Errorf("influxdb %s: negative batch size or timeout", base)
	}
	if o.BatchSize == 0 {
		o.BatchSize = DefaultBatchSize
	}
	if o.Timeout == 0 {
		o.Timeout = DefaultTimeout
	}
	hc := o.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = (&net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}).DialContext
		tr.MaxIdleConnsPerHost = 2 * writeConcurrency
		hc = &http.Client{Transport: tr}
	}
	opts := influxdb2.DefaultOptions().
		SetHTTPClient(hc).
		SetLogLevel(0). // errors go back to the caller; the client logs nothing
		SetApplicationName("ecometer")
	c := influxdb2.NewClientWithOptions(base, o.Token, opts)
	hs := c.HTTPService()
	writeURL := func(precision string) string {
		return hs.ServerAPIURL() + "write?" +
			url.Values{"org": {o.Org}, "bucket": {o.Bucket}, "precision": {precision}}.Encode()
	}
	return &Store{
		url:       base,
		bucket:    o.Bucket,
		timeout:   o.Timeout,
		batchSize: o.BatchSize,
		client:    c,
		http:      hs,
		writeS:    writeURL("s"),
		writeNS:   writeURL("ns"),
		query:     c.QueryAPI(o.Org),
		influxQL:  o.Org == "",
		rawHourly: o.RawHourly,
	}, nil
}

// Close releases idle connections. The Store must not be used afterwards.
func (s *Store) Close() error {
	s.client.Close()
	return nil
}

// classify wraps a failed request. Only answers that say this batch itself is
// bad (400 malformed or field type conflict, 413 too large, 422 beyond the
// retention policy) become a *store.RejectedError, which the outbox
// quarantines. 401, 403 and 404 (bad token, missing bucket) are wrong
// configuration: every batch would fail the same way, so they stay retryable
// and the queue waits, loudly, until the configuration is fixed. 429, 5xx and
// network errors are retryable too.
func classify(err error) error {
	var he *influxhttp.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusBadRequest, http.StatusRequestEntityTooLarge, http.StatusUnprocessableEntity:
			return &store.RejectedError{Err: err}
		}
	}
	return err
}

// httpError makes the client's error readable: it carries the status and the
// server's message (1.x puts it in the X-Influxdb-Error header).
func httpError(err error) error {
	var he *influxhttp.Error
	if !errors.As(err, &he) || he.StatusCode == 0 {
		return err
	}
	msg := he.Message
	if msg == "" && he.Header != nil {
		msg = he.Header.Get("X-Influxdb-Error")
	}
	if msg == "" {
		msg = http.StatusText(he.StatusCode)
	}
	return &statusError{err: he, msg: fmt.Sprintf("HTTP %d: %s", he.StatusCode, msg)}
}

// statusError keeps the client's *http.Error reachable through errors.As.
type statusError struct {
	err error
	msg string
}

func (e *statusError) Error() string { return e.msg }
func (e *statusError) Unwrap() error { return e.err }

// Check asks the server whether the bucket can be read: a reachable server,
// a token it accepts and a bucket (1.8: a database and retention policy)
// that exists. The error says which of them failed and what to check.
func (s *Store) Check(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	flux := "from(bucket: " + fluxString(s.bucket) + ")\n  |> range(start: -1m)\n  |> limit(n: 1)\n"
	res, err := s.query.Query(ctx, flux)
	if err == nil {
		for res.Next() {
		}
		err = res.Err()
		res.Close()
	}
	if err == nil {
		return nil
	}
	var he *influxhttp.Error
	if errors.As(err, &he) {
		switch he.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden:
			return fmt.Errorf("influxdb %s: the token was refused (%v): check storage.influxdb.token (InfluxDB 1.8 without auth needs none; with auth \"user:password\")", s.url, httpError(err))
		case http.StatusNotFound:
			return fmt.Errorf("influxdb %s: bucket %q not found (%v): create it (InfluxDB 1.8: CREATE DATABASE and retention policy; bucket is \"database/retention-policy\"), or fix storage.influxdb.bucket", s.url, s.bucket, httpError(err))
		}
	}
	msg := err.Error()
	if strings.Contains(msg, "not found") || strings.Contains(msg, "no database") {
		return fmt.Errorf("influxdb %s: bucket %q not found (%v): create it (InfluxDB 1.8: CREATE DATABASE; bucket is \"database/retention-policy\"), or fix storage.influxdb.bucket", s.url, s.bucket, httpError(err))
	}
	return fmt.Errorf("influxdb %s: cannot read bucket %q: %w", s.url, s.bucket, httpError(err))
}
