package daemon

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/shard"
	"github.com/ecometer/ecometer/internal/store"
	"github.com/ecometer/ecometer/internal/store/influx"
	"github.com/ecometer/ecometer/internal/testenv"
	"github.com/ecometer/ecometer/models/sample"
)

// polledBy records which devices an instance polled and how many samples
// it had stored.
type polledBy struct {
	mu      sync.Mutex
	devices map[string]int
	written int
}

func (p *polledBy) Polled(device string, _ time.Duration, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err == nil {
		p.devices[device]++
	}
}

func (p *polledBy) Written(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.written += n
}

// Two shards with the same configuration write to one real influxd through
// their outboxes: every device is polled by exactly one of them, and
// InfluxDB ends up with every sample either stored, none twice.
func TestTwoShardsShareOneInfluxDB(t *testing.T) {
	srv := testenv.Influx(t)
	a := agent(t, "apc_ap8959eu3", "eaton-mgeups_93ps")
	dir := t.TempDir()
	var devices strings.Builder
	const n = 24
	for i := range n {
		rec := "apc_ap8959eu3"
		if i%3 == 0 {
			rec = "eaton-mgeups_93ps"
		}
		devices.WriteString(snmpDevice(fmt.Sprintf("pdu-%02d", i), a, rec, "1s", ""))
	}
	storage := fmt.Sprintf("  influxdb: {url: %q, bucket: %q}\n", srv.URL, srv.Bucket)
	obs := []*polledBy{{devices: map[string]int{}}, {devices: map[string]int{}}}
	var runs []*running
	for i := range 2 {
		file := filepath.Join(dir, fmt.Sprintf("shard-%d.yaml", i))
		// The same devices and store; each instance its own data_dir (the
		// outbox is local).
		writeConfig(t, file, filepath.Join(dir, fmt.Sprintf("data-%d", i)), devices.String(), "")
		appendStorage(t, file, storage)
		runs = append(runs, run(t, file, Options{Shard: shard.Shard{Index: i, Of: 2}, Observer: obs[i]}))
	}
	time.Sleep(5 * time.Second)
	for _, r := range runs {
		r.stop(t)
	}

	// Every device polled by exactly one shard, the one its hash names.
	for i := range n {
		d := fmt.Sprintf("pdu-%02d", i)
		owner := shard.Owner(d, 2)
		for s := range 2 {
			got := obs[s].devices[d]
			if s == owner && got == 0 {
				t.Errorf("%s: not polled by its shard %d/2", d, s)
			}
			if s != owner && got != 0 {
				t.Errorf("%s: polled %d times by shard %d/2, which does not own it", d, got, s)
			}
		}
	}
	// InfluxDB holds exactly what the two wrote: nothing lost in an
	// outbox, nothing written twice.
	st, err := influx.New(influx.Options{URL: srv.URL, Bucket: srv.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	stored := 0
	for _, m := range []string{sample.Power, sample.Device, sample.UPS} {
		err := st.Range(context.Background(), store.Query{Measurement: m, From: time.Now().Add(-time.Hour), To: time.Now().Add(time.Minute)},
			func(sample.Sample) error { stored++; return nil })
		if err != nil {
			t.Fatal(err)
		}
	}
	written := obs[0].written + obs[1].written
	t.Logf("shard 0 polled %d devices, shard 1 %d; %d samples written, %d in InfluxDB",
		len(obs[0].devices), len(obs[1].devices), written, stored)
	if written == 0 || stored != written {
		t.Errorf("InfluxDB holds %d samples, the shards wrote %d", stored, written)
	}
}

// appendStorage adds lines under storage: of a written config.
func appendStorage(t *testing.T, file, lines string) {
	t.Helper()
	b, err := readFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := writeFile(file, b+lines); err != nil {
		t.Fatal(err)
	}
}
