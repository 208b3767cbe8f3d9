// Package leader elects one of several ecometer instances through Redis to
// run the singleton jobs (monthly report, controller applier): the leader
// holds a lease, a Redis key set with NX and an expiry (the single-instance
// Redlock of https://redis.io/docs/latest/develop/use/patterns/distributed-locks/,
// through github.com/go-redsync/redsync), and renews it every third of the
// lease. A follower tries to take the lease as often; when the leader dies
// the key expires and a follower takes over within Lease + Lease/3.
//
// Elector implements gocron's Elector, so a scheduler built with
// gocron.WithDistributedElector runs its jobs on the leader only. Each run
// additionally holds a per-job lock (JobLocker, gocron-redis-lock), so that
// a leader that stalled past its lease and a new one never run the same
// job at the same time.
package leader

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	redislock "github.com/go-co-op/gocron-redis-lock/v2"
	"github.com/go-co-op/gocron/v2"
	"github.com/go-redsync/redsync/v4"
	"github.com/go-redsync/redsync/v4/redis/goredis/v9"
	"github.com/redis/go-redis/v9"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/backend"
)

// ErrNotLeader is IsLeader's answer on a follower.
var ErrNotLeader = errors.New("leader: this instance is not the leader")

// Options configure an Elector.
type Options struct {
	Client redis.UniversalClient
	// Key is the lease's Redis key, e.g. "ecometer/leader".
	Key string
	// Lease is how long leadership lasts without renewal (default 15 s).
	Lease time.Duration
	// Identity names this instance in the lease's value and in logs
	// (default host name and process id).
	Identity string
	Logger   *slog.Logger
	// OnChange, when set, is called with true when this instance becomes
	// leader and false when it stops being leader.
	OnChange func(leader bool)
}

// Elector campaigns for and holds the leadership. Run it, then ask
// IsLeader (gocron does before every run of a job).
type Elector struct {
	opts  Options
	mutex *redsync.Mutex

	mu      sync.Mutex
	leader  bool
	until   time.Time     // the lease's validity, as redsync computes it
	changed chan struct{} // closed and replaced at every change
}

// New returns an Elector; nothing is sent to Redis before Run.
func New(opts Options) *Elector {
	if opts.Lease <= 0 {
		opts.Lease = 15 * time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Identity == "" {
		host, _ := os.Hostname()
		opts.Identity = fmt.Sprintf("%s/%d", host, os.Getpid())
	}
	identity := opts.Identity
	rs := redsync.New(goredis.NewPool(opts.Client))
	// The value identifies the holder (for a person reading Redis) and is
	// unique per attempt (what makes release and renewal safe).
	gen := func() (string, error) {
		var b [8]byte
		if _, err := rand.Read(b[:]); err != nil {
			return "", err
		}
		return identity + "/" + hex.EncodeToString(b[:]), nil
	}
	m := rs.NewMutex(opts.Key, redsync.WithExpiry(opts.Lease), redsync.WithTries(1), redsync.WithGenValueFunc(gen))
	return &Elector{opts: opts, mutex: m, changed: make(chan struct{})}
}

// Failover is the longest a follower takes to become leader after the
// leader died: the lease runs out, then the follower's next try.
func (e *Elector) Failover() time.Duration { return e.opts.Lease + e.retry() }

func (e *Elector) retry() time.Duration { return e.opts.Lease / 3 }

// Run campaigns until ctx ends: every Lease/3 the leader renews its lease
// and a follower tries to take it. On return a leader releases the lease,
// so that a stopping instance hands over at once.
func (e *Elector) Run(ctx context.Context) {
	t := time.NewTicker(e.retry())
	defer t.Stop()
	for {
		e.step(ctx)
		select {
		case <-ctx.Done():
			e.resign()
			return
		case <-t.C:
		}
	}
}

// step renews the lease or tries to take it.
func (e *Elector) step(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, e.retry())
	defer cancel()
	if e.Leader() {
		ok, err := e.mutex.ExtendContext(ctx)
		if ok {
			e.set(true, e.mutex.Until())
			return
		}
		if ctx.Err() != nil && errors.Is(context.Cause(ctx), context.Canceled) {
			return // stopping: resign releases the lease
		}
		e.opts.Logger.Warn("leadership lost: the lease could not be renewed", "key", e.opts.Key, "error", err)
		e.set(false, time.Time{})
		return
	}
	if err := e.mutex.TryLockContext(ctx); err != nil {
		var taken *redsync.ErrTaken
		if !errors.As(err, &taken) && !errors.Is(err, redsync.ErrFailed) && ctx.Err() == nil {
			e.opts.Logger.Debug("leader election: Redis did not answer", "error", err)
		}
		return
	}
	e.set(true, e.mutex.Until())
}

// resign releases the lease if this instance holds it.
func (e *Elector) resign() {
	if !e.Leader() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.retry())
	defer cancel()
	if _, err := e.mutex.UnlockContext(ctx); err != nil {
		e.opts.Logger.Warn("releasing the leadership failed; the other instance takes over when the lease ends",
			"key", e.opts.Key, "lease", e.opts.Lease, "error", err)
	}
	e.set(false, time.Time{})
}

func (e *Elector) set(leader bool, until time.Time) {
	e.mu.Lock()
	was := e.leader
	e.leader, e.until = leader, until
	if was != leader {
		close(e.changed)
		e.changed = make(chan struct{})
	}
	e.mu.Unlock()
	if was == leader {
		return
	}
	if leader {
		e.opts.Logger.Info("this instance is now the leader: it runs the singleton jobs", "key", e.opts.Key,
			"identity", e.opts.Identity, "lease", e.opts.Lease)
	} else {
		e.opts.Logger.Info("this instance is no longer the leader", "key", e.opts.Key, "identity", e.opts.Identity)
	}
	if e.opts.OnChange != nil {
		e.opts.OnChange(leader)
	}
}

// Leader reports whether this instance holds a valid lease now.
func (e *Elector) Leader() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.leader && time.Now().Before(e.until)
}

// IsLeader implements gocron.Elector. A follower waits up to Failover for
// the leadership before it says no: a job due while the leader has just
// died then runs on the new leader instead of being skipped. Singleton jobs
// therefore run at least once per schedule; they must be idempotent (a run
// repeated after a failover in the middle of it does the same work again).
func (e *Elector) IsLeader(ctx context.Context) error {
	wait := time.NewTimer(e.Failover())
	defer wait.Stop()
	for {
		e.mu.Lock()
		ok := e.leader && time.Now().Before(e.until)
		changed := e.changed
		e.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return ErrNotLeader
		case <-wait.C:
			return ErrNotLeader
		case <-changed:
		}
	}
}

var _ gocron.Elector = (*Elector)(nil)

// JobLocker is the per-run lock of singleton jobs (gocron-redis-lock): a
// run holds "<prefix>/job/<name>" while it runs, extended every third of
// the lease. A run that finds it taken waits up to 1.5 leases (a dead
// holder's lock expiring) before it gives up.
func JobLocker(client redis.UniversalClient, lease time.Duration) (gocron.Locker, error) {
	if lease <= 0 {
		lease = 15 * time.Second
	}
	return redislock.NewRedisLockerWithOptions(client,
		redislock.WithAutoExtendDuration(lease/3),
		redislock.WithRedsyncOptions(redsync.WithExpiry(lease), redsync.WithTries(16), redsync.WithRetryDelay(lease/10)))
}

// Client makes the Redis client of a coordination section; it connects on
// first use (and reconnects by itself). An unreadable password is a
// *backend.SecretError.
func Client(c config.Redis) (*redis.Client, error) {
	opts := &redis.Options{Addr: c.Address, Username: c.Username, DB: c.DB,
		DialTimeout: 5 * time.Second, ReadTimeout: 3 * time.Second, WriteTimeout: 3 * time.Second}
	if !c.Password.IsZero() {
		pw, err := c.Password.Resolve()
		if err != nil {
			return nil, &backend.SecretError{Key: "coordination.redis.password", Err: err}
		}
		opts.Password = pw
	}
	if c.TLS {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("coordination.redis.ca_file: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("coordination.redis.ca_file %s: no PEM certificate in it", c.CAFile)
			}
			tc.RootCAs = pool
		}
		opts.TLSConfig = tc
	}
	return redis.NewClient(opts), nil
}
