package monthly

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/reports/i18n"
)

// pdfOf renders r in lang and fails on any untranslated message.
func pdfOf(t *testing.T, r *Report, lang i18n.Lang) []byte {
	t.Helper()
	var buf bytes.Buffer
	p, err := writePDF(&buf, r, lang)
	if err != nil {
		t.Fatal(err)
	}
	if m := p.Missing(); len(m) > 0 {
		t.Errorf("%s: messages without a text: %v", lang, m)
	}
	return buf.Bytes()
}

// tool returns the path of a poppler-utils program, or skips (fails under
// CI=true).
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		testenv.RequireOrSkip(t, name+" not found: apt-get install poppler-utils")
	}
	return path
}

// pdfText extracts a PDF's text with pdftotext.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := tool(t, "pdftotext")
	in := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-layout", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

func TestPDFLook(t *testing.T) {
	dir := os.Getenv("ECOMETER_REPORT_OUT")
	if dir == "" {
		t.Skip("set ECOMETER_REPORT_OUT to write the PDFs for a look")
	}
	r := built(t)
	for _, l := range i18n.Langs {
		if err := os.WriteFile(filepath.Join(dir, "report-"+string(l)+".pdf"), pdfOf(t, r, l), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
