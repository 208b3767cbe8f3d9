package monthly

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/reports/delivery"
	"github.com/ecometer/ecometer/reports/delivery/smtptest"
)

// The job runs on the 1st at 06:00 Danish time, winter and summer.
func TestRegisterSchedule(t *testing.T) {
	for _, c := range []struct{ now, next time.Time }{
		{time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC), time.Date(2025, 11, 1, 5, 0, 0, 0, time.UTC)}, // CET
		{time.Date(2025, 5, 15, 12, 0, 0, 0, time.UTC), time.Date(2025, 6, 1, 4, 0, 0, 0, time.UTC)},   // CEST
		{time.Date(2025, 12, 1, 5, 30, 0, 0, time.UTC), time.Date(2026, 1, 1, 5, 0, 0, 0, time.UTC)},   // just after a run
	} {
		s, err := gocron.NewScheduler(gocron.WithClock(clockwork.NewFakeClockAt(c.now)), gocron.WithLocation(time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		j, err := Register(s, &Job{})
		if err != nil {
			t.Fatal(err)
		}
		s.Start()
		next, err := j.NextRun()
		if err != nil || !next.Equal(c.next) || j.Name() != JobName {
			t.Errorf("at %s: next run %s (%v), want %s", c.now, next.UTC(), err, c.next)
		}
		_ = s.Shutdown()
	}
}

// On the 1st of November the job writes October's report and e-mails it
// over STARTTLS and AUTH to a real SMTP server on loopback, after the
// server refused once; the files stay on disk when the e-mail fails.
func TestJobRunWritesAndMails(t *testing.T) {
	in := fixture(t)
	cfg := *in.Config
	cfg.Report.OutDir = t.TempDir()
	cfg.Report.LifetimeExtensions = nil
	srv := smtptest.Start(t, 1, false)
	host, port, _ := net.SplitHostPort(srv.Addr)
	p, _ := strconv.Atoi(port)
	t.Setenv("ECOMETER_TEST_SMTP_PASSWORD", smtptest.Password)
	pw, _ := config.ParseSecret("env:ECOMETER_TEST_SMTP_PASSWORD")
	cfg.Report.Email = &config.Email{Host: host, Port: p, StartTLS: true, User: "ecometer", Password: pw,
		From: "ecometer@example.internal", Recipients: []string{"baeredygtighed@example.internal"},
		Attempts: 3, Backoff: config.Duration(10 * time.Millisecond), Timeout: config.Duration(10 * time.Second)}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	m, err := delivery.New(*cfg.Report.Email, delivery.Options{RootCAs: srv.Roots, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	j := &Job{Config: &cfg, Mailer: m, Logger: log, Now: func() time.Time { return time.Date(2025, 11, 1, 5, 0, 0, 0, time.UTC) }}
	if err := j.Run(context.Background()); err != nil {
		t.Fatalf("run: %v\n%s", err, &logs)
	}
	got, tls := srv.Messages()
	if len(got) != 1 || !tls {
		t.Fatalf("%d messages (TLS %v)\n%s", len(got), tls, &logs)
	}
	for _, name := range []string{"report-2025-10.pdf", "report-2025-10.csv", "report-2025-10.json"} {
		data, err := os.ReadFile(cfg.Report.OutDir + "/" + name)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(got[0].Data, []byte(`filename=`+name)) || len(data) == 0 {
			t.Errorf("%s not attached", name)
		}
	}
	if !strings.Contains(string(got[0].Data), "Subject: =?utf-8?q?B=C3=A6redygtighedsrapport_oktober_2025?=") {
		t.Errorf("subject not Danish:\n%.600s", got[0].Data)
	}
	if !strings.Contains(logs.String(), "report e-mail failed") || !strings.Contains(logs.String(), "monthly report written") {
		t.Errorf("log:\n%s", &logs)
	}

	// The server gone: the e-mail fails after its attempts, the files stay.
	cfg.Report.OutDir = t.TempDir()
	cfg.Report.Email.Port = closedPort(t)
	m, _ = delivery.New(*cfg.Report.Email, delivery.Options{RootCAs: srv.Roots, Logger: log})
	j.Mailer = m
	if err := j.Run(context.Background()); err == nil {
		t.Error("no error without a server")
	}
	if _, err := os.Stat(cfg.Report.OutDir + "/report-2025-10.pdf"); err != nil {
		t.Errorf("PDF not kept: %v", err)
	}
}

func closedPort(t *testing.T) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return p
}
