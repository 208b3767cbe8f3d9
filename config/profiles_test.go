package config

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckProfiles(t *testing.T) {
	const src = `sites:
  - name: dc1
devices:
  - name: pdu-a
    site: dc1
    class: pdu
    protocol: snmp
    address: 127.0.0.1
    profile: apc-rpdu2g
    snmp: {community: env:C}
  - name: pdu-b
    site: dc1
    class: pdu
    protocol: snmp
    address: 127.0.0.2
    profile: apc-rpdu2
    snmp: {community: env:C}
  - name: sw
    site: dc1
    class: switch
    protocol: snmp
    address: 127.0.0.3
    profile: zzz
    snmp: {community: env:C}
`
	cfg, err := Parse("site.yaml", []byte(src))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	err = Merge(nil, cfg.CheckProfiles([]string{"apc-rpdu2", "ups-mib"}))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 {
		t.Fatalf("CheckProfiles = %v, want 2 problems", err)
	}
	want := []string{
		`site.yaml:9:14: devices[0].profile: unknown SNMP profile "apc-rpdu2g" (did you mean "apc-rpdu2"?)`,
		`site.yaml:23:14: devices[2].profile: unknown SNMP profile "zzz"`,
	}
	for i, w := range want {
		if !strings.HasPrefix(ps[i].Error(), w) {
			t.Errorf("problem %d = %q, want prefix %q", i, ps[i].Error(), w)
		}
	}
	if err := Merge(nil, nil); err != nil {
		t.Errorf("Merge(nil, nil) = %v", err)
	}
	plain := errors.New("read config: no such file")
	if err := Merge(plain, ps); err != plain {
		t.Errorf("Merge kept %v instead of the read error", err)
	}
}
