/* test_put.c: put, wait, read the result and its attempts, batch put, flush,
 * close, and the handle tables empty at the end. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static const char STREAM[] = "c-stream";

static gokpl_producer new_producer(const char *extra) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    config_json(cfg, sizeof cfg, extra);
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    CHECK(p != 0);
    return p;
}

static void test_put_wait_result(void) {
    gokpl_producer p = new_producer(NULL);
    char err[512];
    gokpl_outcome o = 0;
    const uint8_t data[] = "hello";
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "key-1", 5, NULL, 0, data, 5, NULL, 0, -1, &o, err, sizeof err), GOKPL_OK);
    CHECK(o != 0);
    CHECK_STATUS(gokpl_outcome_wait(o, 10000), GOKPL_OK);

    int32_t done = 0;
    CHECK_STATUS(gokpl_outcome_done(o, &done), GOKPL_OK);
    CHECK(done == 1);

    gokpl_result r;
    char strings[256];
    CHECK_STATUS(gokpl_outcome_result(o, &r, strings, sizeof strings), GOKPL_OK);
    CHECK(r.success == 1);
    CHECK(r.attempt_count == 1);
    CHECK(r.shard_id_len > 0 && strncmp(strings, "shardId-", 8) == 0);
    CHECK(r.sequence_number_len > 0);
    CHECK(r.error_code_len == 0);

    /* A buffer that is too small reports the lengths needed. */
    gokpl_result small;
    CHECK_STATUS(gokpl_outcome_result(o, &small, strings, 3), GOKPL_ERR_BUFFER_TOO_SMALL);
    CHECK(small.shard_id_len == r.shard_id_len);

    gokpl_attempt a;
    CHECK_STATUS(gokpl_outcome_attempt(o, 0, &a, strings, sizeof strings), GOKPL_OK);
    CHECK(a.success == 1);
    CHECK(a.ended_at_ns >= a.started_at_ns && a.started_at_ns > 0);
    CHECK_STATUS(gokpl_outcome_attempt(o, 1, &a, strings, sizeof strings), GOKPL_ERR_INVALID_ARGUMENT);

    /* Cancelling a resolved outcome does nothing. */
    int32_t cancelled = 7;
    CHECK_STATUS(gokpl_outcome_cancel(o, &cancelled), GOKPL_OK);
    CHECK(cancelled == 0);

    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
}

static void test_batch_and_flush(void) {
    gokpl_producer p = new_producer(NULL);
    enum { N = 300 };
    gokpl_record records[N];
    gokpl_outcome outs[N];
    char keys[N][16];
    uint8_t payload[200];
    memset(payload, 'x', sizeof payload);
    for (int i = 0; i < N; i++) {
        snprintf(keys[i], sizeof keys[i], "k%d", i);
        records[i] = (gokpl_record){keys[i], strlen(keys[i]), NULL, 0, payload, sizeof payload};
    }
    size_t accepted = 0;
    char err[512];
    CHECK_STATUS(gokpl_producer_put_batch(p, STREAM, strlen(STREAM), records, N, -1, outs, &accepted, err, sizeof err), GOKPL_OK);
    CHECK(accepted == N);
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);

    int64_t outstanding = -1;
    CHECK_STATUS(gokpl_producer_outstanding(p, &outstanding), GOKPL_OK);
    CHECK(outstanding == 0);

    int ok = 0;
    for (int i = 0; i < N; i++) {
        gokpl_result r;
        char strings[256];
        if (gokpl_outcome_result(outs[i], &r, strings, sizeof strings) == GOKPL_OK && r.success) {
            ok++;
        }
        gokpl_outcome_free(outs[i]);
    }
    CHECK(ok == N);

    /* A batch stops at the first invalid record and says how many went in. */
    records[5].partition_key_len = 0;
    CHECK_STATUS(gokpl_producer_put_batch(p, STREAM, strlen(STREAM), records, 10, -1, outs, &accepted, err, sizeof err), GOKPL_ERR_INVALID_RECORD);
    CHECK(accepted == 5);
    CHECK(strstr(err, "partition_key") != NULL);
    CHECK(outs[5] == 0);
    for (size_t i = 0; i < accepted; i++) {
        gokpl_outcome_free(outs[i]);
    }
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
}

static void test_explicit_hash_key(void) {
    gokpl_producer p = new_producer(NULL);
    char err[512];
    gokpl_outcome o = 0;
    const char *max_key = "340282366920938463463374607431768211455"; /* 2^128-1: the last shard */
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, max_key, strlen(max_key), (const uint8_t *)"x", 1, NULL, 0, -1, &o, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_wait(o, 10000), GOKPL_OK);
    gokpl_result r;
    char strings[256];
    CHECK_STATUS(gokpl_outcome_result(o, &r, strings, sizeof strings), GOKPL_OK);
    CHECK(r.success == 1 && strncmp(strings, "shardId-000000000001", r.shard_id_len) == 0);
    gokpl_outcome_free(o);
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
}

/* Tags: a key with a value, a key alone, an empty value; a value that is not
 * UTF-8 is an invalid record. */
static void test_tags(void) {
    gokpl_producer p = new_producer(NULL);
    char err[512];
    gokpl_outcome o = 0;
    const gokpl_tag tags[3] = {{"source", 6, "c", 1, 1}, {"flag", 4, NULL, 0, 0}, {"empty", 5, NULL, 0, 1}};
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "tagged", 6, NULL, 0, (const uint8_t *)"t", 1, tags, 3,
                                    -1, &o, err, sizeof err),
                 GOKPL_OK);
    CHECK_STATUS(gokpl_outcome_wait(o, 10000), GOKPL_OK);
    gokpl_result r;
    char strings[256];
    CHECK_STATUS(gokpl_outcome_result(o, &r, strings, sizeof strings), GOKPL_OK);
    CHECK(r.success == 1);
    CHECK_STATUS(gokpl_outcome_free(o), GOKPL_OK);

    const gokpl_tag bad[1] = {{"k", 1, "\xff", 1, 1}};
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "tagged", 6, NULL, 0, (const uint8_t *)"t", 1, bad, 1,
                                    0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_RECORD);
    CHECK(strstr(err, "tags[0].value") != NULL);
    CHECK(o == 0);
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
}

int main(void) {
    test_put_wait_result();
    test_tags();
    test_batch_and_flush();
    test_explicit_hash_key();
    uint64_t producers = 99, outcomes = 99;
    CHECK_STATUS(gokpl_handle_counts(&producers, &outcomes), GOKPL_OK);
    CHECK(producers == 0);
    CHECK(outcomes == 0);
    return summary("test_put");
}
