package core

import "sync/atomic"

// heldCount is a number of holders and, of those, how many are settled (no
// longer counted as open, though still holding), in one atomic word:
// holders in the low bits, settled ones in the high bits. A reader sees the
// two at one instant, and one addition moves a holder in, settles some, or
// lets settled ones go. The budget counts records holding room this way (a
// record settles when it is resolved), and a flush epoch its references (a
// record's reference settles when it is resolved). Both counts stay far
// below 2^31 (max_outstanding_records is at most 10^8).
type heldCount struct{ word atomic.Int64 }

// settledShift is where the settled holders' count starts in the word.
const settledShift = 32

// heldCountValue is one reading of a heldCount, or a change to one.
type heldCountValue int64

// settling is the change that settles n holders.
func settling(n int64) heldCountValue { return heldCountValue(n << settledShift) }

// leavingSettled is the change that lets n settled holders go.
func leavingSettled(n int64) heldCountValue { return -heldCountValue(n + n<<settledShift) }

// add applies delta and returns the new value.
func (c *heldCount) add(delta heldCountValue) heldCountValue {
	return heldCountValue(c.word.Add(int64(delta)))
}

func (c *heldCount) load() heldCountValue { return heldCountValue(c.word.Load()) }

func (c *heldCount) compareAndSwap(old, new heldCountValue) bool {
	return c.word.CompareAndSwap(int64(old), int64(new))
}

// holding is the holders, settled or not.
func (v heldCountValue) holding() int64 { return int64(v) & (1<<settledShift - 1) }

// unsettled is the holders not settled.
func (v heldCountValue) unsettled() int64 { return v.holding() - int64(v)>>settledShift }
