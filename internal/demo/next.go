package demo

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/ecometer/ecometer/internal/control/calendar"
	"github.com/ecometer/ecometer/reports/monthly"
)

// Command is an ecometer command line the demo suggests, to run on its
// output.
type Command struct {
	What string
	Args []string // after "ecometer"
	// Site: it talks to the simulated devices, so it works only while the
	// demo runs with --keep.
	Site bool
	// Exit is the exit code it ends with on the demo's data (procure check
	// exits 1 when an offer fails).
	Exit int
	// Env are NAME=value settings the command needs (an SNMP community
	// for probe's --community env:NAME).
	Env []string
}

// String is the command as typed in a shell.
func (c Command) String() string {
	var parts []string
	for _, e := range c.Env {
		name, v, _ := strings.Cut(e, "=")
		parts = append(parts, name+"="+shellQuote(v))
	}
	parts = append(parts, "ecometer")
	for _, a := range c.Args {
		parts = append(parts, shellQuote(a))
	}
	return strings.Join(parts, " ")
}

func shellQuote(s string) string {
	if s != "" && !strings.ContainsAny(s, " \t\"'$`\\*?[]{}()<>|&;#~!") {
		return s
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`, `$`, `\$`, "`", "\\`").Replace(s) + `"`
}

// Next lists the commands to run on the demo's output, each as it works
// from the current directory: the figures behind the report, the
// controller's, procurement and, with site, those that talk to the
// simulated devices.
func (r *Result) Next(now time.Time) []Command {
	cfg := r.Site.ConfigPath
	dir := r.Dir
	month := r.Period.Label()
	loc, _ := time.LoadLocation(calendar.Zone)
	until := r.Period.To.In(loc).Format("2006-01-02")
	since := fmt.Sprintf("%dd", monthly.MonthDays(r.Period))
	if h := r.Period.To.Sub(r.Period.From); h%(24*time.Hour) != 0 {
		since = fmt.Sprintf("%dh", int(h.Hours())) // a month with a clock change
	}
	out := []Command{
		{What: "the same report in Danish", Args: []string{"report", "monthly", "--config", cfg, "--month", month, "--lang", "da", "--out", filepath.Join(dir, "reports-da")}},
		{What: "the energy behind it, per rack", Args: []string{"energy", "--config", cfg, "--month", month, "--by", "rack"}},
		{What: "its CO2e, location- and market-based", Args: []string{"co2", "--config", cfg, "--month", month}},
		{What: "the anomalies it lists", Args: []string{"anomalies", "--config", cfg, "--since", since, "--until", until}},
		{What: "the idle equipment", Args: []string{"idle", "--config", cfg, "--days", strconv.Itoa(monthly.MonthDays(r.Period)), "--until", until}},
		{What: "what the power-down policy saved", Args: []string{"power", "savings", "--config", cfg, "--month", month}},
		{What: "the controller's audit log, its hash chain checked", Args: []string{"power", "history", "--config", cfg, "--verify"}},
		{What: "the plan again (apply it: ecometer power apply " + r.Plan.File + ")", Args: []string{"power", "plan", "--config", cfg,
			"--policy", r.Plan.PolicyFile, "--at", now.In(loc).Format("2006-01-02 15:04")}},
		{What: "the procurement check as a table", Args: append(append([]string{"procure", "check"}, r.Procurement.Sheets...),
			"--kwh-price", strconv.FormatFloat(r.Procurement.Report.Costs.KWhPriceDKK, 'f', -1, 64),
			"--grid-g-per-kwh", strconv.FormatFloat(r.Procurement.Report.Costs.GridGPerKWh, 'f', -1, 64)), Exit: 1},
		{What: "what was collected live", Args: []string{"readings", "--config", cfg}},
	}
	if r.Site == nil {
		return out
	}
	for _, d := range r.Site.SNMP {
		if d.Device == "pdu-r11-a" || len(r.Site.SNMP) == 1 {
			out = append(out, Command{What: "a simulated PDU over SNMP (each device's community is its name)", Site: true,
				Env: []string{"COMMUNITY=" + d.Community},
				Args: []string{"probe", r.Site.Agent.Addr().Addr().String(), "--port", strconv.Itoa(int(r.Site.Agent.Addr().Port())),
					"--community", "env:COMMUNITY"}})
		}
	}
	for _, b := range r.Site.BMCs {
		if b.Device == "srv-test-app02" || len(r.Site.BMCs) == 1 {
			out = append(out, Command{What: "a simulated BMC, over Redfish (HTTPS, its certificate trusted)", Site: true,
				Args: []string{"probe", b.URL, "--user", BMCUser, "--password-file", r.Site.PasswordPath, "--ca", r.Site.CAPath}})
		}
	}
	out = append(out,
		Command{What: "the power state of every server, outlet and port the config knows", Site: true, Args: []string{"power", "status", "--config", cfg}},
		Command{What: "poll the site on schedule into the store (Ctrl-C stops it); readings then shows fresh values", Site: true,
			Args: []string{"serve", "--config", cfg, "--listen", "127.0.0.1:9641"}})
	return out
}
