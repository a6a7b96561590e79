package kinesistest

import (
	"encoding/base64"
	"encoding/json"
	"time"
)

// Shard iterators and pagination tokens are opaque to clients; these are
// their decoded forms. They are encoded as base64 JSON and name the stream
// instance by id, so a token outlives neither its stream nor a re-creation
// of a stream with the same name.

// iteratorLifetime and nextTokenLifetime are how long the service honours a
// shard iterator and a ListShards NextToken.
const (
	iteratorLifetime  = 5 * time.Minute
	nextTokenLifetime = 5 * time.Minute
)

// shardIterator is a position in one shard's record log.
type shardIterator struct {
	Stream   string `json:"s"`
	StreamID uint64 `json:"i"`
	Shard    int    `json:"h"`
	Position int    `json:"p"`
	Issued   int64  `json:"t"`
}

// listShardsToken resumes a ListShards listing after shard id After.
type listShardsToken struct {
	Stream   string           `json:"s"`
	StreamID uint64           `json:"i"`
	After    string           `json:"a"`
	Filter   *shardFilterJSON `json:"f,omitempty"`
	Issued   int64            `json:"t"`
}

// listStreamsToken resumes a ListStreams listing after stream name After.
type listStreamsToken struct {
	After string `json:"a"`
}

func encodeToken(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // token types are plain structs
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeToken(s string, v any) bool {
	b, err := base64.RawURLEncoding.DecodeString(s)
	return err == nil && json.Unmarshal(b, v) == nil
}
