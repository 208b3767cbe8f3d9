package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ecometer/ecometer/internal/procurement"
	"github.com/ecometer/ecometer/internal/store/sqlite"
	"github.com/ecometer/ecometer/models/procure"
	"github.com/ecometer/ecometer/models/sample"
)

func fixedNow() time.Time { return time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC) }

func TestProcureCheck(t *testing.T) {
	ex := filepath.Join("..", "..", "examples", "procurement")
	costs := procure.CostParams{CO2PriceDKKPerTonne: 1500, Load: 0.3, DefaultYears: 5}
	var out, errOut bytes.Buffer
	// The monitor that passes every verified legal requirement: exit 0.
	pass := writeFile(t, "pass.csv", "id,class,model,eei_label,eei_ecodesign,resolution,tco_generation,tco_id,tco_expires\n"+
		"m1,monitor,X,0.55,0.62,uhd,10,T-1,2027-01-01\n")
	err := runProcureCheck(procureCheckOptions{Sheets: []string{pass}, Catalogs: []string{"eu-2019-2013", "eu-2019-2021", "tco-gen10"},
		Format: "table", Costs: costs, Now: fixedNow}, streams{&out, &errOut})
	if err != nil || !strings.Contains(out.String(), "1 products: 1 pass") {
		t.Fatalf("passing sheet: %v\n%s", err, &out)
	}
	// The example tender: a failing offer gives exit 1.
	out.Reset()
	err = runProcureCheck(procureCheckOptions{Sheets: []string{filepath.Join(ex, "tender.csv")}, Catalogs: []string{"eu-2019-2021", "tco-gen10"},
		Format: "json", Costs: costs, Now: fixedNow}, streams{&out, &errOut})
	if exitCode(err) != exitRuntime || !strings.Contains(out.String(), `"verdict": "fail"`) {
		t.Errorf("tender: %v\n%s", err, &out)
	}
	// Bad sheets: every problem of every file, exit 2.
	errOut.Reset()
	bad := writeFile(t, "bad.csv", "id,class,model,idel_w\na,server,X,1\n")
	badYAML := writeFile(t, "bad.yaml", "id: b\nclass: server\nmodel: Y\nmax_w: lots\n")
	err = runProcureCheck(procureCheckOptions{Sheets: []string{bad, badYAML}, Format: "table", Costs: costs, Now: fixedNow}, streams{&out, &errOut})
	if exitCode(err) != exitBadUse || !strings.Contains(errOut.String(), bad+`:1:16: idel_w: unknown column "idel_w" (did you mean "idle_w"?)`) ||
		!strings.Contains(errOut.String(), badYAML+`:4:8: max_w: invalid number "lots"`) {
		t.Errorf("bad sheets: %v\n%s", err, &errOut)
	}
	for _, o := range []procureCheckOptions{
		{Sheets: []string{pass}, Format: "pdf"},
		{Sheets: []string{pass}, Format: "xml"},
		{Sheets: []string{pass}, Format: "table", Catalogs: []string{"nope"}},
	} {
		o.Costs, o.Now = costs, fixedNow
		if err := runProcureCheck(o, streams{&out, &errOut}); exitCode(err) != exitBadUse {
			t.Errorf("%+v: %v, want exit 2", o, err)
		}
	}
	// PDF to a file.
	pdf := filepath.Join(t.TempDir(), "c.pdf")
	err = runProcureCheck(procureCheckOptions{Sheets: []string{pass}, Catalogs: []string{"eu-2019-2021"}, Format: "pdf", Output: pdf, Costs: costs, Now: fixedNow}, streams{&out, &errOut})
	if data, rerr := os.ReadFile(pdf); err != nil || rerr != nil || !bytes.HasPrefix(data, []byte("%PDF-")) {
		t.Errorf("pdf: %v %v", err, rerr)
	}
}

func TestProcureVerify(t *testing.T) {
	cfg, dataDir := testConfig(t, "")
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: dataDir})
	if err != nil {
		t.Fatal(err)
	}
	var batch []sample.Sample
	for i := 0; i < 48; i++ {
		batch = append(batch, sample.Sample{Series: sample.Series{Measurement: sample.Power, Device: "srv-1", Class: "server", Meter: "total", Source: "redfish"},
			Time: fixedNow().Add(-time.Duration(i+1) * time.Hour), Fields: []sample.Field{sample.F("power_w", 150)}})
	}
	if err := st.Write(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	st.Close()
	sheet := writeFile(t, "d.csv", "id,class,model,idle_w,max_w,asset_id,meter\ns1,server,X,120,400,A-9,srv-1\n")
	var out, errOut bytes.Buffer
	err = runProcureVerify(context.Background(), procureVerifyOptions{Config: cfg, Sheets: []string{sheet}, Days: 7, Tolerance: procurement.DefaultTolerancePct, Now: fixedNow},
		streams{&out, &errOut})
	// 150 W measured idle > 120 × 1.1: a deviation, exit 1; the asset is not in the inventory.
	if exitCode(err) != exitRuntime || !strings.Contains(out.String(), "above declared") || !strings.Contains(out.String(), "asset A-9 is not in the stored inventory") {
		t.Errorf("verify: %v\n%s", err, &out)
	}
}
