package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"

	simredfish "github.com/ecometer/ecometer/internal/sim/redfish"
	simsnmp "github.com/ecometer/ecometer/internal/sim/snmp"
)

// SimulateOptions configure ServeSimulators, bench serve's child.
type SimulateOptions struct {
	Devices    int      // SNMP agents, one UDP port each
	Dead       int      // UDP ports that read and never answer
	BMCs       int      // Redfish BMCs over HTTPS, one TCP port each
	Recordings []string // served round-robin, one per agent, community = file name
	Mockup     string   // the BMCs' mockup
	CAFile     string   // where the BMCs' certificate is written (PEM)
}

// ServeSimulators is bench serve's child: it starts the devices on
// 127.0.0.1, prints one line per device ("snmp ADDR COMMUNITY", "dead
// ADDR", "bmc URL"), "ca FILE" and "ready", then answers each "stats" line
// on in with its CPU time and peak RSS, until in closes.
func ServeSimulators(ctx context.Context, opts SimulateOptions, in io.Reader, stdout io.Writer) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var recs []*simsnmp.Recording
	for _, f := range opts.Recordings {
		rec, err := loadRecording(f)
		if err != nil {
			return err
		}
		recs = append(recs, rec)
	}
	if opts.Devices > 0 && len(recs) == 0 {
		return usageErrorf("bench serve --simulate: no --recording")
	}
	out := bufio.NewWriter(stdout)
	var closers []func()
	defer func() {
		for _, c := range closers {
			c()
		}
	}()
	for i := range opts.Devices {
		rec := recs[i%len(recs)]
		a, err := simsnmp.Start(ctx, simsnmp.Options{Listen: "127.0.0.1:0", Recordings: []*simsnmp.Recording{rec}})
		if err != nil {
			return fmt.Errorf("bench serve --simulate: agent %d: %w", i, err)
		}
		closers = append(closers, func() { a.Close() })
		fmt.Fprintf(out, "snmp %s %s\n", a.Addr(), rec.Name)
	}
	// Dead devices: the port is bound, so no ICMP "port unreachable" ends
	// the poll early; requests are read and dropped, and the poll times
	// out as it would against a device that is switched off.
	var dead sync.WaitGroup
	for range opts.Dead {
		c, err := net.ListenPacket("udp4", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("bench serve --simulate: dead device: %w", err)
		}
		closers = append(closers, func() { c.Close() })
		dead.Go(func() {
			buf := make([]byte, 1500)
			for {
				if _, _, err := c.ReadFrom(buf); err != nil {
					return
				}
			}
		})
		fmt.Fprintf(out, "dead %s\n", c.LocalAddr())
	}
	if opts.BMCs > 0 {
		mock, err := simredfish.Load(opts.Mockup)
		if err != nil {
			return &UsageError{Err: fmt.Errorf("--mockup: %w", err)}
		}
		var cert []byte
		for range opts.BMCs {
			bmc, err := simredfish.New(simredfish.Options{Mockup: mock, Username: SimUser, Password: SimPassword})
			if err != nil {
				return err
			}
			srv := httptest.NewUnstartedServer(bmc)
			srv.Config.ReadHeaderTimeout = 10 * 1e9
			srv.StartTLS()
			closers = append(closers, srv.Close)
			cert = srv.Certificate().Raw
			fmt.Fprintf(out, "bmc %s\n", srv.URL)
		}
		// httptest's servers share one certificate, valid for 127.0.0.1.
		if err := os.MkdirAll(filepath.Dir(opts.CAFile), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(opts.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o600); err != nil {
			return err
		}
		fmt.Fprintf(out, "ca %s\n", opts.CAFile)
	}
	fmt.Fprintln(out, "ready")
	if err := out.Flush(); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "stats" {
			return fmt.Errorf("bench serve --simulate: unknown command %q on stdin", sc.Text())
		}
		u, err := ReadUsage()
		if err != nil {
			return err
		}
		line, _ := json.Marshal(benchSimStats{CPUSeconds: u.CPU.Seconds(), MaxRSS: u.MaxRSS})
		if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
			return err
		}
	}
	return sc.Err()
}

var _ http.Handler = (*simredfish.BMC)(nil)
