package delivery

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ecometer/ecometer/config"
)

// testCert is a self-signed certificate for 127.0.0.1 and the pool that
// trusts it.
func testCert(t *testing.T) (tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "ecometer test SMTP"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, IsCA: true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool
}

// mailServer is a real SMTP server (go-smtp) on loopback: STARTTLS with
// the test certificate, AUTH PLAIN only over TLS, one user.
type mailServer struct {
	addr string
	mu   sync.Mutex
	got  []received
	// refuse is how many MAIL commands to refuse with 451 (transient)
	// before accepting; permanent refuses with 550 instead.
	refuse    int
	permanent bool
	sawTLS    bool
}

type received struct {
	from string
	to   []string
	data []byte
}

func startServer(t *testing.T, refuse int, permanent bool) (*mailServer, *x509.CertPool) {
	t.Helper()
	cert, pool := testCert(t)
	ms := &mailServer{refuse: refuse, permanent: permanent}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{ms: ms, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.AllowInsecureAuth = false
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ms.addr = l.Addr().String()
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ms, pool
}

type session struct {
	ms     *mailServer
	conn   *smtp.Conn
	authed bool
	cur    received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "ecometer" || pass != "s3cret-Æø" {
			// RFC 4954: 535 5.7.8, as real servers answer.
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Authentication credentials invalid"}
		}
		s.authed = true
		return nil
	}), nil
}
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if !s.authed {
		return smtp.ErrAuthRequired
	}
	s.ms.mu.Lock()
	defer s.ms.mu.Unlock()
	if _, ok := s.conn.TLSConnectionState(); ok {
		s.ms.sawTLS = true
	}
	if s.ms.refuse > 0 {
		s.ms.refuse--
		code := 451
		if s.ms.permanent {
			code = 550
		}
		return &smtp.SMTPError{Code: code, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try again later"}
	}
	s.cur.from = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.to = append(s.cur.to, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.data = b
	s.ms.mu.Lock()
	s.ms.got = append(s.ms.got, s.cur)
	s.ms.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

func emailConfig(t *testing.T, addr string) config.Email {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	t.Setenv("ECOMETER_TEST_SMTP_PASSWORD", "s3cret-Æø")
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
		ms, pool := startServer(t, refuse, false)
		log, logs := logBuffer()
		m, err := New(emailConfig(t, ms.addr), Options{RootCAs: pool, Logger: log})
		if err != nil {
			t.Fatal(err)
		}
		var waits []time.Duration
		m.sleep = func(_ context.Context, d time.Duration) error { waits = append(waits, d); return nil }
		msg := testMessage()
		if err := m.Send(context.Background(), msg); err != nil {
			t.Fatalf("refuse %d: %v\n%s", refuse, err, logs)
		}
		ms.mu.Lock()
		got, sawTLS := ms.got, ms.sawTLS
		ms.mu.Unlock()
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
		if r.from != "ecometer@example.internal" || len(r.to) != 2 || r.to[0] != "b@example.internal" {
			t.Errorf("envelope from %q to %v", r.from, r.to)
		}
		checkMessage(t, r.data, msg)
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
	ms, pool := startServer(t, 10, true)
	log, logs := logBuffer()
	m, err := New(emailConfig(t, ms.addr), Options{RootCAs: pool, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || strings.Count(logs.String(), "report e-mail failed") != 1 {
		t.Errorf("permanent refusal: %v\n%s", err, logs)
	}

	// Transient refusals beyond the attempts: all four tried.
	ms, pool = startServer(t, 10, false)
	log, logs = logBuffer()
	m, _ = New(emailConfig(t, ms.addr), Options{RootCAs: pool, Logger: log})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || strings.Count(logs.String(), "report e-mail failed") != 4 {
		t.Errorf("persistent refusal: %v\n%s", err, logs)
	}

	// Wrong password: 535, not retried.
	ms, pool = startServer(t, 0, false)
	cfg := emailConfig(t, ms.addr)
	t.Setenv("ECOMETER_TEST_SMTP_PASSWORD", "wrong")
	log, logs = logBuffer()
	m, _ = New(cfg, Options{RootCAs: pool, Logger: log})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || !strings.Contains(err.Error(), "AUTH PLAIN") ||
		strings.Count(logs.String(), "report e-mail failed") != 1 {
		t.Errorf("wrong password: %v\n%s", err, logs)
	}

	// A certificate the client does not trust: TLS verification is on.
	ms, _ = startServer(t, 0, false)
	m, _ = New(emailConfig(t, ms.addr), Options{RootCAs: x509.NewCertPool(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	m.sleep = func(context.Context, time.Duration) error { return nil }
	if err := m.Send(context.Background(), testMessage()); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: %v", err)
	}
	if len(ms.got) != 0 {
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

func utf8Valid(s string) bool { return strings.ToValidUTF8(s, "") == s && !strings.ContainsRune(s, '\uFFFD') }
