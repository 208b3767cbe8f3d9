package safety

import (
	"errors"
	"strings"
	"testing"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/target"
)

const site = `
allow_inline_secrets: true
sites: [{name: dc1}]
x-snmp: &snmp {community: public}
devices:
  - {name: pdu-a, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.1, snmp: *snmp}
  - {name: pdu-b, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.2, snmp: *snmp, feeds: pdu-a/outlet/5}
  - {name: srv-icu, site: dc1, class: server, protocol: redfish, address: 127.0.0.3, redfish: {user: u, password: p}, feeds: pdu-a/outlet/3, criticality: patient-critical}
  - {name: srv-x, site: dc1, class: server, protocol: redfish, address: 127.0.0.4, redfish: {user: u, password: p}, feeds: pdu-b/outlet/1}
  - {name: srv-ok, site: dc1, class: server, protocol: redfish, address: 127.0.0.5, redfish: {user: u, password: p}, feeds: pdu-a/outlet/7}
  - {name: sw-1, site: dc1, class: switch, protocol: snmp, address: 127.0.0.6, snmp: *snmp}
  - {name: phone-icu, site: dc1, class: switch, protocol: snmp, address: 127.0.0.7, snmp: *snmp, feeds: sw-1/poe/Gi1/0/5, criticality: patient-critical, accounting_role: none}
  - {name: pdu-crit, site: dc1, class: pdu, protocol: snmp, address: 127.0.0.8, snmp: *snmp, criticality: patient-critical}
control:
  deny_list: [srv-x, pdu-a/outlet/9]
`

func TestCheck(t *testing.T) {
	cfg, err := config.Parse("site.yaml", []byte(site))
	if err != nil {
		t.Fatal(err)
	}
	g := New(cfg)
	tests := []struct {
		target  string
		refused []string // substrings of the reasons; nil: allowed
	}{
		{"srv-ok", nil},
		{"pdu-a/outlet/7", nil},
		{"pdu-a/outlet/1", nil},
		{"sw-1/poe/Gi1/0/6", nil},
		{"srv-icu", []string{"srv-icu is patient-critical"}},
		{"pdu-a/outlet/3", []string{"it feeds srv-icu: srv-icu is patient-critical"}},
		{"srv-x", []string{"srv-x is on control.deny_list"}},
		{"pdu-b/outlet/1", []string{"it feeds srv-x: srv-x is on control.deny_list"}},
		// pdu-b hangs on pdu-a/outlet/5: cutting it cuts srv-x too.
		{"pdu-a/outlet/5", []string{"it feeds srv-x"}},
		{"pdu-a/outlet/9", []string{"pdu-a/outlet/9 is on control.deny_list"}},
		{"sw-1/poe/Gi1/0/5", []string{"it feeds phone-icu: phone-icu is patient-critical"}},
		{"pdu-crit/outlet/1", []string{"pdu-crit is patient-critical"}},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			tg, err := target.Parse(tt.target, cfg)
			if err != nil {
				t.Fatal(err)
			}
			err = g.Check(tg)
			if tt.refused == nil {
				if err != nil {
					t.Fatalf("Check = %v, want allowed", err)
				}
				return
			}
			var r *Refusal
			if !errors.As(err, &r) {
				t.Fatalf("Check = %v, want a refusal", err)
			}
			for _, want := range tt.refused {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("refusal %q does not say %q", err, want)
				}
			}
		})
	}
	if err := g.Check(target.Target{Device: "nope", Kind: target.System}); err == nil {
		t.Error("unknown device allowed")
	}
}
