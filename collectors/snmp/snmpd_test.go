package snmp

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
)

// TestV3AgainstNetSNMP checks the SNMPv3 transport against net-snmp's snmpd,
// an independent implementation of USM (RFC 3414) and the AES privacy
// protocol (RFC 3826): authPriv with SHA-256 and AES reads sysObjectID; a
// wrong auth passphrase and a wrong privacy passphrase fail with ErrAuth (or a
// timeout, since an agent may drop what it cannot decrypt), never with data.
func TestV3AgainstNetSNMP(t *testing.T) {
	users := []testenv.SnmpdUser{
		{Name: "eco-sha256", AuthProto: "SHA-256", AuthPass: "auth-passphrase-1", PrivProto: "AES", PrivPass: "priv-passphrase-1"},
		{Name: "eco-sha1", AuthProto: "SHA", AuthPass: "auth-passphrase-2", PrivProto: "AES", PrivPass: "priv-passphrase-2"},
		{Name: "eco-authonly", AuthProto: "SHA-512", AuthPass: "auth-passphrase-3"},
	}
	addr := testenv.Snmpd(t, users...)
	dial := func(a V3Auth) (Transport, error) {
		return Dial(Conn{Addr: addr.Addr().String(), Port: addr.Port(), Version: V3, V3: &a,
			Timeout: 2 * time.Second, Retries: 0})
	}
	ctx := context.Background()
	for _, c := range []struct {
		name string
		auth V3Auth
		ok   bool
	}{
		{"authPriv SHA-256 AES", V3Auth{User: "eco-sha256", AuthProtocol: "SHA256", AuthPass: "auth-passphrase-1", PrivProtocol: "AES", PrivPass: "priv-passphrase-1"}, true},
		{"authPriv SHA AES", V3Auth{User: "eco-sha1", AuthProtocol: "SHA", AuthPass: "auth-passphrase-2", PrivProtocol: "AES", PrivPass: "priv-passphrase-2"}, true},
		{"authNoPriv SHA-512", V3Auth{User: "eco-authonly", AuthProtocol: "SHA512", AuthPass: "auth-passphrase-3"}, true},
		{"wrong auth passphrase", V3Auth{User: "eco-sha256", AuthProtocol: "SHA256", AuthPass: "not-the-passphrase", PrivProtocol: "AES", PrivPass: "priv-passphrase-1"}, false},
		{"wrong privacy passphrase", V3Auth{User: "eco-sha256", AuthProtocol: "SHA256", AuthPass: "auth-passphrase-1", PrivProtocol: "AES", PrivPass: "not-the-passphrase"}, false},
		{"unknown user", V3Auth{User: "nobody", AuthProtocol: "SHA", AuthPass: "auth-passphrase-2", PrivProtocol: "AES", PrivPass: "priv-passphrase-2"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			tr, err := dial(c.auth)
			if err != nil {
				if c.ok {
					t.Fatal(err)
				}
				return
			}
			defer tr.Close()
			pdus, err := tr.Get(ctx, []string{".1.3.6.1.2.1.1.2.0"})
			switch {
			case c.ok && err != nil:
				t.Fatalf("get sysObjectID: %v", err)
			case c.ok && (len(pdus) != 1 || pdus[0].Value == nil):
				t.Fatalf("get sysObjectID: %+v", pdus)
			case !c.ok && err == nil:
				t.Fatalf("got %+v with bad credentials", pdus)
			case !c.ok && !errors.Is(err, ErrAuth) && !errors.Is(err, ErrTimeout):
				t.Fatalf("error %v, want ErrAuth or ErrTimeout", err)
			}
			if err != nil {
				for _, secret := range []string{c.auth.AuthPass, c.auth.PrivPass} {
					if secret != "" && strings.Contains(err.Error(), secret) {
						t.Fatalf("error leaks a passphrase: %v", err)
					}
				}
			}
		})
	}
}
