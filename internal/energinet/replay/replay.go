// Package replay serves Energi Data Service responses built from recorded
// rows, on loopback, for the tests of everything that fetches grid data: the
// paging, sorting and filtering of the real API, and its failures.
package replay

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/ecometer/ecometer/internal/testenv"
)

// Server replays the API's /dataset/CO2EmisProg endpoint over Records.
type Server struct {
	T       testing.TB
	Records []map[string]any
	// Fail answers 503 to this many requests first.
	Fail int

	mu     sync.Mutex
	status int // when set, every answer
	pages  int
}

// SetStatus makes every later answer an error with this HTTP status.
func (a *Server) SetStatus(code int) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.status, a.pages = code, 0
}

// Pages is the number of pages served.
func (a *Server) Pages() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.pages
}

func (a *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.status != 0 {
		http.Error(w, `{"error":"bad filter"}`, a.status)
		return
	}
	if a.Fail > 0 {
		a.Fail--
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if r.URL.Path != "/dataset/CO2EmisProg" {
		http.NotFound(w, r)
		return
	}
	q := r.URL.Query()
	var filter map[string][]string
	if err := json.Unmarshal([]byte(q.Get("filter")), &filter); err != nil || len(filter["PriceArea"]) != 1 {
		http.Error(w, "bad filter", http.StatusBadRequest)
		return
	}
	if q.Get("sort") != "Minutes5UTC ASC" {
		a.T.Errorf("sort = %q", q.Get("sort"))
	}
	start, end := q.Get("start")+":00", q.Get("end")+":00" // Danish local time, as the API takes it
	limit, _ := strconv.Atoi(q.Get("limit"))
	offset, _ := strconv.Atoi(q.Get("offset"))
	var sel []map[string]any
	for _, rec := range a.Records {
		dk := rec["Minutes5DK"].(string)
		if dk >= start && dk < end && rec["PriceArea"] == filter["PriceArea"][0] {
			sel = append(sel, rec)
		}
	}
	page := sel[min(offset, len(sel)):min(offset+limit, len(sel))]
	a.pages++
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"total": len(sel), "limit": limit, "dataset": "CO2EmisProg", "records": page})
}

// CorpusRecords reads the corpus rows with Minutes5UTC in [from, to] (as
// text, e.g. "2025-09-25") as API records.
func CorpusRecords(t testing.TB, from, to string) []map[string]any {
	f := testenv.OpenCorpus(t, "grid", "CO2EmisProg_DK1_2024-2025.csv")
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, r := range rows[1:] {
		if r[0] < from || r[0] > to {
			continue
		}
		rec := map[string]any{"Minutes5UTC": r[0], "Minutes5DK": r[1], "PriceArea": r[2], "CO2Emission": nil}
		if r[3] != "" {
			v, err := strconv.ParseFloat(r[3], 64)
			if err != nil {
				t.Fatal(err)
			}
			rec["CO2Emission"] = v
		}
		out = append(out, rec)
	}
	return out
}
