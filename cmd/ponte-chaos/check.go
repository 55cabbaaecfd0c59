package main

import (
	"fmt"
	"net/http"
	"strings"
	"time"
)

// verdict is one row of the table, and what went wrong.
type verdict struct {
	scenario                                   string
	published, results, deadLetters, lost      int
	dupEffects, dupResults, orderViolations    int
	redeliveries, timeoutRedeliveries, rewrite int
	drain, total                               time.Duration
	problems                                   []string
}

func (v *verdict) problem(format string, args ...any) {
	v.problems = append(v.problems, fmt.Sprintf(format, args...))
}

// ok says whether the scenario passed: the four columns at zero and no scenario-specific problem.
func (v *verdict) ok() bool {
	return v.lost == 0 && v.dupEffects == 0 && v.dupResults == 0 && v.orderViolations == 0 && len(v.problems) == 0
}

// judge counts, by unique id, how every input ended, and from the simulators' request logs whether a side effect
// happened twice or out of its entity's order.
func judge(r *run, v *verdict) {
	o := r.obs
	o.mu.Lock()
	defer o.mu.Unlock()
	v.problems = append(v.problems, o.errs...)
	known := map[string]bool{}
	for _, in := range r.load.inputs {
		known[in.key] = true
		if !r.acked[in.key] {
			continue
		}
		v.published++
		res, dls := o.results[in.key], o.dls[in.key]
		v.results += len(res)
		v.deadLetters += len(dls)
		switch n := len(res) + len(dls); {
		case n == 0:
			v.lost++
			if v.lost <= 5 {
				v.problem("lost: %s (%s) has neither a result nor a dead letter", in.key, in.msg.Subject)
			}
		case n > 1:
			v.dupResults += n - 1
			v.problem("%s answered %d times (%d results, %d dead letters)", in.key, n, len(res), len(dls))
		}
		for _, out := range res {
			if out.stale {
				v.orderViolations++
				v.problem("%s was skipped as stale: an entity's later event was applied before it", in.key)
			}
		}
		switch {
		case in.poison != "" && (len(dls) != 1 || dls[0].reason != in.poison):
			v.problem("poison %s (%s) ended as %d results and %d dead letters %v, want one dead letter %s", in.key, in.poison, len(res), len(dls), reasons(dls), in.poison)
		case in.poison == "" && len(dls) > 0:
			v.problem("%s was dead-lettered (%s)", in.key, dls[0].reason)
		}
		if d := o.acks[r.seqs[in.key]]; in.poison == poison500 && d != nil && d.max > r.maxAttempts+2 {
			v.problem("poison %s was delivered %d times: a redelivery loop (maxAttempts %d)", in.key, d.max, r.maxAttempts)
		}
	}
	for k := range o.results {
		if !known[k] {
			v.problem("a result for %q, which the harness never published", k)
		}
	}
	for _, d := range o.acks {
		v.redeliveries += d.max - 1
		for n := 1; n < d.max; n++ {
			if !d.naked[n] {
				v.timeoutRedeliveries++
			}
		}
	}
	effects(r, v)
}

func reasons(os []output) []string {
	var s []string
	for _, o := range os {
		s = append(s, o.reason)
	}
	return s
}

// write is one side effect at a simulator: the entity it belongs to, the rank of the event that made it (0, 1, 2:
// the order of the entity's events) and the key that identifies it (two successful writes with one key are one
// effect made twice, or an idempotent re-write, depending on the API).
type write struct {
	entity string
	rank   int
	key    string
}

// effects reads the simulators' request logs: a non-idempotent write made twice is a duplicated effect; an
// idempotent one made again (Zeev's upserts, a CidadES create answered 409, an update sent twice) is counted
// apart as a re-write; and every entity's writes must arrive in the order of its events.
func effects(r *run, v *verdict) {
	var all [][]write
	count := func(ws []write, dup bool) {
		seen := map[string]int{}
		for _, w := range ws {
			if seen[w.key]++; seen[w.key] > 1 {
				if dup {
					v.dupEffects++
					v.problem("duplicated effect: %s", w.key)
				} else {
					v.rewrite++
				}
			}
		}
	}
	// Zeev: POST /api/2/users upserts (append on a hire, replace on a move), PATCH …/account/deactivate.
	var zeev []write
	for _, e := range r.obs.logs["zeev"] {
		switch {
		case e.Method == http.MethodPost && e.Path == "/api/2/users" && e.Status < 300:
			u := jsonField(e.Body, "username")
			rank := 0
			if strings.Contains(string(e.Body), `"replace"`) {
				rank = 1
			}
			zeev = append(zeev, write{u, rank, fmt.Sprintf("zeev upsert %s rank %d", u, rank)})
		case e.Method == http.MethodPatch && strings.HasSuffix(e.Path, "/account/deactivate") && e.Status < 300:
			id := strings.Split(e.Path, "/")[4]
			u := r.zeevUsers[id]
			zeev = append(zeev, write{u, 2, "zeev deactivate " + u})
		}
	}
	count(zeev, false)
	all = append(all, zeev)
	// Senior: POST /person/role creates a link (not idempotent: the same role and start twice is a second link);
	// PUT ends one.
	var seniorAdds, seniorEnds, senior []write
	for _, e := range r.obs.logs["senior"] {
		if !strings.HasSuffix(e.Path, "/person/role") || e.Status >= 300 {
			continue
		}
		pid, role := jsonField(e.Body, "personId"), jsonField(e.Body, "roleId")
		switch e.Method {
		case http.MethodPost:
			start := jsonField(e.Body, "startDate")
			seniorAdds = append(seniorAdds, write{pid, rankOf(start), "senior link person " + pid + " role " + role + " from " + start})
			senior = append(senior, seniorAdds[len(seniorAdds)-1])
		case http.MethodPut:
			end := jsonField(e.Body, "endDate")
			seniorEnds = append(seniorEnds, write{pid, rankOf(end), "senior end of link " + jsonField(e.Body, "id") + " at " + end})
			senior = append(senior, seniorEnds[len(seniorEnds)-1])
		}
	}
	count(seniorAdds, true)
	count(seniorEnds, false)
	all = append(all, senior)
	// CidadES: POST /v1/contratacoes (a second 201 for one número would be a second contratação; a 409 is the
	// API refusing it, a re-write), PUT and DELETE /v1/contratacoes/{id}.
	var cid []write
	numOf := map[string]string{}
	for _, e := range r.obs.logs["cidades"] {
		if e.Method == http.MethodPut && strings.HasPrefix(e.Path, "/v1/contratacoes/") {
			numOf[strings.TrimPrefix(e.Path, "/v1/contratacoes/")] = jsonField(e.Body, "numeroContrato")
		}
	}
	for _, e := range r.obs.logs["cidades"] {
		switch {
		case e.Method == http.MethodPost && e.Path == "/v1/contratacoes" && e.Status == http.StatusCreated:
			n := jsonField(e.Body, "numeroContrato")
			cid = append(cid, write{n, 0, "cidades create " + n})
		case e.Method == http.MethodPost && e.Path == "/v1/contratacoes" && e.Status == http.StatusConflict:
			v.rewrite++
		case e.Method == http.MethodPut && strings.HasPrefix(e.Path, "/v1/contratacoes/") && e.Status < 300:
			n := jsonField(e.Body, "numeroContrato")
			cid = append(cid, write{n, 1, "cidades update " + n})
		case e.Method == http.MethodDelete && strings.HasPrefix(e.Path, "/v1/contratacoes/") && e.Status < 300:
			n := numOf[strings.TrimPrefix(e.Path, "/v1/contratacoes/")]
			cid = append(cid, write{n, 2, "cidades delete " + n})
		}
	}
	var creates, others []write
	for _, w := range cid {
		if w.rank == 0 {
			creates = append(creates, w)
		} else {
			others = append(others, w)
		}
	}
	count(creates, true)
	count(others, false)
	all = append(all, cid)
	// Order: per simulator, an entity's writes arrive in the ranks of its events, never an earlier event's write
	// after a later one's.
	for _, ws := range all {
		top := map[string]int{}
		for _, w := range ws {
			if w.entity == "" {
				continue
			}
			if t, ok := top[w.entity]; ok && w.rank < t {
				v.orderViolations++
				v.problem("order: %s arrived after a write of a later event of %s", w.key, w.entity)
			}
			top[w.entity] = max(top[w.entity], w.rank)
		}
	}
}

// rankOf is the rank of the event a Senior date belongs to: the hire, the move or the termination.
func rankOf(date string) int {
	t, err := time.Parse(time.RFC3339, date)
	if err != nil {
		return -1
	}
	switch {
	case t.Equal(moveDate):
		return 1
	case t.Equal(termDate):
		return 2
	}
	return 0
}

// table prints the verdicts as a Markdown table.
func table(vs []*verdict) string {
	var b strings.Builder
	b.WriteString("| scenario | published | results | dead letters | lost | duplicated effects | duplicate result messages | order violations | redeliveries (after AckWait) | re-writes | time to drain | run |\n")
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, v := range vs {
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %d | %d | %d | %d | %d (%d) | %d | %s | %s |\n", v.scenario, v.published, v.results,
			v.deadLetters, v.lost, v.dupEffects, v.dupResults, v.orderViolations, v.redeliveries, v.timeoutRedeliveries,
			v.rewrite, v.drain.Round(100*time.Millisecond), v.total.Round(time.Second))
	}
	return b.String()
}
