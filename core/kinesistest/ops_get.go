package kinesistest

import (
	"net/http"
	"time"
)

// Read operations: GetShardIterator and GetRecords.

const (
	defaultGetRecordsLimit = 10000
	maxGetRecordsBytes     = 10 << 20
	maxShardIteratorLength = 512
)

// Shard iterator types of GetShardIterator.
const (
	iteratorAtSequenceNumber    = "AT_SEQUENCE_NUMBER"
	iteratorAfterSequenceNumber = "AFTER_SEQUENCE_NUMBER"
	iteratorTrimHorizon         = "TRIM_HORIZON"
	iteratorLatest              = "LATEST"
	iteratorAtTimestamp         = "AT_TIMESTAMP"
)

type getShardIteratorInput struct {
	streamRef
	ShardId                string
	ShardIteratorType      string
	StartingSequenceNumber string
	Timestamp              *epochTime
}

func (in *getShardIteratorInput) apply(s *Server, _ *Fault) (any, *apiError) {
	if err := in.validate(); err != nil {
		return nil, err
	}
	st, err := s.lookupForData(in.streamRef)
	if err != nil {
		return nil, err
	}
	position, err := in.position(st, s.opts.AccountID)
	if err != nil {
		return nil, err
	}
	iterator := encodeToken(shardIterator{
		Stream:   st.name,
		StreamID: st.id,
		Shard:    position.shard,
		Position: position.index,
		Issued:   s.now().UnixNano(),
	})
	return struct{ ShardIterator string }{iterator}, nil
}

func (in *getShardIteratorInput) validate() *apiError {
	switch in.ShardIteratorType {
	case iteratorAtSequenceNumber, iteratorAfterSequenceNumber:
		if in.StartingSequenceNumber == "" {
			return invalidArgument("StartingSequenceNumber is required for ShardIteratorType %s.", in.ShardIteratorType)
		}
		if !isDecimal(in.StartingSequenceNumber) {
			return validationError("1 validation error detected: Value '%s' at 'startingSequenceNumber' failed to satisfy constraint: Member must satisfy regular expression pattern: 0|([1-9]\\d{0,128})", in.StartingSequenceNumber)
		}
	case iteratorAtTimestamp:
		if in.Timestamp == nil {
			return invalidArgument("Timestamp is required for ShardIteratorType AT_TIMESTAMP.")
		}
	case iteratorTrimHorizon, iteratorLatest:
	default:
		return validationError("1 validation error detected: Value '%s' at 'shardIteratorType' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]", in.ShardIteratorType)
	}
	return nil
}

// logPosition is a shard and an index into its record log.
type logPosition struct {
	shard int
	index int
}

// position resolves where the iterator starts in the requested shard.
func (in *getShardIteratorInput) position(st *stream, account string) (logPosition, *apiError) {
	st.mu.Lock()
	defer st.mu.Unlock()
	sh := st.shardLocked(in.ShardId)
	if sh == nil {
		return logPosition{}, resourceNotFound("Shard %s in stream %s under account %s does not exist", in.ShardId, st.name, account)
	}
	pos := logPosition{shard: sh.index}
	switch in.ShardIteratorType {
	case iteratorLatest:
		pos.index = sh.log.len()
	case iteratorAtTimestamp:
		pos.index = sh.log.firstArrivedAtOrAfter(time.Time(*in.Timestamp))
	case iteratorAtSequenceNumber, iteratorAfterSequenceNumber:
		counter, ok := parseSequenceNumber(sh.sequencePrefix, in.StartingSequenceNumber)
		if !ok {
			return logPosition{}, invalidArgument("StartingSequenceNumber %s used in GetShardIterator on shard %s in stream %s under account %s is invalid because it did not come from this stream.",
				in.StartingSequenceNumber, sh.id, st.name, account)
		}
		if in.ShardIteratorType == iteratorAfterSequenceNumber {
			counter++
		}
		pos.index = sh.log.firstAtOrAfter(counter)
	}
	return pos, nil
}

type getRecordsInput struct {
	ShardIterator string
	Limit         *int
	StreamARN     string
}

func (in *getRecordsInput) describe(_ *Server, req *Request) {
	var it shardIterator
	if decodeToken(in.ShardIterator, &it) {
		req.StreamName = it.Stream
	}
}

type recordJSON struct {
	SequenceNumber              string
	ApproximateArrivalTimestamp epochTime
	Data                        []byte
	PartitionKey                string
	EncryptionType              string
}

type getRecordsOutput struct {
	Records            []recordJSON
	NextShardIterator  string `json:",omitempty"`
	MillisBehindLatest int64
	ChildShards        []childShardJSON `json:",omitempty"`
}

func (in *getRecordsInput) apply(s *Server, _ *Fault) (any, *apiError) {
	limit, err := validateLimit("limit", in.Limit, defaultGetRecordsLimit, defaultGetRecordsLimit)
	if err != nil {
		return nil, err
	}
	it, st, err := in.resolve(s)
	if err != nil {
		return nil, err
	}
	now := s.now()
	read := st.read(it.Shard, it.Position, limit, now)
	out := getRecordsOutput{
		Records:            make([]recordJSON, len(read.records)),
		MillisBehindLatest: read.millisBehind,
		ChildShards:        read.children,
	}
	for i := range read.records {
		r := &read.records[i]
		out.Records[i] = recordJSON{
			SequenceNumber:              r.sequenceNumber,
			ApproximateArrivalTimestamp: epochTime(r.arrival),
			Data:                        r.data,
			PartitionKey:                r.partitionKey,
			EncryptionType:              encryptionNone,
		}
	}
	if !read.shardEnded {
		it.Position = read.next
		it.Issued = now.UnixNano()
		out.NextShardIterator = encodeToken(it)
	}
	return out, nil
}

// resolve decodes the iterator and finds its stream.
func (in *getRecordsInput) resolve(s *Server) (shardIterator, *stream, *apiError) {
	var it shardIterator
	if len(in.ShardIterator) < 1 || len(in.ShardIterator) > maxShardIteratorLength {
		return it, nil, validationError("1 validation error detected: Value at 'shardIterator' failed to satisfy constraint: Member must have length between 1 and %d", maxShardIteratorLength)
	}
	if !decodeToken(in.ShardIterator, &it) {
		return it, nil, invalidArgument("Invalid ShardIterator.")
	}
	if issued := time.Unix(0, it.Issued); s.now().Sub(issued) > iteratorLifetime {
		return it, nil, newAPIError(http.StatusBadRequest, ErrorTypeExpiredIterator,
			"Iterator expired. The iterator was created at time %s while right now it is %s which is further in the future than the tolerated delay of %d milliseconds.",
			issued.UTC().Format(time.RFC1123), s.now().UTC().Format(time.RFC1123), iteratorLifetime.Milliseconds())
	}
	st, err := s.streamNamed(it.Stream)
	if err != nil {
		return it, nil, err
	}
	if st.id != it.StreamID {
		return it, nil, s.streamNotFound(it.Stream)
	}
	return it, st, nil
}

// shardRead is one batch read from a shard.
type shardRead struct {
	records      []storedRecord
	next         int
	millisBehind int64
	shardEnded   bool // the shard is closed and every record was read
	children     []childShardJSON
}

// read returns up to limit records of shard index from position on.
func (st *stream) read(index, position, limit int, now time.Time) shardRead {
	st.mu.Lock()
	defer st.mu.Unlock()
	sh := st.shards[index]
	position = max(position, 0)
	read := shardRead{records: sh.log.batch(position, limit, maxGetRecordsBytes)}
	read.next = position + len(read.records)
	if read.next < sh.log.len() {
		read.millisBehind = max(now.Sub(sh.log.records[read.next].arrival).Milliseconds(), 0)
		return read
	}
	if sh.closed() {
		read.shardEnded = true
		read.children = st.childrenLocked(sh)
	}
	return read
}

// childrenLocked describes the shards created from sh by a split or merge.
func (st *stream) childrenLocked(sh *shard) []childShardJSON {
	var children []childShardJSON
	for _, child := range st.shards[sh.index+1:] {
		if child.parentID != sh.id && child.adjacentParentID != sh.id {
			continue
		}
		parents := []string{child.parentID}
		if child.adjacentParentID != "" {
			parents = append(parents, child.adjacentParentID)
		}
		children = append(children, childShardJSON{
			ShardId:      child.id,
			ParentShards: parents,
			HashKeyRange: child.hashKeyRange(),
		})
	}
	return children
}
