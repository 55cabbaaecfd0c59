package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
	"github.com/ponte-dev/ponte/examples"
)

// simSettings say where the three simulators listen and what they accept.
type simSettings struct {
	host                              string
	zeevPort, seniorPort, cidadesPort int
	fixtures                          string // directory with zeev.yaml, senior.yaml, cidades.yaml; "" = built in
	zeevToken                         string
	zeevRateLimit                     int
	seniorToken                       string
	seniorAccessKey, seniorSecret     string
	seniorTenant                      string
	// The lifetimes of the tokens each simulator issues; 0 leaves the simulator's default.
	zeevTokenTTL, seniorTokenTTL, cidadesTokenTTL time.Duration
}

// simulators are the three simulators serving on loopback.
type simulators struct {
	zeev    *zeevsim.Server
	senior  *seniorsim.Server
	cidades *cidadessim.Server
	cidKeys []cidadessim.Key

	zeevURL, seniorURL, cidadesURL string
	servers                        []*http.Server
}

// fixtureFS returns the fixtures directory: the one given, or the files built into the binary.
func fixtureFS(dir string) fs.FS {
	if dir == "" {
		sub, _ := fs.Sub(examples.FS, "sandbox")
		return sub
	}
	return os.DirFS(dir)
}

func startSimulators(s simSettings) (*simulators, error) {
	fsys := fixtureFS(s.fixtures)
	read := func(name string) ([]byte, error) {
		b, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("fixtures %s: %w", filepath.Join(s.fixtures, name), err)
		}
		return b, nil
	}
	sims := &simulators{}
	b, err := read("zeev.yaml")
	if err != nil {
		return nil, err
	}
	zf, err := zeevsim.LoadFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("fixtures zeev.yaml: %w", err)
	}
	sims.zeev = zeevsim.New(zf, zeevsim.Options{
		Tokens:            s.zeevTokens(),
		RateLimit:         s.zeevRateLimit,
		TemporaryTokenTTL: s.zeevTokenTTL,
	})
	if b, err = read("senior.yaml"); err != nil {
		return nil, err
	}
	sf, err := seniorsim.LoadFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("fixtures senior.yaml: %w", err)
	}
	sims.senior = seniorsim.New(sf, seniorsim.Options{
		Tokens: []string{s.seniorToken}, AccessKey: s.seniorAccessKey, Secret: s.seniorSecret, TenantName: s.seniorTenant,
		TokenTTL: s.seniorTokenTTL,
	})
	if b, err = read("cidades.yaml"); err != nil {
		return nil, err
	}
	cf, err := cidadessim.LoadFixtures(b)
	if err != nil {
		return nil, fmt.Errorf("fixtures cidades.yaml: %w", err)
	}
	sims.cidKeys = cf.Keys
	sims.cidades = cidadessim.New(cf, cidadessim.Options{ExpiresIn: s.cidadesTokenTTL})

	for _, srv := range []struct {
		name string
		port int
		h    http.Handler
		url  *string
	}{
		{"zeev", s.zeevPort, sims.zeev, &sims.zeevURL},
		{"senior", s.seniorPort, sims.senior, &sims.seniorURL},
		{"cidades", s.cidadesPort, sims.cidades, &sims.cidadesURL},
	} {
		ln, err := net.Listen("tcp", net.JoinHostPort(s.host, fmt.Sprint(srv.port)))
		if err != nil {
			sims.Close()
			return nil, fmt.Errorf("%s simulator: %w (choose another port with --%s-port)", srv.name, err, srv.name)
		}
		hs := &http.Server{Handler: srv.h, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = hs.Serve(ln) }()
		sims.servers = append(sims.servers, hs)
		*srv.url = "http://" + ln.Addr().String()
	}
	return sims, nil
}

// seniorAPI is the Senior base URL for a client: the server and the SAM prefix.
func (s *simulators) seniorAPI() string { return s.seniorURL + seniorsim.APIPrefix }

// seniorLogin is the application-key login URL.
func (s *simulators) seniorLogin() string { return s.seniorURL + seniorsim.LoginWithKeyPath }

// Close stops the servers.
func (s *simulators) Close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, hs := range s.servers {
		if err := hs.Shutdown(ctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = hs.Close()
		}
	}
}

// zeevTokens maps each permanent token of the comma-separated zeevToken to the integration person: several are
// accepted at once, as when an operator issues a new token before the old one is revoked.
func (s simSettings) zeevTokens() map[string]string {
	m := map[string]string{}
	for _, t := range strings.Split(s.zeevToken, ",") {
		if t = strings.TrimSpace(t); t != "" {
			m[t] = zeevsim.DefaultLogin
		}
	}
	return m
}

// firstZeevToken is the token ponte dev configures and the sandbox prints: the first of zeevToken.
func (s simSettings) firstZeevToken() string {
	first, _, _ := strings.Cut(s.zeevToken, ",")
	return strings.TrimSpace(first)
}
