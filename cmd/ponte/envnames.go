package main

import (
	"fmt"
	"net"
	"reflect"
	"sort"
	"strings"
)

// configVar is the variable ponte run reads for its --config flag; the only PONTE_* variable that is not a key's.
const configVar = "PONTE_CONFIG"

// kubernetesServiceLink says whether name=value is one of the variables Kubernetes sets in every pod for each
// Service of the namespace (enableServiceLinks, on by default): a Service named ponte or ponte-metrics gives
// PONTE_SERVICE_HOST=10.0.0.7, PONTE_PORT=tcp://10.0.0.7:8080, PONTE_PORT_8080_TCP_ADDR=10.0.0.7,
// PONTE_METRICS_SERVICE_PORT_HTTP=9090 and the like. Both the name and the shape of the value must match, so that
// PONTE_HTTP_PORT=9090 is still reported.
func kubernetesServiceLink(name, value string) bool {
	protoURL := strings.HasPrefix(value, "tcp://") || strings.HasPrefix(value, "udp://") || strings.HasPrefix(value, "sctp://")
	isProto := func(s string) bool { return s == "TCP" || s == "UDP" || s == "SCTP" }
	parts := strings.Split(name, "_") // parts[0] is PONTE
	n := len(parts)
	switch {
	case n >= 5 && parts[n-4] == "PORT" && digitsOnly(parts[n-3]) && isProto(parts[n-2]):
		switch parts[n-1] {
		case "PROTO":
			return value == strings.ToLower(parts[n-2])
		case "PORT":
			return digitsOnly(value)
		case "ADDR":
			return net.ParseIP(value) != nil
		}
	case n >= 4 && parts[n-3] == "PORT" && digitsOnly(parts[n-2]) && isProto(parts[n-1]):
		return protoURL
	case n >= 3 && parts[n-2] == "SERVICE" && parts[n-1] == "HOST":
		return net.ParseIP(value) != nil
	}
	for i := 1; i+1 < n; i++ {
		if parts[i] == "SERVICE" && parts[i+1] == "PORT" { // <SVC>_SERVICE_PORT, <SVC>_SERVICE_PORT_<PORTNAME>
			return digitsOnly(value)
		}
	}
	return n >= 2 && parts[n-1] == "PORT" && protoURL
}

func digitsOnly(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// envMap is a map of the configuration whose entries have variables: PONTE_CIDADES_UGS_<ug>_CLIENT_ID, ....
type envMap struct {
	key    string   // the map's key path, "cidades.ugs"
	prefix string   // its variable followed by "_", "PONTE_CIDADES_UGS_"
	fields []string // the variables of an entry without prefix and entry key: "CLIENT_ID", "VIA", ...
}

// envNames are the variables a configuration knows.
type envNames struct {
	settable map[string]bool // every variable of a key that the environment can set
	fixed    []envFixed      // keys the environment cannot set: profiles
	maps     []envMap
}

// envFixed is a key that exists in the file only, and its variable.
type envFixed struct{ key, name string }

// knownEnvNames walks c the way overlayEnv does: the variables of its keys, those of the map entries c holds.
func knownEnvNames(c *Config) envNames {
	n := envNames{settable: map[string]bool{configVar: true}}
	_ = walkEnv(reflect.ValueOf(c).Elem(), nil, func(name string, _ reflect.Value, settable bool) error {
		if settable {
			n.settable[name] = true
		}
		return nil
	})
	n.walkType(reflect.TypeOf(*c), nil)
	return n
}

// walkType finds the maps and the keys the environment cannot set in the type t at path.
func (n *envNames) walkType(t reflect.Type, path []string) {
	switch {
	case t == durationType:
	case t.Kind() == reflect.Pointer && t.Elem().Kind() == reflect.Struct:
		n.walkType(t.Elem(), path)
	case t.Kind() == reflect.Struct:
		for i := range t.NumField() {
			key, inline, ok := yamlField(t.Field(i))
			switch {
			case !ok:
			case inline:
				n.walkType(t.Field(i).Type, path)
			default:
				n.walkType(t.Field(i).Type, append(append([]string{}, path...), key))
			}
		}
	case t.Kind() == reflect.Map:
		m := envMap{key: strings.Join(path, "."), prefix: envName(path) + "_"}
		_ = walkEnv(reflect.New(t.Elem()).Elem(), nil, func(name string, _ reflect.Value, settable bool) error {
			if settable {
				m.fields = append(m.fields, strings.TrimPrefix(name, "PONTE_"))
			}
			return nil
		})
		sort.Slice(m.fields, func(i, j int) bool { return len(m.fields[i]) > len(m.fields[j]) })
		n.maps = append(n.maps, m)
	case !scalar(t):
		n.fixed = append(n.fixed, envFixed{key: strings.Join(path, "."), name: envName(path)})
	}
}

// checkEnvNames returns an error naming every non-empty PONTE_* variable of environ ("NAME=value") that is not
// known: not a key's variable (for map entries, an entry c holds), not PONTE_CONFIG, not a Kubernetes service
// link. Each is explained on its own line, with the closest known variable when one is close.
func checkEnvNames(c *Config, environ []string) error {
	known := knownEnvNames(c)
	var msgs []string
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, "PONTE_") || value == "" || known.settable[name] || kubernetesServiceLink(name, value) {
			continue
		}
		msgs = append(msgs, known.explain(name))
	}
	if len(msgs) == 0 {
		return nil
	}
	sort.Strings(msgs)
	return fmt.Errorf("%s", strings.Join(msgs, "\n  "))
}

// explain says why name is not a variable of the configuration.
func (n envNames) explain(name string) string {
	for _, f := range n.fixed {
		if name == f.name || strings.HasPrefix(name, f.name+"_") {
			return fmt.Sprintf("%s: %s cannot be set from the environment, only in the file", name, f.key)
		}
	}
	for _, m := range n.maps {
		rest, ok := strings.CutPrefix(name, m.prefix)
		if !ok {
			continue
		}
		for _, f := range m.fields {
			entry, ok := strings.CutSuffix(rest, "_"+f)
			if !ok || entry == "" {
				continue
			}
			msg := fmt.Sprintf("%s: %s %s is not in the configuration file (the environment can only change the entries of %s that the file lists",
				name, entryNoun(m.key), entry, m.key)
			if k := closestByDistance(entry, n.entries(m, f), max(1, len(entry)/4)); k != "" {
				msg += "; did you mean " + m.prefix + k + "_" + f + "?"
			}
			return msg + ")"
		}
	}
	if suggestion := n.closest(name); suggestion != "" {
		return fmt.Sprintf("%s is not a configuration variable (did you mean %s?)", name, suggestion)
	}
	return fmt.Sprintf("%s is not a configuration variable (docs/configuration.md lists them)", name)
}

// entryNoun names an entry of the map at key in messages.
func entryNoun(key string) string {
	if key == "cidades.ugs" {
		return "UG"
	}
	return "entry"
}

// entries returns the keys of the entries of m that have the field f, in name order.
func (n envNames) entries(m envMap, f string) []string {
	var out []string
	for k := range n.settable {
		if rest, ok := strings.CutPrefix(k, m.prefix); ok {
			if entry, ok := strings.CutSuffix(rest, "_"+f); ok && entry != "" {
				out = append(out, entry)
			}
		}
	}
	sort.Strings(out)
	return out
}

// closestByDistance returns the candidate nearest to s by edit distance if it is at most limit away, else "";
// ties go to the first.
func closestByDistance(s string, candidates []string, limit int) string {
	best, bestDist := "", limit+1
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// closest returns the known variable name most likely meant, or "": the nearest by edit distance (adjacent
// letters swapped count as one edit) if it is within a quarter of the name's length (at least 2), else the
// shortest one holding every word of name ("PONTE_ZEEV_URL" → "PONTE_ZEEV_BASE_URL"). Ties go to the first in
// name order.
func (n envNames) closest(name string) string {
	names := make([]string, 0, len(n.settable))
	for k := range n.settable {
		names = append(names, k)
	}
	sort.Strings(names)
	short := strings.TrimPrefix(name, "PONTE_")
	if best := closestByDistance(name, names, max(2, len(short)/4)); best != "" {
		return best
	}
	best, words := "", strings.Split(short, "_")
	for _, k := range names {
		if (best == "" || len(k) < len(best)) && hasWords(strings.Split(strings.TrimPrefix(k, "PONTE_"), "_"), words) {
			best = k
		}
	}
	return best
}

// hasWords says whether every word of want is in have.
func hasWords(have, want []string) bool {
	for _, w := range want {
		found := false
		for _, h := range have {
			found = found || h == w
		}
		if !found {
			return false
		}
	}
	return true
}

// editDistance is the optimal string alignment distance of a and b: insertions, deletions, substitutions and
// swaps of adjacent bytes count one each.
func editDistance(a, b string) int {
	// d[i][j] is the distance of a[:i] and b[:j]; three rows suffice.
	prev2, prev, cur := make([]int, len(b)+1), make([]int, len(b)+1), make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
