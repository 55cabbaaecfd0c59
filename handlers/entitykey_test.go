package handlers_test

import (
	"testing"

	"github.com/ponte-dev/ponte/handlers"
)

// TestEntityKey checks the subject each type must carry, as ponte publish sets it and the worker checks it.
func TestEntityKey(t *testing.T) {
	tests := []struct {
		name string
		ev   func() string
		want string
	}{
		{"person", func() string {
			return handlers.EntityKey(*inputEvent(handlers.PersonTerminated, "k1", "", `{"person": {"id": "E-0123"}}`))
		}, "E-0123"},
		{"contract, número with a slash", func() string {
			return handlers.EntityKey(*contractEvent(handlers.ContractSigned, "k2", "001001", "12/2026", 2026, signed12))
		}, "001001/12/2026/2026"},
		{"contract without número", func() string {
			return handlers.EntityKey(*contractEvent(handlers.ContractCancelled, "k3", "001001", "", 0, `{"contrato": {}}`))
		}, ""},
		{"any person.* type", func() string {
			return handlers.EntityKey(*inputEvent("person.promoted.x", "k4", "", `{"person": {"id": "E-1"}}`))
		}, "E-1"},
		{"not ponte's", func() string { return handlers.EntityKey(*inputEvent("invoice.paid", "k5", "", `{}`)) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.ev(); got != tt.want {
				t.Errorf("EntityKey = %q, want %q", got, tt.want)
			}
		})
	}
}
