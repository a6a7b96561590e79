/* test_arguments.c: malformed arguments are rejected before anything
 * changes: a NULL pointer with a length, counts and capacities past what
 * memory holds. Nothing is put, no handle is left, no buffer is written past
 * what the message needs. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static const char STREAM[] = "c-stream";

static int64_t outstanding(gokpl_producer p) {
    int64_t n = -1;
    CHECK_STATUS(gokpl_producer_outstanding(p, &n), GOKPL_OK);
    return n;
}

static void test_null_with_a_length(gokpl_producer p) {
    char err[512];
    gokpl_outcome o = 7;
    const uint8_t data[] = "x";
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, NULL, 0, NULL, 1, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(o == 0);
    CHECK(strstr(err, "data is NULL") != NULL);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, NULL, 3, data, 1, NULL, 0, 0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err, "explicit_hash_key is NULL") != NULL);
    gokpl_tag tags[2] = {{"a", 1, "v", 1, 1}, {NULL, 3, NULL, 0, 0}};
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, NULL, 0, data, 1, NULL, 2, 0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err, "tags is NULL") != NULL);
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, NULL, 0, data, 1, tags, 2, 0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err, "tags[1].key is NULL") != NULL);
    tags[1] = (gokpl_tag){"b", 1, "v", 1, 2};
    CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), "k", 1, NULL, 0, data, 1, tags, 2, 0, &o, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(strstr(err, "tags[1].has_value") != NULL);
    CHECK(o == 0);
    CHECK(gokpl_producer_put_quick(p, NULL, 8, "k", 1, data, 1) == -GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(gokpl_producer_put_quick(p, STREAM, strlen(STREAM), NULL, 1, data, 1) == -GOKPL_ERR_INVALID_ARGUMENT);

    gokpl_record records[3] = {
        {"a", 1, NULL, 0, data, 1},
        {"b", 1, NULL, 0, data, 1},
        {"c", 1, NULL, 0, NULL, 1},
    };
    gokpl_outcome outs[3] = {0};
    size_t accepted = 99;
    CHECK_STATUS(gokpl_producer_put_batch(p, STREAM, strlen(STREAM), records, 3, 0, outs, &accepted, err, sizeof err),
                 GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(accepted == 0);
    CHECK(strstr(err, "records[2]") != NULL);
    CHECK(outstanding(p) == 0);
}

static void test_sizes_past_memory(gokpl_producer p) {
    gokpl_outcome handle = 0;
    CHECK_STATUS(gokpl_outcomes_free(&handle, SIZE_MAX), GOKPL_ERR_INVALID_ARGUMENT);
    uint64_t tokens[1];
    size_t n = 99;
    CHECK_STATUS(gokpl_producer_next_completions(p, tokens, SIZE_MAX, 0, &n), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(n == 0);

    /* A message buffer whose capacity overstates it: only the message is written. */
    char err[512];
    memset(err, '#', sizeof err);
    gokpl_outcome o = 0;
    CHECK_STATUS(gokpl_producer_put(42, STREAM, strlen(STREAM), "k", 1, NULL, 0, NULL, 0, NULL, 0, 0, &o, err, SIZE_MAX),
                 GOKPL_ERR_INVALID_HANDLE);
    size_t len = strlen(err);
    CHECK(len > 0 && len + 1 < sizeof err && err[len + 1] == '#');
}

int main(void) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    CHECK_STATUS(gokpl_producer_new(NULL, 10, &p, err, sizeof err), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK(p == 0);
    config_json(cfg, sizeof cfg, NULL);
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);
    test_null_with_a_length(p);
    test_sizes_past_memory(p);
    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
    uint64_t producers = 1, outcomes = 1;
    CHECK_STATUS(gokpl_handle_counts(&producers, &outcomes), GOKPL_OK);
    CHECK(producers == 0 && outcomes == 0);
    return summary("test_arguments");
}
