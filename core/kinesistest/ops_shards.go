package kinesistest

import (
	"net/http"
	"time"
)

// Shard operations: ListShards, SplitShard and MergeShards.

const defaultListShardsLimit = 1000

// Shard filter types of ListShards.
const (
	filterAfterShardID    = "AFTER_SHARD_ID"
	filterAtTrimHorizon   = "AT_TRIM_HORIZON"
	filterFromTrimHorizon = "FROM_TRIM_HORIZON"
	filterAtLatest        = "AT_LATEST"
	filterAtTimestamp     = "AT_TIMESTAMP"
	filterFromTimestamp   = "FROM_TIMESTAMP"
)

// shardFilterJSON is the ShardFilter structure of ListShards. Nothing is
// ever trimmed, so the trim horizon is the stream's creation.
type shardFilterJSON struct {
	Type      string
	ShardId   string     `json:",omitempty"`
	Timestamp *epochTime `json:",omitempty"`
}

func (f *shardFilterJSON) validate() *apiError {
	switch f.Type {
	case filterAfterShardID:
		if f.ShardId == "" {
			return invalidArgument("ShardId is required for the AFTER_SHARD_ID shard filter.")
		}
	case filterAtTimestamp, filterFromTimestamp:
		if f.Timestamp == nil {
			return invalidArgument("Timestamp is required for the %s shard filter.", f.Type)
		}
	case filterAtTrimHorizon, filterFromTrimHorizon, filterAtLatest:
	default:
		return validationError("1 validation error detected: Value '%s' at 'shardFilter.type' failed to satisfy constraint: Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]", f.Type)
	}
	return nil
}

// includes reports whether the filter selects sh; a nil filter selects
// every shard. The stream's mutex must be held.
func (f *shardFilterJSON) includes(st *stream, sh *shard) bool {
	if f == nil {
		return true
	}
	switch f.Type {
	case filterAfterShardID:
		return sh.id > f.ShardId
	case filterAtTrimHorizon:
		return sh.openAt(st.created)
	case filterAtLatest:
		return !sh.closed()
	case filterAtTimestamp:
		return sh.openAt(latest(st.created, time.Time(*f.Timestamp)))
	case filterFromTimestamp:
		return !sh.closed() || sh.closedAt.After(time.Time(*f.Timestamp))
	}
	return true
}

func latest(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// shardListing selects one page of shards.
type shardListing struct {
	after  string // only shards whose id sorts after this
	limit  int
	filter *shardFilterJSON
}

// listShards returns one page of shard descriptions in shard id order and
// whether more shards follow.
func (st *stream) listShards(l shardListing) ([]shardJSON, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	page := []shardJSON{}
	for _, sh := range st.shards {
		if sh.id <= l.after || !l.filter.includes(st, sh) {
			continue
		}
		if len(page) == l.limit {
			return page, true
		}
		page = append(page, sh.describeLocked())
	}
	return page, false
}

type listShardsInput struct {
	streamRef
	NextToken               string
	ExclusiveStartShardId   string
	MaxResults              *int
	ShardFilter             *shardFilterJSON
	StreamCreationTimestamp *epochTime
}

func (in *listShardsInput) describe(s *Server, req *Request) {
	var token listShardsToken
	if in.NextToken != "" && decodeToken(in.NextToken, &token) {
		req.StreamName = token.Stream
		return
	}
	in.streamRef.describe(s, req)
}

type listShardsOutput struct {
	Shards    []shardJSON
	NextToken string `json:",omitempty"`
}

func (in *listShardsInput) apply(s *Server, _ *Fault) (any, *apiError) {
	limit, err := validateLimit("maxResults", in.MaxResults, defaultListShardsLimit, maxListLimit)
	if err != nil {
		return nil, err
	}
	st, listing, err := in.resolve(s)
	if err != nil {
		return nil, err
	}
	listing.limit = limit
	shards, more := st.listShards(listing)
	out := listShardsOutput{Shards: shards}
	if more {
		out.NextToken = encodeToken(listShardsToken{
			Stream:   st.name,
			StreamID: st.id,
			After:    shards[len(shards)-1].ShardId,
			Filter:   listing.filter,
			Issued:   s.now().UnixNano(),
		})
	}
	return out, nil
}

// resolve finds the stream and the listing position, from NextToken or
// from the stream and start parameters, which NextToken excludes.
func (in *listShardsInput) resolve(s *Server) (*stream, shardListing, *apiError) {
	if in.NextToken == "" {
		return in.resolveFirstPage(s)
	}
	switch {
	case in.StreamName != "":
		return nil, shardListing{}, invalidArgument("NextToken and StreamName cannot be provided together.")
	case in.ExclusiveStartShardId != "":
		return nil, shardListing{}, invalidArgument("NextToken and ExclusiveStartShardId cannot be provided together.")
	case in.ShardFilter != nil:
		return nil, shardListing{}, invalidArgument("NextToken and ShardFilter cannot be provided together.")
	}
	var token listShardsToken
	if !decodeToken(in.NextToken, &token) {
		return nil, shardListing{}, invalidArgument("Invalid NextToken.")
	}
	if s.now().Sub(time.Unix(0, token.Issued)) > nextTokenLifetime {
		return nil, shardListing{}, newAPIError(http.StatusBadRequest, ErrorTypeExpiredNextToken, "The NextToken has expired.")
	}
	st, err := s.streamNamed(token.Stream)
	if err != nil {
		return nil, shardListing{}, err
	}
	if st.id != token.StreamID {
		return nil, shardListing{}, s.streamNotFound(token.Stream)
	}
	return st, shardListing{after: token.After, filter: token.Filter}, nil
}

func (in *listShardsInput) resolveFirstPage(s *Server) (*stream, shardListing, *apiError) {
	if in.ShardFilter != nil {
		if err := in.ShardFilter.validate(); err != nil {
			return nil, shardListing{}, err
		}
	}
	st, err := s.lookupActive(in.streamRef)
	if err != nil {
		return nil, shardListing{}, err
	}
	return st, shardListing{after: in.ExclusiveStartShardId, filter: in.ShardFilter}, nil
}

type splitShardInput struct {
	streamRef
	ShardToSplit       string
	NewStartingHashKey string
}

func (in *splitShardInput) apply(s *Server, _ *Fault) (any, *apiError) {
	newStart, ok := parseHashKey(in.NewStartingHashKey)
	if !ok {
		return nil, invalidArgument("NewStartingHashKey %q is not a hash key in [0, 2^128-1].", in.NewStartingHashKey)
	}
	st, err := s.lookupActive(in.streamRef)
	if err != nil {
		return nil, err
	}
	if err := st.splitShard(in.ShardToSplit, &newStart, s.now(), s.opts.AccountID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}

type mergeShardsInput struct {
	streamRef
	ShardToMerge         string
	AdjacentShardToMerge string
}

func (in *mergeShardsInput) apply(s *Server, _ *Fault) (any, *apiError) {
	st, err := s.lookupActive(in.streamRef)
	if err != nil {
		return nil, err
	}
	if err := st.mergeShards(in.ShardToMerge, in.AdjacentShardToMerge, s.now(), s.opts.AccountID); err != nil {
		return nil, err
	}
	return struct{}{}, nil
}
