package redfish

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
)

func TestHint(t *testing.T) {
	dns := &net.DNSError{Err: "no such host", Name: "bmc-9.example", IsNotFound: true}
	tests := []struct {
		err    error
		scheme string
		want   string
	}{
		{fmt.Errorf("redfish bmc-9.example: login: %w", &net.OpError{Op: "dial", Err: dns}), "https", "does not resolve (DNS)"},
		{&net.DNSError{Err: "server misbehaving", Name: "x", IsTemporary: true}, "https", "could not be resolved (DNS server misbehaving)"},
		{errors.New(`Get "https://h/redfish/v1": http: server gave HTTP response to HTTPS client`), "https", "speaks plain HTTP"},
		{fmt.Errorf("redfish h: GET /redfish/v1: %w", io.EOF), "http", "likely speaks TLS"},
		{fmt.Errorf("redfish h: login as %q: %w", "admin", &StatusError{Status: 405}), "https", "basic auth"},
		{&StatusError{Status: 400, Body: "Client sent an HTTP request to an HTTPS server."}, "http", "likely speaks TLS"},
		{&StatusError{Status: 405}, "https", ""}, // not the login: nothing to add
		{fmt.Errorf("%w", io.EOF), "https", ""},
	}
	for _, tt := range tests {
		got := Hint(tt.err, tt.scheme)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("Hint(%v, %s) = %q, want %q", tt.err, tt.scheme, got, tt.want)
		}
		if tt.want != "" && !errors.Is(explain(tt.err, tt.scheme), tt.err) {
			t.Errorf("explain(%v) does not wrap the error", tt.err)
		}
	}
}
