package harness

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// WorkDir makes the directory a harness run keeps its processes' logs, stores and configuration in (under the
// system's temporary directory, named after prefix), and returns a cleanup that removes it if nothing but the
// ponte binary built into it is left (a failing run keeps its files there, for a look).
func WorkDir(prefix string) (dir string, cleanup func(), err error) {
	dir, err = os.MkdirTemp("", prefix)
	if err != nil {
		return "", nil, err
	}
	return dir, func() {
		if entries, _ := os.ReadDir(dir); len(entries) == 0 || (len(entries) == 1 && entries[0].Name() == "ponte") {
			os.RemoveAll(dir)
		}
	}, nil
}

// BuildPonte builds ./cmd/ponte of the repository at repo into out, its compiler's output going to stderr.
func BuildPonte(ctx context.Context, repo, out string, stderr io.Writer) error {
	build := exec.CommandContext(ctx, "go", "build", "-o", out, "./cmd/ponte")
	build.Dir, build.Stdout, build.Stderr = repo, stderr, stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("build ponte: %w", err)
	}
	return nil
}

// WriteBetweenMarkers puts body between the begin and end markers of the document at path (the table of a
// report in docs/), or writes body as the whole file when there is none yet.
func WriteBetweenMarkers(path, begin, end, body string) error {
	doc, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return os.WriteFile(path, []byte(body), 0o644)
	}
	if err != nil {
		return err
	}
	b, rest, ok1 := strings.Cut(string(doc), begin)
	_, e, ok2 := strings.Cut(rest, end)
	if !ok1 || !ok2 {
		return fmt.Errorf("%s has no %q … %q markers to put the table between", path, begin, end)
	}
	return os.WriteFile(path, []byte(b+begin+"\n"+body+end+e), 0o644)
}

// NATSServerForTest returns the nats-server binary a test of real processes runs: PONTE_CHAOS_NATS_SERVER (make
// test passes the one `make nats-server` builds), else the repository's .tools/bin/nats-server, seen from a
// package two levels down. Without one the test is skipped, or fails under CI=true; with -short it is skipped.
func NATSServerForTest(t *testing.T) string {
	t.Helper()
	natsServer := os.Getenv("PONTE_CHAOS_NATS_SERVER")
	if natsServer == "" {
		natsServer = filepath.Join("..", "..", ".tools", "bin", "nats-server")
	}
	if _, err := os.Stat(natsServer); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no nats-server binary at %s (make test builds it): %v", natsServer, err)
		}
		t.Skipf("no nats-server binary at %s: run make test (or make nats-server) to build it", natsServer)
	}
	if testing.Short() {
		t.Skip("-short: the test starts real processes")
	}
	return natsServer
}
