package procure

import (
	"strings"
	"testing"
)

func TestParseCSVProblems(t *testing.T) {
	in := "id;class;model;idel_w;psu_eff_50;take_back;tco_expires\n" +
		"a;server;R1;100;96,5;ja;2027-01-31\n" +
		"b;toaster;R2;100;101;maybe;2027-02-30\n" +
		";server;;1;2;yes\n"
	ps, err := ParseCSV("t.csv", []byte(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`t.csv:1:16: idel_w: unknown column "idel_w" (did you mean "idle_w"?)`,
		`t.csv:3:3: class: invalid value "toaster"`,
		`t.csv:3:18: psu_eff_50: 101 out of range (want 0 to 100%)`,
		`t.csv:3:22: take_back: invalid boolean "maybe"`,
		`t.csv:3:28: tco_expires: invalid date "2027-02-30"`,
		`t.csv:4:1: row has 6 fields, the header 7`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	// The good row is still read, with `,` decimals and Danish booleans.
	if len(ps) < 1 || ps[0].Fields["psu_eff_50"].Num != 96.5 || ps[0].Fields["take_back"].Num != 1 {
		t.Errorf("row a: %+v", ps)
	}
}

func TestParseYAMLProblems(t *testing.T) {
	in := "id: s\nclass: server\nmodel: X\nidle_w: [1, 2]\nsockets: 2.5\nvendr: Dell\nidle_w: 3\n"
	_, err := ParseYAML("s.yaml", []byte(in))
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{
		`s.yaml:4:9: idle_w: expected a single value, got a list`,
		`s.yaml:5:10: sockets: invalid integer "2.5"`,
		`s.yaml:6:1: vendr: unknown key "vendr" (did you mean "vendor"?)`,
		`s.yaml:7:1: idle_w: duplicate key (first at line 4)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	_, err = ParseYAML("m.yaml", []byte("- id: a\n  class: monitor\n- model: x\n  class: server\n"))
	for _, want := range []string{`m.yaml:1:3: model: missing (required)`, `m.yaml:3:3: id: missing (required)`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
	if _, err := ParseYAML("x.yaml", []byte("id: [\n")); err == nil || !strings.Contains(err.Error(), "x.yaml:") {
		t.Errorf("syntax error: %v", err)
	}
}

func TestCheckUnique(t *testing.T) {
	a, _ := ParseCSV("a.csv", []byte("id,class,model\nx,server,1\n"))
	b, _ := ParseYAML("b.yaml", []byte("id: x\nclass: monitor\nmodel: 2\n"))
	err := CheckUnique(append(a, b...))
	if err == nil || !strings.Contains(err.Error(), `b.yaml:1:1: id: id "x" is also used at a.csv:2`) {
		t.Errorf("got %v", err)
	}
}

// The parsers must never panic, and what they accept must be in range.
func checkAccepted(t *testing.T, ps []Product) {
	for _, p := range ps {
		for name, v := range p.Fields {
			f, _ := LookupField(name)
			if (f.Kind == Number || f.Kind == Integer) && (v.Num < f.Min || v.Num > f.Max || v.Num != v.Num) {
				t.Fatalf("%s = %v accepted outside %v..%v", name, v.Num, f.Min, f.Max)
			}
		}
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add("id,class,model,idle_w\na,server,R1,100\n")
	f.Add("id;class;model;psu_eff_50;take_back\nb;server;X;96,5;ja\n")
	f.Add("id,class,model\n\"a,b\",monitor,\"x\"\"y\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseCSV("f.csv", []byte(in))
		if err == nil {
			checkAccepted(t, ps)
		}
	})
}

func FuzzParseYAML(f *testing.F) {
	f.Add("id: a\nclass: server\nmodel: x\nidle_w: 100\n")
	f.Add("- id: a\n  class: monitor\n  model: y\n  eei_label: 0.5\n")
	f.Add("id: &a x\nclass: !!str server\nmodel: *a\n")
	f.Fuzz(func(t *testing.T, in string) {
		ps, err := ParseYAML("f.yaml", []byte(in))
		if err == nil {
			checkAccepted(t, ps)
		}
	})
}

func FuzzParseCatalog(f *testing.F) {
	f.Add("name: x\nkind: law\nsource: s\nrequirements:\n  - id: a\n    text: t\n    classes: [server]\n    rule: {field: idle_w, op: \"<=\", value: 1}\n    citation: c\n    verified: false\n    source: s\n")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCatalog("f.yaml", []byte(in))
		if err != nil {
			return
		}
		for _, r := range c.Requirements {
			if r.Verified && r.Source == "" {
				t.Fatalf("verified without source: %+v", r)
			}
		}
	})
}
