package audit

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

func writeLog(t *testing.T, n int) (*Log, [][]byte) {
	t.Helper()
	l := Open(filepath.Join(t.TempDir(), "audit", "audit.jsonl"))
	for i := range n {
		if _, err := l.Append(Entry{Event: EventCommand, Target: fmt.Sprintf("pdu-a1/outlet/%d", i+1), Action: "off",
			Command: "SET rPDU2OutletSwitchedControlCommand = immediateOff(2)", Why: "policy night", Before: "on", After: "off"}); err != nil {
			t.Fatal(err)
		}
	}
	data, err := os.ReadFile(l.Path())
	if err != nil {
		t.Fatal(err)
	}
	return l, bytes.SplitAfter(bytes.TrimSuffix(data, []byte("\n")), []byte("\n"))
}

func TestTamperDetection(t *testing.T) {
	tests := []struct {
		name   string
		tamper func(lines [][]byte) [][]byte
		line   int
		reason string
	}{
		{"untouched", func(l [][]byte) [][]byte { return l }, 0, ""},
		{"field changed", func(l [][]byte) [][]byte {
			l[2] = bytes.Replace(l[2], []byte(`"after":"off"`), []byte(`"after":"on"`), 1)
			return l
		}, 3, "was changed"},
		{"who changed", func(l [][]byte) [][]byte {
			l[0] = bytes.Replace(l[0], []byte(`"who":"`), []byte(`"who":"x`), 1)
			return l
		}, 1, "was changed"},
		{"line removed", func(l [][]byte) [][]byte { return append(l[:1:1], l[2:]...) }, 2, "removed or inserted"},
		{"lines swapped", func(l [][]byte) [][]byte { l[1], l[2] = l[2], l[1]; return l }, 2, "removed or inserted"},
		{"garbage appended", func(l [][]byte) [][]byte {
			l[4] = append(l[4], '\n')
			return append(l, []byte("{\"seq\":9,\n"))
		}, 6, "not an audit entry"},
		{"unknown field", func(l [][]byte) [][]byte {
			l[4] = bytes.Replace(l[4], []byte(`{"seq"`), []byte(`{"x":1,"seq"`), 1)
			return l
		}, 5, "not an audit entry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, lines := writeLog(t, 5)
			lines = tt.tamper(lines)
			out := bytes.Join(lines, nil)
			if !bytes.HasSuffix(out, []byte("\n")) {
				out = append(out, '\n')
			}
			if err := os.WriteFile(l.Path(), out, 0o640); err != nil {
				t.Fatal(err)
			}
			n, err := l.Verify()
			if tt.line == 0 {
				if err != nil || n != 5 {
					t.Fatalf("Verify = %d, %v; want 5, nil", n, err)
				}
				return
			}
			var te *TamperError
			if !errors.As(err, &te) {
				t.Fatalf("Verify = %v, want a TamperError", err)
			}
			if te.Line != tt.line || !strings.Contains(te.Reason, tt.reason) {
				t.Errorf("tamper at line %d %q, want line %d containing %q", te.Line, te.Reason, tt.line, tt.reason)
			}
		})
	}
}

func TestForgedEntryWithRecomputedHash(t *testing.T) {
	// Someone who recomputes the hash of an edited entry still breaks the
	// next line's link.
	l, lines := writeLog(t, 3)
	e, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	e[1].After = "on"
	e[1].Hash = hashOf(e[1])
	var buf bytes.Buffer
	buf.Write(lines[0])
	fmt.Fprintf(&buf, "%s\n", mustJSON(t, e[1]))
	buf.Write(lines[2])
	buf.WriteString("\n")
	if err := os.WriteFile(l.Path(), buf.Bytes(), 0o640); err != nil {
		t.Fatal(err)
	}
	var te *TamperError
	if _, err := l.Verify(); !errors.As(err, &te) || te.Line != 3 {
		t.Fatalf("Verify = %v, want the break at line 3", err)
	}
}

func TestConcurrentAppendsKeepTheChain(t *testing.T) {
	l := Open(filepath.Join(t.TempDir(), "audit.jsonl"))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			other := Open(l.Path()) // as another process would
			for i := range 25 {
				if _, err := other.Append(Entry{Event: EventNoop, Target: fmt.Sprintf("srv-%d", g), Detail: fmt.Sprint(i)}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	n, err := l.Verify()
	if err != nil || n != 200 {
		t.Fatalf("Verify = %d, %v; want 200 entries, nil", n, err)
	}
	es, _ := l.Read()
	if es[0].Who == "" || es[0].Prev != "" || es[199].Seq != 200 {
		t.Errorf("first/last entry = %+v / %+v", es[0], es[199])
	}
}

func mustJSON(t *testing.T, e Entry) []byte {
	t.Helper()
	b, err := jsonMarshal(e)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
