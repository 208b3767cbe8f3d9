package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

func TestInventoryImport(t *testing.T) {
	cfg, dataDir := testConfig(t, "")
	inv := writeFile(t, "assets.csv", "asset_id;class;model;in_service;lifetime_years;footprint_kg_co2e\n"+
		"srv-1;Server;R750;2023-04-01;5;1200,5\nlap-1;Laptop;X1;2024-01-15;4;\nlap-2;Laptop;X1;2024-01-15;4;\n")
	bad := writeFile(t, "bad.csv", "asset_id,class,model,in_service,lifetime_years\nsrv-1,Server,R750,2023-13-01,5\n")
	ctx := context.Background()
	var out, errOut bytes.Buffer

	err := runInventoryImport(ctx, inventoryImportOptions{Config: cfg, File: bad}, streams{&out, &errOut})
	if exitCode(err) != exitBadUse || !strings.Contains(err.Error(), bad+`:2:19: in_service: invalid date "2023-13-01"`) {
		t.Fatalf("bad inventory: %v", err)
	}
	for i, want := range []string{"3 added, 0 updated, 0 unchanged", "0 added, 0 updated, 3 unchanged"} {
		out.Reset()
		if err := runInventoryImport(ctx, inventoryImportOptions{Config: cfg, File: inv}, streams{&out, &errOut}); err != nil {
			t.Fatal(err)
		}
		wantOut := inv + ": 3 assets (Laptop 2, Server 1); 1 with a product footprint, 2 use their class default\n" +
			"Stored in the embedded SQLite store in " + dataDir + ": " + want + ".\n"
		if out.String() != wantOut {
			t.Errorf("import %d:\n%s\nwant:\n%s", i, &out, wantOut)
		}
	}
}
