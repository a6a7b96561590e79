/* test_metrics.c: gokpl_producer_metrics from C: the sizing call, the JSON
 * snapshot after records were put, windows, and the argument checks. */
#include <stdint.h>

#include "../../capi/gokpl.h"
#include "check.h"

static const char STREAM[] = "c-stream";

/* metrics returns the snapshot in a malloc'd, NUL-terminated buffer (the
 * library writes none), sizing it with a first call; NULL on failure. */
static char *metrics(gokpl_producer p, int64_t window_ms) {
    size_t need = 0;
    int32_t status = gokpl_producer_metrics(p, window_ms, NULL, 0, &need);
    for (int tries = 0; tries < 10; tries++) {
        if (status != GOKPL_OK && status != GOKPL_ERR_BUFFER_TOO_SMALL) {
            return NULL;
        }
        size_t cap = need + 256; /* the snapshot may grow before the next call */
        char *buf = malloc(cap + 1);
        size_t len = 0;
        status = gokpl_producer_metrics(p, window_ms, buf, cap, &len);
        if (status == GOKPL_OK) {
            buf[len] = '\0';
            return buf;
        }
        free(buf);
        need = len;
    }
    return NULL;
}

int main(void) {
    char cfg[1024], err[512];
    gokpl_producer p = 0;
    config_json(cfg, sizeof cfg, NULL);
    CHECK_STATUS(gokpl_producer_new(cfg, strlen(cfg), &p, err, sizeof err), GOKPL_OK);

    /* Nothing put yet: an empty array. */
    char small[8];
    size_t len = 99;
    CHECK_STATUS(gokpl_producer_metrics(p, 0, small, sizeof small, &len), GOKPL_OK);
    CHECK(len == 2 && memcmp(small, "[]", 2) == 0);

    enum { N = 25 };
    gokpl_outcome outs[N];
    for (int i = 0; i < N; i++) {
        char key[16];
        snprintf(key, sizeof key, "k%d", i);
        CHECK_STATUS(gokpl_producer_put(p, STREAM, strlen(STREAM), key, strlen(key), NULL, 0, (const uint8_t *)"data", 4, NULL, 0, -1, &outs[i], err, sizeof err), GOKPL_OK);
    }
    CHECK_STATUS(gokpl_producer_flush(p, 10000), GOKPL_OK);
    for (int i = 0; i < N; i++) {
        gokpl_outcome_free(outs[i]);
    }

    /* Too small: nothing written, *len says how much is needed. */
    len = 0;
    CHECK_STATUS(gokpl_producer_metrics(p, 0, small, sizeof small, &len), GOKPL_ERR_BUFFER_TOO_SMALL);
    CHECK(len > sizeof small);

    /* Cumulative, and the last minute (which holds them all). */
    int64_t windows[] = {0, 60000};
    for (size_t w = 0; w < sizeof windows / sizeof windows[0]; w++) {
        char *json = metrics(p, windows[w]);
        CHECK(json != NULL);
        if (json == NULL) {
            continue;
        }
        CHECK(json[0] == '[');
        /* The global series of UserRecordsPut, with the count of records put. */
        CHECK(strstr(json, "{\"name\":\"UserRecordsPut\",\"dimensions\":{},\"unit\":\"Count\",\"level\":\"summary\",\"count\":25,\"sum\":25,") != NULL);
        CHECK(strstr(json, "\"StreamName\":\"c-stream\"") != NULL);
        CHECK(strstr(json, "\"ShardId\":\"shardId-") != NULL);
        free(json);
    }

    /* A window under a second is the current second: an array, perhaps empty. */
    char *recent = metrics(p, 1);
    CHECK(recent != NULL && recent[0] == '[');
    free(recent);

    CHECK_STATUS(gokpl_producer_metrics(p, -1, small, sizeof small, &len), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_metrics(p, 60001, small, sizeof small, &len), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_metrics(p, 0, small, sizeof small, NULL), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_metrics(p, 0, NULL, 16, &len), GOKPL_ERR_INVALID_ARGUMENT);
    CHECK_STATUS(gokpl_producer_metrics(0, 0, small, sizeof small, &len), GOKPL_ERR_INVALID_HANDLE);

    CHECK_STATUS(gokpl_producer_close(p, 5000, err, sizeof err), GOKPL_OK);
    CHECK_STATUS(gokpl_producer_metrics(p, 0, small, sizeof small, &len), GOKPL_ERR_INVALID_HANDLE);

    uint64_t producers = 99, outcomes = 99;
    CHECK_STATUS(gokpl_handle_counts(&producers, &outcomes), GOKPL_OK);
    CHECK(producers == 0 && outcomes == 0);
    return summary("test_metrics");
}
