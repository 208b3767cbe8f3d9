package procure

import (
	"errors"
	"fmt"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// The YAML files here (catalogs, product sheets) are read from the syntax
// tree rather than decoded into structs, as config/ does: every problem is
// collected with its line and column instead of stopping at the first.

// parseYAML returns the documents' bodies, or a syntax problem.
func parseYAML(name string, data []byte) ([]ast.Node, *Problem) {
	file, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey())
	if err != nil {
		p := Problem{File: name, Message: "YAML syntax error: " + err.Error()}
		var yerr yaml.Error
		if errors.As(err, &yerr) {
			p.Message = "YAML syntax error: " + yerr.GetMessage()
			if tk := yerr.GetToken(); tk != nil && tk.Position != nil {
				p.Line, p.Column = tk.Position.Line, tk.Position.Column
			}
		}
		return nil, &p
	}
	var out []ast.Node
	for _, doc := range file.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		out = append(out, resolve(doc.Body))
	}
	return out, nil
}

// resolve steps through anchors and tags to the value node.
func resolve(n ast.Node) ast.Node {
	for range 100 {
		switch v := n.(type) {
		case *ast.AnchorNode:
			n = v.Value
		case *ast.TagNode:
			n = v.Value
		default:
			return n
		}
	}
	return n
}

func pos(n ast.Node) (int, int) {
	if n == nil {
		return 0, 0
	}
	if m, ok := n.(*ast.MappingNode); ok && len(m.Values) > 0 {
		n = m.Values[0].Key
	}
	if tk := n.GetToken(); tk != nil && tk.Position != nil {
		return tk.Position.Line, tk.Position.Column
	}
	return 0, 0
}

// mapping returns a node's key/value pairs, or false when it is no mapping.
func mapping(n ast.Node) ([]*ast.MappingValueNode, bool) {
	switch m := resolve(n).(type) {
	case *ast.MappingNode:
		return m.Values, true
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}, true
	}
	return nil, false
}

// scalar returns a scalar node's text as written (unquoted).
func scalar(n ast.Node) (string, bool) {
	switch v := resolve(n).(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return v.Value.Value, true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return v.GetToken().Value, true
	case *ast.NullNode:
		return "", true
	}
	return "", false
}

func describe(n ast.Node) string {
	switch v := resolve(n).(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.AliasNode:
		return "an alias"
	case *ast.StringNode:
		return fmt.Sprintf("string %q", v.Value)
	case nil:
		return "nothing"
	default:
		return v.Type().String()
	}
}

// keyText is a mapping key as text.
func keyText(mv *ast.MappingValueNode) string {
	if s, ok := scalar(mv.Key); ok {
		return s
	}
	return mv.Key.String()
}

// problems collects positioned problems for one file.
type problems struct {
	file string
	list Problems
}

func (ps *problems) at(n ast.Node, field, format string, args ...any) {
	l, c := pos(n)
	ps.list = append(ps.list, Problem{File: ps.file, Line: l, Column: c, Field: field, Message: fmt.Sprintf(format, args...)})
}
