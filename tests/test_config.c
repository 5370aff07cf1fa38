/** \file test_config.c  Unit tests of the job file parser (config.h):
 *  defaults, every key, every error (code, line and key in the message),
 *  overrides, grid axes, long lines, path resolution, canonical text and
 *  config_read_file. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "riskgrid/config.h"

#define MINIMAL "[data]\npath = d.csv\n"

/* ---- helpers -------------------------------------------------------------- */

static config *parse_ok(const char *path, const char *text, const char *const *ov, int n)
{
    config *c = NULL;
    rg_error err;
    int rc;
    error_clear(&err);
    rc = config_parse(path, text, ov, n, &c, &err);
    if (rc != 0) print_error("unexpected failure: %s\n", err.msg);
    assert_int_equal(rc, 0);
    assert_int_equal(err.code, 0);
    assert_non_null(c);
    return c;
}

static void assert_contains(const char *msg, const char *needle)
{
    if (needle != NULL && strstr(msg, needle) == NULL)
        fail_msg("message \"%s\" does not contain \"%s\"", msg, needle);
}

/* Parse must fail with code; the message must contain every needle. */
static void expect_fail(const char *path, const char *text, const char *const *ov, int n,
                        int code, const char *n1, const char *n2, const char *n3)
{
    config *c = (config *)&c;  /* non-NULL: config_parse must reset it */
    rg_error err;
    int rc;
    error_clear(&err);
    rc = config_parse(path, text, ov, n, &c, &err);
    if (rc != code) print_error("rc %d, message: %s\n", rc, err.msg);
    assert_int_equal(rc, code);
    assert_int_equal(err.code, code);
    assert_null(c);
    assert_true(strchr(err.msg, '\n') == NULL);
    assert_contains(err.msg, n1);
    assert_contains(err.msg, n2);
    assert_contains(err.msg, n3);
}

/* ---- defaults and keys ---------------------------------------------------- */

static void test_defaults(void **state)
{
    config *c = NULL;
    (void)state;
    c = parse_ok("jobs/run.ini", MINIMAL, NULL, 0);
    assert_string_equal(c->job_path, "jobs/run.ini");
    assert_string_equal(c->job_text, MINIMAL);
    assert_string_equal(c->overrides, "");
    assert_string_equal(c->data_path, "jobs/d.csv");
    assert_int_equal(c->data_format, CONFIG_FORMAT_CSV);
    assert_int_equal(c->delimiter, ',');
    assert_string_equal(c->label, "default");
    assert_int_equal(c->n_drop, 0);
    assert_int_equal(c->categorical_mode, CONFIG_CAT_AUTO);
    assert_int_equal(c->n_categorical, 0);
    assert_true(c->test_fraction == 0.2);
    assert_null(c->test_path);
    assert_int_equal(c->standardize, 1);
    assert_string_equal(c->hdf5_features, "features");
    assert_string_equal(c->hdf5_label, "label");
    assert_int_equal(c->hidden, 128);
    assert_int_equal(c->output, CONFIG_OUTPUT_AUTO);
    assert_int_equal(c->epochs, 10);
    assert_int_equal(c->batch_size, 32);
    assert_true(c->learning_rate == 0.001);
    assert_true(c->beta1 == 0.9);
    assert_true(c->beta2 == 0.999);
    assert_true(c->epsilon == 1e-7);
    assert_true(c->seed == 42);
    assert_int_equal(c->virtual_shards, 16);
    for (int a = 0; a < GRID_NAXES; a++) {
        assert_int_equal(c->axis_len[a], 11);
        for (int i = 0; i < 11; i++) assert_true(c->axis[a][i] == i / 10.0);
    }
    assert_true(c->reference[0] == 0.8 && c->reference[1] == 0.2);
    assert_true(c->reference[2] == 0.9 && c->reference[3] == 0.95);
    assert_string_equal(c->out_path, "run.h5");   /* in the cwd, not jobs/ */
    assert_int_equal(c->overwrite, 0);
    config_free(c);
}

static void test_every_key(void **state)
{
    static const char text[] =
        "; a full job file\n"
        "# hash comment\n"
        "[data]\n"
        "path = /abs/train.h5\n"
        "format = csv\n"
        "delimiter = |\n"
        "label = y\n"
        "drop = id , name\n"
        "categorical = sex, region\n"
        "test_fraction = 0.25\n"
        "test_path = test.csv\n"
        "standardize = off\n"
        "hdf5_features = X\n"
        "hdf5_label = Y\n"
        "[model]\n"
        "hidden = 7\n"
        "output = softmax\n"
        "[train]\n"
        "epochs = 3\n"
        "batch_size = 96\n"
        "learning_rate = 2.5e-4\n"
        "beta1 = 0.8\n"
        "beta2 = 0.99\n"
        "epsilon = 1e-8\n"
        "seed = 18446744073709551615\n"
        "virtual_shards = 12\n"
        "[grid]\n"
        "demand = 0.5, 0.7, 0.9\n"
        "competition = 0:1:3\n"
        "service = 1\n"
        "marketing = 0.25:0.75:2\n"
        "reference = 0.1, 0.2, 0.3, 0.4\n"
        "[output]\n"
        "path = out/r.h5\n"
        "overwrite = yes\n";
    config *c = NULL;
    (void)state;
    c = parse_ok("/jobs/full.ini", text, NULL, 0);
    assert_string_equal(c->data_path, "/abs/train.h5");
    assert_int_equal(c->data_format, CONFIG_FORMAT_CSV);  /* explicit beats extension */
    assert_int_equal(c->delimiter, '|');
    assert_string_equal(c->label, "y");
    assert_int_equal(c->n_drop, 2);
    assert_string_equal(c->drop[0], "id");
    assert_string_equal(c->drop[1], "name");
    assert_int_equal(c->categorical_mode, CONFIG_CAT_LIST);
    assert_int_equal(c->n_categorical, 2);
    assert_string_equal(c->categorical[0], "sex");
    assert_string_equal(c->categorical[1], "region");
    assert_true(c->test_fraction == 0.25);
    assert_string_equal(c->test_path, "/jobs/test.csv");
    assert_int_equal(c->standardize, 0);
    assert_string_equal(c->hdf5_features, "X");
    assert_string_equal(c->hdf5_label, "Y");
    assert_int_equal(c->hidden, 7);
    assert_int_equal(c->output, CONFIG_OUTPUT_SOFTMAX);
    assert_int_equal(c->epochs, 3);
    assert_int_equal(c->batch_size, 96);
    assert_true(c->learning_rate == 2.5e-4);
    assert_true(c->beta1 == 0.8);
    assert_true(c->beta2 == 0.99);
    assert_true(c->epsilon == 1e-8);
    assert_true(c->seed == UINT64_MAX);
    assert_int_equal(c->virtual_shards, 12);
    assert_int_equal(c->axis_len[GRID_DEMAND], 3);
    assert_true(c->axis[GRID_DEMAND][0] == 0.5 && c->axis[GRID_DEMAND][1] == 0.7
                && c->axis[GRID_DEMAND][2] == 0.9);
    assert_int_equal(c->axis_len[GRID_COMPETITION], 3);
    assert_true(c->axis[GRID_COMPETITION][1] == 0.5);
    assert_int_equal(c->axis_len[GRID_SERVICE], 1);
    assert_true(c->axis[GRID_SERVICE][0] == 1.0);
    assert_int_equal(c->axis_len[GRID_MARKETING], 2);
    assert_true(c->axis[GRID_MARKETING][0] == 0.25 && c->axis[GRID_MARKETING][1] == 0.75);
    assert_true(c->reference[0] == 0.1 && c->reference[1] == 0.2
                && c->reference[2] == 0.3 && c->reference[3] == 0.4);
    assert_string_equal(c->out_path, "/jobs/out/r.h5");
    assert_int_equal(c->overwrite, 1);
    config_free(c);
}

static void test_value_forms(void **state)
{
    static const struct { const char *text; int standardize; char delim; int fmt; int cat; } cases[] = {
        {MINIMAL "standardize = TRUE\ndelimiter = tab\n", 1, '\t', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
        {MINIMAL "standardize = no\ndelimiter = \\t\ncategorical = none\n", 0, '\t', CONFIG_FORMAT_CSV, CONFIG_CAT_NONE},
        {MINIMAL "standardize = 0\ndelimiter = semicolon\nformat = HDF5\n", 0, ';', CONFIG_FORMAT_HDF5, CONFIG_CAT_AUTO},
        {MINIMAL "standardize = On\ndelimiter =;\ncategorical = auto\n", 1, ';', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
        {MINIMAL "standardize = 1\ndelimiter: |\n", 1, '|', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
        {"[data]\npath = x.hdf5\nstandardize = false\n", 0, ',', CONFIG_FORMAT_HDF5, CONFIG_CAT_AUTO},
        {"[data]\npath = dir.v2/x.H5\n", 1, ',', CONFIG_FORMAT_HDF5, CONFIG_CAT_AUTO},
        {"[data]\npath = x.txt\n", 1, ',', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
        {"[data]\npath = x.h5.csv\n", 1, ',', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
        {"[data]\npath = x.h5\nformat = csv\n", 1, ',', CONFIG_FORMAT_CSV, CONFIG_CAT_AUTO},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        config *c = parse_ok("job.ini", cases[i].text, NULL, 0);
        assert_int_equal(c->standardize, cases[i].standardize);
        assert_int_equal(c->delimiter, cases[i].delim);
        assert_int_equal(c->data_format, cases[i].fmt);
        assert_int_equal(c->categorical_mode, cases[i].cat);
        config_free(c);
    }
}

/* libinih syntax the doc promises: inline "; comment" after whitespace,
 * ';' inside a value kept, '#' inline kept, name: value, CRLF, BOM. */
static void test_ini_syntax(void **state)
{
    static const char text[] =
        "\xEF\xBB\xBF[data]\r\n"
        "path = a#b.csv ; the data\r\n"
        "label = x;y\r\n"
        "\r\n"
        "  ; indented comment\r\n"
        "[train]\r\n"
        "epochs: 5   ; five\r\n";
    config *c = NULL;
    (void)state;
    c = parse_ok("job.ini", text, NULL, 0);
    assert_string_equal(c->data_path, "a#b.csv");
    assert_string_equal(c->label, "x;y");
    assert_int_equal(c->epochs, 5);
    config_free(c);

    /* an indented line at the top / after a section header is not a continuation */
    c = parse_ok("job.ini", "  [data]\n  path = d.csv\n", NULL, 0);
    assert_string_equal(c->data_path, "d.csv");
    config_free(c);
    /* a repeated section is fine as long as keys are not repeated */
    c = parse_ok("job.ini", MINIMAL "[train]\nepochs = 2\n[data]\nlabel = z\n", NULL, 0);
    assert_int_equal(c->epochs, 2);
    assert_string_equal(c->label, "z");
    config_free(c);
}

/* ---- errors: code, line, key ---------------------------------------------- */

static void test_value_errors(void **state)
{
    /* Each text: line 1 [data], line 2 path, line 3 section, line 4 the bad key. */
    static const struct { const char *line3_4; const char *key; const char *extra; } cases[] = {
        {"[train]\nepochs = 12abc\n", "epochs", "expected an integer in [1, 1000000]"},
        {"[train]\nepochs = 99999999999999999999999\n", "epochs", "expected an integer"},
        {"[train]\nepochs = 1000001\n", "epochs", NULL},
        {"[train]\nepochs = 0\n", "epochs", NULL},
        {"[train]\nepochs = -3\n", "epochs", NULL},
        {"[train]\nepochs = 1.5\n", "epochs", NULL},
        {"[train]\nepochs = 1e3\n", "epochs", NULL},
        {"[train]\nbatch_size = 0\n", "batch_size", NULL},
        {"[train]\nbatch_size = 2147483648\n", "batch_size", NULL},
        {"[train]\nlearning_rate = 0\n", "learning_rate", "> 0"},
        {"[train]\nlearning_rate = -1e-3\n", "learning_rate", NULL},
        {"[train]\nlearning_rate = inf\n", "learning_rate", NULL},
        {"[train]\nlearning_rate = nan\n", "learning_rate", NULL},
        {"[train]\nlearning_rate = 1e999\n", "learning_rate", NULL},
        {"[train]\nlearning_rate = 1e-400\n", "learning_rate", NULL},
        {"[train]\nlearning_rate = 0.01x\n", "learning_rate", NULL},
        {"[train]\nbeta1 = 1\n", "beta1", "[0, 1)"},
        {"[train]\nbeta1 = -0.1\n", "beta1", NULL},
        {"[train]\nbeta2 = 1.0\n", "beta2", NULL},
        {"[train]\nepsilon = 0\n", "epsilon", NULL},
        {"[train]\nseed = 18446744073709551616\n", "seed", "unsigned 64-bit"},
        {"[train]\nseed = -1\n", "seed", NULL},
        {"[train]\nseed = 0x10\n", "seed", NULL},
        {"[train]\nvirtual_shards = 0\n", "virtual_shards", NULL},
        {"[train]\nvirtual_shards = 65537\n", "virtual_shards", NULL},
        {"[model]\nhidden = 0\n", "hidden", "[1, 65536]"},
        {"[model]\nhidden = 65537\n", "hidden", NULL},
        {"[model]\noutput = relu\n", "output", "sigmoid"},
        {"[data]\nformat = parquet\n", "format", "hdf5"},
        {"[data]\ndelimiter = ab\n", "delimiter", NULL},
        {"[data]\ndelimiter =\n", "delimiter", NULL},
        {"[data]\ndelimiter = ;\n", "delimiter", NULL},  /* " ;" starts a comment: empty */
        {"[data]\ndelimiter = 7\n", "delimiter", NULL},
        {"[data]\ndelimiter = \"\n", "delimiter", NULL},
        {"[data]\nlabel =\n", "label", "must not be empty"},
        {"[data]\ndrop = a,,b\n", "drop", "item 2 is empty"},
        {"[data]\ndrop = a, b, a\n", "drop", "listed twice"},
        {"[data]\ncategorical =\n", "categorical", NULL},
        {"[data]\ncategorical = a,\n", "categorical", NULL},
        {"[data]\ntest_fraction = 1\n", "test_fraction", "[0, 1)"},
        {"[data]\ntest_fraction = -0.5\n", "test_fraction", NULL},
        {"[data]\nstandardize = maybe\n", "standardize", "true/false"},
        {"[data]\nhdf5_features =\n", "hdf5_features", NULL},
        {"[data]\nhdf5_label =\n", "hdf5_label", NULL},
        {"[output]\npath =\n", "path", NULL},
        {"[output]\noverwrite = 2\n", "overwrite", NULL},
        {"[grid]\ndemand =\n", "demand", "empty"},
        {"[grid]\ndemand = 0:2:3\n", "demand", "stop '2'"},
        {"[grid]\ncompetition = -0.1:1:3\n", "competition", "start"},
        {"[grid]\nservice = 0:1:0\n", "service", "count '0'"},
        {"[grid]\nservice = 0:1:2.5\n", "service", "count"},
        {"[grid]\nservice = 0:1:100001\n", "service", "count"},
        {"[grid]\nmarketing = 0:1\n", "marketing", "two ':'"},
        {"[grid]\nmarketing = 0:1:3:4\n", "marketing", NULL},
        {"[grid]\nmarketing = 0.5:0.5:3\n", "marketing", "repeats"},
        {"[grid]\ndemand = 0.5, 1.5\n", "demand", "'1.5'"},
        {"[grid]\ndemand = 0.5,,0.6\n", "demand", "value 2 is empty"},
        {"[grid]\ndemand = 0.5, 0.5\n", "demand", "listed twice"},
        {"[grid]\ndemand = nan\n", "demand", NULL},
        {"[grid]\nreference = 0.1, 0.2, 0.3\n", "reference", "4 comma-separated"},
        {"[grid]\nreference = 0.1, 0.2, 0.3, 0.4, 0.5\n", "reference", NULL},
        {"[grid]\nreference = 0.1, 0.2, 0.3, 1.4\n", "reference", NULL},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], key[64];
        snprintf(text, sizeof text, "[data]\npath = d.csv\n%s", cases[i].line3_4);
        snprintf(key, sizeof key, "] %s = '", cases[i].key);
        expect_fail("job.ini", text, NULL, 0, ERR_USAGE, "job.ini:4: [", key, cases[i].extra);
    }
}

static void test_structure_errors(void **state)
{
    (void)state;
    /* unknown key with a suggestion */
    expect_fail("job.ini", MINIMAL "[train]\nbatchsize = 64\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [train] batchsize = '64'", "did you mean 'batch_size'?", NULL);
    expect_fail("job.ini", MINIMAL "[train]\nepcohs = 3\n", NULL, 0, ERR_USAGE,
                "job.ini:4:", "epcohs", "did you mean 'epochs'?");
    expect_fail("job.ini", MINIMAL "[train]\nbatch-siz = 64\n", NULL, 0, ERR_USAGE,
                "job.ini:4:", "batch-siz", "did you mean 'batch_size'?");  /* distance 2 */
    expect_fail("job.ini", MINIMAL "[train]\nlearn_rate = 0.1\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [train] learn_rate", "keys of [train]: epochs, batch_size,", NULL);  /* 3: none */
    /* a key of another section */
    expect_fail("job.ini", MINIMAL "[train]\nhidden = 3\n", NULL, 0, ERR_USAGE,
                "job.ini:4:", "hidden", "did you mean [model] hidden?");
    /* no suggestion: the keys are listed */
    expect_fail("job.ini", MINIMAL "[model]\ncolour = red\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [model] colour", "keys of [model]: hidden, output", NULL);
    /* key before any section */
    expect_fail("job.ini", "epochs = 3\n" MINIMAL, NULL, 0, ERR_USAGE,
                "job.ini:1:", "epochs", "outside any [section]; did you mean [train] epochs?");
    /* unknown section, with and without keys, with suggestion */
    expect_fail("job.ini", MINIMAL "[trian]\nepochs = 3\n", NULL, 0, ERR_USAGE,
                "job.ini:3: [trian]", "did you mean [train]?", NULL);
    expect_fail("job.ini", MINIMAL "\n[plots]\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [plots]", "unknown section", NULL);
    /* duplicate key: both lines named */
    expect_fail("job.ini", MINIMAL "[train]\nepochs = 3\nseed = 1\nepochs = 4\n", NULL, 0, ERR_USAGE,
                "job.ini:6: [train] epochs = '4'", "duplicate key", "already set on line 4");
    expect_fail("job.ini", MINIMAL "[train]\nepochs = 3\n[data]\npath = e.csv\n", NULL, 0, ERR_USAGE,
                "job.ini:6: [data] path", "already set on line 2", NULL);
    /* required key: empty and missing */
    expect_fail("job.ini", "[data]\npath =\n", NULL, 0, ERR_USAGE,
                "job.ini:2: [data] path = ''", "required", NULL);
    expect_fail("job.ini", "[train]\nepochs = 3\n", NULL, 0, ERR_USAGE,
                "job.ini", "[data] path", "required");
    expect_fail("job.ini", "", NULL, 0, ERR_USAGE, "[data] path", NULL, NULL);
    /* not INI */
    expect_fail("job.ini", MINIMAL "this is not ini\n", NULL, 0, ERR_USAGE,
                "job.ini:3: 'this is not ini'", "expected '[section]'", NULL);
    expect_fail("job.ini", MINIMAL "[train\n", NULL, 0, ERR_USAGE, "job.ini:3:", NULL, NULL);
    /* the first problem wins, whichever kind it is */
    expect_fail("job.ini", MINIMAL "garbage\n[train]\nepochs = x\n", NULL, 0, ERR_USAGE,
                "job.ini:3: 'garbage'", NULL, NULL);
    expect_fail("job.ini", MINIMAL "[train]\nepochs = x\ngarbage\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [train] epochs = 'x'", NULL, NULL);
    /* indented continuation line */
    expect_fail("job.ini", MINIMAL "[grid]\ndemand = 0.1, 0.2,\n  0.3\n", NULL, 0, ERR_USAGE,
                "job.ini:5:", "indented", "continues");
    expect_fail("job.ini", MINIMAL "[train]\nepochs = 3\n  batch_size = 64\n", NULL, 0, ERR_USAGE,
                "job.ini:5:", "batch_size", NULL);
    /* control characters in a value are escaped in the message */
    {
        config *c = NULL;
        rg_error err;
        error_clear(&err);
        assert_int_equal(config_parse("job.ini", MINIMAL "[train]\nepochs = 1\x1b[2J\n", NULL, 0, &c, &err),
                         ERR_USAGE);
        assert_null(strchr(err.msg, '\x1b'));
        assert_contains(err.msg, "\\x1b");
    }
}

static void test_long_line(void **state)
{
    char text[1024], line[300];
    config *c = NULL;
    size_t n;
    (void)state;
    /* exactly 197 bytes: a valid comment line, also with CRLF */
    memset(line, 'x', sizeof line);
    line[0] = ';';
    line[197] = '\0';
    snprintf(text, sizeof text, MINIMAL "%s\r\n[train]\nepochs = 4\n", line);
    c = parse_ok("job.ini", text, NULL, 0);
    assert_int_equal(c->epochs, 4);
    config_free(c);
    /* a 197-byte value line is read whole */
    n = strlen("label = ");
    memcpy(line, "label = ", n);
    memset(line + n, 'L', 197 - n);
    line[197] = '\0';
    snprintf(text, sizeof text, MINIMAL "%s\n", line);
    c = parse_ok("job.ini", text, NULL, 0);
    assert_int_equal(strlen(c->label), 197 - n);
    config_free(c);
    /* 198 bytes: refused, naming the line and the remedy */
    memset(line, 'x', sizeof line);
    line[0] = ';';
    line[198] = '\0';
    snprintf(text, sizeof text, MINIMAL "[train]\n%s\n", line);
    expect_fail("job.ini", text, NULL, 0, ERR_USAGE, "job.ini:4:", "198 bytes", "start:stop:count");
}

/* ---- overrides ------------------------------------------------------------ */

static void test_overrides(void **state)
{
    const char *ov[] = {"train.epochs=20", " data . path = other/x.h5 ", "output.path=res/o.h5",
                        "grid.demand=0.5:1:2", "train.epochs=21"};
    config *c = NULL;
    (void)state;
    c = parse_ok("jobs/j.ini", MINIMAL "[train]\nepochs = 5\n[output]\npath = o.h5\n", ov, 5);
    assert_int_equal(c->epochs, 21);                 /* later --set wins, no duplicate error */
    assert_string_equal(c->data_path, "other/x.h5"); /* --set paths are not resolved */
    assert_int_equal(c->data_format, CONFIG_FORMAT_HDF5);  /* auto follows the overridden path */
    assert_string_equal(c->out_path, "res/o.h5");
    assert_int_equal(c->axis_len[GRID_DEMAND], 2);
    assert_true(c->axis[GRID_DEMAND][0] == 0.5 && c->axis[GRID_DEMAND][1] == 1.0);
    assert_string_equal(c->overrides,
                        "train.epochs=20\n data . path = other/x.h5 \noutput.path=res/o.h5\n"
                        "grid.demand=0.5:1:2\ntrain.epochs=21\n");
    config_free(c);

    /* --set can supply the required key, and clear test_path */
    {
        const char *ov2[] = {"data.path=d.csv", "data.test_path="};
        c = parse_ok("j.ini", "[data]\ntest_path = t.csv\n", ov2, 2);
        assert_string_equal(c->data_path, "d.csv");
        assert_null(c->test_path);
        config_free(c);
    }
}

static void test_override_errors(void **state)
{
    const char *a[] = {"trainepochs=5"};
    const char *b[] = {"train.epochs"};
    const char *cc[] = {"train.epochs=abc"};
    const char *d[] = {"train.batchsize=64"};
    const char *e[] = {"trian.epochs=3"};
    const char *f[] = {"epochs.x=3"};
    const char *g[] = {"train.epochs=3\nmodel.hidden=2"};
    const char *h[] = {"train.epochs=3", "model.hidden=0"};
    (void)state;
    expect_fail("job.ini", MINIMAL, a, 1, ERR_USAGE, "--set trainepochs=5: expected section.key=value", NULL, NULL);
    expect_fail("job.ini", MINIMAL, b, 1, ERR_USAGE, "--set train.epochs: expected section.key=value", NULL, NULL);
    expect_fail("job.ini", MINIMAL, cc, 1, ERR_USAGE, "--set train.epochs=abc: expected an integer", NULL, NULL);
    expect_fail("job.ini", MINIMAL, d, 1, ERR_USAGE, "--set train.batchsize=64", "did you mean 'batch_size'?", NULL);
    expect_fail("job.ini", MINIMAL, e, 1, ERR_USAGE, "--set trian.epochs=3", "did you mean 'train'?", NULL);
    expect_fail("job.ini", MINIMAL, f, 1, ERR_USAGE, "--set epochs.x=3", "unknown section", NULL);
    expect_fail("job.ini", MINIMAL, g, 1, ERR_USAGE, "--set", "one line", NULL);
    expect_fail("job.ini", MINIMAL, h, 2, ERR_USAGE, "--set model.hidden=0: expected an integer in [1, 65536]", NULL, NULL);
}

/* ---- batch_size % virtual_shards ------------------------------------------ */

static void test_multiple_of(void **state)
{
    config *c = NULL;
    (void)state;
    c = parse_ok("job.ini", MINIMAL "[train]\nbatch_size = 64\nvirtual_shards = 8\n", NULL, 0);
    assert_int_equal(c->batch_size, 64);
    assert_int_equal(c->virtual_shards, 8);
    config_free(c);
    /* the later line is blamed; both values and the file are named */
    expect_fail("job.ini", MINIMAL "[train]\nbatch_size = 30\nvirtual_shards = 16\n", NULL, 0, ERR_USAGE,
                "job.ini:5: [train] virtual_shards = '16'", "divisor of [train] batch_size (30)", NULL);
    expect_fail("job.ini", MINIMAL "[train]\nvirtual_shards = 16\nseed = 1\nbatch_size = 30\n", NULL, 0, ERR_USAGE,
                "job.ini:6: [train] batch_size = '30'", "multiple of [train] virtual_shards (16)", NULL);
    /* only one of them set: that one, against the other's default */
    expect_fail("job.ini", MINIMAL "[train]\nvirtual_shards = 5\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [train] virtual_shards = '5'", "batch_size (32)", NULL);
    expect_fail("job.ini", MINIMAL "[train]\nbatch_size = 40\n", NULL, 0, ERR_USAGE,
                "job.ini:4: [train] batch_size = '40'", "virtual_shards (16)", NULL);
    /* --set is later than the file; among --sets the later one */
    {
        const char *ov[] = {"train.batch_size=30"};
        const char *ov2[] = {"train.virtual_shards=4", "train.batch_size=30"};
        const char *ov3[] = {"train.batch_size=30", "train.virtual_shards=4"};
        expect_fail("job.ini", MINIMAL "[train]\nvirtual_shards = 16\n", ov, 1, ERR_USAGE,
                    "--set train.batch_size=30: expected a multiple of [train] virtual_shards (16)", "job.ini", NULL);
        expect_fail("job.ini", MINIMAL, ov2, 2, ERR_USAGE, "--set train.batch_size=30", "(4)", NULL);
        expect_fail("job.ini", MINIMAL, ov3, 2, ERR_USAGE, "--set train.virtual_shards=4", "(30)", NULL);
    }
}

/* ---- grid axes ----------------------------------------------------------- */

static void test_axis(void **state)
{
    static const double tenths[11] = {0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1};
    double *v = NULL;
    int n = 0;
    rg_error err;
    (void)state;
    error_clear(&err);
    assert_int_equal(config_parse_axis("0:1:11", &v, &n, &err), 0);
    assert_int_equal(n, 11);
    for (int i = 0; i < 11; i++) assert_true(v[i] == tenths[i]);
    free(v);

    /* the formula start + i*(stop-start)/(count-1), last exactly stop */
    assert_int_equal(config_parse_axis(" 0.1 : 0.7 : 7 ", &v, &n, &err), 0);
    assert_int_equal(n, 7);
    for (int i = 0; i < 6; i++) assert_true(v[i] == 0.1 + (double)i * (0.7 - 0.1) / 6.0);
    assert_true(v[6] == 0.7);
    free(v);
    assert_int_equal(config_parse_axis("0.05:0.95:19", &v, &n, &err), 0);
    assert_int_equal(n, 19);
    assert_true(v[0] == 0.05 && v[18] == 0.95);
    for (int i = 1; i < 19; i++) assert_true(v[i] > v[i - 1] && v[i] <= 0.95);
    free(v);

    assert_int_equal(config_parse_axis("0.3:0.9:1", &v, &n, &err), 0);   /* count 1: start */
    assert_int_equal(n, 1);
    assert_true(v[0] == 0.3);
    free(v);
    assert_int_equal(config_parse_axis("1:0:3", &v, &n, &err), 0);       /* descending kept */
    assert_int_equal(n, 3);
    assert_true(v[0] == 1.0 && v[1] == 0.5 && v[2] == 0.0);
    free(v);
    assert_int_equal(config_parse_axis("0.9, 0.5,0.7", &v, &n, &err), 0); /* order as given */
    assert_int_equal(n, 3);
    assert_true(v[0] == 0.9 && v[1] == 0.5 && v[2] == 0.7);
    free(v);
    assert_int_equal(config_parse_axis("-0", &v, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_true(v[0] == 0.0 && !signbit(v[0]));
    free(v);
    assert_int_equal(err.code, 0);

    v = (double *)&n;
    assert_int_equal(config_parse_axis("", &v, &n, &err), ERR_USAGE);
    assert_null(v);
    assert_int_equal(n, 0);
    assert_contains(err.msg, "grid axis '': expected");
    error_clear(&err);
    assert_int_equal(config_parse_axis("0:1:x", &v, &n, &err), ERR_USAGE);
    assert_contains(err.msg, "count 'x'");
    error_clear(&err);
    assert_int_equal(config_parse_axis("0.2, 1.01", &v, &n, &err), ERR_USAGE);
    assert_contains(err.msg, "'1.01'");
    assert_null(v);
}

/* ---- paths --------------------------------------------------------------- */

static void test_paths(void **state)
{
    static const char text[] = "[data]\npath = d.csv\ntest_path = sub/t.csv\n[output]\npath = ../o.h5\n";
    config *c = NULL;
    (void)state;
    c = parse_ok("a/b/job.ini", text, NULL, 0);
    assert_string_equal(c->data_path, "a/b/d.csv");
    assert_string_equal(c->test_path, "a/b/sub/t.csv");
    assert_string_equal(c->out_path, "a/b/../o.h5");
    config_free(c);
    c = parse_ok("job.ini", text, NULL, 0);              /* no '/': as given */
    assert_string_equal(c->data_path, "d.csv");
    assert_string_equal(c->test_path, "sub/t.csv");
    assert_string_equal(c->out_path, "../o.h5");
    config_free(c);
    c = parse_ok("/job.ini", text, NULL, 0);
    assert_string_equal(c->data_path, "/d.csv");
    config_free(c);
    c = parse_ok("a/job.ini", "[data]\npath = /abs/d.csv\n", NULL, 0);   /* absolute unchanged */
    assert_string_equal(c->data_path, "/abs/d.csv");
    config_free(c);
    /* default output: "<stem>.h5" in the working directory */
    c = parse_ok("a/b/run7.INI", MINIMAL, NULL, 0);
    assert_string_equal(c->out_path, "run7.h5");
    config_free(c);
    c = parse_ok("a/b/job.cfg", MINIMAL, NULL, 0);
    assert_string_equal(c->out_path, "job.cfg.h5");
    config_free(c);
}

/* ---- canonical ------------------------------------------------------------ */

static void test_canonical(void **state)
{
    static const char *const changes[] = {
        "data.path=e.csv", "data.format=hdf5", "data.delimiter=tab", "data.label=y",
        "data.drop=id", "data.categorical=none", "data.categorical=a,b", "data.test_fraction=0.3",
        "data.test_path=t.csv", "data.standardize=false", "data.hdf5_features=F",
        "data.hdf5_label=L", "model.hidden=64", "model.output=sigmoid", "train.epochs=11",
        "train.batch_size=64", "train.learning_rate=0.0010000000000000002", "train.beta1=0.91",
        "train.beta2=0.9991", "train.epsilon=1e-8", "train.seed=43", "train.virtual_shards=8",
        "grid.demand=0:1:12", "grid.competition=0, 0.5", "grid.service=0:1:1",
        "grid.marketing=0.1:1:11", "grid.reference=0.8, 0.2, 0.9, 0.96",
    };
    static const char *const same[] = {"output.path=elsewhere.h5", "output.overwrite=true",
                                        "train.epochs=10", "grid.demand=0:1:11", "data.format=csv"};
    config *c = NULL;
    char *base = NULL, *other = NULL;
    (void)state;
    c = parse_ok("job.ini", MINIMAL, NULL, 0);
    base = config_canonical(c);
    assert_non_null(base);
    config_free(c);
    assert_contains(base, "data.path=d.csv\n");
    assert_contains(base, "data.format=csv\n");
    assert_contains(base, "train.learning_rate=0.001\n");
    assert_contains(base, "train.seed=42\n");
    assert_contains(base, "grid.demand=0,0.10000000000000001,0.20000000000000001,");
    assert_contains(base, "grid.reference=0.80000000000000004,0.20000000000000001,0.90000000000000002,0.94999999999999996\n");
    assert_null(strstr(base, "output."));
    for (size_t i = 0; i < sizeof changes / sizeof changes[0]; i++) {
        c = parse_ok("job.ini", MINIMAL, &changes[i], 1);
        other = config_canonical(c);
        assert_non_null(other);
        if (strcmp(base, other) == 0) fail_msg("canonical text unchanged by --set %s", changes[i]);
        free(other);
        config_free(c);
    }
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
        c = parse_ok("job.ini", MINIMAL, &same[i], 1);
        other = config_canonical(c);
        assert_non_null(other);
        assert_string_equal(base, other);
        free(other);
        config_free(c);
    }
    /* the same settings written differently give the same text */
    c = parse_ok("job.ini", MINIMAL "[train]\nlearning_rate = 1e-3\nseed = 0042\n[grid]\n"
                 "demand = 0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1\n", NULL, 0);
    other = config_canonical(c);
    assert_non_null(other);
    assert_string_equal(base, other);
    free(other);
    config_free(c);
    free(base);
    assert_null(config_canonical(NULL));
}

/* ---- reading files -------------------------------------------------------- */

static void write_file(const char *path, const char *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

static void test_read_file(void **state)
{
    char dir[] = "/tmp/test_config_XXXXXX";
    char path[128];
    char *text = NULL, *big = NULL;
    size_t len = 0;
    rg_error err;
    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/job.ini", dir);

    write_file(path, MINIMAL, strlen(MINIMAL));
    error_clear(&err);
    assert_int_equal(config_read_file(path, &text, &len, &err), 0);
    assert_int_equal(len, strlen(MINIMAL));
    assert_string_equal(text, MINIMAL);
    free(text);
    text = NULL;

    write_file(path, "[data]\npath = a\0b\n", 18);
    assert_int_equal(config_read_file(path, &text, &len, &err), ERR_USAGE);
    assert_null(text);
    assert_contains(err.msg, "job.ini:2:");
    assert_contains(err.msg, "NUL");

    big = malloc(1024 * 1024 + 1);
    assert_non_null(big);
    memset(big, ';', 1024 * 1024 + 1);
    write_file(path, big, 1024 * 1024);          /* exactly 1 MiB: accepted */
    error_clear(&err);
    assert_int_equal(config_read_file(path, &text, NULL, &err), 0);
    free(text);
    text = NULL;
    write_file(path, big, 1024 * 1024 + 1);      /* one byte more: refused */
    assert_int_equal(config_read_file(path, &text, &len, &err), ERR_USAGE);
    assert_contains(err.msg, "1 MiB");
    assert_null(text);
    free(big);
    assert_int_equal(unlink(path), 0);

    error_clear(&err);
    assert_int_equal(config_read_file(path, &text, &len, &err), ERR_IO);
    assert_contains(err.msg, path);
    assert_contains(err.msg, "No such file or directory");
    assert_null(text);
    error_clear(&err);
    assert_int_equal(config_read_file(dir, &text, &len, &err), ERR_IO);   /* a directory */
    assert_contains(err.msg, "Is a directory");
    assert_int_equal(rmdir(dir), 0);
}

static void test_misc(void **state)
{
    config *c = (config *)&c;
    rg_error err;
    (void)state;
    config_free(NULL);
    assert_string_equal(config_axis_names[GRID_DEMAND], "demand");
    assert_string_equal(config_axis_names[GRID_COMPETITION], "competition");
    assert_string_equal(config_axis_names[GRID_SERVICE], "service");
    assert_string_equal(config_axis_names[GRID_MARKETING], "marketing");
    error_clear(&err);
    assert_int_equal(config_parse(NULL, MINIMAL, NULL, 0, &c, &err), ERR_INTERNAL);
    assert_null(c);
    /* first error wins: a caller's earlier error is kept */
    error_clear(&err);
    error_set(&err, ERR_IO, "earlier");
    assert_int_equal(config_parse("job.ini", "", NULL, 0, &c, &err), ERR_USAGE);
    assert_string_equal(err.msg, "earlier");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_ini_syntax),
        cmocka_unit_test(test_value_errors),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_overrides),
        cmocka_unit_test(test_override_errors),
        cmocka_unit_test(test_multiple_of),
        cmocka_unit_test(test_axis),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_canonical),
        cmocka_unit_test(test_read_file),
        cmocka_unit_test(test_misc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
