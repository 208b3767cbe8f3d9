package redfish

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Fault is a named fault mode of the simulated BMC.
type Fault string

const (
	// FaultError500 answers every request with 500 Internal Server Error.
	FaultError500 Fault = "error500"
	// FaultSlow delays every answer by Options.SlowDelay.
	FaultSlow Fault = "slow"
	// FaultHang never answers: a request waits until the client gives up.
	FaultHang Fault = "hang"
	// FaultLegacyOnly removes the new power schemas (EnvironmentMetrics,
	// PowerSubsystem, Sensors, Controls): only the deprecated Chassis Power
	// remains, as on older BMCs.
	FaultLegacyOnly Fault = "legacy-only"
	// FaultNoLegacy removes the deprecated Chassis Power and Thermal: only
	// the new schemas remain, as on newer BMCs.
	FaultNoLegacy Fault = "no-legacy"
	// FaultNoEnvironmentMetrics removes the chassis EnvironmentMetrics, so a
	// client must fall back to PowerSubsystem (PSU Metrics).
	FaultNoEnvironmentMetrics Fault = "no-environment-metrics"
	// FaultSensorsOnly leaves only the chassis Sensors collection of all the
	// places Redfish puts power.
	FaultSensorsOnly Fault = "sensors-only"
	// FaultWrongLinks makes the chassis' EnvironmentMetrics, PowerSubsystem
	// and Sensors links lead to resources of another type (the legacy Power,
	// ThermalSubsystem and Controls), as buggy firmware does; the resources
	// stay at their usual paths.
	FaultWrongLinks Fault = "wrong-links"
)

// Faults lists the fault modes, for the CLI's help.
var Faults = []Fault{FaultError500, FaultSlow, FaultHang, FaultLegacyOnly, FaultNoLegacy, FaultNoEnvironmentMetrics, FaultSensorsOnly, FaultWrongLinks}

// ParseFault returns the fault mode with the given name.
func ParseFault(s string) (Fault, error) {
	for _, f := range Faults {
		if string(f) == s {
			return f, nil
		}
	}
	names := make([]string, len(Faults))
	for i, f := range Faults {
		names[i] = string(f)
	}
	return "", fmt.Errorf("redfish simulator: unknown fault %q (known: %s)", s, strings.Join(names, ", "))
}

// Options configure a BMC. Zero values give the defaults noted per field.
type Options struct {
	// Mockup is the tree to serve; MockupDir is loaded when Mockup is nil.
	Mockup    *Mockup
	MockupDir string
	// Username and Password are the one account (default admin/password).
	Username, Password string
	// BasicAuth accepts HTTP Basic credentials besides sessions.
	BasicAuth bool
	// SessionIdle is the idle time after which a session token is refused
	// with 401 (default 30 minutes).
	SessionIdle time.Duration
	// ShutdownDuration is how long a GracefulShutdown takes (default 2 s);
	// PowerOnDuration how long On takes (default 1 s). A restart takes both.
	ShutdownDuration, PowerOnDuration time.Duration
	// QuirkReportOffEarly makes the BMC behave like some real ones: during a
	// GracefulShutdown it already reports PowerState Off (while still drawing
	// power), and an On sent before the shutdown has finished is accepted with
	// 204 and silently dropped.
	QuirkReportOffEarly bool
	// StandbyWatts is the draw of a server that is off (default 8 W).
	StandbyWatts float64
	// NoExpand makes the service refuse $expand (and say so in the service
	// root), like BMCs without OData query support.
	NoExpand bool
	// SlowDelay is the delay of FaultSlow (default 2 s).
	SlowDelay time.Duration
	// Faults are active from the start; see SetFaults.
	Faults []Fault
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Logger receives debug messages (default: discard).
	Logger *slog.Logger
}

// BMC is a simulated Redfish service. It is an http.Handler: serve it with
// httptest.NewServer / NewTLSServer or http.Server.
type BMC struct {
	m    *Mockup
	opts Options
	log  *slog.Logger

	systems      map[string]*system // system key -> state
	chassisOwner map[string]string  // chassis key -> system key
	resetTargets map[string]string  // action target key -> system key
	outletTarget map[string]string  // action target key -> outlet key
	psuCount     map[string]int     // chassis key -> PSUs with metrics

	mu       sync.Mutex
	faults   map[Fault]bool
	hidden   []string // key prefixes removed by the fault modes
	sessions map[string]*session
	outlets  map[string]string  // outlet key -> "On"/"Off"
	limits   map[string]float64 // chassis key -> power limit W
	counts   map[string]int     // "GET /redfish/v1/..." -> requests
	total    atomic.Int64
}

type session struct {
	id, token, user string
	created, used   time.Time
}

// New builds a BMC from the options.
func New(opts Options) (*BMC, error) {
	if opts.Mockup == nil {
		if opts.MockupDir == "" {
			return nil, errors.New("redfish simulator: no mockup (set Mockup or MockupDir)")
		}
		m, err := Load(opts.MockupDir)
		if err != nil {
			return nil, err
		}
		opts.Mockup = m
	}
	if opts.Username == "" {
		opts.Username, opts.Password = "admin", "password"
	}
	if opts.SessionIdle <= 0 {
		opts.SessionIdle = 30 * time.Minute
	}
	if opts.ShutdownDuration <= 0 {
		opts.ShutdownDuration = 2 * time.Second
	}
	if opts.PowerOnDuration <= 0 {
		opts.PowerOnDuration = time.Second
	}
	if opts.StandbyWatts <= 0 {
		opts.StandbyWatts = 8
	}
	if opts.SlowDelay <= 0 {
		opts.SlowDelay = 2 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	b := &BMC{
		m: opts.Mockup, opts: opts, log: opts.Logger,
		systems: map[string]*system{}, chassisOwner: map[string]string{},
		resetTargets: map[string]string{}, outletTarget: map[string]string{},
		psuCount: map[string]int{}, sessions: map[string]*session{},
		outlets: map[string]string{}, limits: map[string]float64{}, counts: map[string]int{},
	}
	if err := b.index(); err != nil {
		return nil, err
	}
	b.SetFaults(opts.Faults...)
	return b, nil
}

// index finds the systems, chassis, outlets and power limits of the mockup.
func (b *BMC) index() error {
	for key, raw := range b.m.docs {
		var d struct {
			Type       string `json:"@odata.type"`
			PowerState string
			ControlT   string `json:"ControlType"`
			SetPoint   *float64
			Actions    map[string]struct {
				Target  string   `json:"target"`
				Allowed []string `json:"ResetType@Redfish.AllowableValues"`
			}
			Links struct {
				Chassis []struct {
					ID string `json:"@odata.id"`
				}
			}
		}
		if err := json.Unmarshal(raw, &d); err != nil {
			continue // collections of odd shape are served as they are
		}
		switch {
		case strings.HasPrefix(d.Type, "#ComputerSystem."):
			on := d.PowerState != "Off"
			b.systems[key] = &system{on: on}
			if a, ok := d.Actions["#ComputerSystem.Reset"]; ok {
				b.systems[key].allowed = a.Allowed
				if t, ok := treePath(a.Target); ok {
					b.resetTargets[t] = key
				}
			}
			for _, c := range d.Links.Chassis {
				if t, ok := treePath(c.ID); ok {
					b.chassisOwner[t] = key
				}
			}
		case strings.HasPrefix(d.Type, "#Outlet."):
			state := d.PowerState
			if state == "" {
				state = "On"
			}
			b.outlets[key] = state
			if a, ok := d.Actions["#Outlet.PowerControl"]; ok {
				if t, ok := treePath(a.Target); ok {
					b.outletTarget[t] = key
				}
			}
		case strings.HasPrefix(d.Type, "#PowerSupplyMetrics."):
			if c := chassisOf(key); c != "" {
				b.psuCount[c]++
			}
		case strings.HasPrefix(d.Type, "#Control.") && d.ControlT == "Power" && d.SetPoint != nil:
			if c := chassisOf(key); c != "" {
				b.limits[c] = *d.SetPoint
			}
		}
	}
	// Chassis without a Control may carry the limit in the legacy resource.
	for key, raw := range b.m.docs {
		c := chassisOf(key)
		if c == "" || key != c+"/Power" {
			continue
		}
		if _, ok := b.limits[c]; ok {
			continue
		}
		var p struct {
			PowerControl []struct {
				PowerLimit struct{ LimitInWatts *float64 }
			}
		}
		if json.Unmarshal(raw, &p) == nil && len(p.PowerControl) > 0 && p.PowerControl[0].PowerLimit.LimitInWatts != nil {
			b.limits[c] = *p.PowerControl[0].PowerLimit.LimitInWatts
		}
	}
	return nil
}

// chassisOf returns "Chassis/X" for a key at or below a chassis, else "".
func chassisOf(key string) string {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) < 2 || parts[0] != "Chassis" {
		return ""
	}
	return parts[0] + "/" + parts[1]
}

// SetFaults replaces the active fault modes (none: a healthy BMC).
func (b *BMC) SetFaults(faults ...Fault) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.faults = map[Fault]bool{}
	b.hidden = nil
	for _, f := range faults {
		b.faults[f] = true
	}
	for key := range b.m.docs {
		c := chassisOf(key)
		if c == "" || key != c {
			continue
		}
		if b.faults[FaultLegacyOnly] {
			for _, s := range []string{"EnvironmentMetrics", "PowerSubsystem", "Sensors", "Controls", "ThermalSubsystem"} {
				b.hidden = append(b.hidden, c+"/"+s)
			}
		}
		if b.faults[FaultNoLegacy] {
			b.hidden = append(b.hidden, c+"/Power", c+"/Thermal")
		}
		if b.faults[FaultNoEnvironmentMetrics] {
			b.hidden = append(b.hidden, c+"/EnvironmentMetrics")
		}
		if b.faults[FaultSensorsOnly] {
			b.hidden = append(b.hidden, c+"/EnvironmentMetrics", c+"/PowerSubsystem", c+"/Power")
		}
	}
}

func (b *BMC) isHidden(key string) bool {
	for _, h := range b.hidden {
		if key == h || strings.HasPrefix(key, h+"/") {
			return true
		}
	}
	return false
}

// Requests returns the number of requests per "METHOD /path" since the
// start or the last ResetRequests.
func (b *BMC) Requests() map[string]int {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]int, len(b.counts))
	for k, v := range b.counts {
		out[k] = v
	}
	return out
}

// TotalRequests returns the number of requests since the start or the last
// ResetRequests.
func (b *BMC) TotalRequests() int64 { return b.total.Load() }

// ResetRequests sets the request counters to zero.
func (b *BMC) ResetRequests() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.counts = map[string]int{}
	b.total.Store(0)
}

// Sessions returns the number of live sessions.
func (b *BMC) Sessions() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	return len(b.sessions)
}

// ExpireSessions ends every session at once, as a BMC reboot or an idle
// timeout would: the next request with an old token gets 401.
func (b *BMC) ExpireSessions() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sessions = map[string]*session{}
}

func (b *BMC) expireLocked() {
	now := b.opts.Now()
	for id, s := range b.sessions {
		if now.Sub(s.used) > b.opts.SessionIdle {
			delete(b.sessions, id)
		}
	}
}

// ServeHTTP answers one Redfish request.
func (b *BMC) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	if len(p) > 1 {
		p = strings.TrimSuffix(p, "/")
	}
	b.total.Add(1)
	b.mu.Lock()
	b.counts[r.Method+" "+p]++
	slow, hang, fail := b.faults[FaultSlow], b.faults[FaultHang], b.faults[FaultError500]
	b.mu.Unlock()

	if hang {
		<-r.Context().Done()
		return
	}
	if slow {
		t := time.NewTimer(b.opts.SlowDelay)
		select {
		case <-r.Context().Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	if fail {
		writeError(w, http.StatusInternalServerError, "InternalError", "simulated fault: internal error")
		return
	}
	w.Header().Set("OData-Version", "4.0")

	if p == "/redfish" {
		writeJSON(w, http.StatusOK, map[string]any{"v1": "/redfish/v1/"})
		return
	}
	key, ok := treePath(p)
	if !ok {
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no resource at "+p)
		return
	}
	if r.Method == http.MethodPost && key == "SessionService/Sessions" {
		b.login(w, r)
		return
	}
	if !b.public(r.Method, key) && !b.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Basic realm="Redfish"`)
		writeError(w, http.StatusUnauthorized, "NoValidSession", "no valid session or credentials")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		b.get(w, r, key)
	case http.MethodPost:
		b.post(w, r, key)
	case http.MethodPatch:
		b.patch(w, r, key)
	case http.MethodDelete:
		b.delete(w, key)
	default:
		writeError(w, http.StatusMethodNotAllowed, "OperationNotAllowed", r.Method+" is not supported")
	}
}

// public: the service root, OData documents and metadata need no auth.
func (b *BMC) public(method, key string) bool {
	return method == http.MethodGet && (key == "" || key == "odata" || key == "$metadata")
}

func (b *BMC) authorized(r *http.Request) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.expireLocked()
	if tok := r.Header.Get("X-Auth-Token"); tok != "" {
		for _, s := range b.sessions {
			if subtle.ConstantTimeCompare([]byte(s.token), []byte(tok)) == 1 {
				s.used = b.opts.Now()
				return true
			}
		}
		return false
	}
	if u, pw, ok := r.BasicAuth(); ok && b.opts.BasicAuth {
		return b.credentialsOK(u, pw)
	}
	return false
}

func (b *BMC) credentialsOK(user, pass string) bool {
	return subtle.ConstantTimeCompare([]byte(user), []byte(b.opts.Username)) == 1 &&
		subtle.ConstantTimeCompare([]byte(pass), []byte(b.opts.Password)) == 1
}

func (b *BMC) login(w http.ResponseWriter, r *http.Request) {
	var body struct{ UserName, Password string }
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		writeError(w, http.StatusBadRequest, "MalformedJSON", "request body is not valid JSON")
		return
	}
	if !b.credentialsOK(body.UserName, body.Password) {
		writeError(w, http.StatusUnauthorized, "ResourceAtUriUnauthorized", "invalid user name or password")
		return
	}
	now := b.opts.Now()
	s := &session{id: randomHex(8), token: randomHex(16), user: body.UserName, created: now, used: now}
	b.mu.Lock()
	b.expireLocked()
	b.sessions[s.id] = s
	b.mu.Unlock()
	loc := odataID("SessionService/Sessions/" + s.id)
	w.Header().Set("X-Auth-Token", s.token)
	w.Header().Set("Location", loc)
	writeJSON(w, http.StatusCreated, sessionDoc(s))
	b.log.Debug("redfish sim: session created", "session", s.id)
}

func sessionDoc(s *session) map[string]any {
	return map[string]any{
		"@odata.type": "#Session.v1_8_0.Session",
		"@odata.id":   odataID("SessionService/Sessions/" + s.id),
		"Id":          s.id, "Name": "User Session", "UserName": s.user,
		"CreatedTime": s.created.UTC().Format(time.RFC3339),
	}
}

func (b *BMC) delete(w http.ResponseWriter, key string) {
	id, ok := strings.CutPrefix(key, "SessionService/Sessions/")
	if !ok {
		writeError(w, http.StatusMethodNotAllowed, "OperationNotAllowed", "DELETE is only supported on sessions")
		return
	}
	b.mu.Lock()
	_, found := b.sessions[id]
	delete(b.sessions, id)
	b.mu.Unlock()
	if !found {
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no session "+id)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (b *BMC) get(w http.ResponseWriter, r *http.Request, key string) {
	if key == "$metadata" {
		if x, ok := b.m.files["$metadata/index.xml"]; ok {
			w.Header().Set("Content-Type", "application/xml")
			_, _ = w.Write(x)
			return
		}
	}
	levels := expandLevels(r.URL.Query().Get("$expand"))
	if b.opts.NoExpand {
		levels = 0
	}
	b.mu.Lock()
	doc, ok := b.renderLocked(key)
	if ok && levels > 0 {
		b.expandLocked(doc, levels)
	}
	b.mu.Unlock()
	if !ok {
		if f, found := b.m.files[key]; found {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(f)
			return
		}
		writeError(w, http.StatusNotFound, "ResourceMissingAtURI", "no resource at "+odataID(key))
		return
	}
	writeJSON(w, http.StatusOK, doc)
}

// sessionsLocked renders the live session collection or one session.
func (b *BMC) sessionsLocked(key string) (map[string]any, bool) {
	b.expireLocked()
	if key == "SessionService/Sessions" {
		ids := make([]string, 0, len(b.sessions))
		for id := range b.sessions {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		members := make([]any, len(ids))
		for i, id := range ids {
			members[i] = map[string]any{"@odata.id": odataID(key + "/" + id)}
		}
		return map[string]any{
			"@odata.type": "#SessionCollection.SessionCollection", "@odata.id": odataID(key),
			"Name": "Session Collection", "Members": members, "Members@odata.count": len(members),
		}, true
	}
	s, ok := b.sessions[strings.TrimPrefix(key, "SessionService/Sessions/")]
	if !ok {
		return nil, false
	}
	return sessionDoc(s), true
}

func randomHex(n int) string {
	buf := make([]byte, n)
	_, _ = rand.Read(buf)
	return hex.EncodeToString(buf)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError writes a Redfish error body (DSP0266 9.5.2.4).
func writeError(w http.ResponseWriter, status int, id, msg string) {
	writeJSON(w, status, map[string]any{"error": map[string]any{
		"code": "Base.1.5.0." + id, "message": msg,
		"@Message.ExtendedInfo": []any{map[string]any{"MessageId": "Base.1.5.0." + id, "Message": msg}},
	}})
}
