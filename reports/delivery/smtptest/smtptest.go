// Package smtptest runs a real SMTP server (github.com/emersion/go-smtp) on
// loopback for tests: STARTTLS with a self-signed test certificate, AUTH
// PLAIN only over TLS, and refusals on demand to exercise retries.
package smtptest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Password is the test user's password (user "ecometer").
const Password = "s3cret-Æø"

// Messages returns what the server accepted so far, and whether a MAIL
// command came over TLS.
func (ms *Server) Messages() ([]Received, bool) {
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return append([]Received(nil), ms.got...), ms.sawTLS
}

// testCert is a self-signed certificate for 127.0.0.1 and the pool that
// trusts it.
func testCert(t testing.TB) (tls.Certificate, *x509.CertPool) {
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
type Server struct {
	Addr  string         // 127.0.0.1:port
	Roots *x509.CertPool // trusts the server's certificate

	mu  sync.Mutex
	got []Received
	// refuse is how many MAIL commands to refuse with 451 (transient)
	// before accepting; permanent refuses with 550 instead.
	refuse    int
	permanent bool
	sawTLS    bool
}

// Received is one message the server accepted.
type Received struct {
	From string
	To   []string
	Data []byte
}

// Start runs a server for the test: it refuses the first refuse MAIL
// commands (with 451, or 550 when permanent) and accepts the rest from
// user ecometer with password Password, after STARTTLS only.
func Start(t testing.TB, refuse int, permanent bool) *Server {
	t.Helper()
	cert, pool := testCert(t)
	ms := &Server{refuse: refuse, permanent: permanent}
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
	ms.Addr, ms.Roots = l.Addr().String(), pool
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return ms
}

type session struct {
	ms     *Server
	conn   *smtp.Conn
	authed bool
	cur    Received
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }
func (s *session) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != "ecometer" || pass != Password {
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
	s.cur.From = from
	return nil
}
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}
func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	s.ms.mu.Lock()
	s.ms.got = append(s.ms.got, s.cur)
	s.ms.mu.Unlock()
	return nil
}
func (s *session) Reset()        { s.cur = Received{} }
func (s *session) Logout() error { return nil }
