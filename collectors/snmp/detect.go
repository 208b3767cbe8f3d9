package snmp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/gosnmp/gosnmp"
)

// Detection says which profiles may read a device, best first, and why.
type Detection struct {
	// Profile and By are the first candidate's (nil and "" when none).
	Profile     *Profile
	SysObjectID string
	SysDescr    string
	By          string // "named", "sysObjectID <prefix>", "probe <oid>", "fallback of <profile>"
	// Candidates are tried in this order until one yields a power reading
	// (see Settle): the sysObjectID matches, longest prefix first; the
	// fallbacks those name (a vendor's legacy MIB, then standard MIBs);
	// then the profiles whose probe OID has data, by priority.
	Candidates []Candidate
}

// Candidate is a profile that may read a device, and why it was chosen.
type Candidate struct {
	Profile *Profile
	By      string
}

// Detect finds the profiles that may read the device behind t: every
// profile whose sysObjectID prefix matches (longest first) and the
// fallbacks they name, then the standard-MIB profiles whose probe OID has
// data, by priority. A probe value below the metric's absent_below (the
// MIB's "not supported" sentinel, APC's -1) is no data. No candidate at
// all is ErrUnknownDevice.
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
	seen := map[string]bool{}
	add := func(p *Profile, by string) {
		if p != nil && !seen[p.Name] {
			seen[p.Name] = true
			d.Candidates = append(d.Candidates, Candidate{Profile: p, By: by})
		}
	}

	// 1. sysObjectID prefixes, longest first (then by name).
	type match struct {
		p   *Profile
		pre string
	}
	var matches []match
	for _, p := range r.Profiles() {
		best := ""
		for _, pre := range p.Detect.SysObjectID {
			pre = normOID(pre)
			if (d.SysObjectID == pre || strings.HasPrefix(d.SysObjectID, pre+".")) && len(pre) > len(best) {
				best = pre
			}
		}
		if best != "" {
			matches = append(matches, match{p, best})
		}
	}
	sort.SliceStable(matches, func(i, j int) bool { return len(matches[i].pre) > len(matches[j].pre) })
	for _, m := range matches {
		add(m.p, "sysObjectID "+m.pre)
	}
	// 2. The fallbacks the matched profiles name, in their order.
	for _, m := range matches {
		for _, name := range m.p.Detect.Fallback {
			if q, ok := r.Lookup(name); ok {
				add(q, "fallback of "+m.p.Name)
			}
		}
	}

	// 3. Probes, by priority: one GETNEXT PDU for all of them.
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
				if v.Type == gosnmp.EndOfMibView || !strings.HasPrefix(normOID(v.Name), oids[i]+".") {
					continue
				}
				if r.probeAbsent(p, v) {
					continue
				}
				add(p, "probe "+oids[i])
				break
			}
		}
	}
	if len(d.Candidates) == 0 {
		return d, fmt.Errorf("snmp %s: %w (sysObjectID %s, sysDescr %q)", host, ErrUnknownDevice, orNone(d.SysObjectID), truncate(d.SysDescr, 60))
	}
	d.Profile, d.By = d.Candidates[0].Profile, d.Candidates[0].By
	return d, nil
}

// probeAbsent reports whether a probe's answer is the MIB's "not
// available" sentinel: a number below the absent_below of the profile's
// detect section, or of the metric that reads the answered column
// (rPDU2DeviceStatusPower: "Models that do not support this feature will
// respond to this OID with a value of -1").
func (r *Registry) probeAbsent(p *Profile, v gosnmp.SnmpPDU) bool {
	limit := p.Detect.AbsentBelow
	if limit == nil {
		name := normOID(v.Name)
		r.eachMetric(p, func(m *Metric) bool {
			col := m.Column
			if col == "" {
				return true
			}
			if strings.HasPrefix(name, normOID(col)+".") && m.AbsentBelow != nil {
				limit = m.AbsentBelow
				return false
			}
			return true
		})
	}
	if limit == nil {
		return false
	}
	x, err := Number(v)
	return err == nil && x < *limit
}

// eachMetric calls f for the profile's metrics and those of the profiles
// it includes, until f returns false.
func (r *Registry) eachMetric(p *Profile, f func(*Metric) bool) {
	for i := range p.Metrics {
		if !f(&p.Metrics[i]) {
			return
		}
	}
	for _, inc := range p.Include {
		q, ok := r.Lookup(inc)
		if !ok {
			continue
		}
		for i := range q.Metrics {
			if !f(&q.Metrics[i]) {
				return
			}
		}
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
