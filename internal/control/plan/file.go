package plan

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ecometer/ecometer/config"
	"github.com/ecometer/ecometer/internal/control/target"
)

// Version is the plan file format.
const Version = 1

// Ops of a step.
const (
	OpOff     = "off"     // shutdown (servers), outlet off, PoE off
	OpOn      = "on"      // power on (never a cycle)
	OpCap     = "cap"     // set a power limit
	OpRestore = "restore" // put the limit back
)

// Plan is what `power plan` writes and `power apply` executes. Its Hash
// covers everything else in it: apply refuses a plan that was edited.
type Plan struct {
	Version    int       `json:"version"`
	Created    time.Time `json:"created"`
	At         time.Time `json:"at"`
	By         string    `json:"by"`
	ValidUntil time.Time `json:"valid_until"`
	Config     Source    `json:"config"`
	Policies   []Source  `json:"policy_files,omitempty"`
	Windows    []Window  `json:"windows"`
	Steps      []Step    `json:"steps"`
	Skipped    []Skip    `json:"skipped,omitempty"`
	Expected   Expected  `json:"expected"`
	Notes      []string  `json:"notes,omitempty"`
	Hash       string    `json:"hash"`
}

// Source is an input file and its SHA-256: a plan made from other inputs
// is stale.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// Window is the off-window a policy's steps are for.
type Window struct {
	Policy string    `json:"policy"`
	Site   string    `json:"site,omitempty"`
	From   time.Time `json:"from"`
	To     time.Time `json:"to"`
	Why    string    `json:"why"`
	// Carbon is the choice of a carbon-aware policy.
	Carbon *Carbon `json:"carbon_aware,omitempty"`
}

// Carbon is the on-block a carbon-aware policy chose, against the fixed
// block (the first on_hours from its start) it replaces.
type Carbon struct {
	OnFrom      time.Time `json:"on_from"`
	OnTo        time.Time `json:"on_to"`
	FixedFrom   time.Time `json:"fixed_from"`
	FixedTo     time.Time `json:"fixed_to"`
	KWh         float64   `json:"expected_kwh"`
	KgCO2e      float64   `json:"expected_kg_co2e"`
	FixedKgCO2e float64   `json:"fixed_kg_co2e"`
	MeanGPerKWh float64   `json:"mean_g_per_kwh"`
	FixedMean   float64   `json:"fixed_mean_g_per_kwh"`
	Forecast    bool      `json:"forecast"` // false: no forecast, the fixed block is used
	Note        string    `json:"note"`
}

// Step is one operation on one target at a time.
type Step struct {
	ID     int           `json:"id"`
	Due    time.Time     `json:"due"`
	Target target.Target `json:"target"`
	Op     string        `json:"op"`
	// Method says in words what will be sent ("GracefulShutdown, then
	// ForceOff after 5m").
	Method          string          `json:"method"`
	ShutdownTimeout config.Duration `json:"shutdown_timeout,omitempty"`
	CapW            float64         `json:"cap_w,omitempty"`
	Policy          string          `json:"policy"`
	Why             string          `json:"why"`
	// DependsOn are steps that must have succeeded (servers before their
	// outlets: the outlet is switched off only once the server is off).
	DependsOn []int `json:"depends_on,omitempty"`
	// Delay is the wait after this step before the next one.
	Delay config.Duration `json:"delay,omitempty"`
	// Conditions are re-checked just before an off step.
	Conditions *config.Conditions `json:"conditions,omitempty"`
	// ExpectedKWh is the energy the step is expected to save (off) until
	// its power-on.
	ExpectedKWh float64 `json:"expected_kwh,omitempty"`
	MeanW       float64 `json:"mean_w,omitempty"`
}

// Skip is a target a policy selected that the plan leaves alone, and why.
type Skip struct {
	Target string `json:"target"`
	Policy string `json:"policy"`
	Why    string `json:"why"`
}

// Expected is the energy the plan should save, and its CO2e.
type Expected struct {
	KWh    float64 `json:"kwh"`
	KgCO2e float64 `json:"kg_co2e"`
	Basis  string  `json:"basis"`
}

func (p *Plan) hash() string {
	c := *p
	c.Hash = ""
	b, _ := json.Marshal(c)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Seal sets the plan's hash; call it last.
func (p *Plan) Seal() { p.Hash = p.hash() }

// Write writes the sealed plan as indented JSON.
func (p *Plan) Write(path string) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o640)
}

// ErrModified is a plan whose content does not match its hash.
var ErrModified = errors.New("the plan was modified after it was made (its hash does not match); make a new one with power plan")

// Read reads a plan file and checks its hash.
func Read(path string) (*Plan, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var p Plan
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("plan %s: %w", path, err)
	}
	if p.Version != Version {
		return nil, fmt.Errorf("plan %s: version %d, this ecometer reads version %d", path, p.Version, Version)
	}
	if p.Hash == "" || p.hash() != p.Hash {
		return nil, fmt.Errorf("plan %s: %w", path, ErrModified)
	}
	return &p, nil
}

// FileSHA256 is the SHA-256 of a file's content.
func FileSHA256(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// StaleError is a plan that may no longer be applied.
type StaleError struct{ Reason string }

func (e *StaleError) Error() string {
	return "stale plan: " + e.Reason + "; make a new one with power plan"
}

// CheckFresh refuses a plan past its ValidUntil, or made from a config or
// policy file that has changed since.
func (p *Plan) CheckFresh(now time.Time) error {
	if now.After(p.ValidUntil) {
		return &StaleError{Reason: fmt.Sprintf("valid until %s, it is now %s", p.ValidUntil.Format(time.RFC3339), now.Format(time.RFC3339))}
	}
	for _, s := range append([]Source{p.Config}, p.Policies...) {
		if s.Path == "" {
			continue
		}
		sum, err := FileSHA256(s.Path)
		if err != nil {
			return &StaleError{Reason: fmt.Sprintf("%s: %v", s.Path, err)}
		}
		if sum != s.SHA256 {
			return &StaleError{Reason: s.Path + " has changed since the plan was made"}
		}
	}
	return nil
}
