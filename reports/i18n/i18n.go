// Package i18n holds every user-visible string of the reports in Danish and
// English, and formats numbers, months and dates the way each language
// writes them (Danish: 12.345,6 and "oktober 2026").
//
// A message is looked up by key; a key without a text in the printer's
// language is recorded (Missing) and shown as [key], so that a test can
// fail on it instead of a reader finding English in a Danish report.
package i18n

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Lang is a report language.
type Lang string

// The report languages.
const (
	Danish  Lang = "da"
	English Lang = "en"
)

// Langs are the languages every message has.
var Langs = []Lang{Danish, English}

// Parse reads a language code.
func Parse(s string) (Lang, error) {
	switch l := Lang(strings.ToLower(strings.TrimSpace(s))); l {
	case Danish, English:
		return l, nil
	}
	return "", fmt.Errorf("language %q: want da (Danish) or en (English)", s)
}

// msg is one message in both languages. Same marks a text that is the
// same in both (a unit, an abbreviation, a proper name).
type msg struct {
	en, da string
	same   bool
}

// Printer renders messages and numbers in one language.
type Printer struct {
	lang    Lang
	missing map[string]bool
}

// New returns a printer for l.
func New(l Lang) *Printer { return &Printer{lang: l, missing: map[string]bool{}} }

// Lang is the printer's language.
func (p *Printer) Lang() Lang { return p.lang }

// T returns the message key in the printer's language, formatted with args
// by fmt.Sprintf (so a literal percent sign is written %% in every
// message); numbers are formatted with Num first and passed as %s.
func (p *Printer) T(key string, args ...any) string {
	m, ok := catalog[key]
	text := m.en
	if p.lang == Danish {
		text = m.da
	}
	if !ok || text == "" {
		p.missing[key] = true
		return "[" + key + "]"
	}
	return fmt.Sprintf(text, args...)
}

// Missing lists the keys looked up that have no text in the language.
func (p *Printer) Missing() []string {
	var out []string
	for k := range p.missing {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Num formats v with dec decimals and the language's separators: 12.345,6
// in Danish, 12,345.6 in English. The minus sign is U+2212.
func (p *Printer) Num(v float64, dec int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "–"
	}
	s := strconv.FormatFloat(math.Abs(v), 'f', dec, 64)
	intPart, frac, _ := strings.Cut(s, ".")
	thousands, decimal := ",", "."
	if p.lang == Danish {
		thousands, decimal = ".", ","
	}
	var b strings.Builder
	if v < 0 && strings.Trim(s, "0.") != "" {
		b.WriteString("−")
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(thousands)
		}
		b.WriteRune(c)
	}
	if frac != "" {
		b.WriteString(decimal)
		b.WriteString(frac)
	}
	return b.String()
}

// Signed is Num with an explicit + for positive values.
func (p *Printer) Signed(v float64, dec int) string {
	s := p.Num(v, dec)
	if v > 0 && strings.Trim(s, "0.,") != "" {
		return "+" + s
	}
	return s
}

// Pct formats a percentage: "12,3 %" / "12.3 %".
func (p *Printer) Pct(v float64, dec int) string { return p.Num(v, dec) + " %" }

// SignedPct formats a change in percent with its sign.
func (p *Printer) SignedPct(v float64, dec int) string { return p.Signed(v, dec) + " %" }

var monthsDA = [...]string{"januar", "februar", "marts", "april", "maj", "juni", "juli", "august", "september", "oktober", "november", "december"}

// MonthYear is "oktober 2026" / "October 2026".
func (p *Printer) MonthYear(year int, m time.Month) string {
	if p.lang == Danish {
		return fmt.Sprintf("%s %d", monthsDA[m-1], year)
	}
	return fmt.Sprintf("%s %d", m, year)
}

// MonthShort is a month's abbreviation for chart axes: "okt." / "Oct".
func (p *Printer) MonthShort(m time.Month) string {
	if p.lang == Danish {
		n := monthsDA[m-1]
		if len(n) <= 4 {
			return n
		}
		return n[:3] + "."
	}
	return m.String()[:3]
}

// Label reads a YYYY-MM label as "oktober 2026"; other text is returned as
// it is.
func (p *Printer) Label(yyyymm string) string {
	t, err := time.Parse("2006-01", yyyymm)
	if err != nil {
		return yyyymm
	}
	return p.MonthYear(t.Year(), t.Month())
}

// Date is a day: "1. november 2026" / "1 November 2026".
func (p *Printer) Date(t time.Time) string {
	if p.lang == Danish {
		return fmt.Sprintf("%d. %s %d", t.Day(), monthsDA[t.Month()-1], t.Year())
	}
	return fmt.Sprintf("%d %s %d", t.Day(), t.Month(), t.Year())
}

// Keys lists every message key, sorted.
func Keys() []string {
	out := make([]string, 0, len(catalog))
	for k := range catalog {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// Text returns a message's raw text in l (no formatting), and whether it is
// marked the same in both languages.
func Text(key string, l Lang) (text string, same bool) {
	m := catalog[key]
	if l == Danish {
		return m.da, m.same
	}
	return m.en, m.same
}

// Has reports whether key is a message.
func Has(key string) bool { _, ok := catalog[key]; return ok }
