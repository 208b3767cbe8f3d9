package config

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// MaxFileSize bounds a configuration file: a site with thousands of devices
// is well under a megabyte, and a runaway file must not take minutes and
// gigabytes to be refused.
const MaxFileSize = 10 << 20

// Load reads, decodes and validates the configuration file at path. Problems
// with the file's content come back as Problems; a file that cannot be read
// gives an ordinary error. Relative paths in the file (storage.data_dir,
// storage.outbox.dir, collection.profiles_dir, grid.files, redfish.ca_file,
// control.audit_log, control.lock_file)
// are taken from the file's directory, not the working directory, so that the
// same file means the same data wherever it is run from.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	data, err := readLimited(path, f)
	if err != nil {
		return nil, err
	}
	cfg, err := Parse(path, data)
	if cfg != nil {
		cfg.resolvePaths(filepath.Dir(path))
	}
	return cfg, err
}

// LoadReader is Load for a configuration read from r; name is used in
// problem positions. Relative paths stay relative to the working directory.
func LoadReader(name string, r io.Reader) (*Config, error) {
	data, err := readLimited(name, r)
	if err != nil {
		return nil, err
	}
	return Parse(name, data)
}

// readLimited reads at most MaxFileSize bytes; a larger file is an error
// saying the limit.
func readLimited(name string, r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("read config %s: %w", name, err)
	}
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("read config %s: larger than the limit of %d MB for a config file", name, MaxFileSize>>20)
	}
	return data, nil
}

// resolvePaths makes the file's relative paths relative to dir.
func (c *Config) resolvePaths(dir string) {
	abs := func(p *string) {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(dir, *p)
		}
	}
	abs(&c.Storage.DataDir)
	abs(&c.Storage.Outbox.Dir)
	abs(&c.Collection.ProfilesDir)
	abs(&c.Control.AuditLog)
	abs(&c.Control.LockFile)
	abs(&c.Report.OutDir)
	abs(&c.Report.BoaviztaFile)
	if e := c.Report.Email; e != nil {
		abs(&e.CAFile)
	}
	for i := range c.Grid.Files {
		abs(&c.Grid.Files[i])
	}
	for i := range c.Devices {
		if r := c.Devices[i].Redfish; r != nil {
			abs(&r.CAFile)
		}
	}
}

// Parse decodes and validates a configuration held in memory. It returns
// the configuration even when there are problems, with the error being
// Problems listing all of them, so callers can still show what was read.
func Parse(name string, data []byte) (*Config, error) {
	cfg := DefaultConfig()
	cfg.file = name
	cfg.pos = map[string]Position{}
	cfg.bad = map[string]bool{}

	// Duplicate keys are reported by the decoder, together with everything
	// else, rather than as a syntax error that hides all other problems.
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		return cfg, Problems{syntaxProblem(name, err)}
	}
	d := &decoder{file: name, pos: cfg.pos, bad: cfg.bad, anchors: map[string]ast.Node{}}
	if len(file.Docs) > 1 {
		var p Position
		if doc := file.Docs[1]; doc.Start != nil && doc.Start.Position != nil {
			p = Position{Line: doc.Start.Position.Line, Column: doc.Start.Position.Column}
		} else if doc.Body != nil {
			p = nodePos(doc.Body)
		}
		d.problems = append(d.problems, Problem{File: name, Line: p.Line, Column: p.Column,
			Message: fmt.Sprintf("a config file holds one YAML document, found %d", len(file.Docs))})
	}
	if len(file.Docs) > 0 && file.Docs[0].Body != nil {
		ast.Walk(d, file.Docs[0].Body)
		d.decode(file.Docs[0].Body, reflect.ValueOf(cfg).Elem(), "")
	}
	cfg.fillDerived()
	problems := d.problems
	var vp Problems
	if errors.As(cfg.Validate(), &vp) {
		problems = append(problems, vp...)
	}
	if len(problems) > 0 {
		problems.sort()
		return cfg, problems
	}
	return cfg, nil
}

func syntaxProblem(name string, err error) Problem {
	p := Problem{File: name, Message: err.Error()}
	var yerr yaml.Error
	if errors.As(err, &yerr) {
		p.Message = "YAML syntax error: " + yerr.GetMessage()
		if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
			p.Line, p.Column = tk.Position.Line, tk.Position.Column
		}
	}
	return p
}

// fillDerived sets the defaults that depend on other values.
func (c *Config) fillDerived() {
	c.deriveAccountingRoles()
	for i := range c.Devices {
		d := &c.Devices[i]
		if d.Interval == 0 {
			d.Interval = c.Collection.Intervals.For(d.Class)
		}
		if d.Protocol == ProtocolSNMP && d.SNMP == nil {
			d.SNMP = &SNMP{}
			d.SNMP.setDefaults()
		}
		if d.Protocol == ProtocolRedfish && d.Redfish == nil {
			d.Redfish = &Redfish{}
			d.Redfish.setDefaults()
		}
	}
	if c.Storage.Outbox.Dir == "" && c.Storage.DataDir != "" {
		c.Storage.Outbox.Dir = filepath.Join(c.Storage.DataDir, "outbox")
	}
	if c.Report.OutDir == "" && c.Storage.DataDir != "" {
		c.Report.OutDir = filepath.Join(c.Storage.DataDir, "reports")
	}
}

// deriveAccountingRoles gives every device without an accounting_role its
// default: facility for class facility, it for the rest, but none when a
// device upstream of it (through feeds) already has that role, since that
// meter measures this one's energy too. Totals are thus taken at the top of
// each level's part of a chain, and `config show` prints which meters count.
func (c *Config) deriveAccountingRoles() {
	byName := make(map[string]int, len(c.Devices))
	for i, d := range c.Devices {
		if _, dup := byName[d.Name]; !dup {
			byName[d.Name] = i
		}
	}
	base := make([]AccountingRole, len(c.Devices))
	for i, d := range c.Devices {
		base[i] = d.AccountingRole
		if base[i] == "" {
			switch d.Class {
			case ClassFacility:
				base[i] = RoleFacility
			case ClassPDU, ClassUPS, ClassSwitch, ClassServer:
				base[i] = RoleIT
			}
		}
	}
	for i := range c.Devices {
		d := &c.Devices[i]
		if d.AccountingRole != "" {
			continue
		}
		d.AccountingRole = base[i]
		seen := map[int]bool{i: true}
		for cur := i; ; {
			ref, err := ParseMeterRef(c.Devices[cur].Feeds)
			if err != nil {
				break
			}
			up, ok := byName[ref.Device]
			if !ok || seen[up] {
				break
			}
			seen[up] = true
			if base[up] == base[i] && base[i] != RoleNone {
				d.AccountingRole = RoleNone
				break
			}
			cur = up
		}
	}
}

// defaulter is implemented by list entries and optional blocks whose
// defaults are set when the file introduces them.
type defaulter interface{ setDefaults() }

// scalarDecoder is implemented by types written as one string in the file.
type scalarDecoder interface{ decodeScalar(text string) error }

// decoder walks the YAML AST against the shape of Config, recording every
// problem with its position instead of stopping at the first.
type decoder struct {
	file     string
	problems Problems
	pos      map[string]Position
	bad      map[string]bool
	anchors  map[string]ast.Node
}

// Visit collects anchors before decoding, so that an alias may refer to an
// anchor under a key the decoder skips (such as x-defaults).
func (d *decoder) Visit(n ast.Node) ast.Visitor {
	if a, ok := n.(*ast.AnchorNode); ok {
		d.anchors[a.Name.GetToken().Value] = a.Value
	}
	return d
}

func nodePos(n ast.Node) Position {
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return Position{Line: tk.Position.Line, Column: tk.Position.Column}
	}
	return Position{}
}

func (d *decoder) add(n ast.Node, path, format string, args ...any) {
	p := nodePos(n)
	d.problems = append(d.problems, Problem{
		File: d.file, Line: p.Line, Column: p.Column, Path: path,
		Message: fmt.Sprintf(format, args...),
	})
	d.bad[path] = true
}

// resolve follows anchors, aliases and tags to the node holding the value.
func (d *decoder) resolve(n ast.Node, path string) ast.Node {
	for range 100 { // bounded: aliases may not form loops, but be safe
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.AliasNode:
			name := v.Value.GetToken().Value
			target, ok := d.anchors[name]
			if !ok {
				d.add(v, path, "unknown alias *%s", name)
				return nil
			}
			n = target
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	return nil
}

func (d *decoder) decode(n ast.Node, v reflect.Value, path string) {
	if n != nil {
		d.pos[path] = nodePos(n)
	}
	n = d.resolve(n, path)
	if n == nil {
		return
	}
	if _, ok := n.(*ast.NullNode); ok {
		return // "key:" with no value keeps the default
	}
	if sd, ok := v.Addr().Interface().(scalarDecoder); ok {
		text, ok := scalarText(n)
		if !ok {
			d.add(n, path, "expected a single value, got %s", describe(n))
			return
		}
		if err := sd.decodeScalar(text); err != nil {
			d.add(n, path, "%s", err.Error())
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if df, ok := v.Interface().(defaulter); ok {
				df.setDefaults()
			}
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Slice:
		d.decodeSlice(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.String:
		text, ok := scalarText(n)
		if !ok {
			d.add(n, path, "expected a string, got %s", describe(n))
			return
		}
		v.SetString(text)
	case reflect.Bool:
		b, ok := n.(*ast.BoolNode)
		if !ok {
			d.add(n, path, "expected true or false, got %s", describe(n))
			return
		}
		v.SetBool(b.Value)
	case reflect.Int, reflect.Int64:
		i, ok := n.(*ast.IntegerNode)
		if !ok {
			d.add(n, path, "expected an integer, got %s", describe(n))
			return
		}
		x, err := strconv.ParseInt(strings.ReplaceAll(i.GetToken().Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(x) {
			d.add(n, path, "integer %s is out of range", i.GetToken().Value)
			return
		}
		v.SetInt(x)
	case reflect.Float64:
		switch f := n.(type) {
		case *ast.FloatNode:
			v.SetFloat(f.Value)
		case *ast.IntegerNode:
			x, err := strconv.ParseFloat(strings.ReplaceAll(f.GetToken().Value, "_", ""), 64)
			if err != nil {
				d.add(n, path, "expected a number, got %s", describe(n))
				return
			}
			v.SetFloat(x)
		default:
			d.add(n, path, "expected a number, got %s", describe(n))
		}
	default:
		// Only reachable if a Config field gets a type this decoder does
		// not know; fail loudly in tests rather than silently skip.
		panic(fmt.Sprintf("config: no decoder for %s at %s", v.Type(), path))
	}
}

// mappingValues returns the key/value pairs of a mapping node.
func mappingValues(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

func isMergeKey(k ast.MapKeyNode) bool {
	_, ok := k.(*ast.MergeKeyNode)
	return ok
}

func keyText(k ast.MapKeyNode) string {
	if s, ok := scalarText(k); ok {
		return s
	}
	return k.String()
}

func (d *decoder) decodeStruct(n ast.Node, v reflect.Value, path string) {
	values, ok := mappingValues(n)
	if !ok {
		d.add(n, path, "expected a mapping of keys to values, got %s", describe(n))
		return
	}
	fields := structFields(v.Type())
	// Merge keys (<<: *defaults) go first so the mapping's own keys win.
	for _, mv := range values {
		if isMergeKey(mv.Key) {
			d.decodeMerge(mv.Value, v, path)
		}
	}
	seen := map[string]ast.Node{}
	for _, mv := range values {
		if isMergeKey(mv.Key) {
			continue
		}
		key := keyText(mv.Key)
		kpath := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.add(mv.Key, kpath, "duplicate key %q (first at line %d)", key, nodePos(first).Line)
			continue
		}
		seen[key] = mv.Key
		idx, ok := fields.index[key]
		if !ok && path == "" && strings.HasPrefix(key, "x-") {
			continue // top-level x-* keys hold anchors for reuse
		}
		if !ok {
			msg := fmt.Sprintf("unknown key %q", key)
			if s := suggest(key, fields.names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += fmt.Sprintf(" (valid keys: %s)", strings.Join(fields.names, ", "))
			}
			d.add(mv.Key, kpath, "%s", msg)
			continue
		}
		d.decode(mv.Value, v.Field(idx), kpath)
	}
}

func (d *decoder) decodeMerge(n ast.Node, v reflect.Value, path string) {
	n = d.resolve(n, path)
	if seq, ok := n.(*ast.SequenceNode); ok {
		for _, item := range seq.Values {
			d.decodeStruct(d.resolve(item, path), v, path)
		}
		return
	}
	if n != nil {
		d.decodeStruct(n, v, path)
	}
}

func (d *decoder) decodeSlice(n ast.Node, v reflect.Value, path string) {
	seq, ok := n.(*ast.SequenceNode)
	if !ok {
		d.add(n, path, "expected a list, got %s", describe(n))
		return
	}
	out := reflect.MakeSlice(v.Type(), 0, len(seq.Values))
	for i, item := range seq.Values {
		e := reflect.New(v.Type().Elem())
		if df, ok := e.Interface().(defaulter); ok {
			df.setDefaults()
		}
		d.decode(item, e.Elem(), fmt.Sprintf("%s[%d]", path, i))
		out = reflect.Append(out, e.Elem())
	}
	v.Set(out)
}

func (d *decoder) decodeMap(n ast.Node, v reflect.Value, path string) {
	values, ok := mappingValues(n)
	if !ok {
		d.add(n, path, "expected a mapping of keys to values, got %s", describe(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]ast.Node{}
	for _, mv := range values {
		key := keyText(mv.Key)
		kpath := joinPath(path, key)
		if first, dup := seen[key]; dup {
			d.add(mv.Key, kpath, "duplicate key %q (first at line %d)", key, nodePos(first).Line)
			continue
		}
		seen[key] = mv.Key
		e := reflect.New(v.Type().Elem()).Elem()
		d.decode(mv.Value, e, kpath)
		v.SetMapIndex(reflect.ValueOf(key).Convert(v.Type().Key()), e)
	}
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// scalarText returns the text of a scalar node as written (unquoted), so
// that "rack: 12" gives the string "12".
func scalarText(n ast.Node) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	}
	return "", false
}

// describe names a node's kind and value for type mismatch messages.
func describe(n ast.Node) string {
	switch v := n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.StringNode, *ast.LiteralNode:
		s, _ := scalarText(v)
		if len(s) > 40 {
			s = s[:37] + "..."
		}
		return fmt.Sprintf("string %q", s)
	case *ast.IntegerNode:
		return "integer " + v.GetToken().Value
	case *ast.FloatNode:
		return "number " + v.GetToken().Value
	case *ast.BoolNode:
		return "boolean " + v.GetToken().Value
	}
	return n.Type().String()
}

type fieldSet struct {
	index map[string]int // yaml key → field index
	names []string       // keys in declaration order
}

// structFields lists the YAML keys of a struct type's exported fields.
func structFields(t reflect.Type) fieldSet {
	fs := fieldSet{index: map[string]int{}}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "-" {
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		fs.index[name] = i
		fs.names = append(fs.names, name)
	}
	return fs
}

// WriteYAML writes the configuration as YAML, with secrets redacted.
func (c *Config) WriteYAML(w io.Writer) error {
	b, err := yaml.MarshalWithOptions(c, yaml.Indent(2), yaml.IndentSequence(true))
	if err != nil {
		return fmt.Errorf("config: render YAML: %w", err)
	}
	_, err = w.Write(b)
	return err
}

// WriteJSON writes the configuration as indented JSON, with secrets
// redacted.
func (c *Config) WriteJSON(w io.Writer) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(c); err != nil {
		return fmt.Errorf("config: render JSON: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}
