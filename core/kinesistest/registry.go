package kinesistest

import (
	"sort"
	"strconv"
	"strings"
	"time"
)

// streamRef names a stream the way requests do: by name, by ARN or both.
// Input types embed it.
type streamRef struct {
	StreamName string
	StreamARN  string
}

// StreamARN returns the ARN of the stream name in the server's region and
// account, whether or not the stream exists. Requests may name a stream by
// it.
func (s *Server) StreamARN(name string) string {
	return "arn:aws:kinesis:" + s.opts.Region + ":" + s.opts.AccountID + ":stream/" + name
}

// resolveName returns the stream name ref designates: its StreamName, or
// the name in its StreamARN, which must then agree.
func (s *Server) resolveName(ref streamRef) (string, *apiError) {
	if err := validateStreamRef(ref); err != nil {
		return "", err
	}
	switch {
	case ref.StreamName == "" && ref.StreamARN == "":
		return "", invalidArgument("Either StreamName or StreamARN should be provided.")
	case ref.StreamARN == "":
		return ref.StreamName, nil
	}
	name, err := s.streamNameOfARN(ref.StreamARN)
	if err != nil {
		return "", err
	}
	if ref.StreamName != "" && ref.StreamName != name {
		return "", invalidArgument("StreamName %s and StreamARN %s do not name the same stream.", ref.StreamName, ref.StreamARN)
	}
	return name, nil
}

// streamNameOfARN returns the stream name in a well-formed stream ARN. An
// ARN of another partition, region or account names no stream of this
// server.
func (s *Server) streamNameOfARN(arn string) (string, *apiError) {
	prefix, name, _ := strings.Cut(arn, ":stream/")
	if s.StreamARN(name) != arn {
		account := prefix[strings.LastIndexByte(prefix, ':')+1:]
		return "", resourceNotFound("Stream %s under account %s not found.", name, account)
	}
	return name, nil
}

// lookup returns the stream named by ref, whatever its status.
func (s *Server) lookup(ref streamRef) (*stream, *apiError) {
	name, err := s.resolveName(ref)
	if err != nil {
		return nil, err
	}
	return s.streamNamed(name)
}

// lookupActive returns the stream named by ref if it is ACTIVE, for
// operations on its shards.
func (s *Server) lookupActive(ref streamRef) (*stream, *apiError) {
	st, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if st.status(s.now()) != statusActive {
		return nil, resourceInUse("Stream %s under account %s is not ACTIVE.", st.name, s.opts.AccountID)
	}
	return st, nil
}

// lookupForData returns the stream named by ref for reading or writing
// records, which cannot see a stream before it is ACTIVE.
func (s *Server) lookupForData(ref streamRef) (*stream, *apiError) {
	st, err := s.lookup(ref)
	if err != nil {
		return nil, err
	}
	if st.status(s.now()) != statusActive {
		return nil, s.streamNotFound(st.name)
	}
	return st, nil
}

func (s *Server) streamNamed(name string) (*stream, *apiError) {
	s.mu.RLock()
	st := s.streams[name]
	s.mu.RUnlock()
	if st == nil {
		return nil, s.streamNotFound(name)
	}
	return st, nil
}

func (s *Server) streamNotFound(name string) *apiError {
	return resourceNotFound("Stream %s under account %s not found.", name, s.opts.AccountID)
}

// streamSpec describes a stream to create.
type streamSpec struct {
	shards int
	mode   string
	// delay keeps the stream CREATING this long.
	delay time.Duration
	// maxRecordSizeKiB is 0 for DefaultMaxRecordSizeKiB.
	maxRecordSizeKiB int
}

func (spec *streamSpec) validate(account string) *apiError {
	if spec.shards < 1 {
		return constraintError(quoted(strconv.Itoa(spec.shards)), "shardCount", "have value greater than or equal to 1")
	}
	if spec.shards > maxShardsPerStream {
		return limitExceeded("This request would exceed the shard limit for the account %s. Requested %d shards, limit %d.", account, spec.shards, maxShardsPerStream)
	}
	if spec.maxRecordSizeKiB != 0 {
		return validateMaxRecordSizeKiB(spec.maxRecordSizeKiB)
	}
	return nil
}

// addStream creates a stream that becomes ACTIVE after spec.delay.
func (s *Server) addStream(name string, spec streamSpec) *apiError {
	if err := validateStreamName(name); err != nil {
		return err
	}
	if err := spec.validate(s.opts.AccountID); err != nil {
		return err
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.streams[name]; exists {
		return resourceInUse("Stream %s under account %s already exists.", name, s.opts.AccountID)
	}
	s.lastStreamID = max(uint64(now.UnixNano()), s.lastStreamID+1)
	s.streams[name] = newStream(streamConfig{
		name:             name,
		arn:              s.StreamARN(name),
		id:               s.lastStreamID,
		mode:             spec.mode,
		shardCount:       spec.shards,
		created:          now,
		activeAt:         now.Add(spec.delay),
		discard:          s.opts.Discard,
		rateLimit:        s.opts.ShardRateLimit,
		maxRecordSizeKiB: spec.maxRecordSizeKiB,
	})
	return nil
}

// removeStream deletes the stream name; its iterators stop working.
func (s *Server) removeStream(name string) *apiError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.streams[name]; !exists {
		return s.streamNotFound(name)
	}
	delete(s.streams, name)
	return nil
}

// sortedStreams returns every stream ordered by name.
func (s *Server) sortedStreams() []*stream {
	s.mu.RLock()
	list := make([]*stream, 0, len(s.streams))
	for _, st := range s.streams {
		list = append(list, st)
	}
	s.mu.RUnlock()
	sort.Slice(list, func(i, j int) bool { return list[i].name < list[j].name })
	return list
}
