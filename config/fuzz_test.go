package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that no input makes Parse panic, and that every failure
// is a list of problems with a message.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testcases", "*", "config.yaml"))
	for _, s := range seeds {
		if b, err := os.ReadFile(s); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("f.yaml", data)
		if cfg == nil {
			t.Fatal("Parse returned a nil config")
		}
		if err == nil {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("error %T %v, want non-empty Problems", err, err)
		}
		for _, p := range ps {
			if p.Message == "" || p.Line < 0 {
				t.Fatalf("bad problem %+v", p)
			}
		}
	})
}

func FuzzParseByteSize(f *testing.F) {
	for _, s := range []string{"2GiB", "1.5 MB", "1024", "", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b, err := ParseByteSize(s)
		if err == nil && b < 0 {
			t.Fatalf("ParseByteSize(%q) = %d, want >= 0", s, b)
		}
	})
}
