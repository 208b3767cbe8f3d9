package monthly

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/go-co-op/gocron/v2"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/accounting"
	"github.com/ecometer/ecometer/reports/delivery"
	"github.com/ecometer/ecometer/reports/i18n"
)

// Schedule is when the daemon produces the previous month's report: the
// 1st of every month at 06:00 Danish time, whatever the scheduler's own
// location (CRON_TZ; summer and winter time both give 06:00).
const Schedule = "CRON_TZ=Europe/Copenhagen 0 6 1 * *"

// JobName names the job in the scheduler and the logs.
const JobName = "monthly-report"

// Job produces the previous month's report into report.out_dir and, when
// Mailer is set, e-mails the PDF, CSV and JSON to report.email.recipients.
// The files stay on disk whether or not the e-mail goes through.
type Job struct {
	Config *config.Config
	Mailer *delivery.Mailer // nil: no e-mail
	Logger *slog.Logger
	// PowerDown and Anomalies, as in Params (NewJob sets the real ones).
	PowerDown SectionSource[PowerDown]
	Anomalies SectionSource[Anomalies]
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// NewJob is the job of cfg: with a Mailer when report.email is set (the
// SMTP password is read here, once: a *delivery.SecretError is a
// configuration problem).
func NewJob(cfg *config.Config, log *slog.Logger) (*Job, error) {
	j := &Job{Config: cfg, Logger: log, PowerDown: ControllerSavings, Anomalies: DetectedAnomalies}
	if j.Logger == nil {
		j.Logger = slog.Default()
	}
	if e := cfg.Report.Email; e != nil {
		m, err := delivery.New(*e, delivery.Options{Logger: j.Logger})
		if err != nil {
			return nil, err
		}
		j.Mailer = m
	}
	return j, nil
}

// Register adds the job to s on Schedule, as a singleton (a run still
// going when the next is due makes that one wait). opts are added after
// the job's own (a name, the singleton mode).
func Register(s gocron.Scheduler, j *Job, opts ...gocron.JobOption) (gocron.Job, error) {
	all := append([]gocron.JobOption{gocron.WithName(JobName), gocron.WithSingletonMode(gocron.LimitModeReschedule)}, opts...)
	return s.NewJob(gocron.CronJob(Schedule, false), gocron.NewTask(func(ctx context.Context) {
		// Run logs its own outcome; the scheduler has nowhere to put an error.
		_ = j.Run(ctx)
	}), all...)
}

// Run produces the report of the last full month at Now and delivers it.
func (j *Job) Run(ctx context.Context) error {
	now := time.Now()
	if j.Now != nil {
		now = j.Now()
	}
	period := accounting.LastFullMonth(now)
	log := j.Logger.With("job", JobName, "month", period.Label())
	start := time.Now()
	r, files, err := Produce(ctx, Params{Config: j.Config, Period: period, Generated: now.UTC().Truncate(time.Second),
		PowerDown: j.PowerDown, Anomalies: j.Anomalies})
	if err != nil {
		log.Error("monthly report failed", "error", err)
		return err
	}
	log.Info("monthly report written", "pdf", files.PDF, "csv", files.CSV, "json", files.JSON,
		"coverage_complete", r.Complete, "duration", time.Since(start).Round(time.Millisecond))
	if j.Mailer == nil {
		return nil
	}
	msg, err := Mail(r, files, j.lang())
	if err != nil {
		log.Error("monthly report e-mail not composed; the files are on disk", "error", err)
		return err
	}
	if err := j.Mailer.Send(ctx, msg); err != nil {
		log.Error("monthly report not e-mailed; the files are on disk", "error", err, "pdf", files.PDF)
		return err
	}
	return nil
}

func (j *Job) lang() i18n.Lang {
	l, err := i18n.Parse(j.Config.Report.Language)
	if err != nil {
		return i18n.Danish
	}
	return l
}

// Mail is the e-mail of a produced report: subject and text in lang, the
// three files attached.
func Mail(r *Report, files Files, lang i18n.Lang) (delivery.Message, error) {
	p := i18n.New(lang)
	t, err := time.Parse("2006-01", r.Month)
	if err != nil {
		return delivery.Message{}, err
	}
	month := p.MonthYear(t.Year(), t.Month())
	body := p.T("mail.body", month, len(r.Sites))
	if !r.Complete {
		body += "\n\n" + p.T("mail.incomplete", p.Pct(r.MinCoveragePct, 0))
	}
	msg := delivery.Message{Subject: p.T("mail.subject", month), Body: body + "\n\n" + p.T("mail.footer"), Date: r.Generated}
	for _, x := range []struct{ path, ct string }{{files.PDF, "application/pdf"}, {files.CSV, "text/csv"}, {files.JSON, "application/json"}} {
		data, err := os.ReadFile(x.path)
		if err != nil {
			return delivery.Message{}, fmt.Errorf("report e-mail: %w", err)
		}
		msg.Attachments = append(msg.Attachments, delivery.Attachment{Name: filepath.Base(x.path), ContentType: x.ct, Data: data})
	}
	return msg, nil
}
