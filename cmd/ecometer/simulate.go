package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/gosnmp/gosnmp"
	"github.com/urfave/cli/v3"

	"github.com/ecometer/ecometer/collectors/snmp"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

func newSimulateCommand() *cli.Command {
	faults := make([]string, len(simredfish.Faults))
	for i, f := range simredfish.Faults {
		faults[i] = string(f)
	}
	return &cli.Command{
		Name:      "simulate",
		Usage:     "serve recorded SNMP devices or a Redfish BMC mockup, for trying ecometer without hardware",
		UsageText: "ecometer simulate <snmp|redfish> [options]",
		Description: "Runs until Ctrl-C. Listens on loopback unless told otherwise.\n\n" +
			"Examples:\n" +
			"   ecometer simulate snmp --dir ../shared/corpus/snmp\n" +
			"   ecometer simulate redfish --mockup ../shared/corpus/redfish/public-rackmount1",
		Commands: []*cli.Command{
			{
				Name:      "snmp",
				Usage:     "serve every .snmprec recording in a folder as an SNMP agent (community = file name)",
				UsageText: "ecometer simulate snmp --dir DIR [--listen ADDR] [--variation PCT] [--v3-user USER …]",
				Description: "Answers GET, GETNEXT and GETBULK from the recordings (snmpsim's .snmprec format),\n" +
					"and SET on outlet and PoE port controls. v1/v2c: the community picks the recording;\n" +
					"v3: the context name does (or the only recording, with an empty context).\n" +
					"--variation makes power and current values swing by up to ±PCT % and counters grow.\n\n" +
					"Examples:\n" +
					"   ecometer simulate snmp --dir ../shared/corpus/snmp --listen 127.0.0.1:1161\n" +
					"   ecometer simulate snmp --dir ./recordings --variation 10 \\\n" +
					"       --v3-user lab --v3-auth-proto SHA256 --v3-auth-key env:AUTH --v3-priv-proto AES --v3-priv-key env:PRIV",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "dir", Usage: "folder of *.snmprec recordings", Required: true},
					&cli.StringFlag{Name: "listen", Usage: "UDP `ADDRESS` to listen on", Value: "127.0.0.1:1161"},
					&cli.FloatFlag{Name: "variation", Usage: "swing power values by up to ±`PCT` percent (0: as recorded)"},
					&cli.StringFlag{Name: "v3-user", Usage: "accept SNMPv3 as `USER`"},
					&cli.StringFlag{Name: "v3-auth-proto", Usage: "SNMPv3 auth protocol: SHA, SHA224, SHA256, SHA384, SHA512"},
					&cli.StringFlag{Name: "v3-auth-key", Usage: "SNMPv3 auth passphrase: env:NAME or file:/path"},
					&cli.StringFlag{Name: "v3-priv-proto", Usage: "SNMPv3 privacy protocol: AES, AES192, AES256, AES192C, AES256C"},
					&cli.StringFlag{Name: "v3-priv-key", Usage: "SNMPv3 privacy passphrase: env:NAME or file:/path"},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
					defer stop()
					return runSimulateSNMP(ctx, simulateSNMPOptions{
						Dir:         cmd.String("dir"),
						Listen:      cmd.String("listen"),
						Variation:   cmd.Float("variation"),
						V3User:      cmd.String("v3-user"),
						V3AuthProto: cmd.String("v3-auth-proto"),
						V3AuthKey:   cmd.String("v3-auth-key"),
						V3PrivProto: cmd.String("v3-priv-proto"),
						V3PrivKey:   cmd.String("v3-priv-key"),
					}, streamsOf(cmd))
				},
			},
			{
				Name:      "redfish",
				Usage:     "serve a Redfish mockup folder as a BMC with sessions, power actions and fault modes",
				UsageText: "ecometer simulate redfish --mockup DIR [--listen ADDR] [--tls] [--user USER --password-file FILE] [--fault NAME]…",
				Description: "Serves a DMTF mockup tree (/redfish/v1/X is X/index.json) over HTTP, or HTTPS with\n" +
					"--tls (a fresh self-signed certificate for 127.0.0.1, ::1 and localhost; --cert-out\n" +
					"saves it for probe --ca). The account is admin / password unless --user and\n" +
					"--password-file (or $" + redfishPasswordEnv + ") say otherwise.\n" +
					"Fault modes: " + strings.Join(faults, ", ") + ".\n\n" +
					"Examples:\n" +
					"   ecometer simulate redfish --mockup ../shared/corpus/redfish/public-rackmount1\n" +
					"   ecometer simulate redfish --mockup ./mockup --tls --cert-out /tmp/bmc.pem --fault legacy-only",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "mockup", Usage: "mockup `DIR` (holding index.json of /redfish/v1)", Required: true},
					&cli.StringFlag{Name: "listen", Usage: "TCP `ADDRESS` to listen on", Value: "127.0.0.1:8000"},
					&cli.BoolFlag{Name: "tls", Usage: "serve HTTPS with a self-signed certificate"},
					&cli.StringFlag{Name: "cert-out", Usage: "with --tls, write the certificate (PEM) to `FILE`"},
					&cli.StringFlag{Name: "user", Usage: "the account's `USER` (default admin)"},
					&cli.StringFlag{Name: "password-file", Usage: "the account's password `FILE` (default: $" + redfishPasswordEnv + ")"},
					&cli.StringSliceFlag{Name: "fault", Usage: "fault mode `NAME` (repeatable): " + strings.Join(faults, ", ")},
				},
				Action: func(ctx context.Context, cmd *cli.Command) error {
					ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
					defer stop()
					return runSimulateRedfish(ctx, simulateRedfishOptions{
						Mockup:       cmd.String("mockup"),
						Listen:       cmd.String("listen"),
						TLS:          cmd.Bool("tls"),
						CertOut:      cmd.String("cert-out"),
						User:         cmd.String("user"),
						PasswordFile: cmd.String("password-file"),
						Faults:       cmd.StringSlice("fault"),
					}, streamsOf(cmd))
				},
			},
		},
	}
}

type simulateSNMPOptions struct {
	Dir         string
	Listen      string
	Variation   float64
	V3User      string
	V3AuthProto string
	V3AuthKey   string // reference
	V3PrivProto string
	V3PrivKey   string // reference
	// Started, if set, is called with the bound address once serving (tests).
	Started func(addr string)
}

// runSimulateSNMP serves until ctx ends.
func runSimulateSNMP(ctx context.Context, opts simulateSNMPOptions, s streams) error {
	recs, err := loadRecordings(opts.Dir)
	if err != nil {
		return err
	}
	if opts.Variation < 0 || opts.Variation > 100 {
		return usageErrorf("simulate snmp: --variation %g: want 0-100 (percent)", opts.Variation)
	}
	var users []simsnmp.V3User
	if opts.V3User != "" {
		u, err := simV3User(opts)
		if err != nil {
			return err
		}
		users = append(users, u)
	} else if opts.V3AuthKey != "" || opts.V3PrivKey != "" || opts.V3AuthProto != "" || opts.V3PrivProto != "" {
		return usageErrorf("simulate snmp: the --v3-* options need --v3-user")
	}
	var vary *simsnmp.Variation
	if opts.Variation > 0 {
		reg, err := snmp.Embedded()
		if err != nil {
			return err
		}
		vary = &simsnmp.Variation{Seed: 1, Pct: opts.Variation, Power: powerPrefixes(reg)}
	}
	agent, err := simsnmp.Start(ctx, simsnmp.Options{Listen: opts.Listen, Recordings: recs, Users: users,
		Controls: simsnmp.DefaultControls(), Variation: vary})
	if err != nil {
		return err
	}
	defer agent.Close()
	addr := agent.Addr()
	fmt.Fprintf(s.Out, "ecometer simulate snmp: %s on udp %s (Ctrl-C to stop)\n", plural(len(recs), "recording"), addr)
	if !addr.Addr().IsLoopback() {
		fmt.Fprintf(s.ErrOut, "ecometer: warning: %s is not a loopback address; anyone who can reach it can read and switch the simulated devices\n", addr)
	}
	if vary != nil {
		fmt.Fprintf(s.Out, "power and current values vary by up to ±%g %%, counters grow\n", opts.Variation)
	}
	if len(users) > 0 {
		fmt.Fprintf(s.Out, "SNMPv3 user %q (%s); the context name picks the recording\n", users[0].Name, securityLevel(users[0]))
	}
	fmt.Fprintln(s.Out, "communities:")
	for _, r := range recs {
		fmt.Fprintf(s.Out, "  %s\n", r.Name)
	}
	fmt.Fprintf(s.Out, "try: ecometer probe %s --port %d --community %s\n", addr.Addr(), addr.Port(), recs[0].Name)
	if opts.Started != nil {
		opts.Started(addr.String())
	}
	<-ctx.Done()
	fmt.Fprintln(s.Out, "stopped")
	return nil
}

// loadRecordings parses every *.snmprec in dir, sorted by name.
func loadRecordings(dir string) ([]*simsnmp.Recording, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.snmprec"))
	if err != nil {
		return nil, usageErrorf("--dir %s: %v", dir, err)
	}
	if len(files) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return nil, usageErrorf("--dir: %v", err)
		}
		return nil, usageErrorf("--dir %s: no *.snmprec recordings in it", dir)
	}
	slices.Sort(files)
	recs := make([]*simsnmp.Recording, 0, len(files))
	for _, f := range files {
		rec, err := loadRecording(f)
		if err != nil {
			return nil, err
		}
		recs = append(recs, rec)
	}
	return recs, nil
}

func loadRecording(file string) (*simsnmp.Recording, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, &exitError{code: exitBadUse, err: err}
	}
	defer f.Close()
	rec, err := simsnmp.Parse(filepath.Base(file), f)
	if err != nil {
		return nil, &exitError{code: exitBadUse, err: err}
	}
	return rec, nil
}

// simV3User builds the simulator's v3 user from the same flags, and rules,
// as probe's.
func simV3User(opts simulateSNMPOptions) (simsnmp.V3User, error) {
	u := simsnmp.V3User{Name: opts.V3User}
	var err error
	if u.Auth, err = snmp.AuthProtocol(opts.V3AuthProto); err != nil {
		return u, usageErrorf("simulate snmp: --v3-auth-proto: %v", err)
	}
	if u.Priv, err = snmp.PrivProtocol(opts.V3PrivProto); err != nil {
		return u, usageErrorf("simulate snmp: --v3-priv-proto: %v", err)
	}
	if u.Priv != gosnmp.NoPriv && u.Auth == gosnmp.NoAuth {
		return u, usageErrorf("simulate snmp: --v3-priv-proto needs --v3-auth-proto")
	}
	if u.AuthPass, err = v3Key("simulate snmp", "--v3-auth-key", opts.V3AuthKey, opts.V3AuthProto); err != nil {
		return u, err
	}
	if u.PrivPass, err = v3Key("simulate snmp", "--v3-priv-key", opts.V3PrivKey, opts.V3PrivProto); err != nil {
		return u, err
	}
	return u, nil
}

func securityLevel(u simsnmp.V3User) string {
	switch {
	case u.Priv != gosnmp.NoPriv:
		return "authPriv"
	case u.Auth != gosnmp.NoAuth:
		return "authNoPriv"
	}
	return "noAuthNoPriv"
}

// powerPrefixes are the OIDs whose values --variation moves: every gauge the
// profiles read in W, VA or A.
func powerPrefixes(reg *snmp.Registry) []simsnmp.OID {
	var out []simsnmp.OID
	for _, o := range reg.PowerOIDs() {
		if oid, err := simsnmp.ParseOID(o); err == nil {
			out = append(out, oid)
		}
	}
	return out
}

type simulateRedfishOptions struct {
	Mockup       string
	Listen       string
	TLS          bool
	CertOut      string
	User         string
	PasswordFile string
	Faults       []string
	// Started, if set, is called with the base URL once serving (tests).
	Started func(url string)
}

// The simulator's account when none is given: well known, for labs only.
const simDefaultUser, simDefaultPassword = "admin", "password"

// runSimulateRedfish serves until ctx ends.
func runSimulateRedfish(ctx context.Context, opts simulateRedfishOptions, s streams) error {
	var faults []simredfish.Fault
	for _, name := range opts.Faults {
		f, err := simredfish.ParseFault(name)
		if err != nil {
			return usageErrorf("simulate redfish: --fault: %v", err)
		}
		faults = append(faults, f)
	}
	if opts.CertOut != "" && !opts.TLS {
		return usageErrorf("simulate redfish: --cert-out needs --tls")
	}
	user, password, account := simDefaultUser, simDefaultPassword, "admin / password (the simulator's default)"
	if opts.User != "" || opts.PasswordFile != "" {
		pw, err := redfishPassword(opts.User, opts.PasswordFile)
		if err != nil {
			return err
		}
		user, password, account = opts.User, pw, fmt.Sprintf("%s (password as given)", opts.User)
	}
	mock, err := simredfish.Load(opts.Mockup)
	if err != nil {
		return &exitError{code: exitBadUse, err: fmt.Errorf("--mockup: %w", err)}
	}
	bmc, err := simredfish.New(simredfish.Options{Mockup: mock, Username: user, Password: password, Faults: faults})
	if err != nil {
		return err
	}
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", opts.Listen)
	if err != nil {
		return fmt.Errorf("simulate redfish: %w", err)
	}
	scheme := "http"
	srv := &http.Server{Handler: bmc, ReadHeaderTimeout: 10 * time.Second}
	if opts.TLS {
		cert, certPEM, err := simredfish.SelfSignedCert(time.Now())
		if err != nil {
			ln.Close()
			return err
		}
		if opts.CertOut != "" {
			if err := os.WriteFile(opts.CertOut, certPEM, 0o644); err != nil {
				ln.Close()
				return fmt.Errorf("simulate redfish: --cert-out: %w", err)
			}
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
		scheme = "https"
	}
	base := scheme + "://" + ln.Addr().String()
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	fmt.Fprintf(s.Out, "ecometer simulate redfish: %s (%d resources) at %s/redfish/v1 (Ctrl-C to stop)\n", opts.Mockup, mock.Paths(), base)
	if tcp, ok := ln.Addr().(*net.TCPAddr); ok && !tcp.IP.IsLoopback() {
		fmt.Fprintf(s.ErrOut, "ecometer: warning: %s is not a loopback address; anyone who can reach it can power the simulated systems off\n", tcp)
	}
	fmt.Fprintf(s.Out, "account: %s\n", account)
	if len(faults) > 0 {
		fmt.Fprintf(s.Out, "faults: %s\n", strings.Join(opts.Faults, ", "))
	}
	try := fmt.Sprintf("try: ecometer probe %s --user %s", base, user)
	if opts.TLS {
		try = fmt.Sprintf("try: ecometer probe redfish://%s --user %s", ln.Addr(), user)
		if opts.CertOut != "" {
			try += " --ca " + opts.CertOut
		} else {
			try += " --insecure-skip-verify"
		}
	}
	fmt.Fprintf(s.Out, "%s  (password from --password-file or $%s)\n", try, redfishPasswordEnv)
	if opts.Started != nil {
		opts.Started(base)
	}

	select {
	case err := <-served:
		return fmt.Errorf("simulate redfish: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		srv.Close() // requests held by the hang fault never finish by themselves
	}
	if err := <-served; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	fmt.Fprintln(s.Out, "stopped")
	return nil
}
