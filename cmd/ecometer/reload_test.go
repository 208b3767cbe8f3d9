package main

import (
	"bytes"
	"context"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestReloadSignalsTheServeProcess(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "site.yaml")
	if err := os.WriteFile(cfg, []byte("sites: [{name: lab}]\nstorage: {data_dir: "+filepath.Join(dir, "data")+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// This process plays serve: its pid in the default pid file.
	if err := writePidFile(defaultPidFile(filepath.Join(dir, "data"))); err != nil {
		t.Fatal(err)
	}
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)

	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"ecometer", "reload", "--config", cfg}, &out, &errOut)
	if code != exitOK || !strings.Contains(out.String(), "sent SIGHUP to ecometer serve (pid "+strconv.Itoa(os.Getpid())+")") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, &out, &errOut)
	}
	select {
	case <-hup:
	case <-time.After(5 * time.Second):
		t.Fatal("no SIGHUP arrived")
	}
}

func TestReloadRefusesABadConfigOrNoServe(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("sites: [{name: lab}]\ndevices:\n  - {name: x, site: nowhere}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "good.yaml")
	if err := os.WriteFile(good, []byte("sites: [{name: lab}]\nstorage: {data_dir: "+filepath.Join(dir, "data")+"}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--config", bad}, exitBadUse, "nowhere"},
		{[]string{"--config", good}, exitRuntime, "no serve process"},
		{[]string{"--config", good, "extra"}, exitBadUse, "unexpected argument"},
	} {
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"ecometer", "reload"}, tc.args...), &out, &errOut)
		if code != tc.code || !strings.Contains(errOut.String(), tc.want) {
			t.Errorf("reload %v: exit %d, stderr %q; want %d with %q", tc.args, code, &errOut, tc.code, tc.want)
		}
	}
}

func TestServeRejectsABadShard(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"ecometer", "serve", "--config", "x.yaml", "--shard", "3/3"}, &out, &errOut)
	if code != exitBadUse || !strings.Contains(errOut.String(), "--shard") {
		t.Errorf("exit %d, stderr %q", code, &errOut)
	}
}
