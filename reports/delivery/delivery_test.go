package delivery

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/reports/delivery/smtptest"
)

func emailConfig(t *testing.T, addr string) config.Email {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	t.Setenv("ECOMETER_TEST_SMTP_PASSWORD", smtptest.Password)
	pw, err := config.ParseSecret("env:ECOMETER_TEST_SMTP_PASSWORD")
	if err != nil {
		t.Fatal(err)
	}
	p := 0
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	return config.Email{Host: host, Port: p, StartTLS: true, User: "ecometer", Password: pw,
		From: "ecometer <ecometer@example.internal>", Recipients: []string{"Bæredygtighed <b@example.internal>", "it@example.internal"},
		Attempts: 4, Backoff: config.Duration(time.Second), Timeout: config.Duration(10 * time.Second)}
}

func testMessage() Message {
	return Message{Subject: "Bæredygtighedsrapport oktober 2026", Body: "Rapporten for oktober 2026 er vedhæftet.\nCO₂e: 677,6 kg",
		Date: time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC),
		Attachments: []Attachment{
			{Name: "report-2026-10.pdf", ContentType: "application/pdf", Data: append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte{0, 1, 2, 255}, 5000)...)},
			{Name: "report-2026-10.csv", ContentType: "text/csv", Data: []byte("section,item\nsummary,energy\n")},
			{Name: "report-2026-10.json", ContentType: "application/json", Data: []byte(`{"month":"2026-10"}`)},
		}}
}

// logBuffer collects the mailer's log.
func logBuffer() (*slog.Logger, *bytes.Buffer) {
	var b bytes.Buffer
	return slog.New(slog.NewTextHandler(&b, nil)), &b
}

// The message arrives over STARTTLS after AUTH PLAIN, with the three
// attachments byte for byte; the refusals before are retried with backoff
// and logged.
func TestSendRetriesAndDelivers(t *testing.T) {
	for _, refuse := range []int{0, 2} {
		ms := smtptest.Start(t, refuse, false)
		pool := ms.Roots
		log, logs := logBuffer()
		m, err := New(emailConfig(t, ms.Addr), Options{RootCAs: pool, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		m.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		msg := testMessage()
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatalf("refuse %d: %v\n%s", refuse, err, logs)
		}
		got, sawTLS := ms.Messages()
		if len(got) != 1 || !sawTLS {
			t.Fatalf("refuse %d: %d messages, TLS %v", refuse, len(got), sawTLS)
		}
		// Backoff 1 s, then doubled.
		if want := []time.Duration{time.Second, 2 * time.Second}[:refuse]; !equalDurations(waits, want) {
			t.Errorf("refuse %d: waits %v, want %v", refuse, waits, want)
		}
		if n := strings.Count(logs.String(), "report e-mail failed"); n != refuse || !strings.Contains(logs.String(), "report e-mailed") {
			t.Errorf("refuse %d: log has %d failures:\n%s", refuse, n, logs)
		}
		if strings.Contains(logs.String(), "s3cret") {
			t.Error("the password is in the log")
		}
		r := got[0]
		if r.From != "ecometer@example.internal" || len(r.To) != 2 || r.To[0] != "b@example.internal" {
			t.Errorf("envelope from %q to %v", r.From, r.To)
		}
		checkMessage(t, r.Data, msg)
	}
}

func equalDurations(a, b []time.Duration) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkMessage parses what the server received and compares it with msg.
func checkMessage(t *testing.T, data []byte, msg Message) {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(m.Header.Get("Subject")); err != nil || subj != strings.Join(strings.Fields(msg.Subject), " ") {
		t.Errorf("subject %q (%v)", subj, err)
	}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("content type %q: %v", mt, err)
	}
	mr := multipart.NewReader(m.Body, params["boundary"])
	var parts []*multipart.Part
	var bodies [][]byte
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		raw, _ := io.ReadAll(p)
		b, err := base64.StdEncoding.DecodeString(strings.ReplaceAll(string(raw), "\r\n", ""))
		if err != nil {
			t.Fatalf("part %d: %v", len(parts), err)
		}
		parts, bodies = append(parts, p), append(bodies, b)
	}
	if len(parts) != 1+len(msg.Attachments) {
		t.Fatalf("%d parts, want %d", len(parts), 1+len(msg.Attachments))
	}
	if string(bodies[0]) != msg.Body {
		t.Errorf("body %q", bodies[0])
	}
	for i, a := range msg.Attachments {
		p := parts[i+1]
		if p.FileName() != a.Name || !bytes.Equal(bodies[i+1], a.Data) {
			t.Errorf("attachment %d: %q, %d bytes; want %q, %d bytes", i, p.FileName(), len(bodies[i+1]), a.Name, len(a.Data))
		}
		if ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type")); ct != a.ContentType {
			t.Errorf("attachment %s: type %q", a.Name, ct)
		}
	}
}

// Failures that retrying cannot fix stop at once; a server that keeps
// refusing is tried email.attempts times; a wrong password, an untrusted
// certificate and a closed port fail with an error naming the server.
func TestSendFailures(t *testing.T) {
	// Permanent 550: one attempt.
	ms := smtptest.Start(t, 10, true)
	pool := ms.Roots
	log, logs := logBuffer()
	m, err := New(emailConfig(t, ms.Addr), Options{RootCAs: pool, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || strings.Count(logs.String(), "report e-mail failed") != 1 {
		t.Errorf("permanent refusal: %v\n%s", err, logs)
	}

	// Transient refusals beyond the attempts: all four tried.
	ms = smtptest.Start(t, 10, false)
	pool = ms.Roots
	log, logs = logBuffer()
	m, _ = New(emailConfig(t, ms.Addr), Options{RootCAs: pool, Logger: log})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || strings.Count(logs.String(), "report e-mail failed") != 4 {
		t.Errorf("persistent refusal: %v\n%s", err, logs)
	}

	// Wrong password: 535, not retried.
	ms = smtptest.Start(t, 0, false)
	pool = ms.Roots
	cfg := emailConfig(t, ms.Addr)
	t.Setenv("ECOMETER_TEST_SMTP_PASSWORD", "wrong")
	log, logs = logBuffer()
	m, _ = New(cfg, Options{RootCAs: pool, Logger: log})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || !strings.Contains(err.Error(), "AUTH PLAIN") ||
		strings.Count(logs.String(), "report e-mail failed") != 1 {
		t.Errorf("wrong password: %v\n%s", err, logs)
	}

	// A certificate the client does not trust: TLS verification is on.
	ms = smtptest.Start(t, 0, false)
	m, _ = New(emailConfig(t, ms.Addr), Options{RootCAs: x509.NewCertPool(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if got, _ := ms.Messages(); len(got) != 0 {
		t.Error("a message went through an unverified connection")
	}

	// An unreadable password reference is a configuration error.
	cfg.Password, _ = config.ParseSecret("env:ECOMETER_TEST_NO_SUCH_VARIABLE")
	var se *SecretError
	if _, err := New(cfg, Options{}); !errors.As(err, &se) {
		t.Errorf("missing secret: %v", err)
	}
}

// Compose's output parses as the message it was given (no server).
func FuzzCompose(f *testing.F) {
	f.Add("Rapport oktober", "Hej\nCO₂e", "report.pdf", []byte("%PDF"))
	f.Add("", "", "æøå.csv", []byte{})
	f.Add("a\r\nBcc: x@example.internal", "b", "r.json", []byte("{}"))
	f.Fuzz(func(t *testing.T, subject, body, name string, data []byte) {
		if strings.ContainsAny(name, "\r\n\x00\"\\/") || name == "" || !utf8Valid(subject+body+name) {
			return
		}
		msg := Message{Subject: subject, Body: body, Date: time.Unix(0, 0), Attachments: []Attachment{{Name: name, ContentType: "application/pdf", Data: data}}}
		out, err := Compose("a@example.internal", []string{"b@example.internal"}, msg)
		if err != nil {
			t.Fatal(err)
		}
		checkMessage(t, out, msg)
	})
}

func utf8Valid(s string) bool {
	return strings.ToValidUTF8(s, "") == s && !strings.ContainsRune(s, '\uFFFD')
}
