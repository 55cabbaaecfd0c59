package chartcheck

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
)

// dockerfile is what the checks read from the top-level Dockerfile: the instructions of each stage, with
// continuation lines joined.
type dockerfile struct {
	stages [][]instruction
}

type instruction struct{ cmd, args string }

func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var d dockerfile
	text := strings.ReplaceAll(string(b), "\\\n", " ")
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		cmd, args, _ := strings.Cut(line, " ")
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			d.stages = append(d.stages, nil)
		}
		if len(d.stages) == 0 {
			t.Fatalf("Dockerfile: %s before FROM", line)
		}
		d.stages[len(d.stages)-1] = append(d.stages[len(d.stages)-1], in)
	}
	return d
}

// last returns the arguments of the stage's last instruction cmd.
func last(stage []instruction, cmd string) string {
	out := ""
	for _, in := range stage {
		if in.cmd == cmd {
			out = in.args
		}
	}
	return out
}

// TestDockerfileAgreesWithChart: the image runs the binary, arguments, user and port the chart's Deployment
// uses; it is built static and trimmed with the Go of go.mod, on distroless static as nonroot; and it copies
// every package of the module that ponte is built from.
func TestDockerfileAgreesWithChart(t *testing.T) {
	d := readDockerfile(t)
	if len(d.stages) != 2 {
		t.Fatalf("%d stages, want a build stage and the image", len(d.stages))
	}
	build, final := d.stages[0], d.stages[1]
	dep := one[*appsv1.Deployment](t, render(t, false, nil, filepath.Join(ciDir, "minimal-values.yaml")), "Deployment", "")
	pod := dep.Spec.Template.Spec
	ctr := pod.Containers[0]

	var entrypoint []string
	if err := json.Unmarshal([]byte(last(final, "ENTRYPOINT")), &entrypoint); err != nil {
		t.Fatalf("ENTRYPOINT is not in exec form: %v", err)
	}
	if want := append(append([]string{}, ctr.Command...), ctr.Args...); !reflect.DeepEqual(entrypoint, want) {
		t.Errorf("ENTRYPOINT %q, the chart runs %q", entrypoint, want)
	}
	if want := fmt.Sprintf("%d:%d", *pod.SecurityContext.RunAsUser, *pod.SecurityContext.RunAsGroup); last(final, "USER") != want || want != "65532:65532" {
		t.Errorf("USER %q, the chart runs as %s (want 65532:65532, distroless's nonroot)", last(final, "USER"), want)
	}
	if want := fmt.Sprint(ctr.Ports[0].ContainerPort); !strings.Contains(" "+last(final, "EXPOSE")+" ", " "+want+" ") {
		t.Errorf("EXPOSE %q lacks the ops port %s", last(final, "EXPOSE"), want)
	}
	if from := last(final, "FROM"); !regexp.MustCompile(`^(gcr\.io/distroless/static[-a-z0-9]*:nonroot|scratch)$`).MatchString(from) {
		t.Errorf("image base %q, want distroless static nonroot or scratch", from)
	}
	if copyArgs := last(final, "COPY"); !strings.HasSuffix(copyArgs, " "+entrypoint[0]) || !strings.HasPrefix(copyArgs, "--from=") {
		t.Errorf("COPY %q does not put the built binary at %s", copyArgs, entrypoint[0])
	}
	run := last(build, "RUN")
	for _, w := range []string{"CGO_ENABLED=0", "go build", "-trimpath", "./cmd/ponte", "main.version="} {
		if !strings.Contains(run, w) {
			t.Errorf("the build's RUN %q lacks %s", run, w)
		}
	}
	gomod, err := os.ReadFile(filepath.Join(repoRoot, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	goVersion := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)[1]
	if from := last(build, "FROM"); !strings.HasPrefix(from, "golang:"+string(goVersion)+"-") {
		t.Errorf("build base %q, want golang:%s (go.mod's go line)", from, goVersion)
	}

	// Every directory of the module that ponte's packages (and their embedded files) come from is copied.
	copied := map[string]bool{}
	for _, in := range build {
		if in.cmd == "COPY" {
			fields := strings.Fields(in.args)
			for _, src := range fields[:len(fields)-1] {
				copied[strings.TrimSuffix(src, "/")] = true
			}
		}
	}
	cmd := exec.Command("go", "list", "-deps", "-f", `{{if .Module}}{{if eq .Module.Path "github.com/ponte-dev/ponte"}}{{.ImportPath}}{{end}}{{end}}`, "./cmd/ponte")
	cmd.Dir = repoRoot
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list -deps ./cmd/ponte: %v", err)
	}
	for _, pkg := range strings.Fields(string(out)) {
		top := strings.SplitN(strings.TrimPrefix(pkg, "github.com/ponte-dev/ponte/"), "/", 2)[0]
		if !copied[top] {
			t.Errorf("ponte needs %s, but the Dockerfile does not copy %s/", pkg, top)
		}
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		if !copied[f] {
			t.Errorf("the Dockerfile does not copy %s", f)
		}
	}
}
