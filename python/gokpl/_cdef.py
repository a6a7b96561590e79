"""The C declarations of libgokpl, as in the CDEF block of capi/gokpl.h.

A test checks that this text and the header's block agree.
"""

CDEF = """
#define GOKPL_ABI_VERSION 2

typedef enum gokpl_status {
    GOKPL_OK = 0,
    GOKPL_TIMEOUT = 1,
    GOKPL_ERR_INVALID_HANDLE = 2,
    GOKPL_ERR_INVALID_ARGUMENT = 3,
    GOKPL_ERR_CONFIG = 4,
    GOKPL_ERR_INVALID_RECORD = 5,
    GOKPL_ERR_CLOSED = 6,
    GOKPL_ERR_BACKPRESSURE = 7,
    GOKPL_ERR_PENDING = 8,
    GOKPL_ERR_CANCELLED = 9,
    GOKPL_ERR_BUFFER_TOO_SMALL = 10,
    GOKPL_ERR_AWS = 11,
    GOKPL_ERR_INTERNAL = 12
} gokpl_status;

typedef uint64_t gokpl_producer;
typedef uint64_t gokpl_outcome;

typedef struct gokpl_record {
    const char *partition_key;
    size_t partition_key_len;
    const char *explicit_hash_key;
    size_t explicit_hash_key_len;
    const uint8_t *data;
    size_t data_len;
} gokpl_record;

typedef struct gokpl_result {
    int32_t success;
    uint32_t attempt_count;
    size_t shard_id_len;
    size_t sequence_number_len;
    size_t error_code_len;
    size_t error_message_len;
} gokpl_result;

typedef struct gokpl_attempt {
    int64_t started_at_ns;
    int64_t ended_at_ns;
    int32_t success;
    size_t shard_id_len;
    size_t sequence_number_len;
    size_t error_code_len;
    size_t error_message_len;
} gokpl_attempt;

typedef struct gokpl_stats {
    int64_t records_put;
    int64_t records_succeeded;
    int64_t records_failed;
    int64_t records_cancelled;
    int64_t records_retried;
    int64_t kinesis_records_sent;
    int64_t requests;
    int64_t request_errors;
    int64_t outstanding_records;
    int64_t outstanding_bytes;
    int64_t requests_throttled;
} gokpl_stats;

int32_t gokpl_abi_version(void);

int32_t gokpl_version(char *buf, size_t cap);

int32_t gokpl_producer_new(const char *config_json, size_t config_len,
                           gokpl_producer *out, char *err, size_t err_cap);

int32_t gokpl_producer_put(gokpl_producer producer,
                           const char *stream, size_t stream_len,
                           const char *partition_key, size_t partition_key_len,
                           const char *explicit_hash_key, size_t explicit_hash_key_len,
                           const uint8_t *data, size_t data_len,
                           int64_t timeout_ms, gokpl_outcome *out,
                           char *err, size_t err_cap);

int64_t gokpl_producer_put_quick(gokpl_producer producer,
                                 const char *stream, size_t stream_len,
                                 const char *partition_key, size_t partition_key_len,
                                 const uint8_t *data, size_t data_len);

int32_t gokpl_producer_put_batch(gokpl_producer producer,
                                 const char *stream, size_t stream_len,
                                 const gokpl_record *records, size_t count,
                                 int64_t timeout_ms, gokpl_outcome *outs,
                                 size_t *accepted, char *err, size_t err_cap);

int32_t gokpl_producer_put_packed(gokpl_producer producer,
                                  const char *stream, size_t stream_len,
                                  const char *keys, const uint32_t *key_lens,
                                  const uint8_t *data, const uint32_t *data_lens,
                                  size_t count, int64_t timeout_ms, gokpl_outcome *outs,
                                  size_t *accepted, char *err, size_t err_cap);

int32_t gokpl_producer_flush(gokpl_producer producer, int64_t timeout_ms);

int32_t gokpl_producer_flush_begin(gokpl_producer producer, uint64_t *flush);

int32_t gokpl_producer_flush_wait(gokpl_producer producer, uint64_t flush, int64_t timeout_ms);

int32_t gokpl_producer_outstanding(gokpl_producer producer, int64_t *out);

int32_t gokpl_producer_stats(gokpl_producer producer, gokpl_stats *out);

int32_t gokpl_producer_metrics(gokpl_producer producer, int64_t window_ms,
                               char *buf, size_t cap, size_t *len);

int32_t gokpl_producer_next_completions(gokpl_producer producer, uint64_t *tokens,
                                        size_t cap, int64_t timeout_ms, size_t *n);

int32_t gokpl_producer_close(gokpl_producer producer, int64_t timeout_ms,
                             char *err, size_t err_cap);

int32_t gokpl_producer_free(gokpl_producer producer);

int32_t gokpl_outcome_wait(gokpl_outcome outcome, int64_t timeout_ms);

int32_t gokpl_outcome_done(gokpl_outcome outcome, int32_t *done);

int32_t gokpl_outcome_cancel(gokpl_outcome outcome, int32_t *cancelled);

int32_t gokpl_outcome_notify(gokpl_outcome outcome, uint64_t token, int32_t *queued);

int64_t gokpl_outcome_state(gokpl_outcome outcome);

int32_t gokpl_outcome_result(gokpl_outcome outcome, gokpl_result *out,
                             char *strings, size_t strings_cap);

int32_t gokpl_outcome_attempt(gokpl_outcome outcome, uint32_t index,
                              gokpl_attempt *out, char *strings, size_t strings_cap);

int32_t gokpl_outcome_free(gokpl_outcome outcome);

int32_t gokpl_outcomes_free(const gokpl_outcome *outcomes, size_t count);

int32_t gokpl_handle_counts(uint64_t *producers, uint64_t *outcomes);

typedef struct gokpl_log_record {
    int64_t time_ns;
    int32_t level;
    size_t message_len;
    uint64_t dropped;
} gokpl_log_record;

int32_t gokpl_log_set_level(int32_t level);

int32_t gokpl_log_next(int64_t timeout_ms, gokpl_log_record *out, char *buf, size_t cap);

int32_t gokpl_check(const char *config_json, size_t config_len,
                    const char *stream, size_t stream_len, int64_t timeout_ms,
                    char *buf, size_t cap, size_t *len, char *err, size_t err_cap);
"""
