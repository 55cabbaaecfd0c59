package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// TestNATSURLChecked checks that nats.url is validated when the configuration loads (so by --check too), that the
// error names the key (and the variable when it came from the environment), and that it never prints a password.
func TestNATSURLChecked(t *testing.T) {
	example := readExampleConfig(t)
	const password = "s3cret"
	bad := []struct {
		name, url, want string
	}{
		{"http scheme", "http://127.0.0.1:4222", `"http://127.0.0.1:4222": scheme "http" is not nats, tls, ws or wss`},
		{"port not a number", "nats://ponte:" + password + "@127.0.0.1:42x2", `"nats://[REDACTED]@127.0.0.1:42x2" is not a URL: invalid port ":42x2" after host`},
		{"port out of range", "nats://127.0.0.1:99999", `"nats://127.0.0.1:99999": port 99999 is not between 1 and 65535`},
		{"scheme without colon", "nats//127.0.0.1:4222", `"nats//127.0.0.1:4222": unexpected path "//127.0.0.1:4222"`},
		{"no host", "nats://:4222", `"nats://:4222": no host`},
		{"one bad URL of two", "nats://a:4222, tls//b:4222", `"tls//b:4222": unexpected path "//b:4222"`},
		{"websocket and not", "ws://a:8080,nats://b:4222", "websocket (ws, wss) and other URLs cannot be mixed"},
		{"password, no scheme", "ponte:" + password + "@127.0.0.1:4x", `"[REDACTED]@127.0.0.1:4x" is not a URL: invalid port ":4x" after host`},
		{"empty list", " , ", "no URL"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			for _, from := range []string{"file", "environment"} {
				yml, env := editConfig(t, example, "url: nats://127.0.0.1:4222 ", "url: '"+tc.url+"' "), map[string]string{}
				key := "config: nats.url: "
				if from == "environment" {
					yml, env["PONTE_NATS_URL"] = example, tc.url
					key = "config: nats.url (from PONTE_NATS_URL): "
				}
				_, err := parseConfig("ponte.yaml", []byte(yml), envOf(env), environOf(env))
				if err == nil || !strings.Contains(err.Error(), key+tc.want) {
					t.Errorf("from the %s: %v, want an error containing %q", from, err, key+tc.want)
				} else if strings.Contains(err.Error(), password) {
					t.Errorf("from the %s: the error shows the password: %v", from, err)
				}
			}
		})
	}
	good := []string{
		"nats://127.0.0.1:4222",
		"127.0.0.1:4222",
		"localhost",
		"nats://a:4222,nats://b:4222, nats://c:4222",
		"tls://nats.example.com",
		"nats://ponte:" + password + "@nats.example.com:4222/",
		"nats://token@[::1]:4222",
		"wss://nats.example.com/ws,ws://other:8080",
	}
	for _, u := range good {
		t.Run(u, func(t *testing.T) {
			env := map[string]string{"PONTE_NATS_URL": u}
			if _, err := parseConfig("ponte.yaml", []byte(example), envOf(env), environOf(env)); err != nil {
				t.Errorf("parseConfig rejects %q: %v", u, err)
			}
		})
	}
}

// TestNATSFlagChecked checks the --nats flag of publish and watch: a malformed URL fails before any connection,
// naming the flag (or PONTE_NATS_URL, its default), without the password.
func TestNATSFlagChecked(t *testing.T) {
	tests := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"publish", []string{"publish", "person.hired", "--no-validate", "--data", "{}", "--nats", "nats://u:pw@h:4x"},
			nil, `--nats: "nats://[REDACTED]@h:4x" is not a URL: invalid port ":4x" after host`},
		{"watch", []string{"watch", "--nats", "http://127.0.0.1:4222"},
			nil, `--nats: "http://127.0.0.1:4222": scheme "http" is not nats, tls, ws or wss`},
		{"watch, from the environment", []string{"watch"},
			map[string]string{"PONTE_NATS_URL": "u:pw@h:4x"}, `PONTE_NATS_URL: "[REDACTED]@h:4x" is not a URL`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := run(context.Background(), tc.args, envOf(tc.env), environOf(tc.env), &out, &out)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("run: %v, want an error containing %q", err, tc.want)
			}
			if strings.Contains(err.Error()+out.String(), "pw") {
				t.Errorf("the password is shown: %v\n%s", err, out.String())
			}
		})
	}
}

func TestRedactURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"nats://127.0.0.1:4222", "nats://127.0.0.1:4222"},
		{"nats://u:pw@h:4222", "nats://[REDACTED]@h:4222"},
		{"nats://token@h", "nats://[REDACTED]@h"},
		{"u:pw@h:4222", "[REDACTED]@h:4222"},
		{"nats://a:4222,tls://u:p@w@b:4222", "nats://a:4222,tls://[REDACTED]@b:4222"},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			if got := redactURL(tc.in); got != tc.want {
				t.Errorf("redactURL(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
