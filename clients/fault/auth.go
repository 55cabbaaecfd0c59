package fault

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"
)

// Auth is what a simulator lets a test or a sandbox user change of its credentials while it runs: revoke a
// credential (it gets the API's own 401 answer) and restore it, and the lifetime of the tokens it issues.
// Implementations are safe for concurrent use.
type Auth interface {
	// Revoke makes the credential of kind with value stop working; an error names an unknown kind.
	Revoke(kind, value string) error
	// Restore undoes Revoke; an error names an unknown kind.
	Restore(kind, value string) error
	// TokenTTL returns the lifetime of the tokens issued from now on.
	TokenTTL() time.Duration
	// SetTokenTTL sets the lifetime of the tokens issued from now on; d must be positive.
	SetTokenTTL(d time.Duration)
}

// TokenLife is the lifetime of the tokens a simulator issues from now on, settable at run time: the TokenTTL and
// SetTokenTTL of Auth, for a simulator to embed. Safe for concurrent use.
type TokenLife struct {
	d            atomic.Int64
	wholeSeconds bool
}

// NewTokenLife returns a TokenLife of d. wholeSeconds says the API states the lifetime in whole seconds
// (expires_in): SetTokenTTL then rounds down, to at least 1s.
func NewTokenLife(d time.Duration, wholeSeconds bool) *TokenLife {
	l := &TokenLife{wholeSeconds: wholeSeconds}
	l.d.Store(int64(d))
	return l
}

// TokenTTL returns the lifetime of the tokens issued from now on.
func (l *TokenLife) TokenTTL() time.Duration { return time.Duration(l.d.Load()) }

// SetTokenTTL sets the lifetime of the tokens issued from now on; tokens already issued keep theirs. A d that is
// not positive is ignored. Simulators serve it as PUT /_sim/auth {"tokenTTL":"30s"}.
func (l *TokenLife) SetTokenTTL(d time.Duration) {
	if d <= 0 {
		return
	}
	if l.wholeSeconds {
		d = max(d.Truncate(time.Second), time.Second)
	}
	l.d.Store(int64(d))
}

// Credential is the body of POST /_sim/auth/revoke and /_sim/auth/restore: {"kind":"token","value":"..."}.
type Credential struct {
	Kind  string `json:"kind"`
	Value string `json:"value"`
}

// AuthState is the body of GET and PUT /_sim/auth.
type AuthState struct {
	TokenTTL Duration `json:"tokenTTL"`
}

// AuthControls serves a's controls, for Options.Controls:
//
//	GET  /_sim/auth           {"tokenTTL":"10m0s"}
//	PUT  /_sim/auth           {"tokenTTL":"30s"}: the lifetime of tokens issued from now on (positive)
//	POST /_sim/auth/revoke    {"kind":"token","value":"..."}: 204; 400 for an unknown kind
//	POST /_sim/auth/restore   the same, undoing a revoke
//
// Other paths answer 404.
func AuthControls(a Auth) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /_sim/auth", func(w http.ResponseWriter, _ *http.Request) {
		writeControl(w, http.StatusOK, AuthState{TokenTTL: Duration(a.TokenTTL())})
	})
	mux.HandleFunc("PUT /_sim/auth", func(w http.ResponseWriter, r *http.Request) {
		var st AuthState
		if err := decodeControl(r, &st); err != nil {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		if st.TokenTTL <= 0 {
			writeControl(w, http.StatusBadRequest, map[string]string{"error": "tokenTTL: must be positive"})
			return
		}
		a.SetTokenTTL(time.Duration(st.TokenTTL))
		writeControl(w, http.StatusOK, AuthState{TokenTTL: Duration(a.TokenTTL())})
	})
	credential := func(apply func(kind, value string) error) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			var c Credential
			err := decodeControl(r, &c)
			if err == nil && c.Value == "" {
				err = fmt.Errorf("value: required")
			}
			if err == nil {
				err = apply(c.Kind, c.Value)
			}
			if err != nil {
				writeControl(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}
	}
	mux.HandleFunc("POST /_sim/auth/revoke", credential(a.Revoke))
	mux.HandleFunc("POST /_sim/auth/restore", credential(a.Restore))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeControl(w, http.StatusNotFound, map[string]string{"error": "unknown simulator control " + r.Method + " " + r.URL.Path})
	})
	return mux
}

func decodeControl(r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(nil, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func writeControl(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v) //nolint:errcheck // the client went away
}

// UnknownKind is the error of Auth.Revoke and Auth.Restore for a kind the simulator does not have.
func UnknownKind(kind string, kinds ...string) error {
	return fmt.Errorf("kind: %q is not a credential of this simulator (kinds: %v)", kind, kinds)
}
