package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/ponte-dev/ponte/clients/fault"
	"github.com/ponte-dev/ponte/cmd/internal/harness"
	"github.com/ponte-dev/ponte/schemas"
)

// TestJudgeSeesEachFailure feeds judge the outputs and request logs of a run gone wrong in every way it counts,
// and one gone right: each column must count exactly its own failure, so a zero in the table means something.
func TestJudgeSeesEachFailure(t *testing.T) {
	l, err := newLoad("t", 2, 2, 4)
	if err != nil {
		t.Fatal(err)
	}
	hire0, move0 := l.id("p", 0, 0), l.id("p", 0, 1)
	clean := func() *run {
		o := &observer{results: map[string][]output{}, dls: map[string][]output{}, acks: map[uint64]*delivery{}, logs: map[string][]fault.Entry{}}
		r := &run{load: l, obs: o, acked: map[string]bool{}, seqs: map[string]uint64{}, zeevUsers: map[string]string{"4324": username(0)}, maxAttempts: 10}
		for n, in := range l.inputs {
			r.acked[in.key] = true
			r.seqs[in.key] = uint64(n + 1)
			if in.poison != "" {
				o.dls[in.key] = []output{{reason: in.poison}}
			} else {
				o.results[in.key] = []output{{}}
			}
		}
		body := func(mode string) []byte {
			return fmt.Appendf(nil, `{"ifExists":"update","username":%q,"positions":{"ifExistsUser":%q,"items":[]}}`, username(0), mode)
		}
		o.logs["zeev"] = []fault.Entry{
			{Method: "POST", Path: "/api/2/users", Status: 200, Body: body("append")},
			{Method: "POST", Path: "/api/2/users", Status: 200, Body: body("replace")},
			{Method: "PATCH", Path: "/api/2/users/4324/account/deactivate", Status: 200},
		}
		link := fmt.Appendf(nil, `{"id":0,"personId":700000,"roleId":4,"startDate":%q}`, hireDate.Format("2006-01-02T15:04:05-07:00"))
		o.logs["senior"] = []fault.Entry{{Method: "POST", Path: "/api/v1/person/role", Status: 200, Body: link}}
		create := []byte(`{"numeroContrato":"1000/2025","anoContrato":2025}`)
		o.logs["cidades"] = []fault.Entry{
			{Method: "POST", Path: "/v1/contratacoes", Status: http.StatusCreated, Body: create},
			{Method: "PUT", Path: "/v1/contratacoes/7", Status: 200, Body: create},
			{Method: "DELETE", Path: "/v1/contratacoes/7", Status: 204},
		}
		return r
	}
	for _, tc := range []struct {
		name    string
		breakIt func(r *run)
		want    func(v *verdict) bool
		about   string
	}{
		{"a clean run", func(*run) {}, func(v *verdict) bool { return v.ok() && v.rewrite == 0 && v.redeliveries == 0 }, "all zeros"},
		{"an input with no output", func(r *run) { delete(r.obs.results, hire0) },
			func(v *verdict) bool { return v.lost == 1 }, "lost 1"},
		{"a second result", func(r *run) { r.obs.results[hire0] = append(r.obs.results[hire0], output{}) },
			func(v *verdict) bool { return v.dupResults == 1 && v.lost == 0 }, "duplicate results 1"},
		{"a result and a dead letter", func(r *run) { r.obs.dls[hire0] = []output{{reason: "permanent_error"}} },
			func(v *verdict) bool { return v.dupResults == 1 && !v.ok() }, "duplicate results 1 and a dead-lettered good event"},
		{"a stale result", func(r *run) { r.obs.results[move0] = []output{{stale: true}} },
			func(v *verdict) bool { return v.orderViolations == 1 }, "order violations 1"},
		{"a second Senior link for one grant", func(r *run) {
			r.obs.logs["senior"] = append(r.obs.logs["senior"], r.obs.logs["senior"][0])
		}, func(v *verdict) bool { return v.dupEffects == 1 }, "duplicated effects 1"},
		{"a second contratação", func(r *run) {
			r.obs.logs["cidades"] = append(r.obs.logs["cidades"], r.obs.logs["cidades"][0])
		}, func(v *verdict) bool { return v.dupEffects == 1 && v.orderViolations == 1 }, "duplicated effects 1 (and out of order)"},
		{"an upsert sent twice", func(r *run) {
			z := r.obs.logs["zeev"]
			r.obs.logs["zeev"] = append([]fault.Entry{z[0]}, z...)
		}, func(v *verdict) bool { return v.ok() && v.rewrite == 1 }, "re-writes 1, nothing else"},
		{"a create refused as a duplicate", func(r *run) {
			c := r.obs.logs["cidades"]
			again := c[0]
			again.Status = http.StatusConflict
			r.obs.logs["cidades"] = append([]fault.Entry{c[0], again}, c[1:]...)
		}, func(v *verdict) bool { return v.ok() && v.rewrite == 1 }, "re-writes 1, nothing else"},
		{"a move applied before the hire", func(r *run) {
			z := r.obs.logs["zeev"]
			r.obs.logs["zeev"] = []fault.Entry{z[1], z[0], z[2]}
		}, func(v *verdict) bool { return v.orderViolations == 1 }, "order violations 1"},
		{"a deactivation before the move", func(r *run) {
			z := r.obs.logs["zeev"]
			r.obs.logs["zeev"] = []fault.Entry{z[0], z[2], z[1]}
		}, func(v *verdict) bool { return v.orderViolations == 1 }, "order violations 1"},
		{"a poison event that succeeded", func(r *run) {
			for _, in := range l.inputs {
				if in.poison == poisonSchema {
					r.obs.results[in.key], r.obs.dls[in.key] = []output{{}}, nil
				}
			}
		}, func(v *verdict) bool { return !v.ok() && v.lost == 0 }, "a problem"},
		{"a poison event redelivered in a loop", func(r *run) {
			for _, in := range l.inputs {
				if in.poison == poison500 {
					r.obs.acks[r.seqs[in.key]] = &delivery{max: 40, naked: map[int]bool{}}
				}
			}
		}, func(v *verdict) bool { return !v.ok() && v.redeliveries == 39 && v.timeoutRedeliveries == 39 }, "a problem, 39 redeliveries"},
		{"a nak'd retry", func(r *run) {
			r.obs.acks[1] = &delivery{max: 3, naked: map[int]bool{1: true}}
		}, func(v *verdict) bool { return v.ok() && v.redeliveries == 2 && v.timeoutRedeliveries == 1 }, "2 redeliveries, 1 after AckWait"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := clean()
			tc.breakIt(r)
			v := &verdict{}
			judge(r, v)
			if !tc.want(v) {
				t.Errorf("want %s; got %+v\n  %s", tc.about, *v, strings.Join(v.problems, "\n  "))
			}
		})
	}
}

// TestLoad checks the generated events: unique ids, every entity's events in order, valid CPFs, one of each
// poison kind.
func TestLoad(t *testing.T) {
	l, err := newLoad("t", 50, 50, 8)
	if err != nil {
		t.Fatal(err)
	}
	seen, rank, kinds := map[string]bool{}, map[string]int{}, map[string]int{}
	for _, in := range l.inputs {
		if seen[in.key] {
			t.Fatalf("id %s twice", in.key)
		}
		seen[in.key] = true
		if in.poison != "" {
			kinds[in.poison]++
			continue
		}
		if r, ok := rank[in.entity]; (ok && in.rank != r+1) || (!ok && in.rank != 0) {
			t.Fatalf("%s (rank %d) after rank %d of %s", in.key, in.rank, r, in.entity)
		}
		rank[in.entity] = in.rank
	}
	if len(l.inputs) != 50*3+50*3+8 || len(kinds) != 4 {
		t.Errorf("%d inputs with poison kinds %v, want 308 and all four kinds", len(l.inputs), kinds)
	}
	for _, c := range []string{harness.CPF(0), harness.CPF(1), harness.CPF(12345)} {
		if !schemas.ValidCPF(c) {
			t.Errorf("cpf %s has wrong check digits", c)
		}
	}
}
