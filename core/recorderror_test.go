package core_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gokpl/gokpl/core"
	"github.com/gokpl/gokpl/core/kinesistest"
)

// failed is a failed RecordResult whose attempts end with code.
func failed(codes ...string) *core.RecordResult {
	var attempts []core.Attempt
	for _, c := range codes {
		attempts = append(attempts, core.Attempt{ErrorCode: c, ErrorMessage: "message of " + c})
	}
	r := core.NewRecordResult(attempts)
	return &r
}

// Err is nil for a delivered record and otherwise a *RecordError with the
// last attempt's code and message, which matches exactly the sentinels of
// its code.
func TestRecordResultErr(t *testing.T) {
	ok := core.NewRecordResult([]core.Attempt{{ErrorCode: core.CodeThrottled}, {Success: true, ShardID: "shardId-000000000000", SequenceNumber: "1"}})
	if err := ok.Err(); err != nil {
		t.Fatalf("Err of a success = %v, want nil", err)
	}

	sentinels := []error{core.ErrExpired, core.ErrClosed, core.ErrThrottled}
	for _, tc := range []struct {
		result *core.RecordResult
		code   string
		is     error // the one sentinel it matches, or nil
	}{
		{failed(core.CodeThrottled, core.CodeExpired), core.CodeExpired, core.ErrExpired},
		{failed(core.CodeProducerClosed), core.CodeProducerClosed, core.ErrClosed},
		{failed("InternalFailure", core.CodeProducerClosed), core.CodeProducerClosed, core.ErrClosed},
		{failed(core.CodeThrottled), core.CodeThrottled, core.ErrThrottled},
		{failed("ThrottlingException"), "ThrottlingException", core.ErrThrottled},
		{failed("KMSThrottlingException"), "KMSThrottlingException", core.ErrThrottled},
		{failed(core.CodeExpired, "AccessDeniedException"), "AccessDeniedException", nil},
		{failed("ResourceNotFoundException"), "ResourceNotFoundException", nil},
		{failed(core.CodeRecordTooLarge), core.CodeRecordTooLarge, nil},
	} {
		err := tc.result.Err()
		var re *core.RecordError
		if !errors.As(err, &re) {
			t.Fatalf("%s: Err = %#v, want a *RecordError", tc.code, err)
		}
		want := core.RecordError{Code: tc.code, Message: "message of " + tc.code, Attempts: len(tc.result.Attempts())}
		if *re != want {
			t.Errorf("%s: Err = %+v, want %+v", tc.code, *re, want)
		}
		for _, s := range sentinels {
			if got := errors.Is(err, s); got != (s == tc.is) {
				t.Errorf("%s: errors.Is(err, %q) = %v", tc.code, s, got)
			}
		}
		if errors.Is(err, core.ErrCancelled) || errors.Is(err, core.ErrBackpressure) {
			t.Errorf("%s: matches a sentinel that no record resolves with", tc.code)
		}
	}

	// A result with no attempt (withdrawn before any) still reports failure.
	if err := (&core.RecordResult{}).Err(); err == nil {
		t.Fatal("Err of a failed result without attempts = nil")
	}
}

// The message names the code, the service's message and the attempts.
func TestRecordErrorMessage(t *testing.T) {
	for _, tc := range []struct {
		err  core.RecordError
		want string
	}{
		{core.RecordError{Code: "AccessDeniedException", Message: "no", Attempts: 1},
			"gokpl: record failed after 1 attempt: AccessDeniedException: no"},
		{core.RecordError{Code: core.CodeExpired, Message: "ttl", Attempts: 3},
			"gokpl: record failed after 3 attempts: Expired: ttl"},
		{core.RecordError{Code: core.CodeProducerClosed, Attempts: 0},
			"gokpl: record failed after 0 attempts: ProducerClosed"},
	} {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

// waitErr waits for o and returns the record's failure, failing the test if
// the outcome does not resolve within 10 s.
func waitErr(t *testing.T, o *core.Outcome) (*core.RecordResult, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r, err := o.Wait(ctx)
	if err != nil {
		t.Fatalf("Wait: %v", err)
	}
	return r, r.Err()
}

// Records the producer fails come back from Wait as results whose Err is
// the matching RecordError: expired, closed, throttled, refused.
func TestRecordErrFromProducer(t *testing.T) {
	record := core.Record{Stream: "events", PartitionKey: "user-1", Data: []byte("hello")}

	t.Run("delivered", func(t *testing.T) {
		p, _ := ecProducer(t, map[string]int{"events": 1}, nil)
		r, err := waitErr(t, must(p.Put(context.Background(), record)))
		if err != nil || !r.Success {
			t.Fatalf("Err = %v, Success = %v; want nil, true", err, r.Success)
		}
	})

	t.Run("expired", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"events": 1}, func(c *core.Config) { c.RecordTTL = 200 * time.Millisecond })
		srv.ScheduleFault("PutRecords", kinesistest.ErrorFault(500, kinesistest.ErrorTypeInternalFailure, ""), kinesistest.FaultSchedule{Times: -1})
		r, err := waitErr(t, must(p.Put(context.Background(), record)))
		var re *core.RecordError
		if !errors.As(err, &re) || !errors.Is(err, core.ErrExpired) || re.Code != core.CodeExpired {
			t.Fatalf("Err = %v, want an Expired RecordError", err)
		}
		if re.Attempts != len(r.Attempts()) || re.Attempts < 2 || r.Attempts()[0].ErrorCode != kinesistest.ErrorTypeInternalFailure {
			t.Fatalf("RecordError.Attempts = %d, attempts %+v: want a failed trip, then Expired", re.Attempts, r.Attempts())
		}
	})

	t.Run("closed", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"events": 1}, func(c *core.Config) { c.RecordMaxBufferedTime = time.Minute })
		// Every send fails, so the record cannot be delivered by a send that
		// Close's flush starts before it sees its context ended.
		srv.ScheduleFault("PutRecords", kinesistest.ErrorFault(500, kinesistest.ErrorTypeInternalFailure, ""), kinesistest.FaultSchedule{Times: -1})
		o := must(p.Put(context.Background(), record))
		ended, cancel := context.WithCancel(context.Background())
		cancel()
		_ = p.Close(ended) // no time to flush: the record fails as ProducerClosed
		_, err := waitErr(t, o)
		if !errors.Is(err, core.ErrClosed) || errors.Is(err, core.ErrExpired) {
			t.Fatalf("Err = %v, want a RecordError matching ErrClosed", err)
		}
		_, putErr := p.Put(context.Background(), record)
		if !errors.Is(putErr, core.ErrClosed) {
			t.Fatalf("Put after Close = %v, want ErrClosed", putErr)
		}
	})

	t.Run("throttled", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"events": 1}, func(c *core.Config) { c.FailIfThrottled = true })
		srv.InjectFault("PutRecords", kinesistest.Fault{RecordFailures: []kinesistest.RecordFailure{{Index: 0}}})
		_, err := waitErr(t, must(p.Put(context.Background(), record)))
		var re *core.RecordError
		if !errors.As(err, &re) || !errors.Is(err, core.ErrThrottled) || re.Code != core.CodeThrottled || re.Attempts != 1 {
			t.Fatalf("Err = %#v, want a throttled RecordError after 1 attempt", err)
		}
	})

	t.Run("refused", func(t *testing.T) {
		p, srv := ecProducer(t, map[string]int{"events": 1}, nil)
		srv.InjectFault("PutRecords", kinesistest.ErrorFault(400, "AccessDeniedException", "not allowed"))
		_, err := waitErr(t, must(p.Put(context.Background(), record)))
		var re *core.RecordError
		if !errors.As(err, &re) || re.Code != "AccessDeniedException" || re.Attempts != 1 || !strings.Contains(err.Error(), "not allowed") {
			t.Fatalf("Err = %v, want AccessDeniedException after 1 attempt", err)
		}
		if errors.Is(err, core.ErrExpired) || errors.Is(err, core.ErrClosed) || errors.Is(err, core.ErrThrottled) {
			t.Fatalf("Err = %v matches a sentinel of another code", err)
		}
	})
}
