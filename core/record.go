package core

import (
	"crypto/md5"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"
	"unicode/utf8"
	"unsafe"
)

// Record is one user record as the caller hands it to Producer.Put. The
// producer copies nothing the caller may still change: Data and Tags must
// not be modified after Put returns.
type Record struct {
	Stream          string
	PartitionKey    string
	ExplicitHashKey string // optional decimal in [0, 2^128-1]; empty means MD5(PartitionKey)
	Data            []byte
	Tags            []Tag // optional; written only when the record is aggregated (see Tag)
}

// HashKey is a 128-bit Kinesis hash key, compared as an unsigned integer.
type HashKey struct{ Hi, Lo uint64 }

// Less reports whether h < other.
func (h HashKey) Less(other HashKey) bool {
	return h.Hi < other.Hi || (h.Hi == other.Hi && h.Lo < other.Lo)
}

// String renders the key in decimal, as the service expects it.
func (h HashKey) String() string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], h.Hi)
	binary.BigEndian.PutUint64(b[8:], h.Lo)
	return new(big.Int).SetBytes(b[:]).String()
}

var maxHashKey = new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), 128), big.NewInt(1))

// ParseHashKey parses a decimal hash key in [0, 2^128-1], ignoring
// surrounding spaces as the KPL does.
func ParseHashKey(s string) (HashKey, error) {
	n, ok := new(big.Int).SetString(strings.TrimSpace(s), 10)
	if !ok || n.Sign() < 0 || n.Cmp(maxHashKey) > 0 {
		return HashKey{}, &InvalidRecordError{Field: "explicit_hash_key", Reason: fmt.Sprintf("must be a decimal integer in [0, 2^128-1], got %q", s)}
	}
	var b [16]byte
	n.FillBytes(b[:])
	return HashKey{Hi: binary.BigEndian.Uint64(b[:8]), Lo: binary.BigEndian.Uint64(b[8:])}, nil
}

// partitionKeyLength counts s in UTF-16 code units, as the service and the
// KPL (Java characters) count a partition key: a character outside the Basic
// Multilingual Plane, such as an emoji, counts twice. ok is false when s is
// not valid UTF-8 (a key the service could only receive altered).
func partitionKeyLength(s string) (n int, ok bool) {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return utf16Length(s)
		}
	}
	return len(s), true // ASCII, the common case: a byte is a unit
}

// utf16Length is partitionKeyLength for a key that is not all ASCII.
func utf16Length(s string) (n int, ok bool) {
	for i, r := range s {
		switch {
		case r >= 0x10000:
			n += 2
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			return n, false
		default:
			n++
		}
	}
	return n, true
}

// PartitionKeyHash is MD5(partition key) read as a big-endian 128-bit integer.
func PartitionKeyHash(partitionKey string) HashKey {
	sum := md5.Sum([]byte(partitionKey))
	return HashKey{Hi: binary.BigEndian.Uint64(sum[:8]), Lo: binary.BigEndian.Uint64(sum[8:])}
}

// validate checks the record against the service's limits that hold on
// every stream (the stream itself is checked once, when its pipeline is
// made) and returns its explicit hash key, parsed (zero without one: see
// userRecord.ensureHash). Tags are checked apart (validateTags), by puts
// that have some.
func (r *Record) validate() (HashKey, error) {
	n, ok := partitionKeyLength(r.PartitionKey)
	if !ok {
		return HashKey{}, &InvalidRecordError{Field: "partition_key", Reason: "must be valid UTF-8"}
	}
	if n < 1 || n > MaxPartitionKeyChars {
		return HashKey{}, &InvalidRecordError{Field: "partition_key", Reason: fmt.Sprintf("must be 1 to %d characters, got %d", MaxPartitionKeyChars, n)}
	}
	if size := recordSize(r.PartitionKey, r.Data); size > MaxRecordSizeLimit {
		return HashKey{}, tooLarge(size, MaxRecordSizeLimit, "on any stream")
	}
	if r.ExplicitHashKey != "" {
		return ParseHashKey(r.ExplicitHashKey)
	}
	return HashKey{}, nil
}

// tooLarge is the error of a record whose data and partition key together
// exceed limit.
func tooLarge(size, limit int, where string) error {
	return &InvalidRecordError{Field: "data", Reason: fmt.Sprintf("and partition_key together must be at most %d bytes %s, got %d", limit, where, size)}
}

// userRecord is a Record on its way through the pipeline, with its hash key,
// deadlines, the attempts made so far and the promise to resolve. It belongs to
// exactly one stage at a time, so its fields need no lock.
//
// It takes 128 bytes, allocated, filled and collected for every put: what
// few records have (tags, failed attempts) is in extras, the stream is the
// pipeline's, and an explicit hash key is kept parsed, in hash.
type userRecord struct {
	// PartitionKey and Data are the Record's, as put.
	PartitionKey string
	Data         []byte

	hash       HashKey
	outcome    *Outcome // its own allocation, so a held outcome does not keep the rest alive
	arrival    instant
	deadline   instant // send by then
	expiration instant // fail with Expired after then
	epoch      *epoch
	pipeline   *pipeline // the stream's, for its counters

	// predicted is the open shard the shard map expected the record to land
	// in on its latest trip, nil when it went without a prediction.
	predicted *shardEntry

	// extras is nil until the record has tags or a failed attempt.
	extras *recordExtras

	// historyBytes is what the record's failed attempts take, charged to
	// the budget while it is retried (Producer.again).
	historyBytes int32

	// explicitHash reports that hash is the record's explicit hash key.
	explicitHash bool
}

// recordExtras is what few user records have.
type recordExtras struct {
	tags     []Tag
	tagsSize int       // what the tags add to the record's message in an aggregated record (tagsSize)
	attempts []Attempt // the attempts made so far, oldest first
}

// newUserRecord is r on its way through the pipeline, its other fields
// (tags among them, setTags) yet to be set.
func newUserRecord(r *Record) *userRecord {
	return &userRecord{PartitionKey: r.PartitionKey, Data: r.Data, explicitHash: r.ExplicitHashKey != ""}
}

func (u *userRecord) extra() *recordExtras {
	if u.extras == nil {
		u.extras = new(recordExtras)
	}
	return u.extras
}

// setTags gives the record its tags, which add size to its message in an
// aggregated record (tagsSize).
func (u *userRecord) setTags(tags []Tag, size int) {
	if len(tags) > 0 {
		e := u.extra()
		e.tags, e.tagsSize = tags, size
	}
}

func (u *userRecord) tags() []Tag {
	if u.extras == nil {
		return nil
	}
	return u.extras.tags
}

func (u *userRecord) tagsSize() int {
	if u.extras == nil {
		return 0
	}
	return u.extras.tagsSize
}

// budgetBytes is what the record counts against max_outstanding_bytes
// (budgetBytes).
func (u *userRecord) budgetBytes() int64 { return budgetBytes(u.PartitionKey, u.Data, u.tags()) }

// dropData lets go of the record's data, partition key, tags and attempts
// (a result keeps its own reference to them): the outcome may outlive the
// pipeline's use of them.
func (u *userRecord) dropData() { u.PartitionKey, u.Data, u.extras = "", nil, nil }

// attempts returns the attempts made so far, oldest first.
func (u *userRecord) attempts() []Attempt {
	if u.extras == nil {
		return nil
	}
	return u.extras.attempts
}

func (u *userRecord) addAttempt(a Attempt) {
	e := u.extra()
	e.attempts = append(e.attempts, a)
}

// prediction is the id and number of the shard the record was predicted to
// land in ("" and -1 without a prediction).
func (u *userRecord) prediction() (shardID string, shard int64) {
	if u.predicted == nil {
		return "", -1
	}
	return u.predicted.id, u.predicted.shard
}

// attemptBytes is what one more attempt in a record's history takes: the
// Attempt and its share of the slice's spare capacity (the error code and
// message are shared, see errorStrings).
const attemptBytes = int64(unsafe.Sizeof(Attempt{})) * 3 / 2

// chargeHistory returns the bytes the record's history grew by since it was
// last charged.
func (u *userRecord) chargeHistory() int64 {
	n := int64(len(u.attempts()))*attemptBytes - int64(u.historyBytes)
	if n <= 0 {
		return 0
	}
	u.historyBytes += int32(n)
	return n
}

// expiredAt reports whether the record's TTL has passed at now.
func (u *userRecord) expiredAt(now time.Time) bool { return instantOf(now) > u.expiration }

// retryBy gives the record, back for another trip at now, d to be sent in,
// within its TTL.
func (u *userRecord) retryBy(now time.Time, d time.Duration) {
	u.deadline = min(instantOf(now).add(d), u.expiration)
}

// size is the record's size as the service counts it against the stream's
// maximum record size.
func (u *userRecord) size() int { return recordSize(u.PartitionKey, u.Data) }

// ensureHash sets the hash key from the partition key's MD5 unless it is
// known: an explicit hash key, or computed before (a zero hash counts as not
// computed, and a partition key whose MD5 is zero has it computed again).
// The pipeline calls it on its own goroutine, so that the putting thread
// does not pay for the MD5.
func (u *userRecord) ensureHash() {
	if u.hash == (HashKey{}) && !u.explicitHash {
		u.hash = PartitionKeyHash(u.PartitionKey)
	}
}

// instant is a point in time kept by every user record: nanoseconds on the
// monotonic clock since clockBase. It takes a third of a time.Time and holds
// no pointer, which the allocator and the collector feel at a million
// records a second.
type instant int64

// clockBase is the origin of instants.
var clockBase = time.Now()

// instantOf is t as an instant; times beyond ±292 years from clockBase
// saturate.
func instantOf(t time.Time) instant { return instant(t.Sub(clockBase)) }

// time is i as a time.Time.
func (i instant) time() time.Time { return clockBase.Add(time.Duration(i)) }

// add returns i+d, saturating instead of overflowing.
func (i instant) add(d time.Duration) instant {
	if d > 0 && i > math.MaxInt64-instant(d) {
		return math.MaxInt64
	}
	return i + instant(d)
}

// addTime returns t+d, saturating instead of overflowing.
func addTime(t time.Time, d time.Duration) time.Time {
	const maxUnixNano = 1<<63 - 1
	if d > 0 && t.UnixNano() > maxUnixNano-int64(d) {
		return time.Unix(0, maxUnixNano)
	}
	return t.Add(d)
}

func earlier(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
