package seniorsim

import (
	"cmp"
	"index/suffixarray"
	"slices"
	"sort"
	"strings"

	"github.com/ponte-dev/ponte/schemas"
)

// population is the people of a Server: the fixtures' people, fixed once New has built it (no SAM route the
// simulator serves adds, changes or removes a person), so it is read without a lock of its own. It holds what the
// searches look people up by, so that a search costs the length of its term and the number of its matches, and a
// page its size, however many people there are.
type population struct {
	sorted    []Person      // every person, by id
	byID      map[int64]int // id -> position in sorted
	situation [2][]int      // the positions in sorted of the people of situation 0 (active) and 1 (blocked), in order
	all       []int         // 0 .. len(sorted)-1: every position, in order
	text      fields        // each person's lowercase name and lowercase registry
	digits    fields        // the digits of each person's documents
}

// newPopulation indexes ps; their ids are unique and their situations 0 or 1 (Fixtures.Validate).
func newPopulation(ps []Person) *population {
	x := &population{
		sorted: slices.SortedFunc(slices.Values(ps), func(a, b Person) int { return cmp.Compare(a.ID, b.ID) }),
		byID:   make(map[int64]int, len(ps)),
		all:    make([]int, len(ps)),
	}
	var text, digits fieldsBuilder
	for k, p := range x.sorted {
		x.byID[p.ID] = k
		x.all[k] = k
		x.situation[p.Situation] = append(x.situation[p.Situation], k)
		text.add(strings.ToLower(p.Name), k)
		text.add(strings.ToLower(p.Registry), k)
		for _, d := range p.Documents {
			digits.add(schemas.Digits(d.Document), k)
		}
	}
	x.text, x.digits = text.build(), digits.build()
	return x
}

// get returns the person id.
func (x *population) get(id int64) (Person, bool) {
	k, ok := x.byID[id]
	if !ok {
		return Person{}, false
	}
	return x.sorted[k], true
}

// with returns the positions in sorted of the people with situation (nil: any), in id order. The caller must not
// change the slice.
func (x *population) with(situation *int) []int {
	if situation == nil {
		return x.all
	}
	return x.situation[*situation]
}

// search returns, by id, the people with situation (nil: any) whose lowercase name or registry holds lower, or,
// when digits is not "", one of whose documents' digits hold digits.
func (x *population) search(lower, digits string, situation *int) []Person {
	hits := x.text.lookup(lower, nil)
	if digits != "" {
		hits = x.digits.lookup(digits, hits)
	}
	slices.Sort(hits)
	out := []Person{}
	for _, k := range slices.Compact(hits) {
		if p := x.sorted[k]; situation == nil || p.Situation == *situation {
			out = append(out, p)
		}
	}
	return out
}

// fields is a suffix array over strings ("fields"), each of one person, laid end to end with a NUL after each:
// a lookup finds every field that holds a term in O(len(term) * log(text) + occurrences).
type fields struct {
	index  *suffixarray.Index
	starts []int // starts[f]: where field f begins in the text, increasing
	ends   []int // ends[f]: where it ends (exclusive)
	owner  []int // owner[f]: the position in population.sorted of field f's person
}

// lookup appends to hits the owner of every field that holds term (once per occurrence).
func (f fields) lookup(term string, hits []int) []int {
	for _, at := range f.index.Lookup([]byte(term), -1) {
		i := sort.SearchInts(f.starts, at+1) - 1 // the last field beginning at or before at
		if i >= 0 && at+len(term) <= f.ends[i] { // within the field, not across its NUL into the next
			hits = append(hits, f.owner[i])
		}
	}
	return hits
}

// fieldsBuilder lays out the fields of a fields.
type fieldsBuilder struct {
	text []byte
	f    fields
}

// add appends field s of the person at position owner; an empty field matches no term and is left out.
func (b *fieldsBuilder) add(s string, owner int) {
	if s == "" {
		return
	}
	b.f.starts = append(b.f.starts, len(b.text))
	b.text = append(b.text, s...)
	b.f.ends = append(b.f.ends, len(b.text))
	b.text = append(b.text, 0)
	b.f.owner = append(b.f.owner, owner)
}

// build indexes the fields added.
func (b *fieldsBuilder) build() fields {
	b.f.index = suffixarray.New(b.text)
	return b.f
}
