package procure

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var day = time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)

func mustRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// product builds a product from field texts.
func product(t *testing.T, fields map[string]string) Product {
	t.Helper()
	p := Product{ID: "p", Fields: map[string]Value{}}
	for k, s := range fields {
		f, ok := LookupField(k)
		if !ok {
			t.Fatalf("no field %s", k)
		}
		v, err := f.Parse(s)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		p.Fields[f.Name] = v
	}
	return p
}

// applicable returns field values that make r apply: its first class, the
// first value of each condition, and a date inside its period.
func applicable(r *Requirement) (map[string]string, time.Time) {
	fields := map[string]string{"class": r.Classes[0], "model": "m", "id": "p"}
	for _, c := range r.When {
		fields[c.Field] = c.Values[0].String()
		if c.Values[0].Kind == Bool {
			fields[c.Field] = map[bool]string{true: "yes", false: "no"}[c.Values[0].Num != 0]
		}
	}
	at := day
	if !r.Until.IsZero() {
		at = r.Until
	}
	if at.Before(r.From) {
		at = r.From
	}
	return fields, at
}

// TestEveryThreshold exercises every compare requirement of every shipped
// catalog exactly at its threshold and just beyond it: at the threshold an
// inclusive rule passes (>=, <=, ==), just beyond it fails; an unverified
// requirement gives "unverified" instead of either.
func TestEveryThreshold(t *testing.T) {
	for _, c := range mustRegistry(t).Catalogs() {
		for i := range c.Requirements {
			r := &c.Requirements[i]
			if r.Rule.Kind != RuleCompare {
				continue
			}
			t.Run(c.Name+"/"+r.ID, func(t *testing.T) {
				f, _ := LookupField(r.Rule.Field)
				fields, at := applicable(r)
				var atValue, beyond string
				edge := false // a rank with nothing beyond it
				threshold := r.Rule.Value.Num
				if r.Rule.Limit != nil {
					// The first case applies to the fields built for it; the
					// plus fields are set to 10 each.
					lc := r.Rule.Limit.Cases[0]
					for _, cond := range lc.When {
						fields[cond.Field] = cond.Values[0].String()
					}
					threshold = lc.Base
					for _, p := range r.Rule.Limit.Plus {
						fields[p] = "10"
						threshold += 10
					}
				}
				step := 0.01
				if f.Kind == Integer {
					step = 1
				}
				switch {
				case f.Kind == Enum && f.Ordered:
					rank := int(r.Rule.Value.Num)
					atValue = f.Values[rank]
					// At the lowest rank (>=) or the highest (<=) every value
					// passes: there is no value beyond, only the one at it.
					switch {
					case r.Rule.Op == ">=" && rank == 0, r.Rule.Op == "<=" && rank == len(f.Values)-1:
						edge = true
					case r.Rule.Op == ">=":
						beyond = f.Values[rank-1]
					case r.Rule.Op == "<=":
						beyond = f.Values[rank+1]
					}
				case f.Kind == Bool:
					atValue = r.Rule.Value.String()
					beyond = map[string]string{"yes": "no", "no": "yes"}[atValue]
				default:
					atValue = fmt.Sprint(threshold)
					switch r.Rule.Op {
					case ">=":
						beyond = fmt.Sprint(threshold - step)
					case "<=":
						beyond = fmt.Sprint(math.Round((threshold+step)*1e6) / 1e6)
					}
				}
				if beyond == "" && !edge {
					t.Fatalf("op %s on %s: no boundary case written", r.Rule.Op, f.Name)
				}
				want := map[string]Status{atValue: Pass}
				if !edge {
					want[beyond] = Fail
				}
				for value, w := range want {
					fields[r.Rule.Field] = value
					p := product(t, fields)
					res := evaluate(&p, c, r, at)
					if !r.Verified && (w == Pass || w == Fail) {
						if res.Status != Unverified || !strings.Contains(res.Note, "would "+string(w)) {
							t.Errorf("%s = %s: got %s (%s), want unverified (would %s)", r.Rule.Field, value, res.Status, res.Note, w)
						}
						continue
					}
					if res.Status != w {
						t.Errorf("%s = %s: got %s (%s; %s), want %s", r.Rule.Field, value, res.Status, res.Compared, res.Note, w)
					}
				}
				// Without the field: missing evidence, never a pass.
				delete(fields, r.Rule.Field)
				p := product(t, fields)
				if res := evaluate(&p, c, r, at); res.Status != Missing {
					t.Errorf("without %s: got %s, want missing evidence", r.Rule.Field, res.Status)
				}
			})
		}
	}
}

// TestLegalValues pins the verified values to the legal text, so an edit of a
// catalog that changes one is caught: 2019/424 Annex II Tables 1 and 2,
// 2019/2021 Annex II Table 1.
func TestLegalValues(t *testing.T) {
	want := map[string]float64{
		"eu-2019-424/psu-2020-multi-20": 88, "eu-2019-424/psu-2020-multi-50": 92, "eu-2019-424/psu-2020-multi-100": 88, "eu-2019-424/psu-2020-multi-pf": 0.90,
		"eu-2019-424/psu-2020-single-20": 90, "eu-2019-424/psu-2020-single-50": 94, "eu-2019-424/psu-2020-single-100": 91, "eu-2019-424/psu-2020-single-pf": 0.95,
		"eu-2019-424/psu-2023-multi-20": 90, "eu-2019-424/psu-2023-multi-50": 94, "eu-2019-424/psu-2023-multi-100": 91, "eu-2019-424/psu-2023-multi-pf": 0.95,
		"eu-2019-424/psu-2023-single-10": 90, "eu-2019-424/psu-2023-single-20": 94, "eu-2019-424/psu-2023-single-50": 96, "eu-2019-424/psu-2023-single-100": 91,
		"eu-2019-424/psu-2023-single-pf": 0.95,
		"eu-2019-2021/eei-2021-hd":       0.90, "eu-2019-2021/eei-2021-uhd": 1.10, "eu-2019-2021/eei-2023-hd": 0.75, "eu-2019-2021/eei-2023-uhd": 0.90,
		"eu-2019-2021/eei-2023-above-uhd": 0.90, "eu-2019-2021/eei-2023-microled": 0.90,
	}
	got := map[string]float64{}
	for _, c := range mustRegistry(t).Catalogs() {
		for _, r := range c.Requirements {
			if r.Verified && r.Rule.Kind == RuleCompare && r.Rule.Limit == nil {
				got[c.Name+"/"+r.ID] = r.Rule.Value.Num
			}
		}
	}
	for id, v := range want {
		if got[id] != v {
			t.Errorf("%s = %v, want %v", id, got[id], v)
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			t.Errorf("%s is verified but not pinned here", id)
		}
	}
}

func TestIdleLimit(t *testing.T) {
	r := mustRegistry(t)
	c, _ := r.Lookup("eu-2019-424")
	var req *Requirement
	for i := range c.Requirements {
		if c.Requirements[i].ID == "idle-power" {
			req = &c.Requirements[i]
		}
	}
	tests := []struct {
		fields map[string]string
		want   string // compared text or status
		status Status
	}{
		// Two sockets: 38 + 120 = 158 W; 158 at the limit (would pass), 158.1 beyond.
		{map[string]string{"sockets": "2", "form": "rack", "idle_w": "158", "idle_allowance_w": "120"}, "38 + idle_allowance_w 120 = 158 W", Unverified},
		{map[string]string{"sockets": "1", "form": "tower", "idle_w": "25", "idle_allowance_w": "0"}, "25 + idle_allowance_w 0 = 25 W", Unverified},
		{map[string]string{"sockets": "2", "form": "blade", "idle_w": "40", "idle_allowance_w": "0"}, "40 + idle_allowance_w 0 = 40 W", Unverified},
		{map[string]string{"sockets": "2", "form": "rack", "idle_w": "100"}, "idle_allowance_w not declared", Missing},
		{map[string]string{"sockets": "4", "form": "rack", "idle_w": "100"}, "applies when sockets", NotApplicable},
		{map[string]string{"sockets": "2", "resilient": "yes", "idle_w": "100"}, "exempt: resilient", NotApplicable},
	}
	for _, tt := range tests {
		tt.fields["class"], tt.fields["model"], tt.fields["id"] = "server", "m", "p"
		p := product(t, tt.fields)
		res := evaluate(&p, c, req, day)
		if res.Status != tt.status || !strings.Contains(res.Compared+res.Note, tt.want) {
			t.Errorf("%v: got %s %q %q, want %s %q", tt.fields, res.Status, res.Compared, res.Note, tt.status, tt.want)
		}
	}
}

func TestCertificates(t *testing.T) {
	r := mustRegistry(t)
	tco, _ := r.Lookup("tco-gen10")
	ep, _ := r.Lookup("epeat")
	base := map[string]string{"id": "p", "class": "monitor", "model": "m"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	tests := []struct {
		cat    *Catalog
		req    int
		fields map[string]string
		want   Status
	}{
		{tco, 0, with("tco_generation", "10", "tco_id", "T-1", "tco_expires", "2026-12-04"), Pass}, // expires on the check date: still valid
		{tco, 0, with("tco_generation", "10", "tco_id", "T-1", "tco_expires", "2026-12-03"), Fail}, // a day before: expired
		{tco, 0, with("tco_generation", "9", "tco_id", "T-1", "tco_expires", "2027-12-03"), Fail},
		{tco, 0, with("tco_generation", "10", "tco_expires", "2027-12-03"), Missing},
		{ep, 0, with("epeat_tier", "bronze", "epeat_id", "E-1", "epeat_expires", "2027-01-01"), Pass},
		{ep, 1, with("epeat_tier", "bronze", "epeat_id", "E-1", "epeat_expires", "2027-01-01"), Fail}, // silver wanted
		{ep, 1, with("epeat_tier", "silver", "epeat_id", "E-1", "epeat_expires", "2027-01-01"), Pass},
		{ep, 2, with("epeat_tier", "gold", "epeat_id", "E-1", "epeat_expires", "2027-01-01", "epeat_climate_plus", "yes"), Unverified},
		{ep, 2, with("epeat_tier", "gold", "epeat_id", "E-1", "epeat_expires", "2027-01-01"), Missing},
	}
	for i, tt := range tests {
		p := product(t, tt.fields)
		res := evaluate(&p, tt.cat, &tt.cat.Requirements[tt.req], day)
		if res.Status != tt.want {
			t.Errorf("%d %s: got %s (%s; %s), want %s", i, tt.cat.Requirements[tt.req].ID, res.Status, res.Compared, res.Note, tt.want)
		}
	}
}

func TestLabelClass(t *testing.T) {
	// Delegated Regulation (EU) 2019/2013, Annex II, Table 1, at and just
	// below each boundary.
	tests := []struct {
		eei  float64
		want string
	}{{0.2999, "A"}, {0.30, "B"}, {0.3999, "B"}, {0.40, "C"}, {0.4999, "C"}, {0.50, "D"}, {0.5999, "D"},
		{0.60, "E"}, {0.7499, "E"}, {0.75, "F"}, {0.8999, "F"}, {0.90, "G"}, {3, "G"}}
	for _, tt := range tests {
		if got := LabelClass(tt.eei); got != tt.want {
			t.Errorf("EEI %v: class %s, want %s", tt.eei, got, tt.want)
		}
	}
}

func TestTierInForce(t *testing.T) {
	c, _ := mustRegistry(t).Lookup("eu-2019-424")
	p := product(t, map[string]string{"id": "p", "class": "server", "model": "m", "psu_outputs": "multi", "psu_eff_50": "93"})
	got := map[string]Status{}
	for i := range c.Requirements {
		r := &c.Requirements[i]
		if r.ID == "psu-2020-multi-50" || r.ID == "psu-2023-multi-50" {
			got[r.ID+"@2022"] = evaluate(&p, c, r, time.Date(2022, 6, 1, 0, 0, 0, 0, time.UTC)).Status
			got[r.ID+"@2026"] = evaluate(&p, c, r, day).Status
		}
	}
	want := map[string]Status{"psu-2020-multi-50@2022": Pass, "psu-2023-multi-50@2022": NotApplicable,
		"psu-2020-multi-50@2026": NotApplicable, "psu-2023-multi-50@2026": Fail}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s, want %s", k, got[k], w)
		}
	}
	// A DC-powered server is exempt from the PSU requirements.
	p.Fields["dc_powered"] = Value{Kind: Bool, Num: 1}
	for i := range c.Requirements {
		if r := &c.Requirements[i]; r.ID == "psu-2023-multi-50" {
			if res := evaluate(&p, c, r, day); res.Status != NotApplicable {
				t.Errorf("dc_powered: %s", res.Status)
			}
		}
	}
}

func TestVerdicts(t *testing.T) {
	tests := []struct {
		in   []Status
		want string
	}{
		{[]Status{Pass, NotApplicable}, VerdictPass},
		{[]Status{Pass, Unverified}, VerdictIncomplete},
		{[]Status{Pass, Missing}, VerdictIncomplete},
		{[]Status{Missing, Fail}, VerdictFail},
		{[]Status{NotApplicable}, VerdictNone},
		{nil, VerdictNone},
	}
	for _, tt := range tests {
		var rs []Result
		for _, s := range tt.in {
			rs = append(rs, Result{Status: s})
		}
		if got := verdict(rs); got != tt.want {
			t.Errorf("%v: %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestCatalogProblems(t *testing.T) {
	in := `name: x
kind: lawish
source: s
requirements:
  - id: a
    text: t
    classes: [server, toaster]
    rule: {field: idle_ww, op: ">=", value: 1}
    citation: c
    verified: yes
    source: s
    colour: red
  - id: a
    text: t
    classes: server
    rule: {field: take_back, op: ">=", value: true}
    citation: c
    verified: true
    source: ""
`
	_, err := ParseCatalog("cat.yaml", []byte(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`cat.yaml:2:7: kind: invalid kind "lawish"`,
		`cat.yaml:7:14: requirements[0].classes: invalid value "toaster"`,
		`cat.yaml:8:19: requirements[0].rule.field: unknown product field "idle_ww" (did you mean "idle_w"?)`,
		`cat.yaml:10:15: requirements[0].verified: expected true or false`,
		`cat.yaml:12:5: requirements[0].colour: unknown key "colour"`,
		`requirements[1].id: duplicate id "a" (first at line 5)`,
		`requirements[1].rule.op: field take_back can only be compared with == or !=`,
		`requirements[1].source: a verified requirement must name the text it was verified against`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestUserCatalogReplacesShipped(t *testing.T) {
	region := `name: region
title: Region of Southern Denmark
kind: region
source: "Regional council decision 2026-03 (example for the test)"
requirements:
  - id: warranty
    text: Warranty of at least 4 years
    classes: [monitor]
    rule: {field: warranty_years, op: ">=", value: 4}
    citation: Decision 2026-03, point 2
    verified: true
    source: Decision 2026-03 as adopted
`
	r, err := Load(File{Name: "mine/region.yaml", Data: []byte(region)})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := r.Lookup("region")
	if c.File != "mine/region.yaml" || len(c.Requirements) != 1 {
		t.Fatalf("region catalog not replaced: %+v", c)
	}
	p := product(t, map[string]string{"id": "m", "class": "monitor", "model": "x", "warranty_years": "4"})
	if a := Evaluate([]Product{p}, []*Catalog{c}, day); a[0].Verdict != VerdictPass {
		t.Errorf("verified user requirement: %+v", a[0])
	}
	if _, err := Load(File{Name: "a.yaml", Data: []byte(region)}, File{Name: "b.yaml", Data: []byte(region)}); err == nil ||
		!strings.Contains(err.Error(), `b.yaml: catalog "region" is also defined in a.yaml`) {
		t.Errorf("duplicate user catalogs: %v", err)
	}
}

// TestExamples checks the example sheets: they parse, and the tender sheet
// has offers that pass, fail and miss evidence against the verified legal
// catalogs.
func TestExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "examples", "procurement")
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	var all []Product
	for _, n := range names {
		data, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := ParseSheet(filepath.Base(n), data)
		if err != nil {
			t.Fatalf("%s: %v", n, err)
		}
		all = append(all, ps...)
	}
	if err := CheckUnique(all); err != nil {
		t.Fatal(err)
	}
	reg := mustRegistry(t)
	var cats []*Catalog
	for _, n := range []string{"eu-2019-2013", "eu-2019-2021", "tco-gen10"} {
		c, _ := reg.Lookup(n)
		cats = append(cats, c)
	}
	got := map[string]string{}
	for _, a := range Evaluate(all, cats, day) {
		got[a.Product.ID] = a.Verdict
	}
	want := map[string]string{"mon-a": VerdictPass, "mon-b": VerdictFail, "mon-c": VerdictIncomplete}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %s, want %s", id, got[id], w)
		}
	}
}
