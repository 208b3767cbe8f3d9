package snmp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Detection says which profile a device got and why.
type Detection struct {
	Profile     *Profile
	SysObjectID string
	SysDescr    string
	By          string // "named", "sysObjectID <prefix>", "probe <oid>"
}

// Detect finds the profile of the device behind t: the longest sysObjectID
// prefix over all profiles wins; without one, the standard-MIB profiles
// whose probe OID has data, by priority. No match is ErrUnknownDevice.
func (r *Registry) Detect(ctx context.Context, t Transport, host string) (*Detection, error) {
	got, err := t.Get(ctx, []string{oidSysObjectID, oidSysDescr})
	if err != nil {
		return nil, err
	}
	d := &Detection{}
	for _, v := range got {
		switch normOID(v.Name) {
		case oidSysObjectID:
			if s, ok := v.Value.(string); ok && v.Type == gosnmp.ObjectIdentifier {
				d.SysObjectID = normOID(s)
			}
		case oidSysDescr:
			d.SysDescr, _ = text(v)
		}
	}
	best := ""
	for _, p := range r.Profiles() {
		for _, pre := range p.Detect.SysObjectID {
			pre = normOID(pre)
			if (d.SysObjectID == pre || strings.HasPrefix(d.SysObjectID, pre+".")) && len(pre) > len(best) {
				best, d.Profile = pre, p
			}
		}
	}
	if d.Profile != nil {
		d.By = "sysObjectID " + best
		return d, nil
	}
	var probes []*Profile
	for _, p := range r.Profiles() {
		if p.Detect.Probe != "" {
			probes = append(probes, p)
		}
	}
	sort.SliceStable(probes, func(i, j int) bool { return probes[i].Detect.Priority > probes[j].Detect.Priority })
	if len(probes) > 0 {
		oids := make([]string, len(probes))
		for i, p := range probes {
			oids[i] = normOID(p.Detect.Probe)
		}
		next, err := t.Next(ctx, oids)
		if err != nil {
			return nil, err
		}
		for i, p := range probes {
			for _, v := range next {
				if v.Type != gosnmp.EndOfMibView && strings.HasPrefix(normOID(v.Name), oids[i]+".") {
					d.Profile, d.By = p, "probe "+oids[i]
					return d, nil
				}
			}
		}
	}
	return d, fmt.Errorf("snmp %s: %w (sysObjectID %s, sysDescr %q)", host, ErrUnknownDevice, orNone(d.SysObjectID), truncate(d.SysDescr, 60))
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
