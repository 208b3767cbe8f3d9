package config

import (
	"fmt"
	"net"
	"net/mail"
	"strings"
	"time"
)

// Report configures the monthly sustainability report (`ecometer report
// monthly` and the daemon's job on the 1st of each month).
type Report struct {
	// Language is the default language of the report: da or en.
	Language string `yaml:"language" json:"language"`
	// OutDir is where the PDF, CSV and JSON are written; default
	// <storage.data_dir>/reports.
	OutDir string `yaml:"out_dir" json:"out_dir"`
	// MinCoveragePct is the metered energy coverage below which page 1 says
	// the month is incomplete (the report is still produced).
	MinCoveragePct float64 `yaml:"min_coverage_pct" json:"min_coverage_pct"`
	// Schedule makes `ecometer serve` produce the previous month's report on
	// the 1st at 06:00 Europe/Copenhagen (and e-mail it when email is set).
	Schedule bool `yaml:"schedule" json:"schedule"`
	// BoaviztaFile is the Boavizta environmental-footprint-data CSV whose
	// class medians are the embodied defaults (section 8); optional.
	BoaviztaFile string `yaml:"boavizta_file,omitempty" json:"boavizta_file,omitempty"`
	// LifetimeExtensions are the scenarios of section 8.
	LifetimeExtensions []LifetimeExtension `yaml:"lifetime_extensions,omitempty" json:"lifetime_extensions,omitempty"`
	// Email sends the report when set.
	Email *Email `yaml:"email,omitempty" json:"email,omitempty"`
}

// LifetimeExtension asks what keeping devices of Class ToYears instead of
// FromYears avoids.
type LifetimeExtension struct {
	Class     string  `yaml:"class" json:"class"`
	FromYears float64 `yaml:"from_years" json:"from_years"`
	ToYears   float64 `yaml:"to_years" json:"to_years"`
}

// Email is the SMTP delivery of the report: STARTTLS (RFC 3207) and, with a
// user, SMTP AUTH PLAIN (RFC 4954, RFC 4616) over the encrypted connection.
type Email struct {
	Host string `yaml:"host" json:"host"`
	Port int    `yaml:"port" json:"port"`
	// StartTLS is required (default true) whenever a password is sent.
	StartTLS bool   `yaml:"starttls" json:"starttls"`
	CAFile   string `yaml:"ca_file,omitempty" json:"ca_file,omitempty"`
	User     string `yaml:"user,omitempty" json:"user,omitempty"`
	Password Secret `yaml:"password,omitempty" json:"password,omitzero"`
	From     string `yaml:"from" json:"from"`
	// Recipients get the report; at least one.
	Recipients []string `yaml:"recipients" json:"recipients"`
	// Attempts is how often a delivery is tried (default 5); Backoff the
	// wait before the second try, doubled for each later one (default 1m).
	Attempts int      `yaml:"attempts" json:"attempts"`
	Backoff  Duration `yaml:"backoff" json:"backoff"`
	Timeout  Duration `yaml:"timeout" json:"timeout"`
}

func (e *Email) setDefaults() {
	e.Port = 587
	e.StartTLS = true
	e.Attempts = 5
	e.Backoff = Duration(time.Minute)
	e.Timeout = Duration(30 * time.Second)
}

// Report languages.
const (
	LanguageDanish  = "da"
	LanguageEnglish = "en"
)

func defaultReport() Report {
	return Report{Language: LanguageDanish, MinCoveragePct: 90}
}

func (v *validator) report() {
	r := v.c.Report
	oneOf(v, "report.language", r.Language, LanguageDanish, LanguageEnglish)
	if !(r.MinCoveragePct > 0 && r.MinCoveragePct <= 100) {
		v.add("report.min_coverage_pct", "must be more than 0 and at most 100, got %g", r.MinCoveragePct)
	}
	if v.present("report.boavizta_file") {
		v.required("report.boavizta_file", r.BoaviztaFile)
	}
	for i, x := range r.LifetimeExtensions {
		p := fmt.Sprintf("report.lifetime_extensions[%d]", i)
		v.required(p+".class", x.Class)
		if !(x.FromYears > 0) {
			v.add(p+".from_years", "must be more than 0 years, got %g", x.FromYears)
		} else if !(x.ToYears > x.FromYears) || x.ToYears > 100 {
			v.add(p+".to_years", "must be more than from_years (%g) and at most 100, got %g", x.FromYears, x.ToYears)
		}
	}
	if r.Email != nil {
		v.email("report.email", r.Email)
	}
}

func (v *validator) email(p string, e *Email) {
	if v.required(p+".host", e.Host) {
		if net.ParseIP(e.Host) == nil && (strings.Contains(e.Host, ":") || checkHostPort(e.Host, e.Host) != nil) {
			v.add(p+".host", "invalid host %q: give the host name or IP address alone, the port in port", e.Host)
		}
	}
	if e.Port < 1 || e.Port > 65535 {
		v.add(p+".port", "port %d out of range 1-65535", e.Port)
	}
	if v.present(p+".ca_file") && strings.TrimSpace(e.CAFile) == "" {
		v.add(p+".ca_file", "must not be empty")
	}
	switch {
	case e.User != "" && e.Password.IsZero():
		v.add(p+".password", "missing required key: user %q needs a password (env:NAME or file:/path)", e.User)
	case e.User == "" && !e.Password.IsZero():
		v.add(p+".user", "missing required key: a password is given without a user")
	}
	if e.User != "" && !e.StartTLS {
		v.add(p+".starttls", "must be true when user and password are set: the password would cross the network unencrypted")
	}
	if v.required(p+".from", e.From) {
		if _, err := mail.ParseAddress(e.From); err != nil {
			v.add(p+".from", "invalid address %q: %v", e.From, err)
		}
	}
	if len(e.Recipients) == 0 {
		if v.present(p + ".recipients") {
			v.add(p+".recipients", "must list at least one address")
		} else {
			v.add(p+".recipients", "missing required key: the addresses the report goes to")
		}
	}
	for i, to := range e.Recipients {
		if _, err := mail.ParseAddress(to); err != nil {
			v.add(fmt.Sprintf("%s.recipients[%d]", p, i), "invalid address %q: %v", to, err)
		}
	}
	if e.Attempts < 1 || e.Attempts > 100 {
		v.add(p+".attempts", "must be between 1 and 100, got %d", e.Attempts)
	}
	v.positive(p+".backoff", e.Backoff)
	v.positive(p+".timeout", e.Timeout)
}
