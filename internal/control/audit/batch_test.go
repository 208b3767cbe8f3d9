package audit

import (
	"fmt"
	"testing"
	"time"
)

// TestAppendAll: entries written at once continue the chain of those
// before them, keep their times and who, and Verify accepts the whole log;
// an Append after them continues it too.
func TestAppendAll(t *testing.T) {
	l, _ := writeLog(t, 2)
	at := time.Date(2025, 11, 3, 18, 2, 0, 0, time.UTC)
	var batch []Entry
	for i := range 3 {
		batch = append(batch, Entry{Time: at.Add(time.Duration(i) * time.Minute), Who: "ecometer demo", Event: EventVerified,
			Target: fmt.Sprintf("srv-%d", i), Action: "off", Policy: "night"})
	}
	n, err := AppendAll(l, batch)
	if err != nil || n != 3 {
		t.Fatalf("AppendAll = %d, %v", n, err)
	}
	if _, err := l.Append(Entry{Event: EventCommand, Target: "srv-9", Action: "on"}); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Verify(); err != nil || n != 6 {
		t.Fatalf("Verify = %d, %v; want 6 entries, intact", n, err)
	}
	es, err := l.Read()
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range es[2:5] {
		if e.Seq != int64(i+3) || !e.Time.Equal(batch[i].Time) || e.Who != "ecometer demo" || e.Target != batch[i].Target {
			t.Errorf("entry %d: %+v", i+3, e)
		}
	}
	if n, err := AppendAll(l, nil); n != 0 || err != nil {
		t.Errorf("AppendAll(nil) = %d, %v", n, err)
	}
}
