package snmp

import (
	"testing"
	"time"

	"github.com/ecometer/ecometer/collectors"
)

// BenchmarkCollect polls the apc_ap8959eu3 recording over loopback UDP:
// one op is one device poll (report device-polls/s = 1e9 / ns/op).
func BenchmarkCollect(b *testing.B) {
	a := startCorpusAgent(b, "apc_ap8959eu3")
	c, err := New(Device{Target: collectors.Target{Device: "pdu"},
		Conn: Conn{Addr: "127.0.0.1", Port: a.Addr().Port(), Community: "apc_ap8959eu3", Timeout: 2 * time.Second}}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	at := time.Unix(600, 0)
	if _, err := c.Collect(b.Context(), at); err != nil { // detection
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Collect(b.Context(), at); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "polls/s")
}
