package main

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

func TestRunValidate(t *testing.T) {
	bad := writeFile(t, "bad.yaml", `sites:
  - name: dc1
devices:
  - name: pdu-a
    site: dc2
    class: pdu
    protocol: snmp
    address: 10.0.0.1
    snmp: {community: env:C, timout: 5s}
`)
	tests := []struct {
		name     string
		file     string
		wantOut  []string
		wantCode int // 0: no error
	}{
		{name: "example", file: exampleFile, wantOut: []string{exampleFile + ": OK (1 site, 13 devices)"}},
		{name: "bad", file: bad, wantCode: 2, wantOut: []string{
			bad + `:5:11: devices[0].site: unknown site "dc2" (sites: dc1)`,
			bad + `:9:30: devices[0].snmp.timout: unknown key "timout" (did you mean "timeout"?)`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			err := runValidate(validateOptions{File: tt.file}, streams{Out: &out, ErrOut: &errOut})
			if got := exitCode(err); got != tt.wantCode {
				t.Fatalf("runValidate() = %v (exit %d), want exit %d", err, got, tt.wantCode)
			}
			lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
			if strings.Join(lines, "\n") != strings.Join(tt.wantOut, "\n") {
				t.Errorf("output:\n%s\nwant:\n%s", &out, strings.Join(tt.wantOut, "\n"))
			}
		})
	}
}

func TestRunShowRedactsSecrets(t *testing.T) {
	const secret = "Pa55-word-that-must-not-leak"
	file := writeFile(t, "inline.yaml", fmt.Sprintf(`allow_inline_secrets: true
sites: [{name: lab}]
devices:
  - name: srv-1
    site: lab
    class: server
    protocol: redfish
    address: https://10.0.0.9
    redfish: {user: root, password: %q}
  - name: sw-1
    site: lab
    class: switch
    protocol: snmp
    address: 10.0.0.2
    snmp:
      version: "3"
      v3: {user: u, auth_protocol: SHA, auth_key: %q, priv_protocol: AES, priv_key: %q}
storage:
  influxdb: {url: "https://influx:8086", org: it, bucket: ecometer, token: %q}
`, secret, secret, secret, secret))
	for _, asJSON := range []bool{false, true} {
		t.Run(fmt.Sprintf("json=%v", asJSON), func(t *testing.T) {
			var out, errOut bytes.Buffer
			if err := runShow(showOptions{File: file, JSON: asJSON}, streams{Out: &out, ErrOut: &errOut}); err != nil {
				t.Fatal(err)
			}
			if strings.Contains(out.String(), secret) {
				t.Fatalf("config show leaks the secret:\n%s", &out)
			}
			if n := strings.Count(out.String(), "<redacted>"); n != 4 {
				t.Errorf("found %d <redacted>, want 4 (password, auth_key, priv_key, token):\n%s", n, &out)
			}
		})
	}
}

func TestRunShowDefaults(t *testing.T) {
	file := writeFile(t, "min.yaml", "sites: [{name: dc1}]\n")
	var out bytes.Buffer
	if err := runShow(showOptions{File: file}, streams{Out: &out, ErrOut: &bytes.Buffer{}}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"timezone: Europe/Copenhagen", "price_area: DK1", "disk_budget: 2GiB", "retention_raw: 2160h", "switch: 5m"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("show output lacks default %q:\n%s", want, &out)
		}
	}
}
