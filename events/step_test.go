package events_test

import (
	"context"
	"errors"
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

// Outside a Worker, Step just runs the function and labels its outcome.
func TestStepOutsideWorker(t *testing.T) {
	spec := events.StepSpec{Target: "zeev", Operation: "upsert_user"}
	o, err := events.Step(context.Background(), spec, func(context.Context) (events.StepOutcome, error) {
		return events.Done("id", 1), nil
	})
	if err != nil || o.Target != "zeev" || o.Operation != "upsert_user" || o.IDs["id"] != 1 {
		t.Fatalf("Step = %+v, %v", o, err)
	}
	boom := errors.New("boom")
	if _, err := events.Step(context.Background(), spec, func(context.Context) (events.StepOutcome, error) {
		return events.StepOutcome{}, boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Step error = %v", err)
	}
}
