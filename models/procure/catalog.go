package procure

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml/ast"
)

//go:embed catalogs/*.yaml
var embedded embed.FS

// Catalog is a set of requirements from one source: an act, a label, a
// certificate scheme, a set of GPP criteria or a region's own profile.
type Catalog struct {
	Name         string // used with --catalog, e.g. eu-2019-424
	Title        string
	Kind         string // law | label | certificate | gpp | region
	Source       string // the document, e.g. "Commission Regulation (EU) 2019/424, OJ L 74, 18.3.2019, p. 46"
	File         string // where it was read from ("embedded:…" for the shipped ones)
	Requirements []Requirement
}

// Requirement is one check: which products it applies to, the rule, and where
// it comes from.
type Requirement struct {
	ID       string
	Text     string
	Classes  []string // product classes it applies to
	When     []Cond   // it applies only when all hold
	Unless   []Cond   // it does not apply when any holds (exemptions)
	From     time.Time
	Until    time.Time // zero: no end
	Level    string    // GPP: core | comprehensive
	Rule     Rule
	Citation string // act, article, annex, point, table
	// Verified says the rule's values were checked against Source; an
	// unverified requirement never makes a product pass.
	Verified bool
	Source   string // what the values were verified against, or why not
	Line     int
}

// Cond is a condition on a product field: its value is one of Values.
type Cond struct {
	Field  string
	Values []Value
}

// Rule kinds.
const (
	RuleCompare     = "compare"
	RulePresent     = "present"
	RuleCertificate = "certificate"
)

// Rule says what a product must meet.
type Rule struct {
	Kind string
	// compare: Field Op Value, or Field Op Limit (a formula).
	Field string
	Op    string // >= <= > < == !=
	Value Value
	Limit *Limit
	// present: these fields must be declared.
	Present []string
	// certificate: tco (MinGeneration) or epeat (MinTier, ClimatePlus),
	// valid on the check date.
	Certificate   string
	MinGeneration int
	MinTier       string
	ClimatePlus   bool
}

// Limit is a threshold computed from the product: the Base of the first case
// whose conditions hold, plus the values of the Plus fields.
type Limit struct {
	Cases []LimitCase
	Plus  []string
}

// LimitCase is one base value and when it applies.
type LimitCase struct {
	When []Cond
	Base float64
}

var catalogKinds = []string{"law", "label", "certificate", "gpp", "region"}
var ops = []string{">=", "<=", ">", "<", "==", "!="}

// ParseCatalog reads one catalog file strictly: unknown keys, wrong types,
// unknown field names and bad values are all reported, with line and column.
func ParseCatalog(name string, data []byte) (*Catalog, error) {
	ps := &problems{file: name}
	docs, perr := parseYAML(name, data)
	if perr != nil {
		return nil, Problems{*perr}
	}
	if len(docs) != 1 {
		return nil, Problems{{File: name, Message: fmt.Sprintf("a catalog file holds one YAML document, found %d", len(docs))}}
	}
	c := &Catalog{File: name}
	d := &catDecoder{ps: ps}
	kindNode := docs[0]
	d.fields(docs[0], "", map[string]func(ast.Node, string){
		"name":   d.str(&c.Name),
		"title":  d.str(&c.Title),
		"kind":   func(n ast.Node, p string) { kindNode = n; d.str(&c.Kind)(n, p) },
		"source": d.str(&c.Source),
		"requirements": func(n ast.Node, p string) {
			seq, ok := resolve(n).(*ast.SequenceNode)
			if !ok {
				ps.at(n, p, "expected a list of requirements, got %s", describe(n))
				return
			}
			for i, item := range seq.Values {
				c.Requirements = append(c.Requirements, d.requirement(item, fmt.Sprintf("%s[%d]", p, i)))
			}
		},
	}, "name", "kind", "source", "requirements")
	if c.Kind != "" && !slices.Contains(catalogKinds, c.Kind) {
		ps.at(kindNode, "kind", "invalid kind %q (want one of %s)", c.Kind, strings.Join(catalogKinds, ", "))
	}
	seen := map[string]int{}
	for i, r := range c.Requirements {
		if r.ID == "" {
			continue
		}
		if first, dup := seen[r.ID]; dup {
			ps.list = append(ps.list, Problem{File: name, Line: r.Line, Column: 1, Field: fmt.Sprintf("requirements[%d].id", i),
				Message: fmt.Sprintf("duplicate id %q (first at line %d)", r.ID, first)})
		}
		seen[r.ID] = r.Line
	}
	if err := ps.list.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

type catDecoder struct{ ps *problems }

// fields decodes a mapping whose keys are in handlers; required keys must
// be present.
func (d *catDecoder) fields(n ast.Node, p string, handlers map[string]func(ast.Node, string), required ...string) {
	values, ok := mapping(n)
	if !ok {
		d.ps.at(n, p, "expected a mapping, got %s", describe(n))
		return
	}
	keys := make([]string, 0, len(handlers))
	for k := range handlers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[string]bool{}
	for _, mv := range values {
		k := keyText(mv)
		kp := join(p, k)
		h, ok := handlers[k]
		if !ok {
			msg := fmt.Sprintf("unknown key %q", k)
			if s := suggest(k, keys); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (valid keys: " + strings.Join(keys, ", ") + ")"
			}
			d.ps.at(mv.Key, kp, "%s", msg)
			continue
		}
		if seen[k] {
			d.ps.at(mv.Key, kp, "duplicate key %q", k)
			continue
		}
		seen[k] = true
		h(mv.Value, kp)
	}
	for _, k := range required {
		if !seen[k] {
			d.ps.at(n, join(p, k), "missing (required)")
		}
	}
}

func join(p, k string) string {
	if p == "" {
		return k
	}
	return p + "." + k
}

func (d *catDecoder) str(dst *string) func(ast.Node, string) {
	return func(n ast.Node, p string) {
		s, ok := scalar(n)
		if !ok {
			d.ps.at(n, p, "expected a single value, got %s", describe(n))
			return
		}
		*dst = s
	}
}

func (d *catDecoder) boolean(dst *bool) func(ast.Node, string) {
	return func(n ast.Node, p string) {
		b, ok := resolve(n).(*ast.BoolNode)
		if !ok {
			d.ps.at(n, p, "expected true or false, got %s", describe(n))
			return
		}
		*dst = b.Value
	}
}

func (d *catDecoder) date(dst *time.Time) func(ast.Node, string) {
	return func(n ast.Node, p string) {
		s, ok := scalar(n)
		t, err := time.Parse(time.DateOnly, s)
		if !ok || err != nil {
			d.ps.at(n, p, "expected a date YYYY-MM-DD, got %s", describe(n))
			return
		}
		*dst = t
	}
}

// list reads a scalar or a list of scalars.
func (d *catDecoder) list(n ast.Node, p string) ([]string, []ast.Node) {
	if seq, ok := resolve(n).(*ast.SequenceNode); ok {
		var out []string
		var nodes []ast.Node
		for _, v := range seq.Values {
			s, ok := scalar(v)
			if !ok {
				d.ps.at(v, p, "expected a single value, got %s", describe(v))
				continue
			}
			out, nodes = append(out, s), append(nodes, v)
		}
		return out, nodes
	}
	s, ok := scalar(n)
	if !ok {
		d.ps.at(n, p, "expected a value or a list of values, got %s", describe(n))
		return nil, nil
	}
	return []string{s}, []ast.Node{n}
}

// fieldName checks a product field name.
func (d *catDecoder) fieldName(n ast.Node, p, s string) (*FieldSpec, bool) {
	f, ok := LookupField(s)
	if !ok {
		msg := fmt.Sprintf("unknown product field %q", s)
		if g := suggestField(s); g != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", g)
		}
		d.ps.at(n, p, "%s", msg)
	}
	return f, ok
}

func (d *catDecoder) conds(dst *[]Cond) func(ast.Node, string) {
	return func(n ast.Node, p string) {
		values, ok := mapping(n)
		if !ok {
			d.ps.at(n, p, "expected a mapping of product fields to values, got %s", describe(n))
			return
		}
		for _, mv := range values {
			k := keyText(mv)
			kp := join(p, k)
			f, ok := d.fieldName(mv.Key, kp, k)
			if !ok {
				continue
			}
			texts, nodes := d.list(mv.Value, kp)
			c := Cond{Field: f.Name}
			for i, t := range texts {
				v, err := f.Parse(t)
				if err != nil {
					d.ps.at(nodes[i], kp, "%s", err.Error())
					continue
				}
				c.Values = append(c.Values, v)
			}
			*dst = append(*dst, c)
		}
	}
}

func (d *catDecoder) requirement(n ast.Node, p string) Requirement {
	var r Requirement
	r.Line, _ = pos(n)
	var classesNode ast.Node
	d.fields(n, p, map[string]func(ast.Node, string){
		"id":   d.str(&r.ID),
		"text": d.str(&r.Text),
		"classes": func(n ast.Node, p string) {
			classesNode = n
			r.Classes, _ = d.list(n, p)
		},
		"when":     d.conds(&r.When),
		"unless":   d.conds(&r.Unless),
		"from":     d.date(&r.From),
		"until":    d.date(&r.Until),
		"level":    d.str(&r.Level),
		"rule":     func(n ast.Node, p string) { r.Rule = d.rule(n, p) },
		"citation": d.str(&r.Citation),
		"verified": d.boolean(&r.Verified),
		"source":   d.str(&r.Source),
	}, "id", "text", "classes", "rule", "citation", "verified", "source")
	classField, _ := LookupField("class")
	for i, c := range r.Classes {
		v, err := classField.Parse(c)
		if err != nil {
			d.ps.at(classesNode, join(p, "classes"), "%s", err.Error())
			continue
		}
		r.Classes[i] = v.Text
	}
	if r.Level != "" && r.Level != "core" && r.Level != "comprehensive" {
		d.ps.at(n, join(p, "level"), "invalid level %q (want core or comprehensive)", r.Level)
	}
	if !r.Until.IsZero() && r.Until.Before(r.From) {
		d.ps.at(n, join(p, "until"), "until %s is before from %s", r.Until.Format(time.DateOnly), r.From.Format(time.DateOnly))
	}
	if r.Verified && strings.TrimSpace(r.Source) == "" {
		d.ps.at(n, join(p, "source"), "a verified requirement must name the text it was verified against")
	}
	return r
}

func (d *catDecoder) rule(n ast.Node, p string) Rule {
	var r Rule
	var valueNode, limitNode, opNode, presentNode, fieldNode ast.Node
	var valueText, fieldText, tier, gen string
	d.fields(n, p, map[string]func(ast.Node, string){
		"field": func(n ast.Node, p string) { fieldNode = n; d.str(&fieldText)(n, p) },
		"op":    func(n ast.Node, p string) { opNode = n; d.str(&r.Op)(n, p) },
		"value": func(n ast.Node, p string) { valueNode = n; d.str(&valueText)(n, p) },
		"limit": func(n ast.Node, p string) { limitNode = n; r.Limit = d.limit(n, p) },
		"present": func(n ast.Node, p string) {
			presentNode = n
			names, nodes := d.list(n, p)
			for i, s := range names {
				if f, ok := d.fieldName(nodes[i], p, s); ok {
					r.Present = append(r.Present, f.Name)
				}
			}
		},
		"certificate":    d.str(&r.Certificate),
		"min_generation": d.str(&gen),
		"min_tier":       d.str(&tier),
		"climate_plus":   d.boolean(&r.ClimatePlus),
	})
	switch {
	case r.Certificate != "":
		r.Kind = RuleCertificate
		switch r.Certificate {
		case "tco":
			g, err := strconv.Atoi(gen)
			if err != nil || g < 1 {
				d.ps.at(n, join(p, "min_generation"), "a tco certificate rule needs min_generation (an integer ≥ 1), got %q", gen)
			}
			r.MinGeneration = g
		case "epeat":
			if tier != "" {
				f, _ := LookupField("epeat_tier")
				v, err := f.Parse(tier)
				if err != nil {
					d.ps.at(n, join(p, "min_tier"), "%s", err.Error())
				}
				r.MinTier = v.Text
			}
		default:
			d.ps.at(n, join(p, "certificate"), "unknown certificate %q (want tco or epeat)", r.Certificate)
		}
	case presentNode != nil:
		r.Kind = RulePresent
	case fieldNode != nil:
		r.Kind = RuleCompare
		f, ok := d.fieldName(fieldNode, join(p, "field"), fieldText)
		if !ok {
			break
		}
		r.Field = f.Name
		if !slices.Contains(ops, r.Op) {
			d.ps.at(orNode(opNode, n), join(p, "op"), "invalid op %q (want one of %s)", r.Op, strings.Join(ops, " "))
		}
		switch {
		case valueNode != nil && limitNode != nil:
			d.ps.at(limitNode, join(p, "limit"), "give either value or limit, not both")
		case valueNode != nil:
			v, err := f.Parse(valueText)
			if err != nil {
				d.ps.at(valueNode, join(p, "value"), "%s", err.Error())
			}
			r.Value = v
			if (f.Kind == Enum && !f.Ordered || f.Kind == Text || f.Kind == Bool) && r.Op != "==" && r.Op != "!=" {
				d.ps.at(orNode(opNode, n), join(p, "op"), "field %s can only be compared with == or !=", f.Name)
			}
		case limitNode != nil:
			if f.Kind != Number && f.Kind != Integer {
				d.ps.at(limitNode, join(p, "limit"), "a limit needs a numeric field, %s is %s", f.Name, f.Kind)
			}
		default:
			d.ps.at(n, join(p, "value"), "missing: a compare rule needs value or limit")
		}
	default:
		d.ps.at(n, p, "a rule needs field and op, present, or certificate")
	}
	return r
}

func orNode(a, b ast.Node) ast.Node {
	if a != nil {
		return a
	}
	return b
}

func (d *catDecoder) limit(n ast.Node, p string) *Limit {
	l := &Limit{}
	d.fields(n, p, map[string]func(ast.Node, string){
		"cases": func(n ast.Node, p string) {
			seq, ok := resolve(n).(*ast.SequenceNode)
			if !ok {
				d.ps.at(n, p, "expected a list of cases, got %s", describe(n))
				return
			}
			for i, item := range seq.Values {
				var c LimitCase
				var base string
				ip := fmt.Sprintf("%s[%d]", p, i)
				d.fields(item, ip, map[string]func(ast.Node, string){
					"when": d.conds(&c.When),
					"base": d.str(&base),
				}, "base")
				x, err := strconv.ParseFloat(base, 64)
				if base != "" && err != nil {
					d.ps.at(item, join(ip, "base"), "invalid number %q", base)
				}
				c.Base = x
				l.Cases = append(l.Cases, c)
			}
		},
		"plus": func(n ast.Node, p string) {
			names, nodes := d.list(n, p)
			for i, s := range names {
				if f, ok := d.fieldName(nodes[i], p, s); ok {
					l.Plus = append(l.Plus, f.Name)
				}
			}
		},
	}, "cases")
	return l
}

// File is a user catalog's name and content, read by the caller.
type File struct {
	Name string
	Data []byte
}

// Registry holds catalogs by name.
type Registry struct {
	byName map[string]*Catalog
}

// Catalogs returns the catalogs sorted by name.
func (r *Registry) Catalogs() []*Catalog {
	out := make([]*Catalog, 0, len(r.byName))
	for _, c := range r.byName {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Lookup returns a catalog by name.
func (r *Registry) Lookup(name string) (*Catalog, bool) {
	c, ok := r.byName[name]
	return c, ok
}

// Names lists the catalog names.
func (r *Registry) Names() []string {
	var out []string
	for _, c := range r.Catalogs() {
		out = append(out, c.Name)
	}
	return out
}

// Embedded returns the shipped catalogs. The tests load them, so an error
// here is a build defect.
func Embedded() (*Registry, error) { return Load() }

// Load returns the shipped catalogs plus the user's (for example every
// *.yaml of a --catalog-dir); a user catalog with a shipped one's name
// replaces it, so a region can publish its own profile.
func Load(user ...File) (*Registry, error) {
	r := &Registry{byName: map[string]*Catalog{}}
	names, err := fs.Glob(embedded, "catalogs/*.yaml")
	if err != nil {
		return nil, err
	}
	var files []File
	for _, n := range names {
		data, err := fs.ReadFile(embedded, n)
		if err != nil {
			return nil, err
		}
		files = append(files, File{Name: "embedded:" + path.Base(n), Data: data})
	}
	var all Problems
	shipped := len(files)
	files = append(files, user...)
	seenUser := map[string]string{}
	for i, f := range files {
		c, err := ParseCatalog(f.Name, f.Data)
		if err != nil {
			if ps, ok := err.(Problems); ok {
				all = append(all, ps...)
				continue
			}
			return nil, err
		}
		if i >= shipped {
			if other, dup := seenUser[c.Name]; dup {
				all = append(all, Problem{File: f.Name, Message: fmt.Sprintf("catalog %q is also defined in %s", c.Name, other)})
				continue
			}
			seenUser[c.Name] = f.Name
		}
		r.byName[c.Name] = c
	}
	if err := all.Err(); err != nil {
		return nil, err
	}
	return r, nil
}
