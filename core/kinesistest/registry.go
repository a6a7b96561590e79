package kinesistest

import (
	"sort"
	"strings"
	"time"
)

// streamRef names a stream the way requests do: by name, by ARN or both.
// Input types embed it.
type streamRef struct {
	StreamName string
	StreamARN  string
}

// streamARN returns the ARN of the stream name in the server's region and
// account.
func (s *Server) streamARN(name string) string {
	return "arn:aws:kinesis:" + s.opts.Region + ":" + s.opts.AccountID + ":stream/" + name
}

// resolveName returns the stream name ref designates.
func (s *Server) resolveName(ref streamRef) (string, *apiError) {
	switch {
	case ref.StreamName == "" && ref.StreamARN == "":
		return "", invalidArgument("Either StreamName or StreamARN should be provided.")
	case ref.StreamARN == "":
		return ref.StreamName, nil
	}
	_, name, ok := strings.Cut(ref.StreamARN, ":stream/")
	if !ok || s.streamARN(name) != ref.StreamARN {
		return "", resourceNotFound("Stream %s not found.", ref.StreamARN)
	}
	if ref.StreamName != "" && ref.StreamName != name {
		return "", invalidArgument("StreamName %s and StreamARN %s do not name the same stream.", ref.StreamName, ref.StreamARN)
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

// addStream creates a stream that becomes ACTIVE after delay.
func (s *Server) addStream(name string, shards int, mode string, delay time.Duration) *apiError {
	if err := validateStreamName(name); err != nil {
		return err
	}
	if shards < 1 {
		return validationError("1 validation error detected: Value '%d' at 'shardCount' failed to satisfy constraint: Member must have value greater than or equal to 1", shards)
	}
	if shards > maxShardsPerStream {
		return limitExceeded("This request would exceed the shard limit for the account %s. Requested %d shards, limit %d.", s.opts.AccountID, shards, maxShardsPerStream)
	}
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, exists := s.streams[name]; exists {
		return resourceInUse("Stream %s under account %s already exists.", name, s.opts.AccountID)
	}
	s.lastStreamID = max(uint64(now.UnixNano()), s.lastStreamID+1)
	s.streams[name] = newStream(streamConfig{
		name:       name,
		arn:        s.streamARN(name),
		id:         s.lastStreamID,
		mode:       mode,
		shardCount: shards,
		created:    now,
		activeAt:   now.Add(delay),
		discard:    s.opts.Discard,
		rateLimit:  s.opts.ShardRateLimit,
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
