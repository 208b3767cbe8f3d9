package leader

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/testenv"
)

func client(t *testing.T, addr string) *redis.Client {
	t.Helper()
	c, err := Client(config.Redis{Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// instance is one elector running until stop.
type instance struct {
	e    *Elector
	stop context.CancelFunc
	done chan struct{}
}

func start(t *testing.T, addr, name string, lease time.Duration) *instance {
	t.Helper()
	e := New(Options{Client: client(t, addr), Key: "test/leader", Lease: lease, Identity: name,
		Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	in := &instance{e: e, stop: cancel, done: make(chan struct{})}
	go func() { e.Run(ctx); close(in.done) }()
	t.Cleanup(func() { cancel(); <-in.done })
	return in
}

// waitLeader waits until exactly one of ins leads and returns it.
func waitLeader(t *testing.T, limit time.Duration, ins ...*instance) *instance {
	t.Helper()
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		var leaders []*instance
		for _, in := range ins {
			if in.e.Leader() {
				leaders = append(leaders, in)
			}
		}
		if len(leaders) > 1 {
			t.Fatalf("%d leaders at once", len(leaders))
		}
		if len(leaders) == 1 {
			return leaders[0]
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no leader within %s", limit)
	return nil
}

func TestOneLeaderAndHandoverOnStop(t *testing.T) {
	r := testenv.Redis(t)
	const lease = 1500 * time.Millisecond
	ins := []*instance{start(t, r.Addr, "a", lease), start(t, r.Addr, "b", lease), start(t, r.Addr, "c", lease)}
	first := waitLeader(t, 5*time.Second, ins...)
	// The leader keeps its lease over several renewals, and only it leads.
	for range 3 * 3 {
		time.Sleep(lease / 3)
		if l := waitLeader(t, time.Second, ins...); l != first {
			t.Fatalf("leadership moved from %s to %s while both run", first.e.opts.Identity, l.e.opts.Identity)
		}
	}
	// A leader that stops releases the lease: another takes over within
	// one retry period, not a whole lease.
	begin := time.Now()
	first.stop()
	<-first.done
	var rest []*instance
	for _, in := range ins {
		if in != first {
			rest = append(rest, in)
		}
	}
	next := waitLeader(t, 2*first.e.Failover(), rest...)
	took := time.Since(begin)
	t.Logf("handover after a clean stop: %s (retry period %s)", took, first.e.retry())
	if took > first.e.retry()+time.Second {
		t.Errorf("handover took %s, want within the retry period %s", took, first.e.retry())
	}
	if next.e.IsLeader(context.Background()) != nil {
		t.Error("the new leader's IsLeader fails")
	}
}

func TestFollowerSaysNoAfterWaiting(t *testing.T) {
	r := testenv.Redis(t)
	a := start(t, r.Addr, "a", time.Second)
	waitLeader(t, 5*time.Second, a)
	b := start(t, r.Addr, "b", time.Second)
	begin := time.Now()
	if err := b.e.IsLeader(context.Background()); err != ErrNotLeader {
		t.Fatalf("follower's IsLeader = %v, want ErrNotLeader", err)
	}
	if waited := time.Since(begin); waited < b.e.Failover()/2 {
		t.Errorf("follower gave up after %s, want it to wait about %s for a failover", waited, b.e.Failover())
	}
}

func TestLostLeaseIsNoticed(t *testing.T) {
	r := testenv.Redis(t)
	a := start(t, r.Addr, "a", time.Second)
	waitLeader(t, 5*time.Second, a)
	// The key disappears (a Redis restart without persistence): the leader
	// must not believe it still leads past its lease, and takes the lease
	// again at a later try since nobody else holds it.
	if err := client(t, r.Addr).FlushAll(context.Background()).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		v, err := client(t, r.Addr).Get(context.Background(), "test/leader").Result()
		if err == nil && v != "" {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("the lease was not taken again after it disappeared")
}
