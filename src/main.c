/** \file main.c
 *  The `riskgrid` command: `run` (the MPI batch job), `gen` (synthetic
 *  data).  Exit codes: 0 success, 1 failure, 2 usage or job-file error,
 *  75 preempted (checkpointed; resume).
 */
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "riskgrid/blas.h"
#include "riskgrid/config.h"
#include "riskgrid/dataset.h"
#include "riskgrid/error.h"
#include "riskgrid/gen.h"
#include "riskgrid/grid.h"
#include "riskgrid/h5io.h"
#include "riskgrid/log.h"
#include "riskgrid/report.h"
#include "riskgrid/train.h"

static const char *const USAGE_MAIN =
    "usage: riskgrid <command> [options]\n"
    "\n"
    "Train a credit-risk MLP with data-parallel MPI, score it (ROC AUC with a\n"
    "DeLong 95% interval) and sweep the market demand index\n"
    "  D = AUC x demand x (1 - competition) x service x marketing\n"
    "over a grid, writing everything to one HDF5 file.\n"
    "\n"
    "commands:\n"
    "  run JOB.ini [options]   the batch job (under mpirun/srun, or alone)\n"
    "  gen --rows N [options]  write a synthetic credit-like data set\n"
    "  report OUT.h5 [options] summary of a result file (text, json, markdown; --png DIR)\n"
    "  compare A.h5 B.h5       settings that differ, AUCs, paired DeLong test, bitwise check\n"
    "\n"
    "  riskgrid run --help, riskgrid gen --help   options of a command\n"
    "  riskgrid --version\n"
    "\n"
    "exit codes: 0 success, 1 failure, 2 usage or job-file error,\n"
    "            75 preempted after a checkpoint (run again to resume)\n";

static const char *const USAGE_RUN =
    "usage: riskgrid run JOB.ini [--set section.key=value]... [--out PATH] [--force] [--quiet] [--resume [CKPT]]\n"
    "\n"
    "  JOB.ini                 job file (docs/jobfile.md); relative paths in it are\n"
    "                          resolved against its directory\n"
    "  --set section.key=value override one job-file setting (repeatable)\n"
    "  --out PATH              output HDF5 file (overrides [output] path)\n"
    "  --force                 replace an existing output file\n"
    "  --quiet                 no progress lines (errors still go to stderr)\n"
    "  --resume [CKPT]         continue from checkpoint CKPT, by default the job's own\n"
    "                          ([output] checkpoint_path, default OUTPUT.ckpt) if it\n"
    "                          exists, else start from the beginning; any number of\n"
    "                          ranks; the result has the same bits as an uninterrupted run\n"
    "  --help                  this text\n"
    "\n"
    "Launch: mpirun -np N riskgrid run JOB.ini   (N <= [train] virtual_shards)\n"
    "Results are bitwise identical for any N.\n"
    "SIGTERM, SIGUSR1 or SIGINT: every rank stops at the same step, a checkpoint is\n"
    "written and riskgrid exits with code 75; run again with --resume to continue.\n";

static const char *const USAGE_GEN =
    "usage: riskgrid gen --rows N [--seed S] [--positive-rate R] [--out PATH]\n"
    "\n"
    "  --rows N             number of rows (required)\n"
    "  --seed S             random seed (default 1); the same seed gives the same bytes\n"
    "  --positive-rate R    share of rows with default = 1 (default 0.2)\n"
    "  --out PATH           output file (default credit.csv); .h5 writes HDF5\n";

static void iso_now(char *b, size_t n)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(b, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int parse_i64(const char *s, long long lo, long long hi, long long *v)
{
    char *end = NULL;
    long long x = strtoll(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || x < lo || x > hi) return -1;
    *v = x;
    return 0;
}

static int cmd_gen(int argc, char **argv)
{
    gen_options opt = {0, 1, 0.2};
    const char *out = "credit.csv";
    rg_error err;
    error_clear(&err);
    for (int i = 2; i < argc; i += 2) {  /* options come as "--name value" pairs */
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long long x;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) { fputs(USAGE_GEN, stdout); return EXIT_OK; }
        if (v == NULL) { fprintf(stderr, "riskgrid gen: %s needs a value\n%s", a, USAGE_GEN); return EXIT_USAGE; }
        if (strcmp(a, "--rows") == 0) {
            if (parse_i64(v, 1, (long long)1e12, &x) != 0) { fprintf(stderr, "riskgrid gen: --rows '%s': expected an integer >= 1\n", v); return EXIT_USAGE; }
            opt.rows = x;
        } else if (strcmp(a, "--seed") == 0) {
            char *end = NULL;
            unsigned long long s = strtoull(v, &end, 10);
            if (v[0] == '\0' || v[0] == '-' || *end != '\0') { fprintf(stderr, "riskgrid gen: --seed '%s': expected a non-negative integer\n", v); return EXIT_USAGE; }
            opt.seed = s;
        } else if (strcmp(a, "--positive-rate") == 0) {
            char *end = NULL;
            double r = strtod(v, &end);
            if (v[0] == '\0' || *end != '\0' || !(r > 0 && r < 1)) { fprintf(stderr, "riskgrid gen: --positive-rate '%s': expected a number in (0, 1)\n", v); return EXIT_USAGE; }
            opt.positive_rate = r;
        } else if (strcmp(a, "--out") == 0) {
            out = v;
        } else {
            fprintf(stderr, "riskgrid gen: unknown option '%s'\n%s", a, USAGE_GEN);
            return EXIT_USAGE;
        }
    }
    if (opt.rows == 0) { fprintf(stderr, "riskgrid gen: --rows is required\n%s", USAGE_GEN); return EXIT_USAGE; }
    if (gen_write(out, &opt, &err) != 0) {
        fprintf(stderr, "riskgrid: error: %s\n", err.msg);
        return error_exit_code(err.code);
    }
    fprintf(stderr, "riskgrid gen: wrote %lld rows to %s\n", (long long)opt.rows, out);
    return EXIT_OK;
}

typedef struct run_args {
    const char *job;
    const char **sets;
    int n_sets;
    const char *out;
    const char *resume_path;  /**< --resume CKPT, or NULL */
    int force, quiet, help, resume;
} run_args;

static int parse_run_args(int argc, char **argv, run_args *a, rg_error *err)
{
    a->sets = calloc((size_t)argc, sizeof *a->sets);
    if (a->sets == NULL) return error_set(err, ERR_NOMEM, "out of memory");
    for (int i = 2; i < argc; i++) {
        const char *s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0) a->help = 1;
        else if (strcmp(s, "--force") == 0) a->force = 1;
        else if (strcmp(s, "--quiet") == 0 || strcmp(s, "-q") == 0) a->quiet = 1;
        else if (strcmp(s, "--resume") == 0) {
            /* an optional value: the next argument, unless it is an option
             * or a job file (*.ini) */
            size_t l = i + 1 < argc ? strlen(argv[i + 1]) : 0;
            a->resume = 1;
            if (i + 1 < argc && argv[i + 1][0] != '-' && !(l >= 4 && strcmp(argv[i + 1] + l - 4, ".ini") == 0))
                a->resume_path = argv[++i];
        } else if (strncmp(s, "--resume=", 9) == 0) {
            a->resume = 1;
            a->resume_path = s + 9;
        }
        else if (strcmp(s, "--set") == 0 || strcmp(s, "--out") == 0) {
            if (i + 1 >= argc) return error_set(err, ERR_USAGE, "%s needs a value (see riskgrid run --help)", s);
            if (s[2] == 's') a->sets[a->n_sets++] = argv[++i];
            else a->out = argv[++i];
        } else if (strncmp(s, "--set=", 6) == 0) a->sets[a->n_sets++] = s + 6;
        else if (strncmp(s, "--out=", 6) == 0) a->out = s + 6;
        else if (s[0] == '-') return error_set(err, ERR_USAGE, "unknown option '%s' (see riskgrid run --help)", s);
        else if (a->job == NULL) a->job = s;
        else return error_set(err, ERR_USAGE, "unexpected argument '%s': one job file only", s);
    }
    if (!a->help && a->job == NULL) return error_set(err, ERR_USAGE, "run needs a job file: riskgrid run JOB.ini (see riskgrid run --help)");
    return 0;
}

static char *join_args(int argc, char **argv)
{
    size_t n = 1;
    char *s;
    for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
    s = malloc(n);
    if (s == NULL) return NULL;
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        strcat(s, argv[i]);
        if (i + 1 < argc) strcat(s, " ");
    }
    return s;
}

/* --force must never replace the input: refuse an output (or checkpoint)
 * path that names the same file as an input (same device and inode). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    return a != NULL && b != NULL && stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

static int refuse_input_as_output(const config *cfg, rg_error *err)
{
    const char *outs[2] = {cfg->out_path, cfg->checkpoint_path};
    const char *ins[2] = {cfg->data_path, cfg->test_path};
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++)
            if (same_file(outs[i], ins[j]))
                return error_set(err, ERR_USAGE, "%s '%s' is the input file '%s'; choose another output path",
                                 i == 0 ? "output" : "checkpoint", outs[i], ins[j]);
    return 0;
}

/* First line that differs between two canonical texts, for the message
 * that refuses a checkpoint of another job. */
static void first_difference(const char *a, const char *b, char *out, size_t n)
{
    while (*a || *b) {
        const char *ea = strchr(a, '\n'), *eb = strchr(b, '\n');
        size_t la = ea ? (size_t)(ea - a) : strlen(a), lb = eb ? (size_t)(eb - b) : strlen(b);
        if (la != lb || memcmp(a, b, la) != 0) {
            snprintf(out, n, "checkpoint has '%.*s', the job has '%.*s'", (int)(la > 200 ? 200 : la), a, (int)(lb > 200 ? 200 : lb), b);
            return;
        }
        a += la + (ea != NULL);
        b += lb + (eb != NULL);
    }
    snprintf(out, n, "no difference found");
}

/* The batch job.  Every phase ends in an agreement, so all ranks leave
 * together with the same status. */
/* Before MPI_Init: when every rank runs on this node (Open MPI's mpirun
 * says so through OMPI_COMM_WORLD_LOCAL_SIZE == OMPI_COMM_WORLD_SIZE, or
 * there is no launcher at all), default Open MPI to its ob1 PML, i.e.
 * shared memory.  Otherwise MPI_Init probes network transports (UCX, OFI)
 * that a single node does not use, which costs about 0.2 s of a job that
 * trains in 0.1 s (bench/run.sh, END TO END).  An explicit OMPI_MCA_pml,
 * or RISKGRID_MPI_DEFAULTS=0, leaves the environment alone; multi-node
 * jobs are never touched. */
static void single_node_mpi_defaults(void)
{
    const char *off = getenv("RISKGRID_MPI_DEFAULTS");
    const char *size = getenv("OMPI_COMM_WORLD_SIZE"), *local = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
    int one_node = (size == NULL && getenv("PMI_RANK") == NULL && getenv("PMIX_RANK") == NULL &&
                    getenv("SLURM_PROCID") == NULL) ||
                   (size != NULL && local != NULL && strcmp(size, local) == 0);
    if ((off != NULL && strcmp(off, "0") == 0) || !one_node) return;
    if (getenv("OMPI_MCA_pml") == NULL && getenv("OMPI_MCA_mtl") == NULL) setenv("OMPI_MCA_pml", "ob1", 0);
}

static int cmd_run(int argc, char **argv)
{
    int rc = 0, rank = 0, nranks = 1, mpi_up = 0;
    rg_error err;
    run_args ra;
    config *cfg = NULL;
    char *text = NULL, *command = NULL, *cfgtext = NULL, *ckpt_path = NULL, *canonical = NULL;
    h5io_checkpoint ckpt;
    int have_ckpt = 0;
    train_options topt;
    size_t text_len = 0;
    int64_t len64 = 0;
    dataset *ds = NULL;
    train_result *tr = NULL;
    char started[32], finished[32];
    double t0, t_load = 0, t_grid = 0;
    MPI_Comm comm = MPI_COMM_WORLD;

    memset(&ra, 0, sizeof ra);
    memset(&ckpt, 0, sizeof ckpt);
    memset(&topt, 0, sizeof topt);
    error_clear(&err);
    iso_now(started, sizeof started);
    single_node_mpi_defaults();
    if (MPI_Init(&argc, &argv) != MPI_SUCCESS) {
        fprintf(stderr, "riskgrid: error: MPI_Init failed\n");
        return EXIT_FAILURE_;
    }
    mpi_up = 1;
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &nranks);
    t0 = MPI_Wtime();
    blas_setup();

    parse_run_args(argc, argv, &ra, &err);
    log_setup(rank, nranks, ra.quiet);
    if (ra.help && err.code == 0) {
        if (rank == 0) fputs(USAGE_RUN, stdout);
        goto done;
    }
    if ((rc = log_agree(comm, &err)) != 0) goto done;

    /* job file: rank 0 reads, everyone parses the same bytes */
    if (rank == 0 && config_read_file(ra.job, &text, &text_len, &err) == 0) len64 = (int64_t)text_len;
    if ((rc = log_agree(comm, &err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Bcast(&len64, 1, MPI_INT64_T, 0, comm), "MPI_Bcast", &err)) != 0) goto done;
    if (rank != 0) {
        text = malloc((size_t)len64 + 1);
        if (text == NULL) error_set(&err, ERR_NOMEM, "out of memory");
    }
    if ((rc = log_agree(comm, &err)) != 0) goto done;
    if ((rc = log_mpi_check(MPI_Bcast(text, (int)len64, MPI_CHAR, 0, comm), "MPI_Bcast", &err)) != 0) goto done;
    text[len64] = '\0';
    config_parse(ra.job, text, ra.sets, ra.n_sets, &cfg, &err);
    if ((rc = log_agree(comm, &err)) != 0) goto done;
    if (ra.out != NULL) {
        char *o = strdup(ra.out);
        if (o == NULL) error_set(&err, ERR_NOMEM, "out of memory");
        else { free(cfg->out_path); cfg->out_path = o; }
    }
    if (ra.force) cfg->overwrite = 1;

    /* fail fast: output writable, ranks <= shards (input checked by the load) */
    if (nranks > cfg->virtual_shards)
        error_set(&err, ERR_USAGE, "%d ranks but [train] virtual_shards = %d: run with at most %d ranks or raise virtual_shards",
                  nranks, cfg->virtual_shards, cfg->virtual_shards);
    if (rank == 0 && err.code == 0) refuse_input_as_output(cfg, &err);
    if (rank == 0 && err.code == 0) h5io_check_output(cfg->out_path, cfg->overwrite, &err);
    if (err.code == 0) {
        /* the checkpoint goes next to the output unless the job says otherwise */
        size_t l = strlen(cfg->out_path) + 6;
        ckpt_path = cfg->checkpoint_path ? strdup(cfg->checkpoint_path) : malloc(l);
        canonical = config_canonical(cfg);
        if (ckpt_path == NULL || canonical == NULL) error_set(&err, ERR_NOMEM, "out of memory");
        else if (cfg->checkpoint_path == NULL) snprintf(ckpt_path, l, "%s.ckpt", cfg->out_path);
    }
    if (rank == 0 && err.code == 0) h5io_check_output(ckpt_path, 1, &err);
    if ((rc = log_agree(comm, &err)) != 0) goto done;

    /* --resume: rank 0 reads and checks the checkpoint, everyone gets it */
    if (ra.resume) {
        const char *cp = ra.resume_path ? ra.resume_path : ckpt_path;
        int exists = access(cp, F_OK) == 0, ex_all = 0;
        if ((rc = log_mpi_check(MPI_Allreduce(&exists, &ex_all, 1, MPI_INT, MPI_MAX, comm), "MPI_Allreduce", &err)) != 0) goto done;
        if (!ex_all && ra.resume_path != NULL) {
            rc = error_set(&err, ERR_USAGE, "--resume %s: no such checkpoint", cp);
            goto done;
        }
        if (!ex_all) {
            log_info("no checkpoint at %s: starting from the beginning", cp);
        } else {
            if (rank == 0 && h5io_read_checkpoint(cp, &ckpt, &err) == 0 && strcmp(ckpt.canonical, canonical) != 0) {
                char diff[600];
                first_difference(ckpt.canonical, canonical, diff, sizeof diff);
                error_set(&err, ERR_USAGE, "checkpoint %s was written by a different job (%s); settings that change results must match (output paths may differ)", cp, diff);
            }
            if ((rc = log_agree(comm, &err)) != 0) goto done;
            if ((rc = train_checkpoint_bcast(comm, 0, &ckpt, &err)) != 0) goto done;
            have_ckpt = 1;
            if (ra.resume_path != NULL) {
                free(ckpt_path);
                ckpt_path = strdup(ra.resume_path);
                if (ckpt_path == NULL) error_set(&err, ERR_NOMEM, "out of memory");
                if ((rc = log_agree(comm, &err)) != 0) goto done;
            }
        }
    }
    if ((rc = train_install_signals(&err)) != 0) goto done;

    log_info("riskgrid %s: job %s, %d rank%s, output %s", RISKGRID_VERSION, ra.job, nranks, nranks == 1 ? "" : "s", cfg->out_path);
    {
        char advice[512];
        if (blas_check(advice, sizeof advice)) log_warn("%s", advice);
    }
    if ((rc = dataset_load(comm, cfg, &ds, &err)) != 0) goto done;
    t_load = MPI_Wtime() - t0;
    log_info("data: %s: %lld rows, %d features, positive rate %.4f, fingerprint %s (%.2fs)", ds->source,
             (long long)ds->n_rows, ds->n_features, ds->positive_rate, ds->fingerprint, t_load);
    if (have_ckpt && strcmp(ckpt.fingerprint, ds->fingerprint) != 0) {
        rc = error_set(&err, ERR_INPUT, "the input data changed since checkpoint %s was written (fingerprint %s then, %s now); refusing to resume",
                       ckpt_path, ckpt.fingerprint, ds->fingerprint);
        goto done;
    }
    topt.checkpoint_path = ckpt_path;
    topt.checkpoint_every = cfg->checkpoint_every;
    topt.canonical = canonical;
    topt.resume = have_ckpt ? &ckpt : NULL;
    if ((rc = train_run(comm, cfg, ds, &topt, &tr, &err)) != 0) goto done;

    /* output: rank 0 writes, everyone agrees on the outcome */
    if (rank == 0) {
        h5io_result r;
        mlp_layout lay = mlp_layout_of(&tr->shape);
        double tg = MPI_Wtime();
        size_t cl;
        memset(&r, 0, sizeof r);
        command = join_args(argc, argv);
        cl = strlen(cfg->job_text) + strlen(cfg->overrides) + 64;
        cfgtext = malloc(cl);
        if (command == NULL || cfgtext == NULL) { error_set(&err, ERR_NOMEM, "out of memory"); goto agree_out; }
        snprintf(cfgtext, cl, "%s%s%s", cfg->job_text, cfg->overrides[0] ? "\n; --set overrides:\n" : "", cfg->overrides);
        iso_now(finished, sizeof finished);
        r.version = RISKGRID_VERSION;
        r.command = command;
        r.config_text = cfgtext;
        r.world_size = nranks;
        r.virtual_shards = cfg->virtual_shards;
        r.started = started;
        r.finished = finished;
        r.status = "complete";
        r.source = ds->source;
        r.fingerprint = ds->fingerprint;
        r.n_train = ds->n_train;
        r.n_test = ds->n_test;
        r.n_features = ds->n_features;
        r.positive_rate = ds->positive_rate;
        r.feature_names = (const char *const *)ds->feature_names;
        r.mean = ds->mean;
        r.std = ds->std;
        r.n_hidden = tr->shape.n_hidden;
        r.n_out = tr->shape.n_out;
        r.w1 = tr->params + lay.w1;
        r.b1 = tr->params + lay.b1;
        r.w2 = tr->params + lay.w2;
        r.b2 = tr->params + lay.b2;
        r.n_epochs = tr->n_epochs;
        r.loss = tr->loss;
        r.test_auc = tr->test_auc;
        r.auc_lo = tr->auc_lo;
        r.auc_hi = tr->auc_hi;
        r.wall_s = tr->wall_s;
        r.samples_per_s = tr->samples_per_s;
        r.load_s = t_load;
        r.train_s = tr->train_s;
        r.eval_s = tr->eval_s;
        r.auc = tr->eval.auc;
        r.auc_lo_final = tr->eval.lo;
        r.auc_hi_final = tr->eval.hi;
        r.auc_var = tr->eval.var;
        r.n_roc = tr->n_roc;
        r.fpr = tr->fpr;
        r.tpr = tr->tpr;
        r.threshold = tr->thr;
        r.n_classes = tr->n_classes;
        r.n_scores = tr->n_scores;
        r.score_cols = tr->score_cols;
        r.scores = tr->scores;
        r.score_labels = tr->score_labels;
        r.score_rows = tr->score_rows;
        if (tr->class_eval != NULL) {
            double *ca = calloc((size_t)tr->n_classes * 3, sizeof *ca);
            if (ca == NULL) { error_set(&err, ERR_NOMEM, "out of memory"); goto agree_out; }
            for (int k = 0; k < tr->n_classes; k++) {
                ca[k] = tr->class_eval[k].auc;
                ca[tr->n_classes + k] = tr->class_eval[k].lo;
                ca[2 * tr->n_classes + k] = tr->class_eval[k].hi;
            }
            r.class_auc = ca;
            r.class_lo = ca + tr->n_classes;
            r.class_hi = ca + 2 * tr->n_classes;
        }
        for (int a = 0; a < GRID_NAXES; a++) {
            r.axis[a] = cfg->axis[a];
            r.axis_len[a] = (size_t)cfg->axis_len[a];
            r.reference[a] = cfg->reference[a];
        }
        r.grid_s = 0;
        r.deflate = cfg->compression;
        h5io_write_result(cfg->out_path, cfg->overwrite, &r, &err);
        free((void *)r.class_auc);
        t_grid = MPI_Wtime() - tg;
    }
agree_out:
    if ((rc = log_agree(comm, &err)) != 0) goto done;
    /* the result supersedes the checkpoint */
    if (rank == 0 && unlink(ckpt_path) != 0 && errno != ENOENT)
        log_warn("could not remove the checkpoint %s: %s", ckpt_path, strerror(errno));
    {
        double ref = grid_index(tr->eval.auc, cfg->reference[0], cfg->reference[1], cfg->reference[2], cfg->reference[3]);
        double ref_lo = grid_index(tr->eval.lo, cfg->reference[0], cfg->reference[1], cfg->reference[2], cfg->reference[3]);
        double ref_hi = grid_index(tr->eval.hi, cfg->reference[0], cfg->reference[1], cfg->reference[2], cfg->reference[3]);
        grid_axes ga;
        size_t idx[4];
        for (int a = 0; a < 4; a++) { ga.v[a] = cfg->axis[a]; ga.n[a] = (size_t)cfg->axis_len[a]; }
        grid_argmax(&ga, idx);
        log_info("test AUC %.4f (95%% CI %.4f-%.4f, DeLong) on %lld rows", tr->eval.auc, tr->eval.lo, tr->eval.hi, (long long)ds->n_test);
        log_info("demand index at the reference point (demand %g, competition %g, service %g, marketing %g): D = %.4f [%.4f, %.4f]",
                 cfg->reference[0], cfg->reference[1], cfg->reference[2], cfg->reference[3], ref, ref_lo, ref_hi);
        log_info("grid: %zu points; argmax D = %.4f at demand %g, competition %g, service %g, marketing %g",
                 grid_size(&ga), grid_index(tr->eval.auc, ga.v[0][idx[0]], ga.v[1][idx[1]], ga.v[2][idx[2]], ga.v[3][idx[3]]),
                 ga.v[0][idx[0]], ga.v[1][idx[1]], ga.v[2][idx[2]], ga.v[3][idx[3]]);
        log_info("wrote %s (load %.2fs, train %.2fs, eval %.2fs, write %.2fs, total %.2fs)", cfg->out_path, t_load,
                 tr->train_s, tr->eval_s, t_grid, MPI_Wtime() - t0);
    }
done:
    if (rc == ERR_PREEMPTED) {
        if (rank == 0) { fprintf(stderr, "riskgrid: preempted: %s\n", err.msg); fflush(stderr); }
    } else if (rc != 0) {
        log_error(&err);
    }
    h5io_checkpoint_clear(&ckpt);
    free(ckpt_path);
    free(canonical);
    train_result_free(tr);
    dataset_free(ds);
    config_free(cfg);
    free(text); free(command); free(cfgtext);
    free(ra.sets);
    /* test hook: lets the tests see that EVERY rank leaves with the code
     * (printed before MPI_Finalize: once one rank has exited non-zero the
     * launcher may kill the others) */
    if (getenv("RISKGRID_TRACE_EXIT") != NULL)
        fprintf(stderr, "riskgrid: rank %d exits with code %d\n", rank, error_exit_code(rc));
    if (mpi_up) MPI_Finalize();
    return error_exit_code(rc);
}

int main(int argc, char **argv)
{
    if (argc < 2) { fputs(USAGE_MAIN, stderr); return EXIT_USAGE; }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "help") == 0) { fputs(USAGE_MAIN, stdout); return EXIT_OK; }
    if (strcmp(argv[1], "--version") == 0) { printf("riskgrid %s\n", RISKGRID_VERSION); return EXIT_OK; }
    if (strcmp(argv[1], "run") == 0) return cmd_run(argc, argv);
    if (strcmp(argv[1], "gen") == 0) return cmd_gen(argc, argv);
    if (strcmp(argv[1], "report") == 0) return report_main(argc, argv);
    if (strcmp(argv[1], "compare") == 0) return report_compare_main(argc, argv);
    fprintf(stderr, "riskgrid: unknown command '%s'\n\n%s", argv[1], USAGE_MAIN);
    return EXIT_USAGE;
}
