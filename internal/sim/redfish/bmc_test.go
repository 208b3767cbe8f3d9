package redfish

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/testenv"
)

// clock is a settable clock for the state machine and session expiry.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

var (
	mockMu sync.Mutex
	mocks  = map[string]*Mockup{}
)

func mockup(t *testing.T, name string) *Mockup {
	t.Helper()
	dir := testenv.CorpusPath(t, "redfish", name)
	mockMu.Lock()
	defer mockMu.Unlock()
	if m, ok := mocks[name]; ok {
		return m
	}
	m, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	mocks[name] = m
	return m
}

type client struct {
	t     *testing.T
	base  string
	token string
}

func start(t *testing.T, name string, opts Options) (*BMC, *httptest.Server, *clock) {
	t.Helper()
	clk := &clock{t: time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts.Mockup = mockup(t, name)
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	b, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(b)
	t.Cleanup(srv.Close)
	return b, srv, clk
}

func (c *client) do(method, path string, body any) (int, http.Header, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("X-Auth-Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var doc map[string]any
	raw, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(raw, &doc)
	return resp.StatusCode, resp.Header, doc
}

func (c *client) login() {
	c.t.Helper()
	st, h, _ := c.do("POST", "/redfish/v1/SessionService/Sessions", map[string]string{"UserName": "admin", "Password": "password"})
	if st != http.StatusCreated || h.Get("X-Auth-Token") == "" || !strings.HasPrefix(h.Get("Location"), "/redfish/v1/SessionService/Sessions/") {
		c.t.Fatalf("login: %d %v", st, h)
	}
	c.token = h.Get("X-Auth-Token")
}

func (c *client) get(path string) map[string]any {
	c.t.Helper()
	st, _, doc := c.do("GET", path, nil)
	if st != http.StatusOK {
		c.t.Fatalf("GET %s: %d %v", path, st, doc)
	}
	return doc
}

func reading(doc map[string]any, prop string) float64 {
	m, _ := doc[prop].(map[string]any)
	v, _ := m["Reading"].(float64)
	return v
}

func TestServesTreeAndAuth(t *testing.T) {
	b, srv, clk := start(t, "public-rackmount1", Options{SessionIdle: time.Minute})
	c := &client{t: t, base: srv.URL}
	// The service root is public, the rest is not.
	if doc := c.get("/redfish/v1/"); doc["Id"] != "RootService" {
		t.Fatalf("root: %v", doc)
	}
	if st, _, _ := c.do("GET", "/redfish/v1/Chassis/1U", nil); st != http.StatusUnauthorized {
		t.Fatalf("without a session: %d, want 401", st)
	}
	if st, _, _ := c.do("POST", "/redfish/v1/SessionService/Sessions", map[string]string{"UserName": "admin", "Password": "nope"}); st != http.StatusUnauthorized {
		t.Fatalf("bad password: %d, want 401", st)
	}
	c.login()
	if doc := c.get("/redfish/v1/Chassis/1U/EnvironmentMetrics/"); reading(doc, "PowerWatts") != 374 {
		t.Fatalf("EnvironmentMetrics: %v", doc)
	}
	if st, _, _ := c.do("GET", "/redfish/v1/Chassis/Nope", nil); st != http.StatusNotFound {
		t.Fatalf("missing resource: %d", st)
	}
	if n := b.Requests()["GET /redfish/v1/Chassis/1U/EnvironmentMetrics"]; n != 1 {
		t.Fatalf("request count %d, want 1 (%v)", n, b.Requests())
	}
	// Idle expiry: a used session lives on, an idle one is refused.
	clk.Add(50 * time.Second)
	c.get("/redfish/v1/Systems")
	clk.Add(50 * time.Second)
	c.get("/redfish/v1/Systems")
	clk.Add(61 * time.Second)
	if st, _, _ := c.do("GET", "/redfish/v1/Systems", nil); st != http.StatusUnauthorized {
		t.Fatalf("after idle expiry: %d, want 401", st)
	}
	// Logout.
	c.login()
	if b.Sessions() != 1 {
		t.Fatalf("sessions %d", b.Sessions())
	}
	coll := c.get("/redfish/v1/SessionService/Sessions")
	m := coll["Members"].([]any)[0].(map[string]any)["@odata.id"].(string)
	if st, _, _ := c.do("DELETE", m, nil); st != http.StatusNoContent {
		t.Fatalf("logout: %d", st)
	}
	if st, _, _ := c.do("GET", "/redfish/v1/Systems", nil); st != http.StatusUnauthorized || b.Sessions() != 0 {
		t.Fatalf("after logout: %d, %d sessions", st, b.Sessions())
	}
}

func TestBasicAuth(t *testing.T) {
	_, srv, _ := start(t, "public-rackmount1", Options{BasicAuth: true})
	req, _ := http.NewRequest("GET", srv.URL+"/redfish/v1/Chassis/1U", nil)
	req.SetBasicAuth("admin", "password")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("basic auth: %d", resp.StatusCode)
	}
}

func TestResetStateMachine(t *testing.T) {
	const sys = "/redfish/v1/Systems/437XR1138R2"
	const reset = sys + "/Actions/ComputerSystem.Reset"
	for _, quirk := range []bool{false, true} {
		t.Run(map[bool]string{false: "normal", true: "quirk"}[quirk], func(t *testing.T) {
			_, srv, clk := start(t, "public-rackmount1", Options{QuirkReportOffEarly: quirk,
				ShutdownDuration: 10 * time.Second, PowerOnDuration: 5 * time.Second})
			c := &client{t: t, base: srv.URL}
			c.login()
			if st, _, _ := c.do("POST", reset, map[string]string{"ResetType": "PowerCycle"}); st != http.StatusBadRequest {
				t.Fatalf("PowerCycle is not allowed on this system: %d, want 400", st)
			}
			if st, _, _ := c.do("POST", reset, map[string]string{"ResetType": "GracefulShutdown"}); st != http.StatusNoContent {
				t.Fatalf("GracefulShutdown: %d", st)
			}
			wantState := map[bool]string{false: "PoweringOff", true: "Off"}[quirk]
			if got := c.get(sys)["PowerState"]; got != wantState {
				t.Fatalf("during shutdown: %v, want %s", got, wantState)
			}
			// Still drawing power while shutting down.
			if w := reading(c.get("/redfish/v1/Chassis/1U/EnvironmentMetrics"), "PowerWatts"); w != 374 {
				t.Fatalf("power during shutdown %v, want 374", w)
			}
			clk.Add(3 * time.Second)
			if st, _, _ := c.do("POST", reset, map[string]string{"ResetType": "On"}); st != http.StatusNoContent {
				t.Fatalf("On during shutdown: %d", st)
			}
			clk.Add(8 * time.Second) // shutdown done
			if quirk {
				if got := c.get(sys)["PowerState"]; got != "Off" {
					t.Fatalf("quirk: the On was dropped, state %v, want Off", got)
				}
				if w := reading(c.get("/redfish/v1/Chassis/1U/EnvironmentMetrics"), "PowerWatts"); w != 8 {
					t.Fatalf("standby power %v, want 8", w)
				}
				doc := c.get("/redfish/v1/Chassis/1U/Power")
				if pc := doc["PowerControl"].([]any)[0].(map[string]any)["PowerConsumedWatts"]; pc != 8.0 {
					t.Fatalf("legacy standby power %v", pc)
				}
				clk.Add(time.Minute)
				if got := c.get(sys)["PowerState"]; got != "Off" {
					t.Fatalf("quirk: state %v, want Off", got)
				}
				return
			}
			if got := c.get(sys)["PowerState"]; got != "PoweringOn" {
				t.Fatalf("normal: the On is honoured after the shutdown, state %v", got)
			}
			clk.Add(5 * time.Second)
			if got := c.get(sys)["PowerState"]; got != "On" {
				t.Fatalf("normal: state %v, want On", got)
			}
			if st, _, _ := c.do("POST", reset, map[string]string{"ResetType": "ForceOff"}); st != http.StatusNoContent {
				t.Fatal(st)
			}
			if got := c.get("/redfish/v1/Chassis/1U")["PowerState"]; got != "Off" {
				t.Fatalf("chassis follows the system: %v", got)
			}
		})
	}
}

func TestPowerLimitPatch(t *testing.T) {
	_, srv, _ := start(t, "public-rackmount1", Options{})
	c := &client{t: t, base: srv.URL}
	c.login()
	if st, _, _ := c.do("PATCH", "/redfish/v1/Chassis/1U/Controls/PowerLimit", map[string]any{"SetPoint": 2000}); st != http.StatusBadRequest {
		t.Fatalf("out of range: %d, want 400", st)
	}
	if st, _, doc := c.do("PATCH", "/redfish/v1/Chassis/1U/Controls/PowerLimit", map[string]any{"SetPoint": 300}); st != http.StatusOK || doc["SetPoint"] != 300.0 {
		t.Fatalf("patch: %d %v", st, doc)
	}
	env := c.get("/redfish/v1/Chassis/1U/EnvironmentMetrics")
	if v := env["PowerLimitWatts"].(map[string]any)["SetPoint"]; v != 300.0 {
		t.Fatalf("EnvironmentMetrics limit %v", v)
	}
	body := map[string]any{"PowerControl": []any{map[string]any{"PowerLimit": map[string]any{"LimitInWatts": 450}}}}
	if st, _, _ := c.do("PATCH", "/redfish/v1/Chassis/1U/Power", body); st != http.StatusOK {
		t.Fatalf("legacy patch: %d", st)
	}
	if v := c.get("/redfish/v1/Chassis/1U/Controls/PowerLimit")["SetPoint"]; v != 450.0 {
		t.Fatalf("control after legacy patch %v", v)
	}
	if st, _, _ := c.do("PATCH", "/redfish/v1/Chassis/1U", map[string]any{"AssetTag": "x"}); st != http.StatusMethodNotAllowed {
		t.Fatalf("read-only resource: %d", st)
	}
}

func TestOutletPowerControl(t *testing.T) {
	_, srv, _ := start(t, "public-pdu", Options{})
	c := &client{t: t, base: srv.URL}
	c.login()
	const a1 = "/redfish/v1/PowerEquipment/RackPDUs/1/Outlets/A1"
	if st, _, _ := c.do("POST", a1+"/Outlet.PowerControl", map[string]string{"PowerState": "Off"}); st != http.StatusNoContent {
		t.Fatalf("outlet off: %d", st)
	}
	o := c.get(a1)
	if o["PowerState"] != "Off" || reading(o, "PowerWatts") != 0 {
		t.Fatalf("outlet after off: %v %v", o["PowerState"], reading(o, "PowerWatts"))
	}
	if w := reading(c.get("/redfish/v1/PowerEquipment/RackPDUs/1/Metrics"), "PowerWatts"); w < 6240.5 || w > 6240.7 {
		t.Fatalf("PDU power %v, want 6438-197.4", w)
	}
	if w := reading(c.get("/redfish/v1/PowerEquipment/RackPDUs/1/Branches/A"), "PowerWatts"); w < 739.9 || w > 740.1 {
		t.Fatalf("branch A power %v, want 937.4-197.4", w)
	}
	if st, _, _ := c.do("POST", a1+"/Outlet.PowerControl", map[string]string{"PowerState": "Sideways"}); st != http.StatusBadRequest {
		t.Fatalf("bad state: %d", st)
	}
}

func TestFaults(t *testing.T) {
	b, srv, _ := start(t, "public-rackmount1", Options{SlowDelay: 50 * time.Millisecond})
	c := &client{t: t, base: srv.URL}
	c.login()
	b.SetFaults(FaultLegacyOnly)
	ch := c.get("/redfish/v1/Chassis/1U")
	if _, ok := ch["EnvironmentMetrics"]; ok {
		t.Fatal("legacy-only: chassis still links EnvironmentMetrics")
	}
	if _, ok := ch["Power"]; !ok {
		t.Fatal("legacy-only: Power link gone")
	}
	if st, _, _ := c.do("GET", "/redfish/v1/Chassis/1U/PowerSubsystem/PowerSupplies/Bay1/Metrics", nil); st != http.StatusNotFound {
		t.Fatalf("legacy-only: PSU metrics %d", st)
	}
	b.SetFaults(FaultNoLegacy)
	ch = c.get("/redfish/v1/Chassis/1U")
	if _, ok := ch["Power"]; ok {
		t.Fatal("no-legacy: chassis still links Power")
	}
	if _, ok := ch["Power@Redfish.Deprecated"]; ok {
		t.Fatal("no-legacy: deprecation note left")
	}
	b.SetFaults(FaultError500)
	if st, _, _ := c.do("GET", "/redfish/v1/Chassis/1U", nil); st != http.StatusInternalServerError {
		t.Fatalf("error500: %d", st)
	}
	b.SetFaults(FaultSlow)
	t0 := time.Now()
	c.get("/redfish/v1/Chassis/1U")
	if time.Since(t0) < 50*time.Millisecond {
		t.Fatal("slow: answered at once")
	}
	b.SetFaults()
	c.get("/redfish/v1/Chassis/1U/EnvironmentMetrics")
	if _, err := ParseFault("nope"); err == nil {
		t.Fatal("ParseFault accepted an unknown name")
	}
}

func TestExpand(t *testing.T) {
	_, srv, _ := start(t, "public-pdu", Options{})
	c := &client{t: t, base: srv.URL}
	c.login()
	doc := c.get("/redfish/v1/PowerEquipment/RackPDUs/1?$expand=.($levels=2)")
	if w := reading(doc["Metrics"].(map[string]any), "PowerWatts"); w != 6438 {
		t.Fatalf("expanded Metrics: %v", w)
	}
	members := doc["Outlets"].(map[string]any)["Members"].([]any)
	if len(members) != 11 || members[0].(map[string]any)["Id"] != "A1" {
		t.Fatalf("expanded outlets: %d %v", len(members), members[0])
	}
	// Links are never expanded.
	if _, ok := doc["Links"].(map[string]any)["Chassis"].([]any)[0].(map[string]any)["Name"]; ok {
		t.Fatal("Links expanded")
	}
	_, srv2, _ := start(t, "public-pdu", Options{NoExpand: true})
	c2 := &client{t: t, base: srv2.URL}
	c2.login()
	if _, ok := c2.get("/redfish/v1/PowerEquipment/RackPDUs/1?$expand=.")["Metrics"].(map[string]any)["PowerWatts"]; ok {
		t.Fatal("NoExpand: expanded anyway")
	}
}
