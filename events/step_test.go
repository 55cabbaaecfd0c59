package events_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/ponte-dev/ponte/events"
)

func TestOutcomes(t *testing.T) {
	o := events.Done("zeevUserId", 7, "roleId", int64(3), "teamId", int32(2))
	if o.Status != events.StatusDone || o.IDs["zeevUserId"] != 7 || o.IDs["roleId"] != 3 || o.IDs["teamId"] != 2 {
		t.Fatalf("Done = %+v", o)
	}
	if s := events.Skipped("already there"); s.Status != events.StatusSkipped || s.Detail != "already there" || s.IDs != nil {
		t.Fatalf("Skipped = %+v", s)
	}
	for name, args := range map[string][]any{"odd": {"id"}, "string value": {"id", "x"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: Done(%v) did not panic", name, args)
				}
			}()
			events.Done(args...)
		}()
	}
}

// TestStepOutsideAWorkerIsAnError is defect 7 of the settlement issue: Step called with a context that no Worker
// gave (a handler called directly) must fail, naming the step, and never run the side effect unrecorded.
func TestStepOutsideAWorkerIsAnError(t *testing.T) {
	spec := events.StepSpec{Target: "zeev", Operation: "upsert_user"}
	ran := false
	_, err := events.Step(context.Background(), spec, func(context.Context) (events.StepOutcome, error) {
		ran = true
		return events.Done("id", 1), nil
	})
	if err == nil || ran {
		t.Fatalf("Step outside a worker: ran %v, err %v; want an error and no call", ran, err)
	}
	if !errors.Is(err, events.ErrNoJournal) || !strings.Contains(err.Error(), "zeev.upsert_user") {
		t.Fatalf("err = %v, want ErrNoJournal naming the step", err)
	}
}
