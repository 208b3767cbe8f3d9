package testenv

import (
	"os"
	"path/filepath"
	"testing"
)

// CorpusDir returns ../shared/corpus beside the module root: the recordings of
// real devices and the grid and footprint data the tests read. Tests reference
// it by path; it is never copied into the repository.
func CorpusDir() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "..", "shared", "corpus"), nil
}

// CorpusPath returns the path of a corpus file or folder (parts below
// corpus/). When it is absent the test is skipped (a plain clone has no
// ../shared), or failed when CI=true.
func CorpusPath(t testing.TB, parts ...string) string {
	t.Helper()
	dir, err := CorpusDir()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	p := filepath.Join(append([]string{dir}, parts...)...)
	if _, err := os.Stat(p); err != nil {
		RequireOrSkip(t, "corpus "+p+" is absent (a plain clone has no ../shared/corpus): "+err.Error())
	}
	return p
}

// OpenCorpus opens a corpus file (see CorpusPath) and closes it when the test
// ends.
func OpenCorpus(t testing.TB, parts ...string) *os.File {
	t.Helper()
	f, err := os.Open(CorpusPath(t, parts...))
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	t.Cleanup(func() { _ = f.Close() })
	return f
}
