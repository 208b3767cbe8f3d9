package procure

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/goccy/go-yaml/ast"
)

// ParseSheet reads a product sheet: a CSV tender sheet when name ends in
// .csv (one product per row), else YAML (one product mapping, or a list of
// them). Every problem — unknown column or key, bad value, missing required
// field — is returned, each with file, line and column; the products that
// were read are returned too.
func ParseSheet(name string, data []byte) ([]Product, error) {
	if strings.HasSuffix(strings.ToLower(name), ".csv") {
		return ParseCSV(name, data)
	}
	return ParseYAML(name, data)
}

// ParseCSV reads a CSV tender sheet (`,` or `;` separated, decimals with `.`
// or `,`), one product per row; column names are field names.
func ParseCSV(name string, data []byte) ([]Product, error) {
	ps := &problems{file: name}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(data))
	head, _, _ := bytes.Cut(data, []byte("\n"))
	if bytes.Count(head, []byte(";")) > bytes.Count(head, []byte(",")) {
		cr.Comma = ';'
	}
	cr.FieldsPerRecord = -1 // counted below, with a message naming the row
	csvErr := func(err error) {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			ps.list = append(ps.list, Problem{File: name, Line: pe.Line, Column: pe.Column, Message: "CSV: " + pe.Err.Error()})
			return
		}
		ps.list = append(ps.list, Problem{File: name, Message: "CSV: " + err.Error()})
	}
	header, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, Problems{{File: name, Message: "empty file (want a header row of field names)"}}
		}
		csvErr(err)
		return nil, ps.list.Err()
	}
	cols := make([]*FieldSpec, len(header))
	seen := map[string]int{}
	for i, h := range header {
		_, c := cr.FieldPos(i)
		f, ok := LookupField(h)
		if !ok {
			msg := fmt.Sprintf("unknown column %q", strings.TrimSpace(h))
			if s := suggestField(h); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			}
			ps.list = append(ps.list, Problem{File: name, Line: 1, Column: c, Field: strings.TrimSpace(h), Message: msg})
			continue
		}
		if first, dup := seen[f.Name]; dup {
			ps.list = append(ps.list, Problem{File: name, Line: 1, Column: c, Field: f.Name, Message: fmt.Sprintf("column appears twice (also column %d)", first+1)})
			continue
		}
		seen[f.Name] = i
		cols[i] = f
	}
	for _, f := range Fields {
		if _, ok := seen[f.Name]; f.Required && !ok {
			ps.list = append(ps.list, Problem{File: name, Line: 1, Column: 1, Field: f.Name, Message: "missing required column"})
		}
	}
	var out []Product
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			csvErr(err)
			var pe *csv.ParseError
			if errors.As(err, &pe) && errors.Is(pe.Err, csv.ErrFieldCount) {
				continue
			}
			break // a quoting error leaves the reader without a usable position
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue // blank line
		}
		if len(rec) != len(header) {
			ps.list = append(ps.list, Problem{File: name, Line: line, Column: 1,
				Message: fmt.Sprintf("row has %d fields, the header %d", len(rec), len(header))})
			continue
		}
		p := Product{File: name, Line: line, Fields: map[string]Value{}}
		bad := map[string]bool{}
		for i, cell := range rec {
			f := cols[i]
			if f == nil || strings.TrimSpace(cell) == "" {
				continue // unknown column (reported once) or no value given
			}
			v, err := f.Parse(cell)
			if err != nil {
				l, c := cr.FieldPos(i)
				ps.list = append(ps.list, Problem{File: name, Line: l, Column: c, Field: f.Name, Message: err.Error()})
				bad[f.Name] = true
				continue
			}
			p.Fields[f.Name] = v
		}
		finishProduct(&p, ps, line, 1, bad)
		out = append(out, p)
	}
	return out, ps.list.Err()
}

// ParseYAML reads a YAML product sheet: one mapping of field names to
// values, or a list of such mappings.
func ParseYAML(name string, data []byte) ([]Product, error) {
	ps := &problems{file: name}
	docs, perr := parseYAML(name, data)
	if perr != nil {
		return nil, Problems{*perr}
	}
	if len(docs) == 0 {
		return nil, Problems{{File: name, Message: "empty file (want a product: a mapping of field names to values)"}}
	}
	var out []Product
	for _, doc := range docs {
		items := []ast.Node{doc}
		if seq, ok := doc.(*ast.SequenceNode); ok {
			items = seq.Values
		}
		for i, item := range items {
			field := ""
			if len(items) > 1 || doc != item {
				field = fmt.Sprintf("[%d]", i)
			}
			values, ok := mapping(item)
			if !ok {
				ps.at(item, field, "expected a product (a mapping of field names to values), got %s", describe(item))
				continue
			}
			line, col := pos(item)
			p := Product{File: name, Line: line, Fields: map[string]Value{}}
			seen := map[string]int{}
			bad := map[string]bool{}
			for _, mv := range values {
				key := keyText(mv)
				f, ok := LookupField(key)
				if !ok {
					msg := fmt.Sprintf("unknown key %q", key)
					if s := suggestField(key); s != "" {
						msg += fmt.Sprintf(" (did you mean %q?)", s)
					}
					ps.at(mv.Key, key, "%s", msg)
					continue
				}
				if first, dup := seen[f.Name]; dup {
					ps.at(mv.Key, f.Name, "duplicate key (first at line %d)", first)
					continue
				}
				seen[f.Name], _ = pos(mv.Key)
				text, ok := scalar(mv.Value)
				if !ok {
					ps.at(mv.Value, f.Name, "expected a single value, got %s", describe(mv.Value))
					bad[f.Name] = true
					continue
				}
				if strings.TrimSpace(text) == "" {
					continue // "key:" with no value: not given
				}
				v, err := f.Parse(text)
				if err != nil {
					ps.at(mv.Value, f.Name, "%s", err.Error())
					bad[f.Name] = true
					continue
				}
				p.Fields[f.Name] = v
			}
			finishProduct(&p, ps, line, col, bad)
			out = append(out, p)
		}
	}
	return out, ps.list.Err()
}

// finishProduct sets the id and reports missing required fields.
func finishProduct(p *Product, ps *problems, line, col int, bad map[string]bool) {
	for _, f := range Fields {
		if _, ok := p.Fields[f.Name]; f.Required && !ok && !bad[f.Name] {
			ps.list = append(ps.list, Problem{File: p.File, Line: line, Column: col, Field: f.Name, Message: "missing (required)"})
		}
	}
	p.ID = p.Text("id")
}

// CheckUnique reports products that share an id across all sheets of a run.
func CheckUnique(products []Product) error {
	var ps Problems
	first := map[string]Product{}
	for _, p := range products {
		if p.ID == "" {
			continue
		}
		if q, dup := first[p.ID]; dup {
			ps = append(ps, Problem{File: p.File, Line: p.Line, Column: 1, Field: "id",
				Message: fmt.Sprintf("id %q is also used at %s:%d", p.ID, q.File, q.Line)})
			continue
		}
		first[p.ID] = p
	}
	return ps.Err()
}
