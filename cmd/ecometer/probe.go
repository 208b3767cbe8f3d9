package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/collection"
)

// redfishPasswordEnv is read when --password-file is not given.
const redfishPasswordEnv = "ECOMETER_REDFISH_PASSWORD"

func newProbeCommand() *cli.Command {
	return &cli.Command{
		Name:  "probe",
		Usage: "read a device once and show every power reading and where it came from",
		UsageText: "ecometer probe [SNMP options] HOST\n" +
			"ecometer probe [Redfish options] redfish://HOST[:PORT]",
		Description: "Onboarding check for a new device. The argument decides the protocol:\n" +
			"HOST (or HOST:PORT) is SNMP; redfish://HOST[:PORT] or https://… is Redfish over\n" +
			"HTTPS (http://… for labs and the simulator).\n\n" +
			"SNMP: detects the profile from sysObjectID and prints every reading with its\n" +
			"meter, unit, value and source OID. Redfish: prints every power reading with its\n" +
			"resource path and source, the systems' power state and allowed reset types.\n\n" +
			"Secrets are references: --community env:NAME or file:/path (a literal community\n" +
			"works but warns: it stays in your shell history), --v3-auth-key and --v3-priv-key\n" +
			"env:NAME or file:/path only; the Redfish password comes from --password-file or\n" +
			"$" + redfishPasswordEnv + ".\n\n" +
			"Exits 1 with one line saying what to check on a timeout, a refused connection,\n" +
			"refused credentials or a device no profile matches, and when no power reading\n" +
			"was found: SNMP names every candidate profile tried and what it read, Redfish\n" +
			"says per chassis why it has none.\n\n" +
			"Examples:\n" +
			"   ecometer probe 10.0.0.21 --community env:PDU_COMMUNITY\n" +
			"   ecometer probe 10.0.0.22 --v3-user ecometer --v3-auth-proto SHA256 --v3-auth-key file:/etc/ecometer/auth \\\n" +
			"       --v3-priv-proto AES --v3-priv-key file:/etc/ecometer/priv --json\n" +
			"   ecometer probe redfish://10.0.1.5 --user monitor --password-file /etc/ecometer/bmc.pw --ca /etc/ecometer/bmc-ca.pem",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "port", Usage: "SNMP UDP `PORT`", Value: 161},
			&cli.StringFlag{Name: "community", Usage: "SNMP v1/v2c community: env:NAME, file:/path (or a literal, with a warning)"},
			&cli.StringFlag{Name: "snmp-version", Usage: "SNMP version: 1, 2c or 3 (default 2c, or 3 with --v3-user)"},
			&cli.StringFlag{Name: "v3-user", Usage: "SNMPv3 `USER`"},
			&cli.StringFlag{Name: "v3-auth-proto", Usage: "SNMPv3 auth protocol: SHA, SHA224, SHA256, SHA384, SHA512"},
			&cli.StringFlag{Name: "v3-auth-key", Usage: "SNMPv3 auth passphrase: env:NAME or file:/path"},
			&cli.StringFlag{Name: "v3-priv-proto", Usage: "SNMPv3 privacy protocol: AES, AES192, AES256, AES192C, AES256C"},
			&cli.StringFlag{Name: "v3-priv-key", Usage: "SNMPv3 privacy passphrase: env:NAME or file:/path"},
			&cli.StringFlag{Name: "profile", Usage: "use profile `NAME` instead of detecting one"},
			&cli.StringFlag{Name: "profiles-dir", Usage: "add the profiles (*.yaml) in `DIR` to the built-in ones"},
			&cli.StringFlag{Name: "user", Usage: "Redfish `USER`"},
			&cli.StringFlag{Name: "auth", Usage: "Redfish login: session (X-Auth-Token) or basic (for BMCs that refuse sessions)", Value: "session"},
			&cli.StringFlag{Name: "password-file", Usage: "Redfish password `FILE` (default: $" + redfishPasswordEnv + ")"},
			&cli.StringFlag{Name: "ca", Usage: "Redfish: PEM `FILE` of the CAs to trust for the BMC"},
			&cli.BoolFlag{Name: "insecure-skip-verify", Usage: "Redfish: do not verify the BMC's certificate (labs only)"},
			&cli.DurationFlag{Name: "timeout", Usage: "per request (default 2s for SNMP, 10s for Redfish)", HideDefault: true},
			&cli.IntFlag{Name: "retries", Usage: "SNMP retries after a timeout", Value: 1},
			&cli.BoolFlag{Name: "json", Usage: "print JSON"},
		},
		Action: func(ctx context.Context, cmd *cli.Command) error {
			target, err := oneArg(cmd, "HOST")
			if err != nil {
				return err
			}
			return runProbe(ctx, probeOptions{
				Target:       target,
				Port:         cmd.Int("port"),
				PortSet:      cmd.IsSet("port"),
				Community:    cmd.String("community"),
				Version:      cmd.String("snmp-version"),
				V3User:       cmd.String("v3-user"),
				V3AuthProto:  cmd.String("v3-auth-proto"),
				V3AuthKey:    cmd.String("v3-auth-key"),
				V3PrivProto:  cmd.String("v3-priv-proto"),
				V3PrivKey:    cmd.String("v3-priv-key"),
				Profile:      cmd.String("profile"),
				ProfilesDir:  cmd.String("profiles-dir"),
				User:         cmd.String("user"),
				PasswordFile: cmd.String("password-file"),
				Auth:         cmd.String("auth"),
				CAFile:       cmd.String("ca"),
				Insecure:     cmd.Bool("insecure-skip-verify"),
				Timeout:      cmd.Duration("timeout"),
				Retries:      cmd.Int("retries"),
				JSON:         cmd.Bool("json"),
			}, streamsOf(cmd))
		},
	}
}

type probeOptions struct {
	// Target is HOST or HOST:PORT (SNMP), or redfish://, https:// or http:// (Redfish).
	Target string
	Port   int
	// PortSet says --port was given (so HOST:PORT may not disagree with it).
	PortSet bool

	Community   string // reference (or literal)
	Version     string
	V3User      string
	V3AuthProto string
	V3AuthKey   string // reference
	V3PrivProto string
	V3PrivKey   string // reference
	Profile     string
	ProfilesDir string

	User         string
	PasswordFile string
	Auth         string // session (default) or basic
	CAFile       string
	Insecure     bool

	Timeout time.Duration
	Retries int
	JSON    bool
}

func runProbe(ctx context.Context, opts probeOptions, s streams) error {
	if u, ok := redfishEndpoint(opts.Target); ok {
		return probeRedfish(ctx, u, opts, s)
	}
	if strings.Contains(opts.Target, "://") {
		return usageErrorf("probe: %q: want HOST for SNMP, or redfish://HOST[:PORT] or https://HOST[:PORT] for Redfish", opts.Target)
	}
	return probeSNMP(ctx, opts, s)
}

// redfishEndpoint turns the probe argument into the collector's endpoint:
// redfish:// means HTTPS.
func redfishEndpoint(target string) (string, bool) {
	scheme, rest, ok := strings.Cut(target, "://")
	if !ok {
		return "", false
	}
	switch strings.ToLower(scheme) {
	case "redfish", "https":
		return "https://" + rest, true
	case "http":
		return "http://" + rest, true
	}
	return "", false
}

// snmpConn is how to reach an SNMP device, from the flags shared by probe
// and bench: the secrets resolved, the literal community warned about.
type snmpConn struct {
	Version   snmp.Version
	Community string
	V3        *snmp.V3Auth
}

// snmpCredentials resolves the SNMP credential flags. The values are never
// printed; a literal community draws a warning on w.
func snmpCredentials(cmd string, opts probeOptions, w io.Writer) (snmpConn, error) {
	var c snmpConn
	version := opts.Version
	if version == "" {
		version = "2c"
		if opts.V3User != "" {
			version = "3"
		}
	}
	switch snmp.Version(version) {
	case snmp.V1, snmp.V2c:
		if opts.V3User != "" || opts.V3AuthKey != "" || opts.V3PrivKey != "" {
			return c, usageErrorf("%s: --v3-* options need --snmp-version 3 (got %s)", cmd, version)
		}
		if opts.Community == "" {
			return c, usageErrorf("%s: SNMP v%s needs --community env:NAME or file:/path", cmd, version)
		}
		if !isSecretRef(opts.Community) {
			fmt.Fprintln(w, "ecometer: warning: --community is a literal value; it stays in your shell history and the process list. Prefer env:NAME or file:/path.")
		}
		community, err := resolveSecret("--community", opts.Community)
		if err != nil {
			return c, err
		}
		c.Community = community
	case snmp.V3:
		if opts.V3User == "" {
			return c, usageErrorf("%s: SNMP v3 needs --v3-user", cmd)
		}
		if opts.Community != "" {
			return c, usageErrorf("%s: --community is for SNMP v1/v2c; v3 uses --v3-user and keys", cmd)
		}
		a := &snmp.V3Auth{User: opts.V3User, AuthProtocol: opts.V3AuthProto, PrivProtocol: opts.V3PrivProto}
		var err error
		if a.AuthPass, err = v3Key(cmd, "--v3-auth-key", opts.V3AuthKey, opts.V3AuthProto); err != nil {
			return c, err
		}
		if a.PrivPass, err = v3Key(cmd, "--v3-priv-key", opts.V3PrivKey, opts.V3PrivProto); err != nil {
			return c, err
		}
		c.V3 = a
	default:
		return c, usageErrorf("%s: --snmp-version %q: want 1, 2c or 3", cmd, version)
	}
	c.Version = snmp.Version(version)
	return c, nil
}

// v3Key resolves an SNMPv3 passphrase, which must come by reference and
// goes with its protocol.
func v3Key(cmd, flag, ref, proto string) (string, error) {
	switch {
	case ref == "" && proto == "":
		return "", nil
	case ref == "":
		return "", usageErrorf("%s: %s-proto %s needs %s", cmd, strings.TrimSuffix(flag, "-key"), proto, flag)
	case proto == "":
		return "", usageErrorf("%s: %s needs %s-proto", cmd, flag, strings.TrimSuffix(flag, "-key"))
	case !isSecretRef(ref):
		return "", usageErrorf("%s: %s must be a reference, env:NAME or file:/path (a literal key would stay in your shell history)", cmd, flag)
	}
	return resolveSecret(flag, ref)
}

func isSecretRef(s string) bool {
	return strings.HasPrefix(s, "env:") || strings.HasPrefix(s, "file:")
}

// resolveSecret reads a secret given on the command line. Its errors name
// the reference, never the value.
func resolveSecret(flag, text string) (string, error) {
	sec, err := config.ParseSecret(text)
	if err != nil {
		return "", usageErrorf("%s: %v", flag, err)
	}
	v, err := sec.Resolve()
	if err != nil {
		return "", usageErrorf("%s: %v", flag, err)
	}
	return v, nil
}

// snmpHostPort splits HOST[:PORT]; a bare IPv6 address is a host.
func snmpHostPort(target string, port int, portSet bool) (string, uint16, error) {
	host := target
	if h, p, err := net.SplitHostPort(target); err == nil {
		n, err := strconv.ParseUint(p, 10, 16)
		if err != nil || n == 0 {
			return "", 0, usageErrorf("probe: %q: invalid port %q", target, p)
		}
		if portSet && int(n) != port {
			return "", 0, usageErrorf("probe: %q names port %d but --port is %d", target, n, port)
		}
		host, port = h, int(n)
	}
	if host == "" {
		return "", 0, usageErrorf("probe: empty host")
	}
	if port <= 0 || port > 65535 {
		return "", 0, usageErrorf("probe: --port %d: want 1-65535", port)
	}
	return host, uint16(port), nil
}

func probeSNMP(ctx context.Context, opts probeOptions, s streams) error {
	if opts.User != "" || opts.PasswordFile != "" || opts.CAFile != "" || opts.Insecure {
		return usageErrorf("probe: --user, --password-file, --ca and --insecure-skip-verify are for Redfish (redfish://HOST)")
	}
	host, port, err := snmpHostPort(opts.Target, opts.Port, opts.PortSet)
	if err != nil {
		return err
	}
	cred, err := snmpCredentials("probe", opts, s.ErrOut)
	if err != nil {
		return err
	}
	reg, err := loadProfiles(opts.ProfilesDir)
	if err != nil {
		return err
	}
	if opts.Profile != "" {
		if _, ok := reg.Lookup(opts.Profile); !ok {
			return usageErrorf("probe: no profile named %q (profiles: %s)", opts.Profile, profileNames(reg))
		}
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	res, err := snmp.Probe(ctx, snmp.ProbeOptions{
		Addr: host, Port: port, Version: cred.Version, Community: cred.Community, V3: cred.V3,
		Profile: opts.Profile, Timeout: timeout, Retries: collection.Retries(opts.Retries), Profiles: reg,
	})
	if err != nil {
		return snmpProbeError(net.JoinHostPort(host, strconv.Itoa(int(port))), cred.Version, timeout, opts.Retries, err)
	}
	if err := snmp.WriteProbe(s.Out, res, opts.JSON); err != nil {
		return err
	}
	if res.Power == 0 {
		// Printed above in full; the exit code tells a script the device
		// cannot be accounted as it is.
		return fmt.Errorf("probe %s: no power reading: %s", net.JoinHostPort(host, strconv.Itoa(int(port))), snmp.NoPowerReason(res.Candidates))
	}
	return nil
}

func loadProfiles(dir string) (*snmp.Registry, error) {
	if dir == "" {
		return snmp.Embedded()
	}
	reg, err := snmp.LoadDir(dir)
	if err != nil {
		return nil, &exitError{code: exitBadUse, err: fmt.Errorf("--profiles-dir %s: %w", dir, err)}
	}
	return reg, nil
}

func profileNames(reg *snmp.Registry) string {
	var names []string
	for _, p := range reg.Profiles() {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}

// snmpProbeError says, in one line, what went wrong and what to check.
func snmpProbeError(addr string, v snmp.Version, timeout time.Duration, retries int, err error) error {
	tries := "1 try"
	if retries > 0 {
		tries = fmt.Sprintf("%d tries", 1+retries)
	}
	var dns *net.DNSError
	switch {
	case errors.As(err, &dns):
		return fmt.Errorf("probe %s: the host name does not resolve (DNS: %s): check the name, or use the device's IP address", addr, dns.Err)
	case errors.Is(err, snmp.ErrAuth):
		return fmt.Errorf("probe %s: the SNMPv3 agent refused the credentials: check --v3-user, the protocols and both keys", addr)
	case errors.Is(err, snmp.ErrTimeout):
		hint := "the community (v1/v2c agents silently ignore a wrong one)"
		if v == snmp.V3 {
			hint = "the v3 user and security level"
		}
		return fmt.Errorf("probe %s: no answer within %s (%s): check the address and port, that an SNMP agent runs there and accepts this host, and %s", addr, timeout, tries, hint)
	case errors.Is(err, snmp.ErrUnreachable):
		return fmt.Errorf("probe %s: connection refused (nothing listens on that UDP port): check the address and --port", addr)
	case errors.Is(err, snmp.ErrUnknownDevice):
		detail := err.Error()
		if _, after, ok := strings.Cut(detail, snmp.ErrUnknownDevice.Error()); ok {
			detail = strings.TrimSpace(after)
		}
		return fmt.Errorf("probe %s: no profile matches the device %s: name one with --profile, or add one with --profiles-dir", addr, detail)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("probe %s: interrupted", addr)
	}
	return fmt.Errorf("probe %s: %w", addr, err)
}

func probeRedfish(ctx context.Context, endpoint string, opts probeOptions, s streams) error {
	if opts.Community != "" || opts.V3User != "" || opts.V3AuthKey != "" || opts.V3PrivKey != "" ||
		opts.Version != "" || opts.Profile != "" || opts.ProfilesDir != "" || opts.PortSet {
		return usageErrorf("probe: --port, --community, --snmp-version, --v3-*, --profile and --profiles-dir are for SNMP; give the Redfish port in the URL")
	}
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return usageErrorf("probe: %q: want redfish://HOST[:PORT] (no user, no path)", opts.Target)
	}
	password, err := redfishPassword(opts.User, opts.PasswordFile)
	if err != nil {
		return err
	}
	if opts.Auth != "" && opts.Auth != "session" && opts.Auth != "basic" {
		return usageErrorf("probe: --auth %q: want session or basic", opts.Auth)
	}
	res, err := redfish.Probe(ctx, redfish.Options{
		Endpoint: u.Scheme + "://" + u.Host, Username: opts.User, Password: password, BasicAuth: opts.Auth == "basic",
		CAFile: opts.CAFile, InsecureSkipVerify: opts.Insecure, Timeout: opts.Timeout,
		Logger: warnLogger(s.ErrOut),
	})
	if err != nil {
		return redfishProbeError(u, opts.Timeout, err)
	}
	if err := redfish.WriteProbe(s.Out, res, opts.JSON); err != nil {
		return err
	}
	if why := res.NoPowerReason(); why != "" {
		return fmt.Errorf("probe %s: no power reading: %s", u.Scheme+"://"+u.Host, why)
	}
	return nil
}

// redfishPassword reads the password from the file, or else the
// environment; it is needed exactly when a user is given.
func redfishPassword(user, file string) (string, error) {
	switch {
	case user == "" && file != "":
		return "", usageErrorf("--password-file needs --user")
	case user == "":
		return "", nil
	case file != "":
		return resolveSecret("--password-file", "file:"+file)
	}
	if _, ok := os.LookupEnv(redfishPasswordEnv); !ok {
		return "", usageErrorf("--user %s needs a password: --password-file FILE or $%s", user, redfishPasswordEnv)
	}
	return resolveSecret("$"+redfishPasswordEnv, "env:"+redfishPasswordEnv)
}

// warnLogger prints the collectors' warnings (e.g. TLS verification off)
// to stderr, without timestamps.
func warnLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: slog.LevelWarn,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// redfishProbeError says, in one line, what went wrong and what to check.
func redfishProbeError(u *url.URL, timeout time.Duration, err error) error {
	addr := u.Scheme + "://" + u.Host
	var se *redfish.StatusError
	var unknownCA x509.UnknownAuthorityError
	var badHost x509.HostnameError
	var certErr *tls.CertificateVerificationError
	var netErr net.Error
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if h := redfish.Hint(err, u.Scheme); h != "" {
		return fmt.Errorf("probe %s: %s", addr, h)
	}
	switch {
	case errors.As(err, &se) && (se.Status == 401 || se.Status == 403):
		return fmt.Errorf("probe %s: the BMC refused the login (HTTP %d): check --user and the password (--password-file or $%s)", addr, se.Status, redfishPasswordEnv)
	case errors.As(err, &badHost):
		return fmt.Errorf("probe %s: the BMC's certificate is not valid for %s (%v): use the name in the certificate, or --insecure-skip-verify in a lab", addr, u.Hostname(), badHost.Error())
	case errors.As(err, &unknownCA), errors.As(err, &certErr):
		return fmt.Errorf("probe %s: the BMC's certificate is not trusted: pass its CA with --ca FILE, or --insecure-skip-verify in a lab", addr)
	case errors.Is(err, syscall.ECONNREFUSED):
		return fmt.Errorf("probe %s: connection refused: check the address and port, and that the BMC's Redfish service is enabled", addr)
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &netErr) && netErr.Timeout():
		return fmt.Errorf("probe %s: no answer within %s: check the address and port, and that the BMC is up (some are slow: try --timeout 30s)", addr, timeout)
	case errors.As(err, &se):
		return fmt.Errorf("probe %s: the BMC answered HTTP %d%s", addr, se.Status, bodySuffix(se.Body))
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("probe %s: interrupted", addr)
	}
	return fmt.Errorf("probe %s: %w", addr, err)
}

func bodySuffix(body string) string {
	if body == "" {
		return ""
	}
	return ": " + body
}
