package senior_test

import (
	"strings"
	"testing"

	"github.com/ponte-dev/ponte/clients"
	"github.com/ponte-dev/ponte/clients/senior"
)

func TestConfigValidate(t *testing.T) {
	key := func(c senior.Config) senior.Config {
		c.AccessKey, c.Secret, c.TenantName = "k", clients.SecretValue("s"), "t"
		return c
	}
	one, two := 1, 2
	tests := []struct {
		name    string
		cfg     senior.Config
		wantErr string // "" for valid
	}{
		{name: "raw token, all defaults", cfg: senior.Config{Token: clients.SecretValue("t")}},
		{name: "application key", cfg: key(senior.Config{})},
		{name: "user and password", cfg: senior.Config{Username: "u@t", Password: clients.SecretValue("p")}},
		{name: "bearer on the gateway", cfg: senior.Config{Token: clients.SecretValue("t"), HeaderStyle: senior.HeaderBearer,
			EndpointConfig: clients.EndpointConfig{BaseURL: "https://platform.senior.com.br/t/senior.com.br/sam/1.0"}}},
		{name: "scan lookup of blocked people", cfg: senior.Config{Token: clients.SecretValue("t"), CPFLookup: senior.CPFLookupScan, SearchSituation: &one}},
		{name: "no credentials", cfg: senior.Config{}, wantErr: "senior.token: set token, or accessKey+secret+tenantName, or username+password"},
		{name: "token and key", cfg: key(senior.Config{Token: clients.SecretValue("t")}), wantErr: "senior.token: set only one of"},
		{name: "key and user", cfg: key(senior.Config{Username: "u"}), wantErr: "senior.token: set only one of"},
		{name: "key without accessKey", cfg: senior.Config{Secret: clients.SecretValue("s"), TenantName: "t"}, wantErr: "senior.accessKey: required"},
		{name: "key without secret", cfg: senior.Config{AccessKey: "k", TenantName: "t"}, wantErr: "senior.secret: required with accessKey"},
		{name: "key without tenant", cfg: senior.Config{AccessKey: "k", Secret: clients.SecretValue("s")}, wantErr: "senior.tenantName: required with accessKey"},
		{name: "user without password", cfg: senior.Config{Username: "u"}, wantErr: "senior.password: required with username"},
		{name: "password without user", cfg: senior.Config{Password: clients.SecretValue("p")}, wantErr: "senior.username: required with password"},
		{name: "bad login URL", cfg: key(senior.Config{LoginURL: "platform.senior.com.br/login"}), wantErr: "senior.loginURL:"},
		{name: "bad password login URL", cfg: senior.Config{Username: "u", Password: clients.SecretValue("p"), PasswordLoginURL: "ftp://x/y"}, wantErr: "senior.passwordLoginURL:"},
		{name: "bad base URL", cfg: senior.Config{Token: clients.SecretValue("t"), EndpointConfig: clients.EndpointConfig{BaseURL: "sam-api/v1"}}, wantErr: "senior.baseURL:"},
		{name: "negative timeout", cfg: senior.Config{Token: clients.SecretValue("t"), EndpointConfig: clients.EndpointConfig{Timeout: -1}}, wantErr: "senior.timeout:"},
		{name: "bad header style", cfg: senior.Config{Token: clients.SecretValue("t"), HeaderStyle: "cookie"}, wantErr: "senior.headerStyle:"},
		{name: "negative leeway", cfg: senior.Config{Token: clients.SecretValue("t"), TokenLeeway: -1}, wantErr: "senior.tokenLeeway:"},
		{name: "bad situation", cfg: senior.Config{Token: clients.SecretValue("t"), SearchSituation: &two}, wantErr: "senior.searchSituation:"},
		{name: "bad lookup", cfg: senior.Config{Token: clients.SecretValue("t"), CPFLookup: "guess"}, wantErr: "senior.cpfLookup:"},
		{name: "negative page size", cfg: senior.Config{Token: clients.SecretValue("t"), ScanPageSize: -1}, wantErr: "senior.scanPageSize:"},
		{name: "negative max pages", cfg: senior.Config{Token: clients.SecretValue("t"), ScanMaxPages: -1}, wantErr: "senior.scanMaxPages:"},
		{name: "negative candidates", cfg: senior.Config{Token: clients.SecretValue("t"), MaxRegistryCandidates: -1}, wantErr: "senior.maxRegistryCandidates:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				if _, err := senior.New(tt.cfg, clients.EndpointOptions{}); err != nil {
					t.Fatalf("New() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
			if _, err := senior.New(tt.cfg, clients.EndpointOptions{}); err == nil {
				t.Fatalf("New() accepted an invalid config")
			}
		})
	}
}
