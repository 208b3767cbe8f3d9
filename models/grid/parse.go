// Package grid holds hourly grid carbon intensity per price area: parsers for
// Energinet's exports, the fallback for hours without data, and monthly
// statistics (DESIGN.md, carbon rules).
package grid

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/models/units"
)

// Dataset is the Energinet dataset a file holds.
type Dataset string

const (
	// FiveMinute is CO2Emis or CO2EmisProg: 5-minute intensity, g CO2/kWh
	// (columns Minutes5UTC, Minutes5DK, PriceArea, CO2Emission).
	FiveMinute Dataset = "CO2Emis"
	// Declaration is DeclarationGridEmission: the hourly environmental
	// declaration, g CO2/kWh (HourUTC, HourDK, PriceArea, FuelAllocationMethod, CO2PerkWh).
	Declaration Dataset = "DeclarationGridEmission"
)

// DefaultFuelAllocationMethod is the declaration method kept when Options
// names none: the 125 % method Energinet uses for its environmental declaration.
const DefaultFuelAllocationMethod = "125%"

// Options tunes Parse.
type Options struct {
	// FuelAllocationMethod selects the declaration rows to keep (others are
	// skipped and counted); empty means DefaultFuelAllocationMethod.
	FuelAllocationMethod string
}

// HourValue is the intensity of one price area in one UTC hour. For 5-minute
// data it is the mean of the intervals present; Intervals says how many.
type HourValue struct {
	Area      string
	Hour      time.Time
	Intensity units.GramsPerKWh
	Intervals int
}

// Import is a parsed file.
type Import struct {
	// Dataset is what the columns say: five-minute data (CO2Emis or its
	// forecast CO2EmisProg, which have the same columns) or the hourly
	// declaration. Named is the dataset the file names itself, when it
	// does (the "dataset" field of an Energi Data Service JSON response).
	Dataset Dataset
	Named   string
	Hours   []HourValue // sorted by area, then hour
	Records int         // records used
	Missing int         // records without a value (empty or null): gaps, not errors
	Skipped int         // declaration records of another fuel allocation method
	// LocalTimeOnly is true when the file had only Danish local time; then
	// Repeated counts the records in the repeated October hour, resolved by
	// the order of the records (the first occurrence is CEST +02:00, the
	// second CET +01:00; reversed for a file sorted newest first).
	LocalTimeOnly bool
	Repeated      int
}

// TimeNote says, for a report or the CLI, which time column was used and how
// the repeated October hour was resolved.
func (i Import) TimeNote() string {
	switch {
	case !i.LocalTimeOnly:
		return "times from the UTC column"
	case i.Repeated == 0:
		return "times from Danish local time (no repeated October hour in the file)"
	}
	return fmt.Sprintf("times from Danish local time; %d records in the repeated October hour resolved by row order (first CEST +02:00, then CET +01:00)", i.Repeated)
}

// ParseError locates a problem in an input file.
type ParseError struct {
	File   string
	Line   int
	Column int
	Field  string // column or JSON field, when known
	Err    error
}

func (e *ParseError) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s:%d:%d: %s: %v", e.File, e.Line, e.Column, e.Field, e.Err)
	}
	return fmt.Sprintf("%s:%d:%d: %v", e.File, e.Line, e.Column, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

// Parse reads an Energinet export, CSV (separated by `,` or `;`, decimal mark
// `.` or `,`) or JSON (an object with a "records" array, as the Energi Data
// Service API returns), named name in messages. UTC columns are used when
// present. Any bad record rejects the whole file: the result is all or nothing.
func Parse(name string, r io.Reader, opt Options) (Import, error) {
	if opt.FuelAllocationMethod == "" {
		opt.FuelAllocationMethod = DefaultFuelAllocationMethod
	}
	p := &parser{file: name, opt: opt, seen: map[rowKey]int{}, methods: map[string]bool{}}
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\ufeff" {
		_, _ = br.Discard(3)
	}
	first, err := firstByte(br)
	if err != nil {
		return Import{}, fmt.Errorf("%s: %w", name, err)
	}
	if first == '{' {
		err = p.readJSON(br)
	} else {
		err = p.readCSV(br)
	}
	if err != nil {
		return Import{}, err
	}
	return p.finish()
}

func firstByte(br *bufio.Reader) (byte, error) {
	for i := 1; ; i++ {
		b, err := br.Peek(i)
		if err != nil {
			if errors.Is(err, io.EOF) {
				return 0, errors.New("empty file")
			}
			return 0, fmt.Errorf("read: %w", err)
		}
		switch c := b[i-1]; c {
		case ' ', '\t', '\r', '\n':
		default:
			return c, nil
		}
	}
}

// cell is one value of a record with its position.
type cell struct {
	text       string
	null       bool
	line, col  int
	field      string
	recordNote string // "record N" for JSON, whose positions are the record's start
}

// schema maps a file's columns to the dataset's meaning.
type schema struct {
	dataset  Dataset
	timeUTC  string
	timeDK   string
	value    string
	area     string
	method   string // "" when absent
	fileCols map[string]string
}

// newSchema picks the columns from the names a file has (matched regardless of case).
func newSchema(names []string) (schema, error) {
	s := schema{fileCols: map[string]string{}}
	for _, n := range names {
		k := strings.ToLower(strings.TrimSpace(n))
		if _, dup := s.fileCols[k]; dup && k != "" {
			return s, fmt.Errorf("column %q appears twice", n)
		}
		s.fileCols[k] = strings.TrimSpace(n)
	}
	has := func(c string) bool { _, ok := s.fileCols[strings.ToLower(c)]; return ok }
	switch {
	case has("CO2Emission") && has("CO2PerkWh"):
		return s, errors.New("both CO2Emission and CO2PerkWh columns: not one Energinet dataset")
	case has("CO2Emission"):
		s.dataset, s.value = FiveMinute, "CO2Emission"
		s.timeUTC, s.timeDK = "Minutes5UTC", "Minutes5DK"
	case has("CO2PerkWh"):
		s.dataset, s.value = Declaration, "CO2PerkWh"
		s.timeUTC, s.timeDK = "HourUTC", "HourDK"
		if has("FuelAllocationMethod") {
			s.method = "FuelAllocationMethod"
		}
	default:
		return s, errors.New("no CO2Emission or CO2PerkWh column: not a CO2Emis, CO2EmisProg or DeclarationGridEmission export")
	}
	if !has(s.timeUTC) {
		s.timeUTC = ""
	}
	if !has(s.timeDK) {
		s.timeDK = ""
	}
	if s.timeUTC == "" && s.timeDK == "" {
		return s, fmt.Errorf("no time column (%s or %s)", map[Dataset]string{FiveMinute: "Minutes5UTC", Declaration: "HourUTC"}[s.dataset],
			map[Dataset]string{FiveMinute: "Minutes5DK", Declaration: "HourDK"}[s.dataset])
	}
	if !has("PriceArea") {
		return s, errors.New("no PriceArea column")
	}
	s.area = "PriceArea"
	return s, nil
}

type rowKey struct {
	area string
	at   time.Time
}

type row struct {
	area  string
	at    time.Time // UTC, or the Danish wall time when wall is true
	wall  bool
	value float64
	where cell // the time cell, for messages
}

type parser struct {
	file    string
	opt     Options
	schema  schema
	rows    []row
	seen    map[rowKey]int // (area, UTC time) → line, to reject duplicates
	methods map[string]bool
	out     Import
	named   string // the JSON's "dataset" field
}

func (p *parser) errAt(c cell, err error) error {
	field := c.field
	if c.recordNote != "" {
		field = c.recordNote + " " + field
	}
	return &ParseError{File: p.file, Line: c.line, Column: c.col, Field: field, Err: err}
}

// add checks one record and keeps it; get returns a column's cell.
func (p *parser) add(get func(col string) (cell, bool)) error {
	s := p.schema
	area, _ := get(s.area)
	if strings.TrimSpace(area.text) == "" {
		return p.errAt(area, errors.New("empty price area"))
	}
	if s.method != "" {
		m, _ := get(s.method)
		if strings.TrimSpace(m.text) != p.opt.FuelAllocationMethod {
			p.methods[strings.TrimSpace(m.text)] = true
			p.out.Skipped++
			return nil
		}
	}
	r := row{area: strings.TrimSpace(area.text)}
	var tc cell
	if s.timeUTC != "" {
		tc, _ = get(s.timeUTC)
		t, offset, err := parseTime(tc.text)
		if err != nil {
			return p.errAt(tc, err)
		}
		if !offset {
			t = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
		}
		r.at = t.UTC()
	} else {
		tc, _ = get(s.timeDK)
		t, offset, err := parseTime(tc.text)
		if err != nil {
			return p.errAt(tc, err)
		}
		r.at, r.wall = t, !offset
		if offset {
			r.at = t.UTC()
		}
	}
	r.where = tc
	step := 5 * time.Minute
	if s.dataset == Declaration {
		step = time.Hour
	}
	if r.at.Truncate(step) != r.at {
		return p.errAt(tc, fmt.Errorf("time %s is not on a %s boundary", tc.text, step))
	}
	vc, _ := get(s.value)
	if vc.null || strings.TrimSpace(vc.text) == "" {
		p.out.Missing++
		return nil
	}
	v, err := parseIntensity(vc.text)
	if err != nil {
		return p.errAt(vc, err)
	}
	r.value = v
	p.rows = append(p.rows, r)
	return nil
}

// parseTime accepts Energinet's forms: 2024-01-01T00:00:00 (also with a space,
// without seconds, or RFC 3339 with an offset). offset says whether the text
// carried its own zone.
func parseTime(text string) (time.Time, bool, error) {
	text = strings.TrimSpace(text)
	if t, err := time.Parse(time.RFC3339, text); err == nil {
		return t, true, nil
	}
	for _, layout := range []string{"2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02 15:04"} {
		if t, err := time.Parse(layout, text); err == nil {
			return t, false, nil
		}
	}
	return time.Time{}, false, fmt.Errorf("invalid time %q (want 2006-01-02T15:04:05)", text)
}

// parseIntensity reads a g/kWh value with `.` or `,` as decimal mark.
func parseIntensity(text string) (float64, error) {
	t := strings.TrimSpace(text)
	if strings.Contains(t, ",") {
		if strings.Contains(t, ".") {
			return 0, fmt.Errorf("value %q has both `,` and `.`: ambiguous decimal mark", text)
		}
		t = strings.ReplaceAll(t, ",", ".")
	}
	v, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, fmt.Errorf("invalid number %q", text)
	}
	if v < 0 {
		return 0, fmt.Errorf("negative intensity %v g/kWh", v)
	}
	return v, nil
}

func (p *parser) readCSV(br *bufio.Reader) error {
	head, _ := br.Peek(br.Buffered())
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	cr := csv.NewReader(br)
	if bytes.Count(head, []byte(";")) > bytes.Count(head, []byte(",")) {
		cr.Comma = ';'
	}
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return p.csvErr(err)
	}
	if p.schema, err = newSchema(header); err != nil {
		return &ParseError{File: p.file, Line: 1, Column: 1, Err: err}
	}
	idx := make(map[string]int, len(header))
	for i, h := range header {
		idx[strings.ToLower(strings.TrimSpace(h))] = i
	}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return p.csvErr(err)
		}
		get := func(col string) (cell, bool) {
			i, ok := idx[strings.ToLower(col)]
			if !ok {
				return cell{}, false
			}
			line, c := cr.FieldPos(i)
			return cell{text: rec[i], line: line, col: c, field: p.schema.fileCols[strings.ToLower(col)]}, true
		}
		if err := p.add(get); err != nil {
			return err
		}
	}
}

func (p *parser) csvErr(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return &ParseError{File: p.file, Line: pe.Line, Column: pe.Column, Err: pe.Err}
	}
	return fmt.Errorf("%s: read: %w", p.file, err)
}

func (p *parser) readJSON(br *bufio.Reader) error {
	data, err := io.ReadAll(br)
	if err != nil {
		return fmt.Errorf("%s: read: %w", p.file, err)
	}
	jerr := func(off int64, field string, err error) error {
		line, col := lineCol(data, off)
		return &ParseError{File: p.file, Line: line, Column: col, Field: field, Err: err}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	fail := func(err error) error {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return syntaxErr(data, jerr, err)
		}
		return jerr(dec.InputOffset(), "", err)
	}
	if _, err := dec.Token(); err != nil { // '{', checked by the caller's peek
		return fail(err)
	}
	found := false
	for dec.More() {
		keyTok, err := dec.Token()
		if err != nil {
			return fail(err)
		}
		key, _ := keyTok.(string)
		if key == "dataset" {
			var name any
			if err := dec.Decode(&name); err != nil {
				return fail(err)
			}
			p.named, _ = name.(string)
			continue
		}
		if key != "records" {
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fail(err)
			}
			continue
		}
		if found {
			return jerr(dec.InputOffset(), "records", errors.New("appears twice"))
		}
		found = true
		if err := p.readRecords(dec, data, jerr, fail); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // '}'
		return fail(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return jerr(dec.InputOffset(), "", errors.New("data after the JSON object"))
	}
	if !found {
		return jerr(0, "", errors.New(`no "records" array`))
	}
	return nil
}

func (p *parser) readRecords(dec *json.Decoder, data []byte, jerr func(int64, string, error) error, fail func(error) error) error {
	tok, err := dec.Token()
	if err != nil {
		return fail(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return jerr(dec.InputOffset(), "records", errors.New("not an array"))
	}
	// Records come in increasing offsets: track line and column forward
	// instead of rescanning from the start (a one-line export of 100k
	// records would be quadratic).
	var pos lineCounter
	for n := 1; dec.More(); n++ {
		off := dec.InputOffset()
		for off < int64(len(data)) && strings.IndexByte(" \t\r\n,", data[off]) >= 0 {
			off++
		}
		var rec map[string]json.RawMessage
		if err := dec.Decode(&rec); err != nil {
			var se *json.SyntaxError
			if errors.As(err, &se) {
				return syntaxErr(data, jerr, err)
			}
			return jerr(off, fmt.Sprintf("record %d", n), err)
		}
		rline, rcol := pos.at(data, off)
		cells := make(map[string]cell, len(rec))
		names := make([]string, 0, len(rec))
		for k, raw := range rec {
			c := cell{line: rline, col: rcol, field: k, recordNote: fmt.Sprintf("record %d", n)}
			switch t := bytes.TrimSpace(raw); {
			case string(t) == "null":
				c.null = true
			case len(t) > 0 && t[0] == '"':
				if err := json.Unmarshal(t, &c.text); err != nil {
					return p.errAt(c, err)
				}
			case len(t) > 0 && (t[0] == '-' || (t[0] >= '0' && t[0] <= '9')):
				c.text = string(t)
			default:
				return p.errAt(c, fmt.Errorf("value %s is not a string, number or null", t))
			}
			cells[strings.ToLower(k)] = c
			names = append(names, k)
		}
		if n == 1 {
			sort.Strings(names)
			if p.schema, err = newSchema(names); err != nil {
				return jerr(off, "record 1", err)
			}
		}
		var missing string
		get := func(col string) (cell, bool) {
			c, ok := cells[strings.ToLower(col)]
			if !ok && missing == "" {
				missing = col
			}
			if !ok {
				c = cell{line: rline, col: rcol, field: col, recordNote: fmt.Sprintf("record %d", n)}
			}
			return c, ok
		}
		for _, col := range []string{p.schema.area, p.schema.value, p.schema.timeUTC, p.schema.timeDK, p.schema.method} {
			if col != "" {
				get(col)
			}
		}
		if missing != "" {
			return jerr(off, fmt.Sprintf("record %d", n), fmt.Errorf("no field %s", missing))
		}
		if err := p.add(get); err != nil {
			return err
		}
	}
	if _, err := dec.Token(); err != nil { // ']'
		return fail(err)
	}
	return nil
}

// syntaxErr locates a JSON syntax error. A Decoder's offsets are not reliable
// for that, so the whole input is checked again (only on this error path):
// Unmarshal's offset counts the bytes read up to and including the bad one.
func syntaxErr(data []byte, jerr func(int64, string, error) error, err error) error {
	var se *json.SyntaxError
	if errors.As(json.Unmarshal(data, new(json.RawMessage)), &se) {
		off := se.Offset
		if off > 0 && off <= int64(len(data)) && se.Error() != "unexpected end of JSON input" {
			off--
		}
		return jerr(off, "", se)
	}
	return jerr(0, "", err)
}

// lineCounter turns increasing byte offsets into 1-based lines and columns
// in time linear in the data.
type lineCounter struct {
	off       int64 // offset scanned so far
	line      int   // 0-based count of newlines before off
	lineStart int64 // offset of the first byte of the current line
}

func (c *lineCounter) at(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	if off < c.off {
		return lineCol(data, off)
	}
	for i := c.off; i < off; i++ {
		if data[i] == '\n' {
			c.line++
			c.lineStart = i + 1
		}
	}
	c.off = off
	return c.line + 1, int(off-c.lineStart) + 1
}

// lineCol turns a byte offset into a 1-based line and column.
func lineCol(data []byte, off int64) (int, int) {
	if off > int64(len(data)) {
		off = int64(len(data))
	}
	if off < 0 {
		off = 0
	}
	before := data[:off]
	line := 1 + bytes.Count(before, []byte("\n"))
	col := int(off) - bytes.LastIndexByte(before, '\n')
	return line, col
}

// finish resolves local times, rejects duplicates and aggregates to hours.
func (p *parser) finish() (Import, error) {
	out := p.out
	out.Dataset = p.schema.dataset
	out.Named = p.named
	if len(p.rows) == 0 && out.Skipped > 0 && out.Missing == 0 {
		found := make([]string, 0, len(p.methods))
		for m := range p.methods {
			found = append(found, m)
		}
		sort.Strings(found)
		return Import{}, fmt.Errorf("%s: no records with fuel allocation method %q (found %s)",
			p.file, p.opt.FuelAllocationMethod, strings.Join(found, ", "))
	}
	descending := false
	for _, r := range p.rows {
		if r.wall {
			out.LocalTimeOnly = true
			descending = p.rows[0].at.After(p.rows[len(p.rows)-1].at)
			break
		}
	}
	occurrences := map[rowKey]int{}
	type acc struct {
		sum float64
		n   int
	}
	hours := map[rowKey]*acc{}
	for i := range p.rows {
		r := &p.rows[i]
		if r.wall {
			cands := fromDanishWall(r.at)
			switch len(cands) {
			case 0:
				return Import{}, p.errAt(r.where, fmt.Errorf("local time %s does not exist in Danish time (clocks skip that hour in March)", r.where.text))
			case 1:
				r.at = cands[0]
			default:
				k := rowKey{r.area, r.at}
				n := occurrences[k]
				occurrences[k]++
				if n > 1 {
					return Import{}, p.errAt(r.where, fmt.Errorf("local time %s appears more than twice", r.where.text))
				}
				if descending {
					n = 1 - n
				}
				r.at = cands[n]
				out.Repeated++
			}
		}
		k := rowKey{r.area, r.at}
		if line, dup := p.seen[k]; dup {
			return Import{}, p.errAt(r.where, fmt.Errorf("%s %s appears twice (also at line %d)", r.area, r.at.Format(time.RFC3339), line))
		}
		p.seen[k] = r.where.line
		hk := rowKey{r.area, r.at.Truncate(time.Hour)}
		a := hours[hk]
		if a == nil {
			a = &acc{}
			hours[hk] = a
		}
		a.sum += r.value
		a.n++
	}
	out.Records = len(p.rows)
	out.Hours = make([]HourValue, 0, len(hours))
	for k, a := range hours {
		out.Hours = append(out.Hours, HourValue{Area: k.area, Hour: k.at, Intensity: units.GramsPerKWh(a.sum / float64(a.n)), Intervals: a.n})
	}
	sort.Slice(out.Hours, func(i, j int) bool {
		a, b := out.Hours[i], out.Hours[j]
		if a.Area != b.Area {
			return a.Area < b.Area
		}
		return a.Hour.Before(b.Hour)
	})
	return out, nil
}

// Dataset names as Energi Data Service spells them.
const (
	NameCO2Emis     = "CO2Emis"     // realised 5-minute emissions
	NameCO2EmisProg = "CO2EmisProg" // their forecast
	NameDeclaration = "DeclarationGridEmission"
)

// DatasetName is the dataset an import holds, for storage and output:
// the declaration by its columns; five-minute data by what the file says
// it is (Named), since realised CO2Emis and forecast CO2EmisProg have the
// same columns. given is what the user said of the files that cannot tell
// (empty: nothing); for five-minute data it must agree with the file. When the file cannot tell and the
// user did not, it is an error: a forecast must not pass for a
// measurement.
func (i Import) DatasetName(given string) (string, error) {
	switch given {
	case "", NameCO2Emis, NameCO2EmisProg, NameDeclaration:
	default:
		return "", fmt.Errorf("dataset %q: want %s, %s or %s", given, NameCO2Emis, NameCO2EmisProg, NameDeclaration)
	}
	if i.Dataset == Declaration {
		return NameDeclaration, nil // the columns say it; given is for files that cannot
	}
	named := ""
	if i.Named == NameCO2Emis || i.Named == NameCO2EmisProg {
		named = i.Named
	}
	switch {
	case given == NameDeclaration:
		return "", fmt.Errorf("the columns are five-minute data (%s or %s), not %s", NameCO2Emis, NameCO2EmisProg, NameDeclaration)
	case given != "" && named != "" && given != named:
		return "", fmt.Errorf("the file says it is %s, not %s", named, given)
	case given != "":
		return given, nil
	case named != "":
		return named, nil
	}
	return "", fmt.Errorf("five-minute data: realised %s and forecast %s have the same columns and the file does not say which it is; give --dataset %s or --dataset %s",
		NameCO2Emis, NameCO2EmisProg, NameCO2Emis, NameCO2EmisProg)
}
