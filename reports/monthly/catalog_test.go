package monthly

import (
	"testing"

	"github.com/ecometer/ecometer/models/anomaly"
	"github.com/ecometer/ecometer/models/grid"
	"github.com/ecometer/ecometer/models/idle"
	"github.com/ecometer/ecometer/reports/i18n"
)

// Every value the model can hand the PDF as a key suffix (a grid source, an
// anomaly or idle kind) has a text in both languages; a new one without a
// text would print as "[grid.source.…]" in the sustainability office's PDF.
func TestEveryKindHasAText(t *testing.T) {
	var keys []string
	for _, s := range grid.SourceOrder {
		keys = append(keys, "grid.source."+string(s))
	}
	for _, k := range anomaly.Kinds {
		keys = append(keys, "anomaly.kind."+string(k))
	}
	for _, k := range idle.Kinds {
		keys = append(keys, "idle.kind."+string(k))
	}
	for _, l := range []i18n.Lang{i18n.Danish, i18n.English} {
		p := i18n.New(l)
		for _, k := range keys {
			p.T(k)
		}
		if m := p.Missing(); len(m) > 0 {
			t.Errorf("%s: no text for %v", l, m)
		}
	}
}
