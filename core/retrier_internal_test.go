package core

import (
	"testing"
	"testing/synctest"
	"time"
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
