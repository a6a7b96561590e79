package core

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// A record waiting out a retry's backoff fails at its expiration, not when
// a backoff that runs past it ends, so that a wait sized by record_ttl_ms
// plus request_timeout_ms outlasts it; the younger records of the same
// failed request are still sent again.
func TestABackoffEndsAtTheFirstExpirationOfItsRecords(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt, sink := newECRetrier(nil)
		old := ecUserRecord("old", HashKey{}, 0, 100*time.Millisecond)
		young := ecUserRecord("young", HashKey{}, 0, time.Hour)
		for _, u := range []*userRecord{old, young} {
			for range 6 { // a throttled backoff of 1.6 s to 3.2 s
				u.addAttempt(Attempt{ErrorCode: "ProvisionedThroughputExceededException"})
			}
		}
		rt.schedule([]*userRecord{old, young}, actionThrottled)
		time.Sleep(time.Second)
		synctest.Wait()
		sink.mu.Lock()
		defer sink.mu.Unlock()
		r, finished := sink.finished[old]
		if !finished {
			t.Fatal("the expired record was not failed within a second of its 100 ms TTL")
		}
		if attempts := r.Attempts(); r.Success || attempts[len(attempts)-1].ErrorCode != CodeExpired {
			t.Fatalf("result %+v, want a failure whose last attempt is %s", r, CodeExpired)
		}
		if len(sink.sentAgain) != 1 || sink.sentAgain[0] != young {
			t.Fatalf("sent again %d records, want the young one", len(sink.sentAgain))
		}
	})
}

// An entry answered with neither an error code nor the shard id and sequence
// number it was written with is not a delivery: its records are sent again,
// with an IncompleteResult attempt.
func TestAnEntryWithoutWhereItWasWrittenIsSentAgain(t *testing.T) {
	for _, missing := range []string{"sequence number", "shard id"} {
		synctest.Test(t, func(t *testing.T) {
			rt, sink := newECRetrier(nil)
			u := ecUserRecord("a", HashKey{}, 0, time.Minute)
			r := ecLanded(nil, "shardId-000000000000", newKinesisRecord([]*userRecord{u}))
			if missing == "shard id" {
				r.output.Records[0].ShardId = nil
			} else {
				r.output.Records[0].SequenceNumber = aws.String("")
			}
			rt.handle(r)
			time.Sleep(10 * time.Second) // past any backoff
			synctest.Wait()
			sink.mu.Lock()
			defer sink.mu.Unlock()
			if _, finished := sink.finished[u]; finished || len(sink.sentAgain) != 1 {
				t.Fatalf("without a %s: finished %v, sent again %d; want sent again", missing, finished, len(sink.sentAgain))
			}
			if a := u.attempts(); len(a) != 1 || a[0].ErrorCode != CodeIncompleteResult {
				t.Fatalf("without a %s: attempts %+v, want one %s", missing, a, CodeIncompleteResult)
			}
		})
	}
}
