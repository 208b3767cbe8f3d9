package procure

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Status is the outcome of one requirement for one product.
type Status string

// Outcomes. Unverified is a requirement whose values were not verified
// against their source: it never makes a product pass, whatever the numbers.
const (
	Pass          Status = "pass"
	Fail          Status = "fail"
	Missing       Status = "missing evidence"
	NotApplicable Status = "not applicable"
	Unverified    Status = "unverified"
)

// Verdicts of a product over all requirements.
const (
	VerdictPass       = "pass"            // every applicable requirement passes
	VerdictFail       = "fail"            // at least one fails
	VerdictIncomplete = "incomplete"      // none fails, but evidence is missing or a requirement is unverified
	VerdictNone       = "no requirements" // no requirement of the chosen catalogs applies
)

// Result is one requirement's outcome for one product.
type Result struct {
	Catalog     string `json:"catalog"`
	Requirement string `json:"requirement"`
	Text        string `json:"text"`
	Level       string `json:"level,omitempty"`
	Status      Status `json:"status"`
	// Compared shows the numbers compared, e.g. "psu_eff_20 95 % >= 94 %".
	Compared string `json:"compared,omitempty"`
	Note     string `json:"note,omitempty"`
	Citation string `json:"citation"`
	Verified bool   `json:"verified"`
	Source   string `json:"source"`
}

// Assessment is one product's results and verdict.
type Assessment struct {
	Product *Product
	Verdict string
	Results []Result
}

// Count returns how many results have status s.
func (a *Assessment) Count(s Status) int {
	n := 0
	for _, r := range a.Results {
		if r.Status == s {
			n++
		}
	}
	return n
}

// Evaluate checks every product against every requirement of the catalogs
// for its class, on date today (certificates must be valid then, and only
// requirements in force then apply).
func Evaluate(products []Product, catalogs []*Catalog, today time.Time) []Assessment {
	out := make([]Assessment, 0, len(products))
	for i := range products {
		p := &products[i]
		a := Assessment{Product: p}
		for _, c := range catalogs {
			for _, r := range c.Requirements {
				if !slices.Contains(r.Classes, p.Class()) {
					continue
				}
				a.Results = append(a.Results, evaluate(p, c, &r, today))
			}
		}
		a.Verdict = verdict(a.Results)
		out = append(out, a)
	}
	return out
}

func verdict(rs []Result) string {
	applicable, incomplete := 0, false
	for _, r := range rs {
		switch r.Status {
		case Fail:
			return VerdictFail
		case Missing, Unverified:
			incomplete = true
		}
		if r.Status != NotApplicable {
			applicable++
		}
	}
	switch {
	case incomplete:
		return VerdictIncomplete
	case applicable == 0:
		return VerdictNone
	}
	return VerdictPass
}

func evaluate(p *Product, c *Catalog, r *Requirement, today time.Time) Result {
	res := Result{Catalog: c.Name, Requirement: r.ID, Text: r.Text, Level: r.Level, Citation: r.Citation, Verified: r.Verified, Source: r.Source}
	day := today.Format(time.DateOnly)
	if today.Before(r.From) {
		res.Status, res.Note = NotApplicable, "applies from "+r.From.Format(time.DateOnly)+", checked on "+day
		return res
	}
	if !r.Until.IsZero() && today.After(r.Until) {
		res.Status, res.Note = NotApplicable, "applied until "+r.Until.Format(time.DateOnly)+", checked on "+day
		return res
	}
	for _, cond := range r.Unless {
		if v, ok := p.Get(cond.Field); ok && matches(v, cond) {
			res.Status, res.Note = NotApplicable, fmt.Sprintf("exempt: %s = %s", cond.Field, v)
			return res
		}
	}
	for _, cond := range r.When {
		v, ok := p.Get(cond.Field)
		if !ok {
			res.Status, res.Note = Missing, fmt.Sprintf("%s not declared (needed to tell whether this applies)", cond.Field)
			return res
		}
		if !matches(v, cond) {
			res.Status, res.Note = NotApplicable, fmt.Sprintf("applies when %s is %s; it is %s", cond.Field, condValues(cond), v)
			return res
		}
	}
	switch r.Rule.Kind {
	case RuleCompare:
		res.Status, res.Compared, res.Note = compare(p, &r.Rule)
	case RulePresent:
		res.Status, res.Compared, res.Note = present(p, r.Rule.Present)
	case RuleCertificate:
		res.Status, res.Compared, res.Note = certificate(p, &r.Rule, today)
	}
	if !r.Verified && (res.Status == Pass || res.Status == Fail) {
		res.Note = join2(fmt.Sprintf("would %s, but the value is not verified against its source", res.Status), res.Note)
		res.Status = Unverified
	}
	return res
}

func join2(a, b string) string {
	if b == "" {
		return a
	}
	return a + "; " + b
}

func matches(v Value, c Cond) bool {
	for _, w := range c.Values {
		if equal(v, w) {
			return true
		}
	}
	return false
}

func equal(a, b Value) bool {
	switch a.Kind {
	case Text, Enum:
		return strings.EqualFold(a.Text, b.Text)
	case Date:
		return a.Date.Equal(b.Date)
	}
	return a.Num == b.Num
}

func condValues(c Cond) string {
	var s []string
	for _, v := range c.Values {
		s = append(s, v.String())
	}
	return strings.Join(s, " or ")
}

func show(f *FieldSpec, v Value) string {
	if (f.Kind == Number || f.Kind == Integer) && f.Unit != "" {
		if f.Unit == "%" {
			return v.String() + " %"
		}
		return v.String() + " " + f.Unit
	}
	return v.String()
}

func holds(op string, a, b float64) bool {
	switch op {
	case ">=":
		return a >= b
	case "<=":
		return a <= b
	case ">":
		return a > b
	case "<":
		return a < b
	case "==":
		return a == b
	case "!=":
		return a != b
	}
	return false
}

func compare(p *Product, r *Rule) (Status, string, string) {
	f, _ := LookupField(r.Field)
	v, ok := p.Get(r.Field)
	if !ok {
		return Missing, "", r.Field + " not declared"
	}
	if r.Limit != nil {
		limit, text, missing := r.Limit.eval(p)
		if missing != "" {
			return Missing, "", missing
		}
		if text == "" {
			return NotApplicable, "", "no limit case applies to this product"
		}
		lim := Value{Kind: Number, Num: limit}
		cmp := fmt.Sprintf("%s %s %s %s", r.Field, show(f, v), r.Op, text+" = "+show(f, lim))
		return status(holds(r.Op, v.Num, limit)), cmp, ""
	}
	cmp := fmt.Sprintf("%s %s %s %s", r.Field, show(f, v), r.Op, show(f, r.Value))
	switch f.Kind {
	case Number, Integer:
		return status(holds(r.Op, v.Num, r.Value.Num)), cmp, ""
	case Date:
		return status(holds(r.Op, float64(v.Date.Unix()), float64(r.Value.Date.Unix()))), cmp, ""
	case Enum:
		if f.Ordered {
			return status(holds(r.Op, v.Num, r.Value.Num)), cmp, "ranked " + strings.Join(f.Values, " < ")
		}
	}
	eq := equal(v, r.Value)
	if r.Op == "!=" {
		eq = !eq
	}
	return status(eq), cmp, ""
}

func status(ok bool) Status {
	if ok {
		return Pass
	}
	return Fail
}

// eval returns the limit for p and how it was computed, or the missing field.
func (l *Limit) eval(p *Product) (float64, string, string) {
	for _, c := range l.Cases {
		applies := true
		for _, cond := range c.When {
			v, ok := p.Get(cond.Field)
			if !ok {
				return 0, "", cond.Field + " not declared (needed for the limit)"
			}
			if !matches(v, cond) {
				applies = false
				break
			}
		}
		if !applies {
			continue
		}
		total := c.Base
		text := strconv.FormatFloat(c.Base, 'f', -1, 64)
		for _, name := range l.Plus {
			v, ok := p.Get(name)
			if !ok {
				return 0, "", name + " not declared (needed for the limit)"
			}
			total += v.Num
			text += fmt.Sprintf(" + %s %s", name, v)
		}
		return total, text, ""
	}
	return 0, "", ""
}

func present(p *Product, names []string) (Status, string, string) {
	var got, missing []string
	for _, n := range names {
		if v, ok := p.Get(n); ok {
			got = append(got, n+" = "+v.String())
		} else {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return Missing, strings.Join(got, ", "), strings.Join(missing, ", ") + " not declared"
	}
	return Pass, strings.Join(got, ", "), ""
}

func certificate(p *Product, r *Rule, today time.Time) (Status, string, string) {
	prefix := r.Certificate + "_"
	need := []string{prefix + "id", prefix + "expires"}
	if r.Certificate == "tco" {
		need = append([]string{"tco_generation"}, need...)
	} else {
		need = append([]string{"epeat_tier"}, need...)
		if r.ClimatePlus {
			need = append(need, "epeat_climate_plus")
		}
	}
	var missing []string
	for _, n := range need {
		if _, ok := p.Get(n); !ok {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		return Missing, "", strings.Join(missing, ", ") + " not declared"
	}
	id, _ := p.Get(prefix + "id")
	exp, _ := p.Get(prefix + "expires")
	day := today.Format(time.DateOnly)
	var cmp string
	var problems []string
	if r.Certificate == "tco" {
		g, _ := p.Get("tco_generation")
		cmp = fmt.Sprintf("TCO Certified generation %s, %s, valid until %s", g, id, exp)
		if int(g.Num) < r.MinGeneration {
			problems = append(problems, fmt.Sprintf("generation %s < %d", g, r.MinGeneration))
		}
	} else {
		t, _ := p.Get("epeat_tier")
		f, _ := LookupField("epeat_tier")
		cmp = fmt.Sprintf("EPEAT %s, %s, valid until %s", t, id, exp)
		if r.MinTier != "" && int(t.Num) < f.rank(r.MinTier) {
			problems = append(problems, fmt.Sprintf("tier %s below %s", t, r.MinTier))
		}
		if r.ClimatePlus {
			cp, _ := p.Get("epeat_climate_plus")
			if cp.Num == 0 {
				problems = append(problems, "no Climate+ designation")
			} else {
				cmp += ", Climate+"
			}
		}
	}
	if exp.Date.Before(today) {
		problems = append(problems, "expired on the check date "+day)
	}
	if len(problems) > 0 {
		return Fail, cmp, strings.Join(problems, "; ")
	}
	return Pass, cmp, "valid on " + day
}
