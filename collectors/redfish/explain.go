package redfish

import (
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
)

// Hint says in a few words what to check about an error of this package,
// or "" when there is nothing more to say than the error itself. probe and
// the service's logs and /healthz add it to the error, so that an operator
// reads the cause, not only the symptom.
func Hint(err error, scheme string) string {
	var dns *net.DNSError
	var se *StatusError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &dns) && dns.IsNotFound:
		return "the host name does not resolve (DNS): check the name, or use the BMC's IP address"
	case errors.As(err, &dns):
		return "the host name could not be resolved (DNS " + dns.Err + "): check the resolver, or use the BMC's IP address"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		return "the port speaks plain HTTP, not HTTPS: use http://HOST:PORT (labs only), or the BMC's HTTPS port"
	case scheme == "http" && errors.As(err, &se) && se.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(se.Body), "https"),
		scheme == "http" && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
			strings.Contains(err.Error(), "malformed HTTP") || strings.Contains(err.Error(), "connection reset by peer")):
		return "the port does not answer plain HTTP (it likely speaks TLS): use https://HOST:PORT or redfish://HOST:PORT"
	case errors.As(err, &se) && se.Status == http.StatusMethodNotAllowed && strings.Contains(err.Error(), "login"):
		return "the BMC does not take session logins (HTTP 405 on POST " + sessionsPath + "): use basic auth (redfish.auth: basic in the config; --auth basic with probe)"
	}
	return ""
}

// explain adds Hint to err, when there is one.
func explain(err error, scheme string) error {
	if h := Hint(err, scheme); h != "" {
		return &hinted{err: err, hint: h}
	}
	return err
}

type hinted struct {
	err  error
	hint string
}

func (h *hinted) Error() string { return h.err.Error() + ": " + h.hint }
func (h *hinted) Unwrap() error { return h.err }
