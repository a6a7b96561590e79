/* test_completions.c: done-notifications through the completion queue,
 * the stats snapshot, flush and close around them, backpressure, and the
 * NULL and bad-handle cases of these functions. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static const char STREAM[] = "c-stream";

static gokpl_producer new_producer(const char *extra) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    config_json(cfg, sizeof cfg, extra);
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    return p;
}

static gokpl_outcome put(gokpl_producer p, const char *key) {
    char err[512];
    gokpl_outcome o = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), key, strlen(key), NULL, 0,
                                    (const uint8_t *)"data", 4, NULL, 0, -1, &o, err, sizeof err),
                 GOKPL_OK);
    return o;
}

/* Tokens arrive once each, for resolved and cancelled outcomes alike, and
 * keep arriving after close until the queue says it is drained. */
static void test_notify_and_collect(void) {
    gokpl_producer p = new_producer(",\"record_max_buffered_time_ms\":60000");
    enum { N = 10 };
    gokpl_outcome outs[N];
    char key[16];
    for (int i = 0; i < N; i++) {
        snprintf(key, sizeof key, "k%d", i);
        outs[i] = put(p, key);
        int32_t queued = 0;
        CHECK_STATUS(gokpl_outcome_notify(outs[i], 100 + (uint64_t)i, &queued), GOKPL_OK);
        CHECK(queued == 1);
    }
    uint64_t tokens[4];
    size_t n = 99;
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 4, 0, &n), GOKPL_TIMEOUT);
    CHECK(n == 0);

    /* A cancelled outcome completes. */
    int32_t cancelled = 0;
    CHECK_STATUS(gokpl_outcome_cancel(outs[3], &cancelled), GOKPL_OK);
    CHECK(cancelled == 1);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 4, 5000, &n), GOKPL_OK);
    CHECK(n == 1 && tokens[0] == 103);

    /* Flush sends the rest; their tokens come in batches of at most cap. */
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);
    int seen[N] = {0};
    seen[3] = 1;
    int collected = 1;
    while (collected < N) {
        int32_t status = gokpl_producer_next_completions(p, tokens, 4, 5000, &n);
        CHECK_STATUS(status, GOKPL_OK);
        if (status != GOKPL_OK) {
            break;
        }
        CHECK(n >= 1 && n <= 4);
        for (size_t i = 0; i < n; i++) {
            CHECK(tokens[i] >= 100 && tokens[i] < 100 + N);
            seen[tokens[i] - 100]++;
        }
        collected += (int)n;
    }
    for (int i = 0; i < N; i++) {
        CHECK(seen[i] == 1);
    }

    /* Notify on a done outcome queues nothing. */
    int32_t queued = 7;
    CHECK_STATUS(gokpl_outcome_notify(outs[0], 1, &queued), GOKPL_OK);
    CHECK(queued == 0);

    /* An outcome still open at close completes through the queue too. */
    gokpl_outcome late = put(p, "late");
    CHECK_STATUS(gokpl_outcome_notify(late, 999, &queued), GOKPL_OK);
    CHECK(queued == 1);
    char err[512];
    int32_t closed = gokpl_producer_close(p, 0, err, sizeof err);
    CHECK(closed == GOKPL_TIMEOUT || closed == GOKPL_OK); /* OK: the record just made it */
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 4, 5000, &n), GOKPL_OK);
    CHECK(n == 1 && tokens[0] == 999);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 4, 5000, &n), GOKPL_ERR_CLOSED);
    CHECK(n == 0);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 4, 0, &n), GOKPL_ERR_INVALID_HANDLE);

    for (int i = 0; i < N; i++) {
        gokpl_outcome_free(outs[i]);
    }
    gokpl_outcome_free(late);
}

static void test_stats(void) {
    gokpl_producer p = new_producer(NULL);
    gokpl_stats s;
    memset(&s, 0xff, sizeof s);
    CHECK_STATUS(gokpl_producer_stats(p, &s), GOKPL_OK);
    CHECK(s.records_put == 0 && s.requests == 0 && s.outstanding_records == 0);
    gokpl_outcome a = put(p, "a"), b = put(p, "b");
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_stats(p, &s), GOKPL_OK);
    CHECK(s.records_put == 2);
    CHECK(s.records_succeeded == 2);
    CHECK(s.records_failed == 0 && s.records_cancelled == 0);
    CHECK(s.requests >= 1 && s.kinesis_records_sent >= 1);
    CHECK(s.outstanding_records == 0 && s.outstanding_bytes == 0);
    CHECK_STATUS(gokpl_producer_stats(p, NULL), GOKPL_ERR_INVALID_ARGUMENT);
    char err[512];
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_stats(p, &s), GOKPL_ERR_INVALID_HANDLE);
    gokpl_outcome_free(a);
    gokpl_outcome_free(b);
}

static void test_backpressure(void) {
    gokpl_producer p = new_producer(",\"record_max_buffered_time_ms\":60000,\"max_outstanding_records\":2");
    gokpl_outcome a = put(p, "a");
    gokpl_record recs[3] = {
        {"b", 1, NULL, 0, (const uint8_t *)"x", 1},
        {"c", 1, NULL, 0, (const uint8_t *)"x", 1},
        {"d", 1, NULL, 0, (const uint8_t *)"x", 1},
    };
    gokpl_outcome outs[3];
    size_t accepted = 99;
    char err[512];
    /* b fits; c waits 30 ms for room, then the batch stops there. */
    CHECK_STATUS(gokpl_producer_put_batch(p, STREAM, strlen(STREAM), recs, 3, 30, outs, &accepted, err, sizeof err),
                 GOKPL_ERR_BACKPRESSURE);
    CHECK(accepted == 1 && outs[0] != 0 && outs[1] == 0 && outs[2] == 0);
    CHECK(strstr(err, "full") != NULL);
    gokpl_outcome o = 0;
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "e", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_ERR_BACKPRESSURE);
    CHECK(o == 0);
    /* After a flush there is room again. */
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "e", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_OK);
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
    gokpl_outcome_free(a);
    gokpl_outcome_free(outs[0]);
    gokpl_outcome_free(o);
}

static void test_flush_timeout(void) {
    gokpl_producer p = new_producer(NULL);
    /* Nothing put: a flush with no time at all is done. */
    CHECK_STATUS(gokpl_producer_flush(p, 0), GOKPL_OK);
    char err[512];
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_flush(p, 0), GOKPL_ERR_INVALID_HANDLE);
}

static void test_null_and_bad_arguments(void) {
    uint64_t tokens[2];
    size_t n = 0;
    int32_t flag = 0;
    gokpl_stats s;
    CHECK_STATUS(gokpl_producer_next_completions(0, tokens, 2, 0, &n), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_next_completions(42, tokens, 2, 0, &n), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_producer_stats(0, &s), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_notify(0, 1, &flag), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_notify(42, 1, NULL), GOKPL_ERR_INVALID_ARGUMENT);

    gokpl_producer p = new_producer(NULL);
    CHECK_STATUS(gokpl_producer_next_completions(p, NULL, 2, 0, &n), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 0, 0, &n), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 2, 0, NULL), GOKPL_ERR_INVALID_ARGUMENT);
    /* An outcome handle is not a producer handle, and the reverse. */
    gokpl_outcome o = put(p, "k");
    CHECK_STATUS(gokpl_producer_stats(o, &s), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_notify(p, 1, &flag), GOKPL_ERR_INVALID_HANDLE);
    CHECK_STATUS(gokpl_outcome_wait(o, 10000), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_notify(o, 1, &flag), GOKPL_ERR_INVALID_HANDLE);
    /* Free an open producer, twice. */
    CHECK_STATUS(gokpl_producer_free(p), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_free(p), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, 2, 0, &n), GOKPL_ERR_INVALID_HANDLE);
}

int main(void) {
    test_notify_and_collect();
    test_stats();
    test_backpressure();
    test_flush_timeout();
    test_null_and_bad_arguments();
    uint64_t producers = 99, outcomes = 99;
    CHECK_STATUS(gokpl_handle_counts(&producers, &outcomes), GOKPL_OK);
    CHECK(producers == 0);
    CHECK(outcomes == 0);
    return summary("test_completions");
}
