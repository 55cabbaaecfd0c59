package main

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// envName turns a YAML key path into its environment variable: ["zeev", "baseURL"] → "PONTE_ZEEV_BASE_URL".
func envName(path []string) string {
	parts := []string{"PONTE"}
	for _, p := range path {
		parts = append(parts, screaming(p))
	}
	return strings.Join(parts, "_")
}

// screaming converts camelCase to SCREAMING_SNAKE: "baseURL" → "BASE_URL", "tokenTTL" → "TOKEN_TTL".
func screaming(s string) string {
	var b strings.Builder
	rs := []rune(s)
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) && (unicode.IsLower(rs[i-1]) || (i+1 < len(rs) && unicode.IsLower(rs[i+1]) && unicode.IsUpper(rs[i-1]))) {
			b.WriteByte('_')
		}
		if r == '-' || r == '.' {
			r = '_'
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// yamlField says how a struct field appears in the YAML: under key, or inline (its keys are the parent's). ok is
// false for a field that is not in the YAML: unexported, tagged "-", or untagged and not inline.
func yamlField(f reflect.StructField) (key string, inline, ok bool) {
	tag := strings.Split(f.Tag.Get("yaml"), ",")
	switch {
	case !f.IsExported() || tag[0] == "-":
		return "", false, false
	case len(tag) > 1 && tag[1] == "inline":
		return "", true, true
	}
	return tag[0], false, tag[0] != ""
}

// overlayEnv sets every scalar field of the struct v points to from its environment variable, when set. Map
// entries that already exist (from the file) are walked too, with their key in the name; an optional scalar (a
// nil pointer) is allocated when its variable is set. It returns the names it applied, and an error naming the
// variable for an unparsable value.
func overlayEnv(v any, getenv func(string) string) ([]string, error) {
	var applied []string
	err := walkEnv(reflect.ValueOf(v).Elem(), nil, func(name string, f reflect.Value, settable bool) error {
		raw := getenv(name)
		if raw == "" || !settable {
			return nil
		}
		if err := setScalar(f, raw); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		applied = append(applied, name)
		return nil
	})
	return applied, err
}

// envVisitor is called by walkEnv for every key below the structs, maps and pointers to structs: name is its
// environment variable, v its value (settable through the walk), and settable false for a value setScalar cannot
// parse, such as a list of structs (profiles).
type envVisitor func(name string, v reflect.Value, settable bool) error

// walkEnv calls visit for every key of v, whose path is path, the way the YAML decoder nests them: yaml tags,
// ",inline", the entries v's maps hold (their keys in the name), nil pointers to structs skipped.
func walkEnv(v reflect.Value, path []string, visit envVisitor) error {
	switch {
	case v.Type() == durationType:
	case v.Kind() == reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			key, inline, ok := yamlField(t.Field(i))
			if !ok {
				continue
			}
			sub := path
			if !inline {
				sub = append(append([]string{}, path...), key)
			}
			if err := walkEnv(v.Field(i), sub, visit); err != nil {
				return err
			}
		}
		return nil
	case v.Kind() == reflect.Map:
		keys := v.MapKeys()
		sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
		for _, k := range keys {
			elem := reflect.New(v.Type().Elem()).Elem()
			elem.Set(v.MapIndex(k))
			if err := walkEnv(elem, append(append([]string{}, path...), k.String()), visit); err != nil {
				return err
			}
			v.SetMapIndex(k, elem)
		}
		return nil
	case v.Kind() == reflect.Pointer && v.Type().Elem().Kind() == reflect.Struct:
		if v.IsNil() {
			return nil
		}
		return walkEnv(v.Elem(), path, visit)
	}
	return visit(envName(path), v, scalar(v.Type()))
}

// scalar says whether setScalar can set a value of type t.
func scalar(t reflect.Type) bool {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType, t.Kind() == reflect.String, t.Kind() == reflect.Bool, isIntKind(t.Kind()), t.Kind() == reflect.Float32, t.Kind() == reflect.Float64:
		return true
	case t.Kind() == reflect.Slice:
		return t.Elem().Kind() == reflect.String
	}
	return false
}

func isIntKind(k reflect.Kind) bool {
	return (k >= reflect.Int && k <= reflect.Int64) || (k >= reflect.Uint && k <= reflect.Uintptr)
}

var durationType = reflect.TypeOf(time.Duration(0))

// setScalar parses raw into v, a scalar or a pointer to one (allocated), per scalar's types.
func setScalar(v reflect.Value, raw string) error {
	if v.Kind() == reflect.Pointer {
		p := reflect.New(v.Type().Elem())
		if err := setScalar(p.Elem(), raw); err != nil {
			return err
		}
		v.Set(p)
		return nil
	}
	switch {
	case v.Type() == durationType:
		d, err := time.ParseDuration(raw)
		if err != nil {
			return fmt.Errorf("%q is not a duration like 30s", raw)
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(raw)
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(raw)
		if err != nil {
			return fmt.Errorf("%q is not true or false", raw)
		}
		v.SetBool(b)
	case v.CanInt():
		bits := v.Type().Bits()
		n, err := strconv.ParseInt(raw, 10, bits)
		switch {
		case errors.Is(err, strconv.ErrRange) && strings.HasPrefix(raw, "-"):
			return fmt.Errorf("%q is too small (at least %d)", raw, int64(-1)<<(bits-1))
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("%q is too large (at most %d)", raw, int64(1<<(bits-1)-1))
		case err != nil:
			return fmt.Errorf("%q is not an integer", raw)
		}
		v.SetInt(n)
	case v.CanUint():
		bits := v.Type().Bits()
		n, err := strconv.ParseUint(raw, 10, bits)
		switch {
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("%q is too large (at most %d)", raw, uint64(1<<bits-1))
		case err != nil:
			return fmt.Errorf("%q is not a non-negative integer", raw)
		}
		v.SetUint(n)
	case v.CanFloat():
		f, err := strconv.ParseFloat(raw, v.Type().Bits())
		switch {
		case errors.Is(err, strconv.ErrRange) && f < 0:
			return fmt.Errorf("%q is too small", raw)
		case errors.Is(err, strconv.ErrRange):
			return fmt.Errorf("%q is too large", raw)
		case err != nil:
			return fmt.Errorf("%q is not a number", raw)
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		parts := strings.Split(raw, ",")
		for i := range parts {
			parts[i] = strings.TrimSpace(parts[i])
		}
		v.Set(reflect.ValueOf(parts))
	}
	return nil
}
