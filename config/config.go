// Package config holds ecometer's configuration: the types, their defaults,
// strict YAML loading with line-numbered problems, validation and secret
// references.
//
// The lifecycle follows DefaultConfig → Load → Validate: Load starts from
// DefaultConfig, decodes the file over it, fills derived defaults and
// validates, returning every problem found in one Problems error.
package config

import (
	"time"
)

// Config is the whole ecometer configuration.
//
// Top-level keys starting with "x-" are ignored, so that they can hold
// YAML anchors for reuse (x-snmp: &snmp {...}, then snmp: {<<: *snmp}).
type Config struct {
	// AllowInlineSecrets permits literal secret values in the file instead of
	// env:NAME or file:/path references.
	AllowInlineSecrets bool       `yaml:"allow_inline_secrets" json:"allow_inline_secrets"`
	Sites              []Site     `yaml:"sites" json:"sites"`
	Devices            []Device   `yaml:"devices" json:"devices"`
	Collection         Collection `yaml:"collection" json:"collection"`
	Storage            Storage    `yaml:"storage" json:"storage"`
	Grid               Grid       `yaml:"grid" json:"grid"`
	Target             Target     `yaml:"target" json:"target"`
	Control            Control    `yaml:"control" json:"control"`
	Report             Report     `yaml:"report" json:"report"`
	// Coordination lets several `ecometer serve` instances run the
	// singleton jobs (monthly report, controller applier) on one of them.
	Coordination Coordination `yaml:"coordination" json:"coordination"`

	// file and pos remember where each value came from so that validation
	// can point at the offending line.
	file string
	pos  map[string]Position
	// bad holds the paths that already failed to decode; validation stays
	// quiet about them to avoid reporting one mistake twice.
	bad map[string]bool
}

// PriceArea is a Nord Pool bidding zone of Denmark.
type PriceArea string

// The Danish price areas. Southern Denmark is in DK1.
const (
	DK1 PriceArea = "DK1"
	DK2 PriceArea = "DK2"
)

// AccountingLevel says where a site's totals are taken in its power chain.
type AccountingLevel string

// Accounting levels of a site.
const (
	AccountIT       AccountingLevel = "it"
	AccountFacility AccountingLevel = "facility"
)

// Site is a datacenter or server room.
type Site struct {
	Name string `yaml:"name" json:"name"`
	// Timezone is an IANA name, used for schedules and report periods.
	Timezone  string    `yaml:"timezone" json:"timezone"`
	PriceArea PriceArea `yaml:"price_area" json:"price_area"`
	// AssumedPUE is used where the site has no facility meter.
	AssumedPUE float64         `yaml:"assumed_pue" json:"assumed_pue"`
	Accounting AccountingLevel `yaml:"accounting" json:"accounting"`
	// Market holds the site's contractual instruments for market-based
	// Scope 2; without it the market-based figure is "not configured".
	Market *Market `yaml:"market,omitempty" json:"market,omitempty"`
}

// Market is a site's contractual instruments (GHG Protocol Scope 2,
// market-based): the share of its consumption covered by guarantees of
// origin cancelled for it, and the residual mix factor for the rest.
type Market struct {
	// GOSharePct is the share of consumption covered by guarantees of
	// origin, 0..100.
	GOSharePct float64 `yaml:"go_share_pct" json:"go_share_pct"`
	// ResidualGPerKWh is the residual mix factor for the rest; required
	// unless GOSharePct is 100. ResidualSource says where it comes from.
	ResidualGPerKWh *float64 `yaml:"residual_g_per_kwh,omitempty" json:"residual_g_per_kwh,omitempty"`
	ResidualSource  string   `yaml:"residual_source,omitempty" json:"residual_source,omitempty"`
}

func (s *Site) setDefaults() {
	s.Timezone = "Europe/Copenhagen"
	s.PriceArea = DK1
	s.AssumedPUE = 1.5
	s.Accounting = AccountIT
}

// Location loads the site's time zone.
func (s Site) Location() (*time.Location, error) {
	return time.LoadLocation(s.Timezone)
}

// DeviceClass is the kind of equipment a device is.
type DeviceClass string

// Device classes.
const (
	ClassPDU      DeviceClass = "pdu"
	ClassUPS      DeviceClass = "ups"
	ClassSwitch   DeviceClass = "switch"
	ClassServer   DeviceClass = "server"
	ClassFacility DeviceClass = "facility"
)

// Protocol is how a device is read.
type Protocol string

// Collection protocols.
const (
	ProtocolSNMP    Protocol = "snmp"
	ProtocolRedfish Protocol = "redfish"
)

// Criticality protects devices from power actions.
type Criticality string

// Criticality levels. Patient-critical devices are never touched by the
// controller.
const (
	CriticalityNormal          Criticality = "normal"
	CriticalityImportant       Criticality = "important"
	CriticalityPatientCritical Criticality = "patient-critical"
)

// AccountingRole says which total a device's energy counts towards.
type AccountingRole string

// Accounting roles of a device.
const (
	RoleIT       AccountingRole = "it"
	RoleFacility AccountingRole = "facility"
	RoleNone     AccountingRole = "none"
)

// Device is one metered piece of equipment.
type Device struct {
	Name     string      `yaml:"name" json:"name"`
	Site     string      `yaml:"site" json:"site"`
	Room     string      `yaml:"room,omitempty" json:"room,omitempty"`
	Rack     string      `yaml:"rack,omitempty" json:"rack,omitempty"`
	Class    DeviceClass `yaml:"class" json:"class"`
	Protocol Protocol    `yaml:"protocol" json:"protocol"`
	// Address is host or host:port; for Redfish also an https URL.
	Address string `yaml:"address" json:"address"`
	// Profile names a vendor profile; empty means detect.
	Profile string            `yaml:"profile,omitempty" json:"profile,omitempty"`
	SNMP    *SNMP             `yaml:"snmp,omitempty" json:"snmp,omitempty"`
	Redfish *Redfish          `yaml:"redfish,omitempty" json:"redfish,omitempty"`
	Tags    map[string]string `yaml:"tags,omitempty" json:"tags,omitempty"`
	// Criticality defaults to normal.
	Criticality Criticality `yaml:"criticality" json:"criticality"`
	// Feeds names the meter that feeds this device, as "device/meter".
	Feeds string `yaml:"feeds,omitempty" json:"feeds,omitempty"`
	// AccountingRole defaults to facility for class facility, else it.
	AccountingRole AccountingRole `yaml:"accounting_role" json:"accounting_role"`
	// Interval defaults to the collection interval of the device's class.
	Interval Duration `yaml:"interval" json:"interval"`
}

func (d *Device) setDefaults() {
	d.Criticality = CriticalityNormal
}

// SNMP holds the settings of an SNMP device.
type SNMP struct {
	Version        string   `yaml:"version" json:"version"`
	Community      Secret   `yaml:"community,omitempty" json:"community,omitzero"`
	Port           int      `yaml:"port" json:"port"`
	Timeout        Duration `yaml:"timeout" json:"timeout"`
	Retries        int      `yaml:"retries" json:"retries"`
	MaxRepetitions int      `yaml:"max_repetitions" json:"max_repetitions"`
	V3             *SNMPv3  `yaml:"v3,omitempty" json:"v3,omitempty"`
}

func (s *SNMP) setDefaults() {
	s.Version = "2c"
	s.Port = 161
	s.Timeout = Duration(2 * time.Second)
	s.Retries = 1
	s.MaxRepetitions = 10
}

// SNMPv3 holds the user-based security settings of SNMP version 3.
type SNMPv3 struct {
	User          string `yaml:"user" json:"user"`
	SecurityLevel string `yaml:"security_level" json:"security_level"`
	AuthProtocol  string `yaml:"auth_protocol,omitempty" json:"auth_protocol,omitempty"`
	AuthKey       Secret `yaml:"auth_key,omitempty" json:"auth_key,omitzero"`
	PrivProtocol  string `yaml:"priv_protocol,omitempty" json:"priv_protocol,omitempty"`
	PrivKey       Secret `yaml:"priv_key,omitempty" json:"priv_key,omitzero"`
}

func (s *SNMPv3) setDefaults() {
	s.SecurityLevel = "authPriv"
}

// Redfish holds the settings of a Redfish BMC.
type Redfish struct {
	User     string `yaml:"user" json:"user"`
	Password Secret `yaml:"password,omitempty" json:"password,omitzero"`
	// Auth is session (default) or basic.
	Auth               string `yaml:"auth" json:"auth"`
	CAFile             string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	InsecureSkipVerify bool   `yaml:"insecure_skip_verify" json:"insecure_skip_verify"`
}

func (r *Redfish) setDefaults() {
	r.Auth = "session"
}

// Collection holds polling settings.
type Collection struct {
	Intervals Intervals `yaml:"intervals" json:"intervals"`
	// MaxGapFactor × interval is the longest gap still integrated; longer
	// gaps count as missing data.
	MaxGapFactor float64 `yaml:"max_gap_factor" json:"max_gap_factor"`
	// ProfilesDir is an optional directory of user SNMP profiles (*.yaml),
	// used in addition to the built-in ones (a same-named one replaces it).
	ProfilesDir string `yaml:"profiles_dir,omitempty" json:"profiles_dir,omitempty"`
}

// Intervals are the default polling intervals per device class.
type Intervals struct {
	PDU      Duration `yaml:"pdu" json:"pdu"`
	UPS      Duration `yaml:"ups" json:"ups"`
	Switch   Duration `yaml:"switch" json:"switch"`
	Server   Duration `yaml:"server" json:"server"`
	Facility Duration `yaml:"facility" json:"facility"`
}

// For returns the interval of a class, or 0 for an unknown class.
func (i Intervals) For(class DeviceClass) Duration {
	switch class {
	case ClassPDU:
		return i.PDU
	case ClassUPS:
		return i.UPS
	case ClassSwitch:
		return i.Switch
	case ClassServer:
		return i.Server
	case ClassFacility:
		return i.Facility
	}
	return 0
}

// Storage says where samples go.
type Storage struct {
	DataDir  string   `yaml:"data_dir" json:"data_dir"`
	SQLite   SQLite   `yaml:"sqlite" json:"sqlite"`
	InfluxDB InfluxDB `yaml:"influxdb" json:"influxdb"`
	Outbox   Outbox   `yaml:"outbox" json:"outbox"`
}

// SQLite configures the embedded store, used when no InfluxDB is configured.
type SQLite struct {
	RetentionRaw Duration `yaml:"retention_raw" json:"retention_raw"`
}

// InfluxDB configures the production store. It is in use when URL is set.
type InfluxDB struct {
	URL string `yaml:"url,omitempty" json:"url,omitempty"`
	Org string `yaml:"org,omitempty" json:"org,omitempty"`
	// Bucket is a v2 bucket, or "db/rp" for InfluxDB 1.8.
	Bucket    string   `yaml:"bucket,omitempty" json:"bucket,omitempty"`
	Token     Secret   `yaml:"token,omitempty" json:"token,omitzero"`
	Timeout   Duration `yaml:"timeout" json:"timeout"`
	BatchSize int      `yaml:"batch_size" json:"batch_size"`
}

// Configured reports whether InfluxDB is to be used.
func (i InfluxDB) Configured() bool { return i.URL != "" }

// Outbox is the local durable queue in front of InfluxDB.
type Outbox struct {
	// Dir defaults to <data_dir>/outbox.
	Dir        string   `yaml:"dir" json:"dir"`
	DiskBudget ByteSize `yaml:"disk_budget" json:"disk_budget"`
	WarnAtPct  int      `yaml:"warn_at_pct" json:"warn_at_pct"`
}

// Grid says where grid carbon intensities come from.
type Grid struct {
	Area PriceArea `yaml:"area" json:"area"`
	// Files are Energinet CSV or JSON exports.
	Files []string `yaml:"files,omitempty" json:"files,omitempty"`
	// AnnualFactors are the fallback when no hourly intensity is known.
	AnnualFactors []AnnualFactor `yaml:"annual_factors,omitempty" json:"annual_factors,omitempty"`
}

// AnnualFactor is a yearly average grid intensity.
type AnnualFactor struct {
	Year    int     `yaml:"year" json:"year"`
	GPerKWh float64 `yaml:"g_per_kwh" json:"g_per_kwh"`
	Source  string  `yaml:"source" json:"source"`
}

// Target is the emission reduction target.
type Target struct {
	BaselineYear int     `yaml:"baseline_year" json:"baseline_year"`
	ReductionPct float64 `yaml:"reduction_pct" json:"reduction_pct"`
	TargetYear   int     `yaml:"target_year" json:"target_year"`
	// BaselineKgCO2e is the baseline year's emissions, used when the store
	// has no complete data for that year; BaselineSource says where the
	// figure comes from.
	BaselineKgCO2e *float64 `yaml:"baseline_kg_co2e,omitempty" json:"baseline_kg_co2e,omitempty"`
	BaselineSource string   `yaml:"baseline_source,omitempty" json:"baseline_source,omitempty"`
}

// Control holds the power controller's settings: what it must never touch,
// where it keeps its audit log and lock, how it verifies, the site's extra
// closed days and maintenance windows, and policies (see control.go).
type Control struct {
	// DenyList names devices (or one outlet or port, "pdu-a1/outlet/12") the
	// controller never acts on.
	DenyList []string `yaml:"deny_list,omitempty" json:"deny_list,omitempty"`
	// AuditLog is the append-only audit log (default
	// <data_dir>/control/audit.jsonl); LockFile the lock that lets one
	// applier act at a time (default <data_dir>/control/apply.lock).
	AuditLog string `yaml:"audit_log,omitempty" json:"audit_log,omitempty"`
	LockFile string `yaml:"lock_file,omitempty" json:"lock_file,omitempty"`
	// MinCommandInterval is the least time between two commands to one
	// BMC, PDU or switch (default 2s).
	MinCommandInterval Duration `yaml:"min_command_interval,omitempty" json:"min_command_interval,omitempty"`
	// VerifyTimeout bounds the read-back after a command (default 2m);
	// VerifyInterval is the time between reads (default 5s).
	VerifyTimeout  Duration `yaml:"verify_timeout,omitempty" json:"verify_timeout,omitempty"`
	VerifyInterval Duration `yaml:"verify_interval,omitempty" json:"verify_interval,omitempty"`
	// ClosedDays are days the sites are closed besides the Danish public
	// holidays (e.g. 24 and 31 December).
	ClosedDays []ClosedDay `yaml:"closed_days,omitempty" json:"closed_days,omitempty"`
	// Maintenance windows: the controller plans nothing for the devices in
	// them.
	Maintenance []Maintenance `yaml:"maintenance,omitempty" json:"maintenance,omitempty"`
	// Policies may also come from separate files (ecometer power plan --policy).
	Policies []Policy `yaml:"policies,omitempty" json:"policies,omitempty"`
}

// Coordination is how several instances of `ecometer serve` (an HA pair,
// or n shards) agree on which of them runs the singleton jobs. Without a
// coordination service a single instance runs them itself.
type Coordination struct {
	// Redis, when set, elects a leader through a Redis server.
	Redis *Redis `yaml:"redis,omitempty" json:"redis,omitempty"`
	// KeyPrefix namespaces the keys in Redis, so that several sites can
	// share one server.
	KeyPrefix string `yaml:"key_prefix" json:"key_prefix"`
	// Lease is how long a leader stays leader without renewing it: the
	// other instance takes over at most Lease plus a third of it after the
	// leader dies.
	Lease Duration `yaml:"lease" json:"lease"`
}

// Configured reports whether a coordination service is used.
func (c Coordination) Configured() bool { return c.Redis != nil }

// Redis says how to reach a Redis server (RESP protocol, Redis ≥ 6).
type Redis struct {
	// Address is host:port.
	Address string `yaml:"address" json:"address"`
	// Username is the ACL user (Redis 6); empty uses the default user.
	Username string `yaml:"username,omitempty" json:"username,omitempty"`
	Password Secret `yaml:"password,omitempty" json:"password,omitzero"`
	DB       int    `yaml:"db" json:"db"`
	// TLS connects with TLS, verified against the system roots or CAFile.
	TLS    bool   `yaml:"tls" json:"tls"`
	CAFile string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
}

// DefaultConfig returns the configuration used for everything a file leaves
// out. Sites and devices have their own defaults, applied per entry.
func DefaultConfig() *Config {
	minute := Duration(time.Minute)
	return &Config{
		Collection: Collection{
			Intervals: Intervals{
				PDU:      minute,
				UPS:      minute,
				Switch:   5 * minute,
				Server:   minute,
				Facility: minute,
			},
			MaxGapFactor: 3,
		},
		Storage: Storage{
			DataDir: "./ecometer-data",
			SQLite:  SQLite{RetentionRaw: Duration(90 * 24 * time.Hour)},
			InfluxDB: InfluxDB{
				Timeout:   Duration(10 * time.Second),
				BatchSize: 5000,
			},
			Outbox: Outbox{
				DiskBudget: 2 * GiB,
				WarnAtPct:  80,
			},
		},
		Grid:         Grid{Area: DK1},
		Target:       Target{BaselineYear: 2020, ReductionPct: 35, TargetYear: 2030},
		Report:       defaultReport(),
		Coordination: Coordination{KeyPrefix: "ecometer", Lease: Duration(15 * time.Second)},
	}
}

// File is the path the configuration was loaded from, if any.
func (c *Config) File() string { return c.file }

// ReleasePositions forgets where each value was written in the file.
// Positions serve the problems found while loading (Load, Validate,
// CheckProfiles); a long-running holder of a checked configuration calls
// this to free them (about 1 KB per device). Validate must not be called
// afterwards: it needs them to know which keys were written.
func (c *Config) ReleasePositions() { c.pos, c.bad = nil, nil }
