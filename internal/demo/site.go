package demo

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"net"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/parser"

	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/collection"
	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// Names of the files the demo writes beside its site.yaml.
const (
	ConfigFile   = "site.yaml"
	CAFile       = "bmc-ca.pem"
	PasswordFile = "bmc-password"
	// BMCUser is the simulated BMCs' account; the password is random per run.
	BMCUser = "ecometer"
)

// Clock is the simulators' clock: driven to the poll times while the demo
// collects, the wall clock otherwise.
type Clock struct{ driven atomic.Int64 }

// Now is the driven time, or the wall clock.
func (c *Clock) Now() time.Time {
	if ns := c.driven.Load(); ns != 0 {
		return time.Unix(0, ns)
	}
	return time.Now()
}

// Drive sets the time; the zero time returns to the wall clock.
func (c *Clock) Drive(t time.Time) {
	if t.IsZero() {
		c.driven.Store(0)
		return
	}
	c.driven.Store(t.UnixNano())
}

// BMC is one simulated server's Redfish service.
type BMC struct {
	Device string
	URL    string // https://127.0.0.1:PORT
	Mockup string // examples/demo/redfish/<Mockup>
	srv    *http.Server
	done   chan error
}

// Site is the simulated site on loopback and its effective configuration.
type Site struct {
	// Agent serves every SNMP device; a device answers to the community
	// named after its recording.
	Agent *simsnmp.Agent
	// SNMP lists each SNMP device's community (its recording's name).
	SNMP []SNMPDevice
	BMCs []*BMC
	// Config is the effective configuration, loaded from ConfigPath the way
	// every command loads it.
	Config     *config.Config
	ConfigPath string
	CAPath     string
	// PasswordPath holds the BMCs' password (the config reads it as
	// file:PasswordPath).
	PasswordPath string
	Clock        *Clock
}

// SNMPDevice is one device of the SNMP agent.
type SNMPDevice struct {
	Device, Community, Profile string
}

// Close stops the simulators.
func (s *Site) Close() error {
	var err error
	for _, b := range s.BMCs {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if e := b.srv.Shutdown(ctx); e != nil {
			b.srv.Close()
		}
		cancel()
		if e := <-b.done; e != nil && !errors.Is(e, http.ErrServerClosed) {
			err = errors.Join(err, e)
		}
	}
	s.BMCs = nil
	if s.Agent != nil {
		err = errors.Join(err, s.Agent.Close())
		s.Agent = nil
	}
	return err
}

// startSite starts the SNMP agent with every recording of assets
// (demo/*.snmprec) and a BMC per Redfish device of the template (served from
// demo/redfish/<device>), all on 127.0.0.1, and writes the effective config
// (the template with the simulators' addresses, the certificate, the
// password file and the data directory filled in) into dir. The
// simulators' clock starts at clock; wall is the time the file is written.
// A boavizta file (absolute) becomes report.boavizta_file: the class
// defaults of the report's embodied section.
func startSite(ctx context.Context, template []byte, assets fs.FS, dir string, clock, wall time.Time, boavizta string) (_ *Site, err error) {
	tmpl, err := config.Parse("examples/demo/site.yaml", template)
	if err != nil {
		return nil, fmt.Errorf("demo: the embedded examples/demo/site.yaml is invalid: %w", err)
	}
	site := &Site{Clock: &Clock{}}
	defer func() {
		if err != nil {
			site.Close()
		}
	}()
	site.Clock.Drive(clock)

	// One SNMP agent for every recording; the controls make outlets and PoE
	// ports switchable, for power status and the controller.
	files, err := fs.Glob(assets, "demo/*.snmprec")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("demo: no SNMP recordings embedded (%v)", err)
	}
	var recs []*simsnmp.Recording
	for _, f := range files {
		b, err := fs.ReadFile(assets, f)
		if err != nil {
			return nil, err
		}
		r, err := simsnmp.Parse(strings.TrimSuffix(path.Base(f), ".snmprec"), strings.NewReader(string(b)))
		if err != nil {
			return nil, fmt.Errorf("demo: %s: %w", f, err)
		}
		recs = append(recs, r)
	}
	reg, err := snmp.Embedded()
	if err != nil {
		return nil, err
	}
	// Power readings swing by a few percent, as a real load does from
	// minute to minute.
	site.Agent, err = simsnmp.Start(ctx, simsnmp.Options{Listen: "127.0.0.1:0", Recordings: recs, Now: site.Clock.Now,
		Controls: simsnmp.DefaultControls(), Variation: &simsnmp.Variation{Seed: 14, Pct: 4, Power: powerOIDs(reg)}})
	if err != nil {
		return nil, fmt.Errorf("demo: start the SNMP simulator: %w", err)
	}

	// The BMCs share one self-signed certificate, which the config trusts
	// (redfish.ca_file): TLS verification stays on.
	cert, certPEM, err := simredfish.SelfSignedCert(time.Now())
	if err != nil {
		return nil, err
	}
	site.CAPath = filepath.Join(dir, CAFile)
	if err := os.WriteFile(site.CAPath, certPEM, 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	password, err := randomPassword()
	if err != nil {
		return nil, err
	}
	if site.PasswordPath, err = filepath.Abs(filepath.Join(dir, PasswordFile)); err != nil {
		return nil, err
	}
	if err := os.WriteFile(site.PasswordPath, []byte(password+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}

	edits := map[string]any{"$.storage.data_dir": "data"}
	for i, d := range tmpl.Devices {
		at := fmt.Sprintf("$.devices[%d]", i)
		switch d.Protocol {
		case config.ProtocolSNMP:
			community, err := d.SNMP.Community.Resolve()
			if err != nil {
				return nil, fmt.Errorf("demo: %s: %w", d.Name, err)
			}
			site.SNMP = append(site.SNMP, SNMPDevice{Device: d.Name, Community: community, Profile: d.Profile})
			edits[at+".address"] = site.Agent.Addr().Addr().String()
			edits[at+".snmp.port"] = int(site.Agent.Addr().Port())
		case config.ProtocolRedfish:
			b, err := startBMC(assets, d.Name, password, cert, site.Clock.Now)
			if err != nil {
				return nil, err
			}
			site.BMCs = append(site.BMCs, b)
			edits[at+".address"] = b.URL
			edits[at+".redfish.password"] = "file:" + site.PasswordPath
			edits[at+".redfish.ca_file"] = CAFile
			edits[at+".redfish.user"] = BMCUser
		}
	}
	out, err := fillIn(template, edits)
	if err != nil {
		return nil, err
	}
	if boavizta != "" {
		line := fmt.Sprintf("\nreport:\n  boavizta_file: %s   # ecometer demo --boavizta\n", strconv.Quote(boavizta))
		if !bytes.Contains(out, []byte("\nreport:\n")) {
			return nil, errors.New("demo: examples/demo/site.yaml has no report section for --boavizta")
		}
		out = bytes.Replace(out, []byte("\nreport:\n"), []byte(line), 1)
	}
	header := fmt.Sprintf("# Written by `ecometer demo` on %s from examples/demo/site.yaml, with the\n"+
		"# simulators' addresses filled in. They run while `ecometer demo --keep` runs.\n", wall.UTC().Format(time.RFC3339))
	site.ConfigPath = filepath.Join(dir, ConfigFile)
	if err := os.WriteFile(site.ConfigPath, append([]byte(header), out...), 0o644); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	// Loaded as every command loads it: the printed commands take this file.
	if site.Config, err = collection.Load(site.ConfigPath); err != nil {
		return nil, fmt.Errorf("demo: the effective config is invalid (a defect of the demo):\n%w", err)
	}
	return site, nil
}

// startBMC serves demo/redfish/<device> over HTTPS on a free loopback port.
func startBMC(assets fs.FS, device, password string, cert tls.Certificate, now func() time.Time) (*BMC, error) {
	tree, err := fs.Sub(assets, "demo/redfish/"+device)
	if err != nil {
		return nil, err
	}
	m, err := simredfish.LoadFS(tree, "examples/demo/redfish/"+device)
	if err != nil {
		return nil, fmt.Errorf("demo: %s: %w (every Redfish device of examples/demo/site.yaml needs a mockup of its name)", device, err)
	}
	bmc, err := simredfish.New(simredfish.Options{Mockup: m, Username: BMCUser, Password: password, Now: now})
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("demo: BMC %s: %w", device, err)
	}
	ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	b := &BMC{Device: device, URL: "https://" + ln.Addr().String(), Mockup: device, done: make(chan error, 1),
		// A client that does not trust the certificate (curl without
		// --cacert) is its own business, not the demo's output.
		srv: &http.Server{Handler: bmc, ReadHeaderTimeout: 10 * time.Second, ErrorLog: log.New(discard{}, "", 0)}}
	go func() { b.done <- b.srv.Serve(ln) }()
	return b, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// fillIn sets the values at the YAML paths of edits in the template,
// keeping its comments.
func fillIn(template []byte, edits map[string]any) ([]byte, error) {
	f, err := parser.ParseBytes(template, parser.ParseComments)
	if err != nil {
		return nil, err
	}
	for at, v := range edits {
		p, err := yaml.PathString(at)
		if err != nil {
			return nil, err
		}
		node, err := yaml.ValueToNode(v)
		if err != nil {
			return nil, err
		}
		if err := p.ReplaceWithNode(f, node); err != nil {
			return nil, fmt.Errorf("demo: examples/demo/site.yaml: set %s: %w", at, err)
		}
	}
	return []byte(f.String() + "\n"), nil
}

// powerOIDs are the OIDs the simulator varies: what the profiles read as
// power, apparent power or current.
func powerOIDs(reg *snmp.Registry) []simsnmp.OID {
	var out []simsnmp.OID
	for _, o := range reg.PowerOIDs() {
		if oid, err := simsnmp.ParseOID(o); err == nil {
			out = append(out, oid)
		}
	}
	return out
}
