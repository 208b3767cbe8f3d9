package procure

import "testing"

func TestEmbeddedCatalogsLoad(t *testing.T) {
	r, err := Embedded()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range r.Catalogs() {
		t.Logf("%s: %d requirements", c.Name, len(c.Requirements))
	}
}
