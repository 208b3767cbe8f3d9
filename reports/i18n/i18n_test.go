package i18n

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

var verbRE = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z%]`)

// Every message has a Danish and an English text taking the same
// arguments; the Danish differs from the English unless marked the same.
func TestCatalogComplete(t *testing.T) {
	if len(Keys()) < 150 {
		t.Fatalf("only %d messages", len(Keys()))
	}
	for _, key := range Keys() {
		en, same := Text(key, English)
		da, _ := Text(key, Danish)
		switch {
		case strings.TrimSpace(da) == "":
			t.Errorf("%s: no Danish text", key)
		case strings.TrimSpace(en) == "":
			t.Errorf("%s: no English text", key)
		case da == en && !same:
			t.Errorf("%s: the Danish text is the English one (%q); translate it, or mark it same", key, en)
		case da != en && same:
			t.Errorf("%s: marked same but differs", key)
		}
		ve, vd := verbs(en), verbs(da)
		if !slices.Equal(ve, vd) {
			t.Errorf("%s: verbs differ: en %v, da %v", key, ve, vd)
		}
	}
}

// verbs are a message's format verbs, sorted (indexed verbs may move).
func verbs(s string) []string {
	v := verbRE.FindAllString(s, -1)
	slices.Sort(v)
	return v
}

// Every message formats cleanly with arguments of its verbs' types: no
// "%!" from a lone percent sign or a wrong verb.
func TestCatalogFormats(t *testing.T) {
	for _, l := range Langs {
		p := New(l)
		for _, key := range Keys() {
			text, _ := Text(key, l)
			var args []any
			n := 0
			for _, v := range verbRE.FindAllString(text, -1) {
				if v == "%%" {
					continue
				}
				n++
				switch v[len(v)-1] {
				case 'd':
					args = append(args, 7)
				default:
					args = append(args, "x")
				}
			}
			// Indexed verbs name each argument once; keep the count.
			if strings.Contains(text, "%[") {
				args = indexedArgs(text)
			}
			if out := p.T(key, args...); strings.Contains(out, "%!") {
				t.Errorf("%s %s: %q", l, key, out)
			}
		}
		if m := p.Missing(); len(m) > 0 {
			t.Errorf("missing: %v", m)
		}
	}
}

var indexRE = regexp.MustCompile(`%\[(\d+)\][-+# 0]*\d*(\.\d+)?([a-zA-Z])`)

func indexedArgs(text string) []any {
	var args []any
	for _, m := range indexRE.FindAllStringSubmatch(text, -1) {
		var i int
		fmt.Sscan(m[1], &i)
		for len(args) < i {
			args = append(args, nil)
		}
		if m[3] == "d" {
			args[i-1] = 7
		} else {
			args[i-1] = "x"
		}
	}
	return args
}

func TestUnknownKey(t *testing.T) {
	p := New(Danish)
	if got := p.T("no.such.key"); got != "[no.such.key]" || !slices.Equal(p.Missing(), []string{"no.such.key"}) {
		t.Errorf("unknown key: %q, missing %v", got, p.Missing())
	}
}

func TestNumbers(t *testing.T) {
	da, en := New(Danish), New(English)
	for _, c := range []struct {
		v      float64
		dec    int
		da, en string
	}{
		{1234567.891, 1, "1.234.567,9", "1,234,567.9"},
		{-4221.87, 0, "−4.222", "−4,222"},
		{0.5, 2, "0,50", "0.50"},
		{-0.001, 1, "0,0", "0.0"},
		{999, 0, "999", "999"},
	} {
		if got := da.Num(c.v, c.dec); got != c.da {
			t.Errorf("da Num(%v) = %q, want %q", c.v, got, c.da)
		}
		if got := en.Num(c.v, c.dec); got != c.en {
			t.Errorf("en Num(%v) = %q, want %q", c.v, got, c.en)
		}
	}
	if got := da.SignedPct(3.21, 1); got != "+3,2 %" {
		t.Errorf("SignedPct = %q", got)
	}
	if got := da.MonthYear(2026, time.October); got != "oktober 2026" {
		t.Errorf("MonthYear = %q", got)
	}
	if got := da.Date(time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC)); got != "1. november 2026" {
		t.Errorf("Date = %q", got)
	}
	if got := en.Label("2025-03"); got != "March 2025" {
		t.Errorf("Label = %q", got)
	}
	for _, s := range []string{"da", "EN", " da "} {
		if _, err := Parse(s); err != nil {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	if _, err := Parse("de"); err == nil {
		t.Error("Parse(de) accepted")
	}
}
