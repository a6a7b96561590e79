package core

import (
	"testing"
	"time"
)

// A flush routes the waiting records once the first shard map is in, even
// before the room has been opened for it, so that they are aggregated; with
// no map and none loading, it sends them on without a prediction.
func TestAFlushRoutesTheWaitingRoomOnceTheFirstMapIsIn(t *testing.T) {
	for _, mapIn := range []bool{false, true} {
		var routed, unpredicted int
		w := newWaitingRoom(func(*userRecord) { routed++ }, func(*userRecord) { unpredicted++ })
		m := newShardMap(nil, streamID{name: "s"}, nil)
		if mapIn {
			// As the listing leaves it: the map is in, and nothing has
			// opened the room yet.
			m.publish(&shardTable{ranges: map[string]shardRange{}}, time.Now())
		}
		for range 3 {
			w.add(&userRecord{deadline: instantOf(time.Now().Add(time.Hour))})
		}
		w.flush(m)
		want := [2]int{0, 3}
		if mapIn {
			want = [2]int{3, 0}
		}
		if got := [2]int{routed, unpredicted}; got != want {
			t.Errorf("map in %v: %d routed, %d without a prediction; want %d and %d", mapIn, got[0], got[1], want[0], want[1])
		}
	}
}
