// Package delivery sends reports by e-mail: a MIME message (RFC 2045–2047,
// multipart/mixed with base64 attachments) over SMTP with STARTTLS
// (RFC 3207, certificates verified) and AUTH PLAIN (RFC 4954, RFC 4616)
// only on the encrypted connection, retried with exponential backoff and
// logged. It uses github.com/emersion/go-smtp's client, the same library
// the tests run as the server.
package delivery

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/ecometer/ecometer/config"
)

// Attachment is a file sent with the message.
type Attachment struct {
	Name        string // file name shown to the recipient
	ContentType string // e.g. application/pdf
	Data        []byte
}

// Message is one e-mail.
type Message struct {
	Subject     string
	Body        string // plain text, UTF-8
	Attachments []Attachment
	Date        time.Time
}

// Mailer sends messages as configured.
type Mailer struct {
	cfg      config.Email
	password string
	tls      *tls.Config
	log      *slog.Logger
	// sleep waits between attempts; tests shorten it.
	sleep func(context.Context, time.Duration) error
}

// Options adjust a Mailer.
type Options struct {
	// RootCAs replaces the system roots and email.ca_file (tests).
	RootCAs *x509.CertPool
	Logger  *slog.Logger
}

// SecretError is the SMTP password reference that cannot be read: a
// configuration problem, named by its key, never its value.
type SecretError struct{ Err error }

func (e *SecretError) Error() string { return "report.email.password: " + e.Err.Error() }
func (e *SecretError) Unwrap() error { return e.Err }

// New reads the password and the CA file once and returns a Mailer.
func New(cfg config.Email, o Options) (*Mailer, error) {
	m := &Mailer{cfg: cfg, log: o.Logger, sleep: sleepCtx}
	if m.log == nil {
		m.log = slog.Default()
	}
	if !cfg.Password.IsZero() {
		pw, err := cfg.Password.Resolve()
		if err != nil {
			return nil, &SecretError{Err: err}
		}
		m.password = pw
	}
	m.tls = &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12, RootCAs: o.RootCAs}
	if o.RootCAs == nil && cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("report.email.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("report.email.ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		m.tls.RootCAs = pool
	}
	return m, nil
}

// Send delivers msg to every recipient, trying up to email.attempts times
// with email.backoff before the second try, doubled for each further one.
// Each failed attempt is logged. A permanent SMTP refusal (5xx, other than
// an authentication or TLS failure that a fix on the server side may
// cure) is not retried.
func (m *Mailer) Send(ctx context.Context, msg Message) error {
	data, err := Compose(m.cfg.From, m.cfg.Recipients, msg)
	if err != nil {
		return err
	}
	wait := m.cfg.Backoff.Std()
	var last error
	for attempt := 1; attempt <= m.cfg.Attempts; attempt++ {
		start := time.Now()
		last = m.sendOnce(ctx, data)
		if last == nil {
			m.log.Info("report e-mailed", "subject", msg.Subject, "to", strings.Join(m.cfg.Recipients, ", "),
				"attempt", attempt, "bytes", len(data), "duration", time.Since(start).Round(time.Millisecond))
			return nil
		}
		permanent := isPermanent(last)
		m.log.Warn("report e-mail failed", "subject", msg.Subject, "server", m.addr(), "attempt", attempt,
			"of", m.cfg.Attempts, "permanent", permanent, "error", last)
		if permanent || attempt == m.cfg.Attempts {
			break
		}
		if err := m.sleep(ctx, wait); err != nil {
			return fmt.Errorf("e-mail to %s: %w (last error: %v)", m.addr(), err, last)
		}
		wait *= 2
	}
	return fmt.Errorf("e-mail to %s: %w", m.addr(), last)
}

func (m *Mailer) addr() string { return net.JoinHostPort(m.cfg.Host, strconv.Itoa(m.cfg.Port)) }

// sendOnce runs one SMTP session: connect, EHLO, STARTTLS, AUTH, MAIL,
// RCPT, DATA, QUIT.
func (m *Mailer) sendOnce(ctx context.Context, data []byte) error {
	ctx, cancel := context.WithTimeout(ctx, m.cfg.Timeout.Std())
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", m.addr())
	if err != nil {
		return err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	var c *smtp.Client
	if m.cfg.StartTLS {
		if c, err = smtp.NewClientStartTLS(conn, m.tls); err != nil {
			conn.Close()
			return fmt.Errorf("STARTTLS: %w", err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if m.cfg.User != "" {
		if _, isTLS := c.TLSConnectionState(); !isTLS {
			return errors.New("refusing to send the password over an unencrypted connection")
		}
		if err := c.Auth(sasl.NewPlainClient("", m.cfg.User, m.password)); err != nil {
			return fmt.Errorf("AUTH PLAIN as %s: %w", m.cfg.User, err)
		}
	}
	from, err := mail.ParseAddress(m.cfg.From)
	if err != nil {
		return err
	}
	var to []string
	for _, r := range m.cfg.Recipients {
		a, err := mail.ParseAddress(r)
		if err != nil {
			return err
		}
		to = append(to, a.Address)
	}
	if err := c.SendMail(from.Address, to, bytes.NewReader(data)); err != nil {
		return err
	}
	return c.Quit()
}

// isPermanent reports an SMTP 5xx reply that retrying will not change.
// Authentication (535) and TLS-required (530) replies count as permanent
// too: the same credentials get the same answer.
func isPermanent(err error) bool {
	var se *smtp.SMTPError
	return errors.As(err, &se) && se.Code >= 500
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Compose builds the MIME message: a UTF-8 text part and the attachments
// base64-encoded, headers with non-ASCII text encoded as RFC 2047 words.
func Compose(from string, to []string, msg Message) ([]byte, error) {
	var buf bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	if _, err := mail.ParseAddress(from); err != nil {
		return nil, fmt.Errorf("from %q: %w", from, err)
	}
	var rcpt []string
	for _, t := range to {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("recipient %q: %w", t, err)
		}
		rcpt = append(rcpt, a.String())
	}
	fa, _ := mail.ParseAddress(from)
	date := msg.Date
	if date.IsZero() {
		date = time.Now()
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := fa.Address[strings.LastIndexByte(fa.Address, '@')+1:]
	mw := multipart.NewWriter(&buf)
	h("From", fa.String())
	h("To", strings.Join(rcpt, ", "))
	// A line break in the subject would end the header: fold it away.
	subject := strings.Join(strings.Fields(msg.Subject), " ")
	h("Subject", mime.QEncoding.Encode("utf-8", subject))
	h("Date", date.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("MIME-Version", "1.0")
	h("Content-Type", `multipart/mixed; boundary="`+mw.Boundary()+`"`)
	buf.WriteString("\r\n")
	text, err := mw.CreatePart(textproto.MIMEHeader{
		"Content-Type":              {"text/plain; charset=utf-8"},
		"Content-Transfer-Encoding": {"base64"},
	})
	if err != nil {
		return nil, err
	}
	writeBase64(text, []byte(msg.Body))
	for _, a := range msg.Attachments {
		a.Name = filepath.Base(a.Name)
		ct := a.ContentType
		if ct == "" {
			ct = mime.TypeByExtension(filepath.Ext(a.Name))
		}
		if ct == "" {
			ct = "application/octet-stream"
		}
		name := mime.QEncoding.Encode("utf-8", a.Name)
		part, err := mw.CreatePart(textproto.MIMEHeader{
			"Content-Type":              {mime.FormatMediaType(ct, map[string]string{"name": a.Name})},
			"Content-Disposition":       {mime.FormatMediaType("attachment", map[string]string{"filename": a.Name})},
			"Content-Transfer-Encoding": {"base64"},
			"Content-Description":       {name},
		})
		if err != nil {
			return nil, err
		}
		writeBase64(part, a.Data)
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// writeBase64 writes data base64-encoded in lines of 76 characters
// (RFC 2045 6.8).
func writeBase64(w interface{ Write([]byte) (int, error) }, data []byte) {
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		_, _ = w.Write([]byte(enc[:76] + "\r\n"))
		enc = enc[76:]
	}
	_, _ = w.Write([]byte(enc + "\r\n"))
}
