package redfish

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"testing"
	"time"

	sim "github.com/ecometer/ecometer/internal/sim/redfish"
)

// BenchmarkPollBMCs polls N simulated BMCs (rackmount1 mockup, each on its
// own 127.0.0.1 listener) concurrently, after discovery. One iteration is
// one round: every BMC polled once. Reported: requests/poll per BMC and
// polls/s over all BMCs.
func BenchmarkPollBMCs(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("bmcs=%d", n), func(b *testing.B) {
			bmcs := make([]*sim.BMC, n)
			cs := make([]*Collector, n)
			ctx := context.Background()
			for i := range n {
				bmc, srv, _ := bmc(b, "public-rackmount1", sim.Options{})
				opts := options(srv.URL)
				opts.Logger = slog.New(slog.DiscardHandler)
				opts.MinSpacing = 20 * time.Millisecond // the default: gentle per BMC
				c, err := New(opts)
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(func() { _ = c.Close() })
				if _, err := c.Collect(ctx, at); err != nil {
					b.Fatal(err)
				}
				bmcs[i], cs[i] = bmc, c
			}
			for _, bmc := range bmcs {
				bmc.ResetRequests()
			}
			b.ResetTimer()
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for _, c := range cs {
					wg.Go(func() {
						if _, err := c.Collect(ctx, at); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			elapsed := time.Since(start)
			var reqs int64
			for _, bmc := range bmcs {
				reqs += bmc.TotalRequests()
			}
			polls := float64(b.N * n)
			b.ReportMetric(float64(reqs)/polls, "requests/poll")
			b.ReportMetric(polls/elapsed.Seconds(), "polls/s")
		})
	}
}
