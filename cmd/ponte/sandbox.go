package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ponte-dev/ponte/clients/cidades/cidadessim"
	"github.com/ponte-dev/ponte/clients/senior/seniorsim"
	"github.com/ponte-dev/ponte/clients/zeev/zeevsim"
)

// registerSimFlags adds the simulator flags with the given default ports.
func registerSimFlags(fs *flagSet, s *simSettings, zeevPort, seniorPort, cidadesPort int) {
	fs.StringVar(&s.host, "host", "127.0.0.1", "address the simulators listen on")
	fs.IntVar(&s.zeevPort, "zeev-port", zeevPort, "port of the Zeev simulator (0: any free port)")
	fs.IntVar(&s.seniorPort, "senior-port", seniorPort, "port of the Senior simulator (0: any free port)")
	fs.IntVar(&s.cidadesPort, "cidades-port", cidadesPort, "port of the CidadES simulator (0: any free port)")
	fs.StringVar(&s.fixtures, "fixtures", "", "directory with zeev.yaml, senior.yaml and cidades.yaml (default: the built-in examples/sandbox)")
	fs.StringVar(&s.zeevToken, "zeev-token", zeevsim.DefaultToken, "permanent Bearer tokens the Zeev simulator accepts, comma-separated (the first is printed; more than one lets a rotation be tried: revoke one, rewrite the token file with another)")
	fs.IntVar(&s.zeevRateLimit, "zeev-rate-limit", 0, fmt.Sprintf("requests per second per token before Zeev answers 429 (0: no limit; %d is the assumed figure of TARGET-APIS.md, the real limits are per license tier)", zeevsim.DefaultRateLimit))
	fs.StringVar(&s.seniorToken, "senior-token", seniorsim.DefaultToken, "raw token the Senior simulator accepts in the token header")
	fs.StringVar(&s.seniorAccessKey, "senior-access-key", seniorsim.DefaultAccessKey, "application access key for the Senior login")
	fs.StringVar(&s.seniorSecret, "senior-secret", seniorsim.DefaultSecret, "application secret for the Senior login")
	fs.StringVar(&s.seniorTenant, "senior-tenant", seniorsim.DefaultTenantName, "tenant name for the Senior login")
	fs.DurationVar(&s.zeevTokenTTL, "zeev-token-ttl", zeevsim.DefaultTemporaryTokenTTL, "life of the temporary tokens Zeev issues (the documents: 10m)")
	fs.DurationVar(&s.seniorTokenTTL, "senior-token-ttl", seniorsim.DefaultTokenTTL, "life (expires_in, whole seconds) of the tokens the Senior logins issue")
	fs.DurationVar(&s.cidadesTokenTTL, "cidades-token-ttl", cidadessim.DefaultExpiresIn, "life (expires_in, whole seconds) of the tokens CidadES issues")
}

// checkTTLs refuses a token lifetime flag under one second (expires_in counts whole seconds), naming the flag.
func (s simSettings) checkTTLs(fs *flagSet) error {
	for _, f := range []struct {
		name string
		d    time.Duration
	}{{"zeev-token-ttl", s.zeevTokenTTL}, {"senior-token-ttl", s.seniorTokenTTL}, {"cidades-token-ttl", s.cidadesTokenTTL}} {
		if f.d < time.Second {
			return fs.usageError(fmt.Errorf("--%s %s: must be at least 1s", f.name, f.d))
		}
	}
	return nil
}

func runSandbox(ctx context.Context, env *environment, args []string) error {
	fs := newFlagSet("sandbox", "Usage: ponte sandbox [flags]\n\nServes faithful simulators of Zeev, Senior Ronda senior X and CidadES on loopback ports, seeded\nfrom fixtures, until interrupted. See docs/sandbox.md.")
	var s simSettings
	registerSimFlags(fs, &s, 8081, 8082, 8083)
	if err := fs.parse(args, 0); err != nil {
		return err
	}
	if err := s.checkTTLs(fs); err != nil {
		return err
	}
	sims, err := startSimulators(s)
	if err != nil {
		return err
	}
	defer sims.Close()
	printSandbox(env.stdout, sims, s)
	<-ctx.Done()
	fmt.Fprintln(env.stdout, "sandbox stopped")
	return nil
}

func printSandbox(w io.Writer, sims *simulators, s simSettings) {
	fmt.Fprintf(w, `ponte sandbox: three API simulators on loopback (Ctrl-C to stop)

Zeev BPM            %[1]s/api/2/...
  Authorization: Bearer %[2]s
  or POST %[1]s/api/2/tokens {"login":%[3]q,"password":%[4]q}

Senior Ronda X      %[5]s
  token: %[6]s
  or POST %[7]s
     {"accessKey":%[8]q,"secret":%[9]q,"tenantName":%[10]q,"scope":"desktop"}

CidadES             %[11]s/v1/...
  POST %[11]s/oauth/token  grant_type=client_credentials&client_id=...&client_secret=...
`, sims.zeevURL, s.firstZeevToken(), zeevsim.DefaultLogin, zeevsim.DefaultPassword,
		sims.seniorAPI(), s.seniorToken, sims.seniorLogin(), s.seniorAccessKey, s.seniorSecret, s.seniorTenant,
		sims.cidadesURL)
	for _, k := range sims.cidKeys {
		perm := "read only"
		if k.Permissao == cidadessim.PermissaoLeituraEnvio {
			perm = "read and send"
		}
		fmt.Fprintf(w, "  UG %s  client_id=%s  client_secret=%s  (%s)\n", k.UnidadeGestora, k.ClientID, k.ClientSecret, perm)
	}
	fmt.Fprintf(w, "\nFault injection: PUT <base>/_sim/faults {\"down\":true}; request log: GET <base>/_sim/requests\n")
	fmt.Fprintf(w, "Credentials: POST <base>/_sim/auth/revoke (or /restore) {\"kind\":\"token\",\"value\":\"...\"}; token lifetime: PUT <base>/_sim/auth {\"tokenTTL\":\"30s\"}\n")
}
