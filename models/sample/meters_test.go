package sample

import (
	"slices"
	"strings"
	"testing"
)

func TestCompareMeters(t *testing.T) {
	in := []string{"outlet/10", "phase/L2", "total", "outlet/2", "inlet/1", "outlet/1", "phase/L1"}
	slices.SortFunc(in, CompareMeters)
	if got := strings.Join(in, " "); got != "total inlet/1 outlet/1 outlet/2 outlet/10 phase/L1 phase/L2" {
		t.Errorf("sorted: %s", got)
	}
}
