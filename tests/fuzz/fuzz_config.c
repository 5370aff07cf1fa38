/** \file fuzz_config.c  libFuzzer target for the job-file parser
 *  (src/config.c with Debian's libinih): config_parse on arbitrary text
 *  with a fixed job path, plus up to three --set overrides, and
 *  config_read_file on the same bytes written to a temporary file.
 *
 *  Input layout: the bytes up to the first NUL are the job text; each
 *  following NUL-separated piece (at most 3) is one --set argument.
 *
 *  Checks, besides the sanitizers (aborts on violation):
 *   - the result is 0 or ERR_USAGE (never ERR_INTERNAL or another code;
 *     ERR_NOMEM only if malloc failed), with a one-line message without
 *     control bytes, and *out set exactly on success;
 *   - a parsed config satisfies every documented range (docs/jobfile.md):
 *     hidden, epochs, batch_size % virtual_shards, Adam constants, grid
 *     axes non-empty, finite and in [0, 1], reference in [0, 1], ...;
 *   - config_canonical succeeds, and parsing is deterministic (a second
 *     parse of the same input gives the same canonical text);
 *   - config_read_file gives back the bytes (or ERR_USAGE for a NUL byte
 *     or more than 1 MiB).
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "riskgrid/config.h"
#include "riskgrid/error.h"

#define CHECK(c)                                                                        \
    do {                                                                                \
        if (!(c)) {                                                                     \
            fprintf(stderr, "fuzz_config: contract broken: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                    \
        }                                                                               \
    } while (0)

#define JOB_PATH "/fuzz/jobs/job.ini"

static void check_message(const rg_error *err)
{
    CHECK(err->msg[0] != '\0');
    for (const char *p = err->msg; *p; p++) CHECK((unsigned char)*p >= 0x20 && *p != 0x7f);
}

static void check_config(const config *c)
{
    CHECK(c->data_path != NULL && c->data_path[0] != '\0');
    CHECK(c->data_format == CONFIG_FORMAT_CSV || c->data_format == CONFIG_FORMAT_HDF5);
    CHECK(c->delimiter != '\0' && c->delimiter != '"' && c->delimiter != '.' && c->delimiter != '\n');
    CHECK(c->label != NULL && c->label[0] != '\0');
    CHECK(c->n_drop >= 0 && (c->n_drop == 0 || c->drop != NULL));
    for (int i = 0; i < c->n_drop; i++) CHECK(c->drop[i] != NULL && c->drop[i][0] != '\0');
    CHECK(c->categorical_mode >= CONFIG_CAT_AUTO && c->categorical_mode <= CONFIG_CAT_LIST);
    if (c->categorical_mode == CONFIG_CAT_LIST) CHECK(c->n_categorical > 0 && c->categorical != NULL);
    CHECK(c->test_fraction >= 0.0 && c->test_fraction < 1.0);
    CHECK(c->test_path == NULL || c->test_path[0] != '\0');
    CHECK(c->standardize == 0 || c->standardize == 1);
    CHECK(c->hdf5_features != NULL && c->hdf5_features[0] != '\0');
    CHECK(c->hdf5_label != NULL && c->hdf5_label[0] != '\0');
    CHECK(c->hidden >= 1 && c->hidden <= 65536);
    CHECK(c->output >= CONFIG_OUTPUT_AUTO && c->output <= CONFIG_OUTPUT_SOFTMAX);
    CHECK(c->epochs >= 1 && c->epochs <= 1000000);
    CHECK(c->virtual_shards >= 1 && c->virtual_shards <= 65536);
    CHECK(c->batch_size >= 1 && c->batch_size % c->virtual_shards == 0);
    CHECK(isfinite(c->learning_rate) && c->learning_rate > 0);
    CHECK(c->beta1 >= 0 && c->beta1 < 1 && c->beta2 >= 0 && c->beta2 < 1);
    CHECK(isfinite(c->epsilon) && c->epsilon > 0);
    CHECK(c->stall_timeout >= 0 && c->stall_timeout <= 1e7);
    for (int a = 0; a < GRID_NAXES; a++) {
        CHECK(c->axis_len[a] >= 1 && c->axis_len[a] <= 100000 && c->axis[a] != NULL);
        for (int i = 0; i < c->axis_len[a]; i++) CHECK(c->axis[a][i] >= 0.0 && c->axis[a][i] <= 1.0);
        CHECK(c->reference[a] >= 0.0 && c->reference[a] <= 1.0);
    }
    CHECK(c->out_path != NULL && c->out_path[0] != '\0');
    CHECK(c->checkpoint_path == NULL || c->checkpoint_path[0] != '\0');
    CHECK(c->checkpoint_every >= 0 && c->checkpoint_every <= 1000000);
    CHECK(c->overwrite == 0 || c->overwrite == 1);
}

/* Parse once; returns the canonical text (malloc'd) or NULL on a refusal. */
static char *parse_once(const char *text, const char *const *sets, int n_sets)
{
    config *c = (config *)(uintptr_t)1;
    rg_error err;
    char *canon = NULL;
    int rc;
    error_clear(&err);
    rc = config_parse(JOB_PATH, text, sets, n_sets, &c, &err);
    CHECK(rc == 0 || rc == ERR_USAGE || rc == ERR_NOMEM);
    CHECK(rc == err.code);
    if (rc != 0) {
        CHECK(c == NULL);
        check_message(&err);
        return NULL;
    }
    CHECK(c != NULL);
    check_config(c);
    canon = config_canonical(c);
    CHECK(canon != NULL);
    config_free(c);
    return canon;
}

static void check_read_file(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/fuzz_config.XXXXXX";
    int fd = mkstemp(path);
    char *text = NULL;
    size_t len = 0;
    rg_error err;
    int rc;
    if (fd < 0) return;
    if (size > 0 && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return;
    }
    close(fd);
    error_clear(&err);
    rc = config_read_file(path, &text, &len, &err);
    unlink(path);
    if (memchr(data, '\0', size) != NULL) {
        CHECK(rc == ERR_USAGE && text == NULL);
        check_message(&err);
    } else {
        CHECK(rc == 0 && text != NULL && len == size && memcmp(text, data, size) == 0 && text[len] == '\0');
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf, *text;
    const char *sets[3];
    int n_sets = 0;
    size_t i;
    char *c1, *c2;

    if (size > 64 * 1024) return 0;  /* the line-length limit makes bigger inputs uninteresting */
    buf = malloc(size + 1);
    if (buf == NULL) return 0;
    memcpy(buf, data, size);
    buf[size] = '\0';
    text = buf;
    for (i = strlen(buf); i < size && n_sets < 3; i += strlen(buf + i)) {
        i++; /* past the NUL */
        if (i > size) break;
        sets[n_sets++] = buf + i;
    }
    c1 = parse_once(text, sets, n_sets);
    c2 = parse_once(text, sets, n_sets);
    CHECK((c1 == NULL) == (c2 == NULL));
    if (c1 != NULL) CHECK(strcmp(c1, c2) == 0);
    free(c1);
    free(c2);
    check_read_file(data, size);
    free(buf);
    return 0;
}
