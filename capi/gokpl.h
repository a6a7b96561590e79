/*
 * gokpl.h: the C ABI of gokpl, a Kinesis producer with a Go engine.
 *
 * This header is written by hand and is the contract of libgokpl.so. It is
 * the authoritative description of every function: what it does, who owns
 * each pointer, whether it blocks, and what it returns.
 *
 * General rules
 * -------------
 * - Objects are opaque 64-bit handles. 0 is never a valid handle. A handle
 *   that is unknown, stale or already freed makes a call return
 *   GOKPL_ERR_INVALID_HANDLE; it never crashes the process.
 * - Every function returns a gokpl_status. Where a function takes an error
 *   buffer (err, err_cap), a failing call writes a NUL-terminated message
 *   into it, truncated to err_cap bytes; err may be NULL when err_cap is 0.
 * - The library never keeps a pointer to caller memory after a call returns:
 *   strings and data are copied. The caller never frees memory the library
 *   allocated: results are copied into caller buffers.
 * - Strings are passed as (pointer, length) in UTF-8 and need no NUL.
 * - Arguments are checked before anything changes: a NULL pointer with a
 *   length other than 0 (a string, data, a buffer), or a count or capacity
 *   larger than memory can hold, is GOKPL_ERR_INVALID_ARGUMENT, and such a
 *   call has put nothing, made no handle and kept nothing (out-parameters
 *   are set to 0 where the function says so). NULL with length 0 is an empty
 *   string or empty data.
 * - The library writes into a caller's buffer only the bytes it needs,
 *   whatever capacity the caller gives.
 * - Timeouts are in milliseconds: a negative timeout waits without limit,
 *   0 does not wait at all.
 * - All functions are safe to call from any thread, concurrently, unless a
 *   function says otherwise.
 * - A Go panic inside any function is recovered and returned as
 *   GOKPL_ERR_INTERNAL with its message.
 * - The Go runtime does not survive fork(): a child process must not call
 *   into a library that its parent had already loaded.
 * - The library never calls back into the caller. To learn when outcomes
 *   complete without a thread blocked on each, register a token per outcome
 *   with gokpl_outcome_notify and collect tokens from one thread of the
 *   caller's with gokpl_producer_next_completions (a completion queue per
 *   producer); that thread runs the caller's callbacks.
 *
 * The Python binding derives its cffi declarations from this file when it
 * is built (python/gokpl/_cdef.py): comments, the include guard, system
 * #include lines and the C++ linkage block are dropped and integer #defines
 * kept; any other preprocessor line fails that build. Everything else here
 * is plain C declarations.
 */
#ifndef GOKPL_H
#define GOKPL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this ABI; gokpl_abi_version returns it. */
#define GOKPL_ABI_VERSION 3

/* Status codes returned by every function. */
typedef enum gokpl_status {
    GOKPL_OK = 0,                    /* success */
    GOKPL_TIMEOUT = 1,               /* the wait ended before what it waited for */
    GOKPL_ERR_INVALID_HANDLE = 2,    /* unknown, stale or freed handle */
    GOKPL_ERR_INVALID_ARGUMENT = 3,  /* a NULL pointer or an index out of range */
    GOKPL_ERR_CONFIG = 4,            /* bad configuration JSON or option value */
    GOKPL_ERR_INVALID_RECORD = 5,    /* the record can never be sent */
    GOKPL_ERR_CLOSED = 6,            /* the producer is closed or closing */
    GOKPL_ERR_BACKPRESSURE = 7,      /* the producer stayed full until the put's timeout */
    GOKPL_ERR_PENDING = 8,           /* the outcome is not resolved yet */
    GOKPL_ERR_CANCELLED = 9,         /* the outcome was cancelled */
    GOKPL_ERR_BUFFER_TOO_SMALL = 10, /* a string buffer was too small; lengths tell the size */
    GOKPL_ERR_AWS = 11,              /* the AWS setup could not be loaded (a profile, the region's endpoint); no region is GOKPL_ERR_CONFIG */
    GOKPL_ERR_INTERNAL = 12          /* a bug in gokpl; the message says where */
} gokpl_status;

typedef uint64_t gokpl_producer; /* a producer handle */
typedef uint64_t gokpl_outcome;  /* the handle of one record's outcome */

/* One record of a batch put. Pointers are borrowed for the call only. */
typedef struct gokpl_record {
    const char *partition_key;     /* UTF-8, 1 to 256 characters */
    size_t partition_key_len;
    const char *explicit_hash_key; /* decimal in [0, 2^128-1], or NULL */
    size_t explicit_hash_key_len;
    const uint8_t *data;           /* may be NULL when data_len is 0 */
    size_t data_len;
} gokpl_record;

/* A tag of a record: a key and an optional value, UTF-8. Pointers are
 * borrowed for the call only. Tags are written only into aggregated Kinesis
 * records (the Tag entries of the KPL format); a record sent alone, raw,
 * goes without them. */
typedef struct gokpl_tag {
    const char *key;     /* may be NULL when key_len is 0 */
    size_t key_len;
    const char *value;   /* read only when has_value is 1; may be NULL when value_len is 0 */
    size_t value_len;
    int32_t has_value;   /* 1: the tag has a value (an empty one too), 0: none */
} gokpl_tag;

/* A resolved outcome. The strings follow each other, unterminated, in the
 * caller's buffer in this order: shard id, sequence number, error code,
 * error message (the last two are those of the last attempt). */
typedef struct gokpl_result {
    int32_t success;            /* 1 on success, 0 on failure */
    uint32_t attempt_count;
    size_t shard_id_len;
    size_t sequence_number_len;
    size_t error_code_len;
    size_t error_message_len;
} gokpl_result;

/* One attempt of an outcome. Times are Unix epoch nanoseconds. The strings
 * follow each other, unterminated, in the caller's buffer: shard id,
 * sequence number, error code, error message. */
typedef struct gokpl_attempt {
    int64_t started_at_ns;
    int64_t ended_at_ns;
    int32_t success;
    size_t shard_id_len;
    size_t sequence_number_len;
    size_t error_code_len;
    size_t error_message_len;
} gokpl_attempt;

/* A snapshot of a producer's counters since it was created
 * (gokpl_producer_stats). Counts are of user records unless they say
 * otherwise. */
typedef struct gokpl_stats {
    int64_t records_put;          /* accepted by a put */
    int64_t records_succeeded;    /* resolved with success */
    int64_t records_failed;       /* resolved with failure (expired and closed included) */
    int64_t records_cancelled;    /* withdrawn or resolved locally by gokpl_outcome_cancel */
    int64_t records_retried;      /* attempts that sent a record back into the pipeline */
    int64_t kinesis_records_sent; /* PutRecords entries sent, aggregated or not */
    int64_t requests;             /* PutRecords requests completed */
    int64_t request_errors;       /* PutRecords requests that failed as a whole */
    int64_t outstanding_records;  /* put and not yet resolved, now */
    int64_t outstanding_bytes;    /* bytes counted against max_outstanding_bytes, now: the records'
                                     data, keys and bookkeeping, and the request bodies in flight */
    int64_t requests_throttled;   /* PutRecords requests throttled as a whole or in an entry */
} gokpl_stats;

/* gokpl_abi_version returns GOKPL_ABI_VERSION as compiled into the library.
 * Never blocks. */
int32_t gokpl_abi_version(void);

/* gokpl_version writes the library's version (e.g. "0.1.0") into buf,
 * NUL-terminated. Returns GOKPL_OK, or GOKPL_ERR_BUFFER_TOO_SMALL when cap
 * is less than the length plus one. Never blocks. */
int32_t gokpl_version(char *buf, size_t cap);

/* gokpl_producer_new creates a producer from a JSON object of options (see
 * options.json; unknown names are rejected) and stores its handle in *out.
 * config_json is borrowed for the call. Starts the producer's goroutines and
 * builds its AWS client but makes no network call.
 * Returns GOKPL_OK, GOKPL_ERR_CONFIG (the message names the field and its
 * allowed range), GOKPL_ERR_AWS, GOKPL_ERR_INVALID_ARGUMENT (out is NULL, or
 * config_json is NULL with config_len > 0). */
int32_t gokpl_producer_new(const char *config_json, size_t config_len,
                           gokpl_producer *out, char *err, size_t err_cap);

/* gokpl_producer_put validates one record, copies it, hands it to the
 * producer and stores the handle of its outcome in *out. The caller owns the
 * outcome handle and frees it with gokpl_outcome_free.
 * Blocks only while the producer is full (max_outstanding_records or
 * max_outstanding_bytes), up to timeout_ms.
 * explicit_hash_key may be NULL (the hash is then MD5 of the partition key).
 * tags[0..tag_count) are the record's tags (see gokpl_tag); tags may be NULL
 * when tag_count is 0. Keys and values must be valid UTF-8, and the tags
 * together at most 1 MiB encoded.
 * Returns GOKPL_OK, GOKPL_ERR_INVALID_RECORD (the message names the field,
 * e.g. "tags[1].key"), GOKPL_ERR_BACKPRESSURE (still full at the timeout),
 * GOKPL_ERR_CLOSED, GOKPL_ERR_INVALID_HANDLE, GOKPL_ERR_INVALID_ARGUMENT
 * (out is NULL; one of stream, partition_key, explicit_hash_key and data is
 * NULL with a length other than 0; tags is NULL with a tag_count other than
 * 0, or tag_count is larger than memory can hold; a tag's key or value is
 * NULL with a length other than 0, or its has_value neither 0 nor 1; *out
 * is then 0). */
int32_t gokpl_producer_put(gokpl_producer producer,
                           const char *stream, size_t stream_len,
                           const char *partition_key, size_t partition_key_len,
                           const char *explicit_hash_key, size_t explicit_hash_key_len,
                           const uint8_t *data, size_t data_len,
                           const gokpl_tag *tags, size_t tag_count,
                           int64_t timeout_ms, gokpl_outcome *out,
                           char *err, size_t err_cap);

/* gokpl_producer_put_quick is gokpl_producer_put for the common case, in
 * fewer arguments: no explicit hash key, no tags, no waiting for room, no
 * message.
 * Returns the new outcome's handle (above 0, owned by the caller as with
 * gokpl_producer_put), or a status code negated: -GOKPL_ERR_BACKPRESSURE
 * (the producer is full), -GOKPL_ERR_INVALID_RECORD, -GOKPL_ERR_CLOSED,
 * -GOKPL_ERR_INVALID_HANDLE, -GOKPL_ERR_INVALID_ARGUMENT (a NULL pointer with
 * a length other than 0), -GOKPL_ERR_INTERNAL. On any of them, call
 * gokpl_producer_put with the same record for the message, or to wait for
 * room. Never blocks. */
int64_t gokpl_producer_put_quick(gokpl_producer producer,
                                 const char *stream, size_t stream_len,
                                 const char *partition_key, size_t partition_key_len,
                                 const uint8_t *data, size_t data_len);

/* gokpl_producer_put_batch puts count records to one stream in one call, in
 * order, writing outcome handles to outs[0..count). It stops at the first
 * record that fails and stores how many were put in *accepted; outs beyond
 * that are 0. The timeout bounds the whole call. Status codes as for
 * gokpl_producer_put, describing the record at index *accepted; but every
 * record's pointers are checked before any record is put, so
 * GOKPL_ERR_INVALID_ARGUMENT (records, outs or accepted NULL, a record's
 * pointer NULL with a length, count past what memory holds) comes with
 * *accepted 0 and nothing put; the message names the record. Records of a
 * batch have no tags: put a tagged record with gokpl_producer_put. */
int32_t gokpl_producer_put_batch(gokpl_producer producer,
                                 const char *stream, size_t stream_len,
                                 const gokpl_record *records, size_t count,
                                 int64_t timeout_ms, gokpl_outcome *outs,
                                 size_t *accepted, char *err, size_t err_cap);

/* gokpl_producer_put_packed is gokpl_producer_put_batch for records without
 * an explicit hash key, given as two packed buffers instead of an array of
 * structs: record i's partition key is the next key_lens[i] bytes of keys,
 * its data the next data_lens[i] bytes of data (keys and data are read from
 * their start, record after record). All are borrowed for the call. Writes
 * outcome handles, *accepted and status codes as gokpl_producer_put_batch
 * does. */
int32_t gokpl_producer_put_packed(gokpl_producer producer,
                                  const char *stream, size_t stream_len,
                                  const char *keys, const uint32_t *key_lens,
                                  const uint8_t *data, const uint32_t *data_lens,
                                  size_t count, int64_t timeout_ms, gokpl_outcome *outs,
                                  size_t *accepted, char *err, size_t err_cap);

/* gokpl_producer_flush sends everything buffered now and waits up to
 * timeout_ms until every record put before the call is resolved.
 * Returns GOKPL_OK when they are, GOKPL_TIMEOUT otherwise (the flush goes on
 * in the background). Calling it again starts a new flush that also covers
 * records put meanwhile; to wait in slices for one flush while other threads
 * keep putting, use gokpl_producer_flush_begin and gokpl_producer_flush_wait.
 * Returns GOKPL_ERR_INVALID_HANDLE for an unknown producer. */
int32_t gokpl_producer_flush(gokpl_producer producer, int64_t timeout_ms);

/* gokpl_producer_flush_begin sends everything buffered now and stores in
 * *ticket the ticket of a flush covering exactly the records put before the
 * call. Never blocks. The ticket is valid for gokpl_producer_flush_wait on the
 * same producer until that returns GOKPL_OK; a flush nobody waits for is
 * forgotten once done. Returns GOKPL_OK, GOKPL_ERR_INVALID_HANDLE,
 * GOKPL_ERR_INVALID_ARGUMENT (ticket is NULL). */
int32_t gokpl_producer_flush_begin(gokpl_producer producer, uint64_t *ticket);

/* gokpl_producer_flush_wait waits up to timeout_ms for the flush whose ticket
 * is ticket. Returns GOKPL_OK once its records are all resolved (or the flush
 * is already done and forgotten), GOKPL_TIMEOUT, GOKPL_ERR_INVALID_HANDLE,
 * GOKPL_ERR_INVALID_ARGUMENT (a ticket this producer never gave). */
int32_t gokpl_producer_flush_wait(gokpl_producer producer, uint64_t ticket, int64_t timeout_ms);

/* gokpl_producer_outstanding stores the number of records put and not yet
 * resolved in *out. Never blocks. */
int32_t gokpl_producer_outstanding(gokpl_producer producer, int64_t *out);

/* gokpl_producer_stats fills *out with a snapshot of the producer's
 * counters. *out is the caller's. Never blocks.
 * Returns GOKPL_OK, GOKPL_ERR_INVALID_HANDLE (unknown or closed),
 * GOKPL_ERR_INVALID_ARGUMENT (out is NULL). */
int32_t gokpl_producer_stats(gokpl_producer producer, gokpl_stats *out);

/* gokpl_producer_metrics writes a snapshot of the producer's metrics (the
 * Amazon KPL's names, units and levels, kept whatever metrics_level is) into
 * buf[0..cap) as a JSON array, unterminated, and stores its length in *len.
 * Each element is an object
 *   {"name": "UserRecordsPut", "dimensions": {"StreamName": "s", "ShardId": "shardId-000000000001"},
 *    "unit": "Count", "level": "summary", "count": 10, "sum": 10, "min": 1, "max": 1, "mean": 1}
 * with dimensions among ErrorCode, StreamName and ShardId ({} for the global
 * series; each value is also counted in every series of fewer dimensions, as
 * in the KPL), unit Count, Bytes or Milliseconds, and level summary or
 * detailed. Only series with samples in the window are listed, sorted by
 * name and dimensions; "[]" when there are none.
 * window_ms 0 is everything since the producer was created; 1 to 60000 the
 * last window_ms, rounded up to whole seconds (the engine keeps one bucket
 * per second: a window of n seconds is the current second and the n-1
 * before it).
 * buf and *len are the caller's; the library keeps neither. Never blocks
 * (it takes the series' locks briefly).
 * Returns GOKPL_OK, GOKPL_ERR_BUFFER_TOO_SMALL (*len is the size needed and
 * nothing was written; the snapshot may grow before the next call, so leave
 * some room), GOKPL_ERR_INVALID_HANDLE (unknown or closed),
 * GOKPL_ERR_INVALID_ARGUMENT (len NULL, buf NULL with cap > 0, or window_ms
 * outside 0..60000). */
int32_t gokpl_producer_metrics(gokpl_producer producer, int64_t window_ms,
                               char *buf, size_t cap, size_t *len);

/* gokpl_producer_next_completions collects done-notifications registered
 * with gokpl_outcome_notify on this producer's outcomes: it waits up to
 * timeout_ms for at least one, then moves up to cap tokens, in the order the
 * outcomes completed, into tokens[0..cap) and stores their number in *n.
 * tokens and n are the caller's. It keeps working after the producer is
 * closed, until every registered token has been collected.
 * Meant for one collecting thread per producer; concurrent callers are safe
 * but share the tokens between them.
 * Returns GOKPL_OK (*n >= 1), GOKPL_TIMEOUT (*n == 0), GOKPL_ERR_CLOSED (the
 * producer is closed and every registered token was collected; the handle is
 * then unknown to this function), GOKPL_ERR_INVALID_HANDLE (unknown, freed,
 * after GOKPL_ERR_CLOSED, or closed when no token was ever registered on
 * it: such a producer's queue goes at close),
 * GOKPL_ERR_INVALID_ARGUMENT (tokens or n NULL, cap 0, or cap past what
 * memory holds; no token is taken). */
int32_t gokpl_producer_next_completions(gokpl_producer producer, uint64_t *tokens,
                                        size_t cap, int64_t timeout_ms, size_t *n);

/* gokpl_producer_close removes the handle, then flushes for up to timeout_ms,
 * then fails every record still open with error code "ProducerClosed" and
 * stops the producer's goroutines. Outcome handles stay valid. Blocks up to
 * timeout_ms plus the time in-flight requests take to abort.
 * Returns GOKPL_OK, GOKPL_TIMEOUT (records were failed as closed; the
 * message says how), GOKPL_ERR_INVALID_HANDLE (already closed or unknown). */
int32_t gokpl_producer_close(gokpl_producer producer, int64_t timeout_ms,
                             char *err, size_t err_cap);

/* gokpl_producer_free closes the producer without waiting (as close with a
 * zero timeout) if it is still open, and drops completion tokens nobody
 * collected. Freeing 0 or a freed handle is a harmless no-op that returns
 * GOKPL_OK. Call it after close only to drop uncollected completions, or a
 * queue that no gokpl_producer_next_completions call will drain. */
int32_t gokpl_producer_free(gokpl_producer producer);

/* gokpl_outcome_wait waits up to timeout_ms for the outcome to resolve or be
 * cancelled. Returns GOKPL_OK once it is done, GOKPL_TIMEOUT,
 * GOKPL_ERR_INVALID_HANDLE. */
int32_t gokpl_outcome_wait(gokpl_outcome outcome, int64_t timeout_ms);

/* gokpl_outcome_done stores 1 in *done if the outcome is resolved or
 * cancelled, else 0. Never blocks. */
int32_t gokpl_outcome_done(gokpl_outcome outcome, int32_t *done);

/* gokpl_outcome_cancel resolves the outcome locally as cancelled and stores
 * 1 in *cancelled, or 0 when it was already resolved or cancelled. A record
 * not yet sent is withdrawn and never sent; one already in a request may
 * still be written to the stream. Never blocks. */
int32_t gokpl_outcome_cancel(gokpl_outcome outcome, int32_t *cancelled);

/* gokpl_outcome_notify asks for token to be delivered, once, through
 * gokpl_producer_next_completions of the producer that made the outcome,
 * when the outcome resolves or is cancelled. It stores 1 in *queued when the
 * token will be delivered, or 0 when the outcome is already done (nothing
 * will be delivered: the caller acts at once). The token is the caller's
 * own value; registering twice delivers twice; freeing the outcome handle
 * does not stop the delivery. No Go thread ever calls into the caller: the
 * caller's collecting thread runs whatever the token stands for. A
 * registration costs a few dozen bytes until its outcome completes.
 * Never blocks. Returns GOKPL_OK, GOKPL_ERR_INVALID_HANDLE,
 * GOKPL_ERR_INVALID_ARGUMENT (queued is NULL). */
int32_t gokpl_outcome_notify(gokpl_outcome outcome, uint64_t token, int32_t *queued);

/* gokpl_outcome_state reports a resolved outcome in one integer, for
 * callers that need only whether it succeeded: bit 0 is 1 on success, the
 * bits above it hold the attempt count. Returns that value (0 or more), or a
 * status code negated: -GOKPL_ERR_PENDING (not resolved yet),
 * -GOKPL_ERR_CANCELLED, -GOKPL_ERR_INVALID_HANDLE. gokpl_outcome_result
 * gives the rest. Never blocks. */
int64_t gokpl_outcome_state(gokpl_outcome outcome);

/* gokpl_outcome_result fills *out and copies the result's strings into
 * strings[0..strings_cap). Never blocks.
 * Returns GOKPL_OK, GOKPL_ERR_PENDING (not resolved yet), GOKPL_ERR_CANCELLED,
 * GOKPL_ERR_BUFFER_TOO_SMALL (*out holds the lengths; call again with at
 * least their sum; strings may be NULL with strings_cap 0 to ask for them),
 * GOKPL_ERR_INVALID_HANDLE, GOKPL_ERR_INVALID_ARGUMENT (out is NULL, or
 * strings is NULL with strings_cap > 0). */
int32_t gokpl_outcome_result(gokpl_outcome outcome, gokpl_result *out,
                             char *strings, size_t strings_cap);

/* gokpl_outcome_attempt fills *out with attempt number index (0-based, below
 * attempt_count) of a resolved outcome and copies its strings as
 * gokpl_outcome_result does. Status codes as for gokpl_outcome_result, and
 * GOKPL_ERR_INVALID_ARGUMENT for an index out of range. */
int32_t gokpl_outcome_attempt(gokpl_outcome outcome, uint32_t index,
                              gokpl_attempt *out, char *strings, size_t strings_cap);

/* gokpl_outcome_free releases an outcome handle. The record itself is not
 * affected. Freeing 0 or a freed handle is a harmless no-op returning
 * GOKPL_OK. */
int32_t gokpl_outcome_free(gokpl_outcome outcome);

/* gokpl_outcomes_free releases count outcome handles at once, as
 * gokpl_outcome_free does each (0 and freed handles are skipped). outcomes is
 * borrowed for the call and may be NULL when count is 0. Returns GOKPL_OK,
 * GOKPL_ERR_INVALID_ARGUMENT (outcomes is NULL, or count is past what
 * memory holds; nothing is freed). */
int32_t gokpl_outcomes_free(const gokpl_outcome *outcomes, size_t count);

/* gokpl_handle_counts stores how many producer and outcome handles are live,
 * for leak checks. A producer counts from gokpl_producer_new until it is
 * freed or, once closed, until gokpl_producer_next_completions has returned
 * GOKPL_ERR_CLOSED for it (at close itself if no token was ever registered
 * on it with gokpl_outcome_notify). Never blocks. */
int32_t gokpl_handle_counts(uint64_t *producers, uint64_t *outcomes);

/* One engine log record (gokpl_log_next). The message, with its attributes
 * as key=value pairs, is copied unterminated into the caller's buffer. */
typedef struct gokpl_log_record {
    int64_t time_ns;    /* when it was logged, Unix epoch nanoseconds */
    int32_t level;      /* log/slog's level: -4 debug, 0 info, 4 warn, 8 error */
    size_t message_len; /* bytes copied into the buffer (truncated to its size) */
    uint64_t dropped;   /* records dropped just before this one (the queue was full) */
} gokpl_log_record;

/* gokpl_log_set_level sets the lowest level of engine records kept for
 * gokpl_log_next (log/slog's numbering; the default is 0, info). Records
 * below it cost nothing. Process-wide. Never blocks. Returns GOKPL_OK. */
int32_t gokpl_log_set_level(int32_t level);

/* gokpl_log_next takes the oldest engine log record, waiting up to
 * timeout_ms for one. The library never calls into the caller to log:
 * every producer's records go into one process-wide queue of 1024 records
 * (the oldest is dropped when it is full, and counted in the next record's
 * dropped), and a thread of the caller's collects them with this function.
 * The message is copied into buf[0..cap) and truncated to cap bytes; no NUL
 * is written. Attributes whose key names a secret (key, token, password,
 * credential, session, signature) are written as [redacted].
 * Returns GOKPL_OK (*out filled), GOKPL_TIMEOUT (no record in time),
 * GOKPL_ERR_INVALID_ARGUMENT (out is NULL, or buf NULL with cap > 0). */
int32_t gokpl_log_next(int64_t timeout_ms, gokpl_log_record *out, char *buf, size_t cap);

/* gokpl_check resolves what a producer made from config_json (as
 * gokpl_producer_new takes it), now, would use, through the same AWS SDK
 * calls the engine makes, with the environment as it is at the call: the
 * region, the Kinesis endpoint and the credentials (retrieved from the same
 * provider chain, never read out: only their source and the access key id
 * masked to its first and last 4 characters). With stream_len > 0 it also
 * lists the stream's open shards as the engine does (ListShards, AT_LATEST,
 * every page; a stream given by ARN is named by StreamARN). It writes into
 * buf[0..cap), unterminated, a JSON object, and stores its length in *len:
 *   {"region": "us-east-1", "region_source": "environment AWS_REGION",
 *    "endpoint_url": "https://kinesis.us-east-1.amazonaws.com",
 *    "endpoint_source": "the service's default for the region",
 *    "credentials": {"source": "EnvConfigCredentials", "access_key_id": "AKIA…MPLE",
 *                    "expires": "2030-01-01T00:00:00Z", "error": "..."},
 *    "stream": {"name": "s", "shards": [{"shard_id": "shardId-000000000000",
 *               "starting_hash_key": "0", "ending_hash_key": "340282366920938463463374607431768211455"}],
 *               "error": "..."}}
 * credentials has either source and access_key_id (expires only for
 * credentials that expire) or error; stream is absent without a stream, and
 * has error (with the shards listed before it) when a listing failed. With
 * no region anywhere, region is "", region_source "not set", and nothing
 * else is resolved.
 * Blocks up to timeout_ms (the shared config files, the credential
 * providers, ListShards). buf, *len and err are the caller's.
 * Returns GOKPL_OK (also when the credentials or the listing failed: the
 * object says how), GOKPL_ERR_CONFIG (an invalid configuration; the
 * message names the field), GOKPL_ERR_AWS (the AWS configuration
 * could not be loaded), GOKPL_TIMEOUT (timeout_ms passed while loading it),
 * GOKPL_ERR_BUFFER_TOO_SMALL (*len is the size needed; nothing was
 * written, and calling again checks again), GOKPL_ERR_INVALID_ARGUMENT
 * (len NULL, buf NULL with cap > 0, a NULL string with a length, or a
 * negative timeout_ms). */
int32_t gokpl_check(const char *config_json, size_t config_len,
                    const char *stream, size_t stream_len, int64_t timeout_ms,
                    char *buf, size_t cap, size_t *len, char *err, size_t err_cap);

#ifdef __cplusplus
}
#endif

#endif /* GOKPL_H */
