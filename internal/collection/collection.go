// Package collection builds what polls a configuration's devices: the SNMP
// profiles it may use (built-in plus collection.profiles_dir), the checks of
// the configuration that need them, and one collector per device with its
// secrets read once. serve, the demo, bench and the power controller share it,
// so a device is reached the same way everywhere.
package collection

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"time"

	"github.com/ecometer/ecometer/collectors"
	"github.com/ecometer/ecometer/collectors/redfish"
	"github.com/ecometer/ecometer/collectors/snmp"
	"github.com/ecometer/ecometer/config"
)

// Load loads and validates a configuration file, including the checks that
// need the SNMP profiles (names, built-in and from collection.profiles_dir).
// Like config.Load it returns the configuration read so far together with
// every problem found (config.Problems).
func Load(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if cfg == nil {
		return nil, err
	}
	return cfg, Check(cfg, err)
}

// Check adds the problems of collection.profiles_dir and of unknown SNMP
// profile names to err.
func Check(cfg *config.Config, err error) error {
	reg, perr := Profiles(cfg)
	if perr != nil {
		return config.Merge(err, perr)
	}
	var names []string
	for _, p := range reg.Profiles() {
		names = append(names, p.Name)
	}
	return config.Merge(err, cfg.CheckProfiles(names))
}

// Profiles returns the SNMP profiles a configuration can use: the built-in
// ones plus those in collection.profiles_dir. A problem with the directory
// is returned as config.Problems, so that it is reported like the others.
func Profiles(cfg *config.Config) (*snmp.Registry, error) {
	dir := cfg.Collection.ProfilesDir
	if dir == "" {
		reg, err := snmp.Embedded()
		if err != nil {
			return nil, fmt.Errorf("built-in SNMP profiles: %w", err)
		}
		return reg, nil
	}
	problem := func(format string, args ...any) error {
		return config.Problems{{File: cfg.File(), Path: "collection.profiles_dir", Message: fmt.Sprintf(format, args...)}}
	}
	// LoadDir finds nothing in a missing directory; a typo must not pass
	// silently as "no user profiles".
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return nil, problem("%v", err)
	case !fi.IsDir():
		return nil, problem("%s is not a directory", dir)
	}
	reg, err := snmp.LoadDir(dir)
	if err != nil {
		return nil, problem("profiles in %s: %v", dir, err)
	}
	return reg, nil
}

// TargetOf is how a device's samples are tagged.
func TargetOf(d config.Device) collectors.Target {
	return collectors.Target{Site: d.Site, Room: d.Room, Rack: d.Rack, Device: d.Name, Class: string(d.Class)}
}

// DeviceError is a device that cannot be polled as configured (a secret
// that cannot be read, an unusable address): a configuration problem.
type DeviceError struct {
	Index  int
	Device string
	Err    error
}

func (e *DeviceError) Error() string {
	return fmt.Sprintf("devices[%d] %s: %v", e.Index, e.Device, e.Err)
}
func (e *DeviceError) Unwrap() error { return e.Err }

// Jobs builds one polling job per device of cfg, in config order. Secrets
// are read here, once; an error names the device and the key, never the
// value. On error nothing stays open.
func Jobs(cfg *config.Config, profiles *snmp.Registry, log *slog.Logger) ([]collectors.Job, error) {
	var jobs []collectors.Job
	keep := KeepSockets(CountSNMP(cfg.Devices))
	for i, d := range cfg.Devices {
		c, err := New(d, profiles, log, keep)
		if err != nil {
			for _, j := range jobs {
				j.Collector.Close()
			}
			return nil, &DeviceError{Index: i, Device: d.Name, Err: err}
		}
		jobs = append(jobs, collectors.Job{Target: TargetOf(d), Source: string(d.Protocol), Interval: Interval(cfg, d), Collector: c})
	}
	return jobs, nil
}

// Interval is a device's poll interval: its own, else its class's.
func Interval(cfg *config.Config, d config.Device) time.Duration {
	if v := d.Interval.Std(); v > 0 {
		return v
	}
	return cfg.Collection.Intervals.For(d.Class).Std()
}

// KeepSocketsUpTo is the most SNMP devices a process keeps sockets open
// for between polls. An open gosnmp session holds a 64 KiB receive buffer:
// 64 MiB at this count, 640 MiB at 10,000 devices. Above it every poll of a
// v1/v2c device opens its socket again, which bench snmp measures at about
// 0.7 × the bare gosnmp poll in extra CPU (collector/floor 1.1 → 1.8):
// worth it only where the memory is.
const KeepSocketsUpTo = 1000

// KeepSockets reports whether a process polling n SNMP devices keeps their
// sockets open between polls (New's keepSockets).
func KeepSockets(n int) bool { return n <= KeepSocketsUpTo }

// CountSNMP counts the SNMP devices among devs.
func CountSNMP(devs []config.Device) int {
	n := 0
	for _, d := range devs {
		if d.Protocol == config.ProtocolSNMP {
			n++
		}
	}
	return n
}

// New builds the collector of one device. keepSockets keeps an SNMP v1/v2c
// device's socket open between polls (KeepSockets).
func New(d config.Device, profiles *snmp.Registry, log *slog.Logger, keepSockets bool) (collectors.Collector, error) {
	if log == nil {
		log = slog.Default()
	}
	switch d.Protocol {
	case config.ProtocolSNMP:
		conn, err := SNMPConn(d)
		if err != nil {
			return nil, err
		}
		conn.KeepOpen = keepSockets
		return snmp.New(snmp.Device{Target: TargetOf(d), Conn: conn, Profile: d.Profile}, snmp.Options{Profiles: profiles, Logger: log})
	case config.ProtocolRedfish:
		opts, err := RedfishOptions(d)
		if err != nil {
			return nil, err
		}
		opts.Logger = log.With("device", d.Name)
		return redfish.New(opts)
	}
	return nil, fmt.Errorf("protocol %q is not supported", d.Protocol)
}

// resolve reads a secret; the error names the key (and, through Resolve,
// the reference), never the value.
func resolve(key string, s config.Secret) (string, error) {
	v, err := s.Resolve()
	if err != nil {
		return "", fmt.Errorf("%s: %w", key, err)
	}
	return v, nil
}

// SNMPConn is how to reach an SNMP device, its secrets read.
func SNMPConn(d config.Device) (snmp.Conn, error) {
	s := d.SNMP
	if s == nil {
		return snmp.Conn{}, fmt.Errorf("no snmp settings")
	}
	host, port, err := HostPort(d.Address, s.Port)
	if err != nil {
		return snmp.Conn{}, err
	}
	conn := snmp.Conn{Addr: host, Port: port, Version: snmp.Version(s.Version), Timeout: s.Timeout.Std(),
		Retries: Retries(s.Retries), MaxRepetitions: uint32(s.MaxRepetitions)}
	if conn.Version == snmp.V3 {
		v3 := s.V3
		a := &snmp.V3Auth{User: v3.User}
		if v3.SecurityLevel != "noAuthNoPriv" {
			a.AuthProtocol = v3.AuthProtocol
			if a.AuthPass, err = resolve("snmp.v3.auth_key", v3.AuthKey); err != nil {
				return snmp.Conn{}, err
			}
		}
		if v3.SecurityLevel == "authPriv" {
			a.PrivProtocol = v3.PrivProtocol
			if a.PrivPass, err = resolve("snmp.v3.priv_key", v3.PrivKey); err != nil {
				return snmp.Conn{}, err
			}
		}
		conn.V3 = a
	} else if conn.Community, err = resolve("snmp.community", s.Community); err != nil {
		return snmp.Conn{}, err
	}
	return conn, nil
}

// Retries maps the config's retries (0: none) to gosnmp's (-1: none).
func Retries(n int) int {
	if n <= 0 {
		return -1
	}
	return n
}

// HostPort splits an SNMP device's address: host, or host:port. The config
// rejects a port in the address that differs from an explicit snmp.port.
func HostPort(addr string, port int) (string, uint16, error) {
	if net.ParseIP(addr) != nil { // a bare IPv6 address has colons but no port
		return addr, uint16(port), nil
	}
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, uint16(port), nil
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil || n == 0 {
		return "", 0, fmt.Errorf("address %q: invalid port %q", addr, p)
	}
	return h, uint16(n), nil
}

// RedfishOptions are the collector options of a Redfish device, its
// password read.
func RedfishOptions(d config.Device) (redfish.Options, error) {
	r := d.Redfish
	if r == nil {
		return redfish.Options{}, fmt.Errorf("no redfish settings")
	}
	password, err := resolve("redfish.password", r.Password)
	if err != nil {
		return redfish.Options{}, err
	}
	return redfish.Options{Endpoint: RedfishURL(d.Address), Username: r.User, Password: password,
		BasicAuth: r.Auth == "basic", CAFile: r.CAFile, InsecureSkipVerify: r.InsecureSkipVerify,
		Target: TargetOf(d)}, nil
}

// RedfishURL turns a device address (https URL, or host[:port]) into the
// collector's endpoint, https://host[:port].
func RedfishURL(addr string) string {
	if u, err := url.Parse(addr); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	return "https://" + addr
}
