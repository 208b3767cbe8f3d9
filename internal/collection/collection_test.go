package collection

import "testing"

func TestHostPortAndRedfishURL(t *testing.T) {
	for _, tt := range []struct {
		addr     string
		port     int
		wantHost string
		wantPort uint16
	}{
		{"127.0.0.21", 161, "127.0.0.21", 161},
		{"127.0.0.21:1161", 161, "127.0.0.21", 1161},
		{"pdu-a.example", 1161, "pdu-a.example", 1161},
		{"::1", 161, "::1", 161},
		{"[::1]:1161", 161, "::1", 1161},
	} {
		h, p, err := HostPort(tt.addr, tt.port)
		if err != nil || h != tt.wantHost || p != tt.wantPort {
			t.Errorf("HostPort(%q, %d) = %q, %d, %v; want %q, %d", tt.addr, tt.port, h, p, err, tt.wantHost, tt.wantPort)
		}
	}
	for addr, want := range map[string]string{
		"bmc-1.example":                   "https://bmc-1.example",
		"127.0.1.5:8443":                  "https://127.0.1.5:8443",
		"https://bmc-1.example:8443/":     "https://bmc-1.example:8443",
		"https://bmc-1.example/redfish/1": "https://bmc-1.example",
	} {
		if got := RedfishURL(addr); got != want {
			t.Errorf("RedfishURL(%q) = %q, want %q", addr, got, want)
		}
	}
}
