package redfish

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/stmcginnis/gofish/schemas"
)

// maxBody bounds what is read of one response: a Redfish resource is a few
// kB, an expanded PDU some hundred kB.
const maxBody = 16 << 20

const sessionsPath = "/redfish/v1/SessionService/Sessions"

// StatusError is a non-2xx answer of the BMC.
type StatusError struct {
	Status int
	Body   string // the Redfish error message, if any
}

func (e *StatusError) Error() string {
	if e.Body != "" {
		return fmt.Sprintf("HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
	}
	return fmt.Sprintf("HTTP %d %s", e.Status, http.StatusText(e.Status))
}

// IsNotFound reports whether err is a 404 from the BMC (a cached path that
// disappeared).
func IsNotFound(err error) bool {
	var se *StatusError
	return errors.As(err, &se) && se.Status == http.StatusNotFound
}

// conn is the HTTP side of one BMC: authentication, the per-BMC concurrency
// limit and request spacing, timeouts. It is safe for concurrent use.
type conn struct {
	host string // for messages: host[:port], never credentials
	base string // scheme://host[:port]
	hc   *http.Client
	opts Options
	log  *slog.Logger

	sem chan struct{}

	spaceMu sync.Mutex
	next    time.Time // earliest start of the next request

	authMu  sync.Mutex
	token   string // X-Auth-Token, never logged
	session string // session URI, for logout
	gen     uint64 // bumped on each login, so concurrent 401s log in once

	requests atomic.Int64
}

func newConn(opts Options, log *slog.Logger) (*conn, error) {
	u, err := url.Parse(opts.Endpoint)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("redfish: endpoint %q: want https://host[:port]", redactURL(opts.Endpoint))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("redfish %s: scheme %q: want https (or http)", u.Host, u.Scheme)
	}
	c := &conn{host: u.Host, base: u.Scheme + "://" + u.Host, opts: opts, log: log,
		sem: make(chan struct{}, opts.MaxConcurrent)}
	if opts.HTTPClient != nil {
		c.hc = opts.HTTPClient
		return c, nil
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
	if opts.CAFile != "" {
		pem, err := os.ReadFile(opts.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redfish %s: CA file: %w", u.Host, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redfish %s: CA file %s: no PEM certificates", u.Host, opts.CAFile)
		}
		tlsConf.RootCAs = pool
	}
	if opts.InsecureSkipVerify {
		log.Warn("redfish: TLS certificate verification is OFF for this device (insecure_skip_verify)",
			"host", u.Host)
		tlsConf.InsecureSkipVerify = true
	}
	c.hc = &http.Client{
		Transport: &http.Transport{
			Proxy:               http.ProxyFromEnvironment,
			TLSClientConfig:     tlsConf,
			TLSHandshakeTimeout: opts.Timeout,
			MaxConnsPerHost:     opts.MaxConcurrent,
			MaxIdleConnsPerHost: opts.MaxConcurrent,
			IdleConnTimeout:     90 * time.Second,
			ForceAttemptHTTP2:   true,
		},
		// A BMC that redirects is followed, but never with our token to
		// another host (net/http drops sensitive headers across hosts).
	}
	return c, nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	return u.String()
}

// acquire takes a concurrency slot and waits for the request spacing.
func (c *conn) acquire(ctx context.Context) error {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if c.opts.MinSpacing > 0 {
		c.spaceMu.Lock()
		now := time.Now()
		start := c.next
		if start.Before(now) {
			start = now
		}
		c.next = start.Add(c.opts.MinSpacing)
		c.spaceMu.Unlock()
		if d := time.Until(start); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				<-c.sem
				return ctx.Err()
			}
		}
	}
	return nil
}

func (c *conn) release() { <-c.sem }

type response struct {
	status int
	header http.Header
	body   []byte
}

// roundTrip sends one request within a slot and the per-request timeout, and
// reads the whole body (so the timeout covers the body too).
func (c *conn) roundTrip(ctx context.Context, method, path string, body []byte, auth func(*http.Request)) (*response, error) {
	if err := c.acquire(ctx); err != nil {
		return nil, err
	}
	defer c.release()
	ctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("OData-Version", "4.0")
	req.Header.Set("User-Agent", "ecometer")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != nil {
		auth(req)
	}
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, err
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// do sends an authenticated request; with sessions, a 401 logs in again
// once and repeats the request. Non-2xx answers become *StatusError.
func (c *conn) do(ctx context.Context, method, path string, body []byte) (*response, error) {
	for attempt := 0; ; attempt++ {
		token, gen, err := c.currentToken(ctx)
		if err != nil {
			return nil, err
		}
		resp, err := c.roundTrip(ctx, method, path, body, func(r *http.Request) { c.authorize(r, token) })
		if err != nil {
			return nil, fmt.Errorf("redfish %s: %s %s: %w", c.host, method, path, err)
		}
		if resp.status == http.StatusUnauthorized && !c.opts.BasicAuth && attempt == 0 && c.opts.Username != "" {
			c.log.Debug("redfish: session refused, logging in again", "host", c.host)
			c.invalidate(gen)
			continue
		}
		if resp.status < 200 || resp.status > 299 {
			return nil, fmt.Errorf("redfish %s: %s %s: %w", c.host, method, path, statusError(resp))
		}
		return resp, nil
	}
}

// scheme is the endpoint's URL scheme, http or https.
func (c *conn) scheme() string {
	scheme, _, _ := strings.Cut(c.base, "://")
	return scheme
}

func statusError(r *response) *StatusError {
	se := &StatusError{Status: r.status}
	var e struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(r.body, &e) == nil {
		se.Body = e.Error.Message
	} else if txt := strings.TrimSpace(string(r.body)); txt != "" && utf8.ValidString(txt) {
		// Not Redfish: a web server's own page (e.g. "Client sent an
		// HTTP request to an HTTPS server"), which says what is wrong.
		if len(txt) > 200 {
			txt = txt[:200] + "…"
		}
		se.Body = txt
	}
	return se
}

func (c *conn) authorize(r *http.Request, token string) {
	switch {
	case c.opts.BasicAuth && c.opts.Username != "":
		r.SetBasicAuth(c.opts.Username, c.opts.Password)
	case token != "":
		r.Header.Set("X-Auth-Token", token)
	}
}

// currentToken returns the session token, logging in when there is none.
func (c *conn) currentToken(ctx context.Context) (string, uint64, error) {
	if c.opts.BasicAuth || c.opts.Username == "" {
		return "", 0, nil
	}
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.token != "" {
		return c.token, c.gen, nil
	}
	if err := c.loginLocked(ctx); err != nil {
		return "", 0, err
	}
	return c.token, c.gen, nil
}

// invalidate forgets the token of generation gen (a later login wins).
func (c *conn) invalidate(gen uint64) {
	c.authMu.Lock()
	defer c.authMu.Unlock()
	if c.gen == gen {
		c.token, c.session = "", ""
	}
}

func (c *conn) loginLocked(ctx context.Context) error {
	body, _ := json.Marshal(map[string]string{"UserName": c.opts.Username, "Password": c.opts.Password})
	resp, err := c.roundTrip(ctx, http.MethodPost, sessionsPath, body, nil)
	if err != nil {
		return fmt.Errorf("redfish %s: login: %w", c.host, err)
	}
	if resp.status < 200 || resp.status > 299 {
		return fmt.Errorf("redfish %s: login as %q: %w", c.host, c.opts.Username, statusError(resp))
	}
	tok := resp.header.Get("X-Auth-Token")
	if tok == "" {
		return fmt.Errorf("redfish %s: login: no X-Auth-Token in the answer", c.host)
	}
	c.token = tok
	c.session = resp.header.Get("Location")
	if u, err := url.Parse(c.session); err == nil && u.Path != "" {
		c.session = u.Path // some BMCs answer with an absolute URL
	}
	c.gen++
	c.log.Debug("redfish: logged in", "host", c.host)
	return nil
}

// logout deletes the session, if any.
func (c *conn) logout(ctx context.Context) error {
	c.authMu.Lock()
	token, session := c.token, c.session
	c.token, c.session = "", ""
	c.authMu.Unlock()
	defer c.hc.CloseIdleConnections()
	if token == "" || session == "" {
		return nil
	}
	resp, err := c.roundTrip(ctx, http.MethodDelete, session, nil, func(r *http.Request) { r.Header.Set("X-Auth-Token", token) })
	if err != nil {
		return fmt.Errorf("redfish %s: logout: %w", c.host, err)
	}
	if resp.status >= 300 && resp.status != http.StatusNotFound && resp.status != http.StatusUnauthorized {
		return fmt.Errorf("redfish %s: logout: %w", c.host, statusError(resp))
	}
	return nil
}

// get fetches one resource.
func (c *conn) get(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	return resp.body, nil
}

// bind returns a gofish client that sends its requests through c with ctx.
func (c *conn) bind(ctx context.Context, settings schemas.ClientSettings) schemas.Client {
	return &bound{c: c, ctx: ctx, settings: settings}
}

// bound adapts conn to gofish's schemas.Client (whose methods take no
// context). gofish's own APIClient is not used: it neither logs in again on
// 401 nor bounds a request with a timeout, and it closes the connection after
// every request.
type bound struct {
	c        *conn
	ctx      context.Context
	settings schemas.ClientSettings
}

func (b *bound) GetSettings() schemas.ClientSettings { return b.settings }

func (b *bound) send(method, url string, payload any, headers map[string]string) (*http.Response, error) {
	var body []byte
	if payload != nil {
		var err error
		if body, err = json.Marshal(payload); err != nil {
			return nil, err
		}
	}
	_ = headers // conditional GETs etc. are not used
	path := url
	if strings.HasPrefix(url, b.c.base) {
		path = strings.TrimPrefix(url, b.c.base)
	}
	resp, err := b.c.do(b.ctx, method, path, body)
	if err != nil {
		return nil, err
	}
	return &http.Response{StatusCode: resp.status, Header: resp.header,
		Body: io.NopCloser(bytes.NewReader(resp.body))}, nil
}

func (b *bound) Get(url string) (*http.Response, error) { return b.send(http.MethodGet, url, nil, nil) }
func (b *bound) GetWithHeaders(url string, h map[string]string) (*http.Response, error) {
	return b.send(http.MethodGet, url, nil, h)
}
func (b *bound) Post(url string, p any) (*http.Response, error) {
	return b.send(http.MethodPost, url, p, nil)
}
func (b *bound) PostWithHeaders(url string, p any, h map[string]string) (*http.Response, error) {
	return b.send(http.MethodPost, url, p, h)
}
func (b *bound) PostMultipart(string, map[string]io.Reader) (*http.Response, error) {
	return nil, errors.New("redfish: multipart requests are not supported")
}
func (b *bound) PostMultipartWithHeaders(string, map[string]io.Reader, map[string]string) (*http.Response, error) {
	return nil, errors.New("redfish: multipart requests are not supported")
}
func (b *bound) Patch(url string, p any) (*http.Response, error) {
	return b.send(http.MethodPatch, url, p, nil)
}
func (b *bound) PatchWithHeaders(url string, p any, h map[string]string) (*http.Response, error) {
	return b.send(http.MethodPatch, url, p, h)
}
func (b *bound) Put(url string, p any) (*http.Response, error) {
	return b.send(http.MethodPut, url, p, nil)
}
func (b *bound) PutWithHeaders(url string, p any, h map[string]string) (*http.Response, error) {
	return b.send(http.MethodPut, url, p, h)
}
func (b *bound) Delete(url string) (*http.Response, error) {
	return b.send(http.MethodDelete, url, nil, nil)
}
func (b *bound) DeleteWithHeaders(url string, h map[string]string) (*http.Response, error) {
	return b.send(http.MethodDelete, url, nil, h)
}
