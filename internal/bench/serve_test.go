package bench

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/internal/testenv"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	for _, tc := range []struct {
		in   []time.Duration
		q    float64
		want float64
	}{
		{nil, 0.5, 0},
		{ms(7), 0.99, 7},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.5, 5},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 0.99, 9},
		{ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 1, 10},
	} {
		if got := percentile(tc.in, tc.q); got != tc.want {
			t.Errorf("percentile(%v, %v) = %v, want %v", tc.in, tc.q, got, tc.want)
		}
	}
}

func TestPollLogSortsLiveAndDead(t *testing.T) {
	l := &pollLog{dead: map[string]bool{"d": true}}
	l.Polled("a", time.Millisecond, nil) // not measuring yet
	l.measuring.Store(true)
	l.Polled("a", 2*time.Millisecond, nil)
	l.Polled("b", 3*time.Millisecond, collectors.ErrNoData)
	l.Polled("c", 4*time.Millisecond, errors.New("timeout"))
	l.Polled("d", 2*time.Second, errors.New("timeout"))
	l.Written(12)
	if len(l.live) != 3 || len(l.deadTook) != 1 || l.liveErrors != 1 || !strings.HasPrefix(l.firstErr, "c: ") || l.points.Load() != 12 {
		t.Errorf("log %+v", l)
	}
}

// The child's protocol: one line per device, then "ready"; "stats" lines
// answered; dead devices read and never answer.
func TestServeSimulators(t *testing.T) {
	rec := filepath.Join(testenv.CorpusPath(t, "snmp"), "apc_ap8959eu3.snmprec")
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- ServeSimulators(context.Background(), SimulateOptions{Devices: 2, Dead: 1, Recordings: []string{rec}}, inR, outW)
		outW.Close()
	}()
	sc := bufio.NewScanner(outR)
	var lines []string
	for sc.Scan() && sc.Text() != "ready" {
		lines = append(lines, sc.Text())
	}
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "snmp 127.0.0.1:") || !strings.HasSuffix(lines[0], " apc_ap8959eu3") ||
		!strings.HasPrefix(lines[2], "dead 127.0.0.1:") {
		t.Fatalf("lines %q", lines)
	}
	// A dead device takes the request and says nothing.
	c, err := net.Dial("udp", strings.TrimPrefix(lines[2], "dead "))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	if _, err := c.Read(make([]byte, 10)); err == nil {
		t.Error("the dead device answered")
	}
	io.WriteString(inW, "stats\n")
	if !sc.Scan() || !strings.Contains(sc.Text(), `"cpu_seconds"`) {
		t.Errorf("stats answer %q", sc.Text())
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
