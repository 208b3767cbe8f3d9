package monthly

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/monthcache"
	"github.com/ecometer/ecometer/reports/i18n"
)

// TestCachedMonthsGiveTheSameReport: a report whose earlier months come
// from the month cache has the same JSON and PDF, byte for byte, as one
// that reads them all, and the second report reads only its own month.
func TestCachedMonthsGiveTheSameReport(t *testing.T) {
	in := fixture(t)
	ctx := context.Background()
	render := func(in Input) ([]byte, []byte) {
		t.Helper()
		r, err := Build(ctx, in)
		if err != nil {
			t.Fatal(err)
		}
		var j bytes.Buffer
		if err := WriteJSON(&j, r); err != nil {
			t.Fatal(err)
		}
		return j.Bytes(), pdfOf(t, r, i18n.Danish)
	}
	wantJSON, wantPDF := render(in)

	dir := t.TempDir()
	var stats []monthcache.Stats
	for range 2 {
		c, err := monthcache.Open(ctx, dir, in.Config, in.Config.Sites, in.Store, time.Date(2025, 11, 2, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		cached := in
		cached.Kept = c
		gotJSON, gotPDF := render(cached)
		if !bytes.Equal(gotJSON, wantJSON) || !bytes.Equal(gotPDF, wantPDF) {
			t.Errorf("run %d with the cache: JSON equal %v, PDF equal %v", len(stats)+1, bytes.Equal(gotJSON, wantJSON), bytes.Equal(gotPDF, wantPDF))
		}
		stats = append(stats, c.Stats())
	}
	first, second := stats[0], stats[1]
	if first.Hits != 0 || first.Stored == 0 || first.Errors != 0 {
		t.Errorf("first run: %+v, want misses only, months stored", first)
	}
	// The second run reads nothing but its own month (and months that
	// cannot be kept: none here).
	if second.Misses != 0 || second.Hits != first.Misses || second.Errors != 0 {
		t.Errorf("second run: %+v, want every month of the first run's %d from the cache", second, first.Misses)
	}
	t.Logf("first run %+v, second %+v", first, second)
}
