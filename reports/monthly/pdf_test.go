package monthly

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"os"
	"regexp"
	"strings"
	"time"

	"os/exec"
	"path/filepath"
	"testing"

	"github.com/ecometer/ecometer/internal/accounting"
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

// The same report gives the same bytes (fixed creation date, no map order
// or clock in the output), in both languages.
func TestPDFDeterministic(t *testing.T) {
	r := built(t)
	for _, l := range i18n.Langs {
		a, b := pdfOf(t, r, l), pdfOf(t, r, l)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two renders differ", l)
		}
		if !bytes.HasPrefix(a, []byte("%PDF-")) || len(a) < 50_000 {
			t.Errorf("%s: not a PDF with charts (%d bytes)", l, len(a))
		}
	}
	// A rebuilt report (new accounting, same store) renders the same too.
	if !bytes.Equal(pdfOf(t, r, i18n.Danish), pdfOf(t, built(t), i18n.Danish)) {
		t.Error("a rebuilt report renders differently")
	}
}

// pdftotext finds the key figures, formatted the language's way, and the
// labels; the Danish text has Danish letters and the Energinet line.
func TestPDFText(t *testing.T) {
	r := built(t)
	tot := r.Summary.Total
	for _, c := range []struct {
		lang i18n.Lang
		want []string
	}{
		{i18n.Danish, []string{"Månedlig bæredygtighedsrapport – oktober 2025", "Elforbrug", "CO₂e, lokationsbaseret", "CO₂e, markedsbaseret",
			"Fremdrift mod målet", "Vejen mod reduktionsmålet", "Hvor energien gik hen",
			"EU's energieffektivitetsdirektiv", "Elnettets CO₂-intensitet", "Der er ikke anvendt nogen slukningspolitik",
			"Indlejret udledning", "Datakvalitet og kilder", "Kilde: Energinet (www.energidataservice.dk)", "srv-1"}},
		{i18n.English, []string{"Monthly sustainability report – October 2025", "Electricity used", "CO₂e, location-based",
			"the grid's intensity accounts for", "No power-down policy has been applied", "Source: Energinet (www.energidataservice.dk)"}},
	} {
		t.Run(string(c.lang), func(t *testing.T) {
			p := i18n.New(c.lang)
			text := squash(pdfText(t, pdfOf(t, r, c.lang)))
			want := append(c.want,
				p.Num(tot.EnergyKWh, 0)+" kWh", p.Num(tot.LocationKgCO2e, 1)+" kg CO₂e", p.Num(*tot.MarketKgCO2e, 1)+" kg CO₂e",
				p.Num(r.Summary.Sites[0].PUE.Value, 2), p.SignedPct(*r.Summary.Previous.Energy.Pct, 1),
				p.Num(r.Target.Change.GridKgCO2e, 0), p.Num(r.Embodied.KgCO2e, 1))
			for _, w := range want {
				if !strings.Contains(text, squash(w)) {
					t.Errorf("PDF text lacks %q", w)
				}
			}
		})
	}
}

// squash folds runs of white space, as pdftotext's layout spreads them.
func squash(s string) string { return strings.Join(strings.Fields(s), " ") }

// No English message, nor a fragment of one, is in the Danish PDF.
func TestDanishPDFHasNoEnglish(t *testing.T) {
	r := built(t)
	r.PowerDown = &PowerDown{Policies: []PowerDownPolicy{{Name: "nat-weekend", Windows: 9, Devices: 12, KWhAvoided: 310.5, KgCO2eAvoided: 22.1}},
		KWhAvoided: 310.5, KgCO2eAvoided: 22.1}
	r.Anomalies = &Anomalies{Items: []Anomaly{{Device: "srv-1", Site: "aabenraa-sr2", Kind: "flatline", Open: true,
		Detail: "power_w has read 212.0 W for 9 hours", Start: time.Date(2025, 10, 7, 3, 0, 0, 0, time.UTC)},
		{Device: "pdu-a1", Site: "odense-dc1", Kind: "unheard-of"}},
		Idle: []IdleCandidate{{Device: "srv-9", Site: "odense-dc1", Kind: "server_night", MeanW: 180, SavedKWhPerYear: 870, SavedKgCO2ePerYear: 70.2,
			Evidence: "night power within 5 % of its idle level on 29 of 30 nights"}}}
	da := squash(pdfText(t, pdfOf(t, r, i18n.Danish)))
	en := squash(pdfText(t, pdfOf(t, r, i18n.English)))
	checked := 0
	for _, key := range i18n.Keys() {
		text, same := i18n.Text(key, i18n.English)
		if same {
			continue
		}
		for _, frag := range fragments(text) {
			if strings.Contains(en, frag) { // only what the report really prints
				checked++
				if strings.Contains(da, frag) {
					t.Errorf("Danish PDF has English %q (message %s)", frag, key)
				}
			}
		}
	}
	if checked < 60 {
		t.Errorf("only %d English fragments found in the English PDF: the check is not looking at the report", checked)
	}
	for _, w := range []string{"nat-weekend", "Måleren viser samme værdi i timevis", "(varer ved)", "Andet fund", "Sparet kWh",
		"Server i tomgang om", "kWh om året"} {
		if !strings.Contains(da, w) {
			t.Errorf("Danish PDF lacks %q", w)
		}
	}
	// The detectors' explanations are English: the PDF shows the
	// translated kind, the JSON the explanation.
	for _, w := range []string{"has read 212.0 W", "within 5 % of its idle level"} {
		if strings.Contains(da, w) || strings.Contains(en, w) {
			t.Errorf("a detector's English explanation %q is in the PDF", w)
		}
	}
}

// fragments are the literal pieces of a message between its format verbs
// that are long enough to be English prose rather than a unit or a name.
func fragments(msg string) []string {
	var out []string
	for _, part := range verb.Split(strings.ReplaceAll(msg, "%%", "%"), -1) {
		part = squash(strings.Trim(part, " .,:;()–-"))
		if len(part) >= 12 && strings.Count(part, " ") >= 1 {
			out = append(out, part)
		}
	}
	return out
}

var verb = regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z]`)

// pdftoppm renders page 1 to a PNG of an A4 page with something on it.
func TestPDFPage1PNG(t *testing.T) {
	bin := tool(t, "pdftoppm")
	dir := t.TempDir()
	in := filepath.Join(dir, "r.pdf")
	if err := os.WriteFile(in, pdfOf(t, built(t), i18n.Danish), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile", in, filepath.Join(dir, "page1")).CombinedOutput(); err != nil {
		t.Fatalf("pdftoppm: %v\n%s", err, out)
	}
	f, err := os.Open(filepath.Join(dir, "page1.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	// A4 at 60 dpi: 496 × 702 px.
	if b := img.Bounds(); b.Dx() < 495 || b.Dx() > 497 || b.Dy() < 701 || b.Dy() > 703 {
		t.Errorf("page 1 is %v px, want 496×702 (±1)", b)
	}
	dark := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if r, g, bl, _ := img.At(x, y).RGBA(); r+g+bl < 3*0x8000 {
				dark++
			}
		}
	}
	if dark < 5000 {
		t.Errorf("page 1 has %d dark pixels: blank?", dark)
	}
}

// A month below the coverage threshold is still reported, and page 1 says
// so in plain words; a month without any data is an error.
func TestIncompleteAndEmptyMonths(t *testing.T) {
	in := fixture(t)
	in.Period = accounting.MonthOf(2023, time.October) // pdu-b1 unread 1–12 October
	r, err := Build(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if r.Complete || r.Summary.Total.CoveragePct >= r.MinCoveragePct {
		t.Fatalf("October 2023 complete at %v %%", r.Summary.Total.CoveragePct)
	}
	for _, c := range []struct {
		lang i18n.Lang
		want string
	}{{i18n.Danish, "Måneden er ufuldstændig"}, {i18n.English, "This month is incomplete"}} {
		page1 := squash(pdfPage1Text(t, pdfOf(t, r, c.lang)))
		low := i18n.New(c.lang).Pct(r.Quality.Sites[1].CoveragePct, 1)
		if !strings.Contains(page1, c.want) || !strings.Contains(page1, "aabenraa-sr2 ("+low+")") {
			t.Errorf("%s page 1 does not say the month is incomplete (%q, %s):\n%s", c.lang, c.want, low, page1)
		}
	}
	if r.Summary.YearBefore.Available || r.Summary.YearBefore.Energy != nil {
		t.Errorf("October 2022 has no data, yet compared: %+v", r.Summary.YearBefore)
	}

	in.Period = accounting.MonthOf(2023, time.May)
	_, err = Build(context.Background(), in)
	var nd *NoDataError
	if !errors.As(err, &nd) || nd.Month != "2023-05" {
		t.Errorf("empty month: %v, want a NoDataError", err)
	}
}

func pdfPage1Text(t *testing.T, pdf []byte) string {
	t.Helper()
	bin := tool(t, "pdftotext")
	in := filepath.Join(t.TempDir(), "r.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-f", "1", "-l", "1", "-enc", "UTF-8", in, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}
