package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // schedules are in Europe/Copenhagen wherever the binary runs

	"github.com/go-co-op/gocron/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/leader"
)

// SingletonJob is a job that runs on one instance only: the monthly
// report, the controller's applier. With a coordination service
// configured it runs on the elected leader (and a follower takes over when
// the leader dies); without one, on this instance.
//
// A job runs at least once per scheduled time, normally exactly once; after
// a failover in the middle of a run the new leader runs it again, so Run
// must be idempotent (write the same report file, re-plan from the current
// state).
type SingletonJob struct {
	// Name identifies the job in logs, metrics and its Redis lock.
	Name string
	// Cron is a crontab: five fields (minute hour day-of-month month
	// day-of-week), or six with seconds first. Times are Europe/Copenhagen
	// unless it starts with CRON_TZ=<IANA zone>, e.g. the monthly report
	// "0 6 1 * *" (06:00 on the 1st).
	Cron string
	// Run does the work; ctx ends when the service stops.
	Run func(ctx context.Context) error
}

// ScheduleZone is the time zone of singleton job schedules.
const ScheduleZone = "Europe/Copenhagen"

// singletons runs the singleton jobs, and the leader election when a
// coordination service is configured.
type singletons struct {
	log     *slog.Logger
	sched   gocron.Scheduler // nil: no jobs
	elector *leader.Elector  // nil: no coordination, this instance runs them
	locker  gocron.Locker
	client  *redis.Client
	prefix  string
	lease   time.Duration

	runs   *prometheus.CounterVec
	isLead prometheus.Gauge

	cancel context.CancelFunc
	once   sync.Once
}

func newSingletons(ctx context.Context, cfg *config.Config, jobs []SingletonJob, reg prometheus.Registerer, log *slog.Logger) (*singletons, error) {
	s := &singletons{log: log,
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "ecometer", Name: "singleton_runs_total",
			Help: "Runs of singleton jobs on this instance by outcome (ok, error, not_leader)."}, []string{"job", "outcome"}),
		isLead: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "ecometer", Name: "leader",
			Help: "1 while this instance runs the singleton jobs (the elected leader, or the only instance)."}),
	}
	reg.MustRegister(s.runs, s.isLead)
	seen := map[string]bool{}
	for _, j := range jobs {
		switch {
		case strings.TrimSpace(j.Name) == "":
			return nil, errors.New("singleton job without a name")
		case seen[j.Name]:
			return nil, fmt.Errorf("singleton job %q: defined twice", j.Name)
		case j.Run == nil:
			return nil, fmt.Errorf("singleton job %q: no Run function", j.Name)
		}
		seen[j.Name] = true
	}
	co := cfg.Coordination
	if co.Configured() {
		client, err := leader.Client(*co.Redis)
		if err != nil {
			return nil, err
		}
		s.client, s.prefix, s.lease = client, co.KeyPrefix, co.Lease.Std()
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		if err := client.Ping(pctx).Err(); err != nil {
			// Not fatal: polling goes on, the election retries; the
			// singletons wait for Redis.
			log.Error("Redis does not answer; singleton jobs wait until this instance is elected leader",
				"address", co.Redis.Address, "error", err)
		}
		cancel()
		s.elector = leader.New(leader.Options{Client: client, Key: co.KeyPrefix + "/leader", Lease: s.lease, Logger: log,
			OnChange: func(l bool) { s.isLead.Set(b2f(l)) }})
		if len(jobs) > 0 {
			if s.locker, err = leader.JobLocker(client, s.lease); err != nil {
				// NewRedisLockerWithOptions pings; the election retries,
				// the lock is made without the ping.
				log.Debug("job locker: Redis did not answer at start", "error", err)
			}
		}
	} else {
		s.isLead.Set(1)
	}
	if len(jobs) == 0 {
		return s, nil
	}
	loc, err := time.LoadLocation(ScheduleZone)
	if err != nil {
		return nil, err
	}
	opts := []gocron.SchedulerOption{gocron.WithLocation(loc)}
	if s.elector != nil {
		opts = append(opts, gocron.WithDistributedElector(s.elector))
	}
	sched, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("singleton jobs: scheduler: %w", err)
	}
	s.sched = sched
	for _, j := range jobs {
		fields := strings.Fields(j.Cron)
		if len(fields) > 0 && strings.HasPrefix(fields[0], "CRON_TZ=") {
			fields = fields[1:]
		}
		withSeconds := len(fields) == 6
		_, err := sched.NewJob(gocron.CronJob(j.Cron, withSeconds), gocron.NewTask(s.task(j)),
			gocron.WithName(j.Name), gocron.WithSingletonMode(gocron.LimitModeReschedule))
		if err != nil {
			sched.Shutdown()
			return nil, fmt.Errorf("singleton job %q: schedule %q: %w", j.Name, j.Cron, err)
		}
		log.Info("singleton job scheduled", "job", j.Name, "cron", j.Cron, "zone", ScheduleZone,
			"coordinated", s.elector != nil)
	}
	return s, nil
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// task is what gocron runs for a job (on the leader only, when elected):
// the job under its Redis lock.
func (s *singletons) task(j SingletonJob) func(ctx context.Context) {
	return func(ctx context.Context) {
		if s.locker == nil && s.client != nil {
			l, err := leader.JobLocker(s.client, s.lease)
			if err != nil {
				s.log.Warn("singleton job skipped: Redis does not answer", "job", j.Name, "error", err)
				s.runs.WithLabelValues(j.Name, "not_leader").Inc()
				return
			}
			s.locker = l
		}
		if s.locker != nil {
			lock, err := s.locker.Lock(ctx, s.prefix+"/job/"+j.Name)
			if err != nil {
				s.log.Warn("singleton job skipped: another instance holds its lock", "job", j.Name, "error", err)
				s.runs.WithLabelValues(j.Name, "not_leader").Inc()
				return
			}
			defer func() {
				uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
				defer cancel()
				_ = lock.Unlock(uctx)
			}()
		}
		begin := time.Now()
		s.log.Info("singleton job started", "job", j.Name)
		if err := j.Run(ctx); err != nil {
			s.runs.WithLabelValues(j.Name, "error").Inc()
			s.log.Error("singleton job failed", "job", j.Name, "error", err, "took", time.Since(begin))
			return
		}
		s.runs.WithLabelValues(j.Name, "ok").Inc()
		s.log.Info("singleton job done", "job", j.Name, "took", time.Since(begin))
	}
}

// start runs the election and the scheduler until stop.
func (s *singletons) start(ctx context.Context, wg *sync.WaitGroup) {
	ctx, s.cancel = context.WithCancel(ctx)
	if s.elector != nil {
		wg.Go(func() { s.elector.Run(ctx) })
	}
	if s.sched != nil {
		s.sched.Start()
	}
}

// stop ends the jobs (a running one's ctx is cancelled), then the
// election, which hands the leadership over at once.
func (s *singletons) stop() {
	if s == nil {
		return
	}
	s.once.Do(func() {
		if s.sched != nil {
			if err := s.sched.Shutdown(); err != nil {
				s.log.Warn("singleton jobs did not stop in time", "error", err)
			}
		}
		if s.cancel != nil {
			s.cancel()
		}
	})
}

// close releases the Redis client, after the election has stopped.
func (s *singletons) close() error {
	if s == nil || s.client == nil {
		return nil
	}
	err := s.client.Close()
	s.client = nil
	return err
}
