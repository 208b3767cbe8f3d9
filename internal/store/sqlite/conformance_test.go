package sqlite

import (
	"testing"

	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTest(t, Options{}) })
}

func TestGridConformance(t *testing.T) {
	storetest.RunGrid(t, func(t *testing.T) store.GridStore { return openTest(t, Options{}) })
}

func TestSpanConformance(t *testing.T) {
	storetest.RunSpan(t, func(t *testing.T) storetest.SpanStore { return openTest(t, Options{}) })
}
