package chartcheck

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// kedaScalerKeys reads the trigger metadata keys of KEDA's nats-jetstream scaler from its source in the module
// cache (the version go.mod requires): every key it reads, and those it requires (no optional, no default). The
// metadata is a map[string]string, so decoding the ScaledObject cannot catch a misspelt key; this can.
func kedaScalerKeys(t *testing.T) (known map[string]bool, required []string) {
	t.Helper()
	out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/kedacore/keda/v2").Output()
	if err != nil {
		t.Fatalf("go list -m github.com/kedacore/keda/v2: %v", err)
	}
	file := filepath.Join(strings.TrimSpace(string(out)), "pkg", "scalers", "nats_jetstream_scaler.go")
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	known = map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != "natsJetStreamMetadata" {
			return true
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			if field.Tag == nil {
				continue
			}
			tag, _ := strconv.Unquote(field.Tag.Value)
			var name string
			optional := false
			for _, part := range strings.Split(reflect.StructTag(tag).Get("keda"), ",") {
				part = strings.TrimSpace(part)
				switch {
				case strings.HasPrefix(part, "name="):
					name = strings.TrimPrefix(part, "name=")
				case part == "optional", strings.HasPrefix(part, "default="):
					optional = true
				}
			}
			if name != "" {
				known[name] = true
				if !optional {
					required = append(required, name)
				}
			}
		}
		return false
	})
	if len(known) < 5 {
		t.Fatalf("found only %v in %s: has the scaler changed shape?", known, file)
	}
	return known, required
}
