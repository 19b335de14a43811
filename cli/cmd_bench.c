/* cmd_bench.c - `aviary bench`: prefill and generation speed and peak memory
 * of an RWKV LM, from a checkpoint (-m) or a shape with random weights
 * (--shape rwkv6:L24:D2048:V65536).
 *
 * Prefill: one aviary_model_eval over a --prompt token prompt (sequence
 * mode). Generation: --gen tokens one at a time, each the argmax of the last
 * logits. Prints tokens/s for both, peak RSS, the weight bytes and the
 * generation speed the memory bandwidth allows (weight bytes read per token /
 * bandwidth: --bandwidth GB/s, or measured with --bandwidth measure).
 *
 * --weights and --threads take comma lists (f32,bf16,int8 / 1,2); with more
 * than one combination each runs in its own child process (so each peak RSS
 * is its own) and the results form one table.
 *
 * --repeat N runs prefill and generation N times on the loaded model (each
 * from a reset state) and reports the median with the min-max range: on a
 * shared VM whose bandwidth moves from minute to minute, one run can be
 * 20% off.
 *
 * "cores busy" = CPU time / wall time of the phase: with --threads N it is
 * ~N on an idle machine; less means the threads waited (for memory, for
 * each other, or for other processes on a shared machine). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"
#include "read_bandwidth.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* CPU seconds (user + system, all threads) used by this process so far. */
static double cpu_seconds(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + 1e-6 * (double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)ru.ru_stime.tv_usec;
}

static void usage(FILE *f) {
    fprintf(f, "usage: aviary bench (-m MODEL | --shape rwkvV:L<layers>:D<width>:V<vocab>)\n"
               "                    [--weights auto|f32|bf16|int8[,...]] [--threads N[,...]] [--prompt TOKENS]\n"
               "                    [--gen TOKENS] [--bandwidth GBPS|measure] [--repeat N]\n"
               "  Measures prefill (sequence mode) and generation (one token at a time) tokens/s\n"
               "  and peak RSS. --shape builds a model with random weights of that shape.\n"
               "  Comma lists run every combination, each in its own process, as one table.\n"
               "  --bandwidth measure reads 1 GB (beyond the last-level cache) to find the limit.\n"
               "  --repeat N (1-100) reports the median and min-max of N prefill + generation runs.\n");
}

typedef struct bench_result {
    int ok;
    int threads;
    aviary_weight_type weights;
    double t_load, t_pre, t_gen; /* the median run's seconds */
    double c_pre, c_gen; /* CPU seconds used by prefill / generation (all threads), same run */
    double pre_lo, pre_hi, gen_lo, gen_hi; /* tokens/s range over the --repeat runs */
    double weight_mb, read_mb, state_mb, rss_mb;
    char model[160];
} bench_result;

/* Best-of-3 read bandwidth over a 1 GB buffer (GB/s) on the current threads,
 * read as the GEMV kernels read weights (bench/read_bandwidth.h). */
static double measure_bandwidth(void) {
    const size_t n = (size_t)1 << 27; /* 1 GiB of uint64 */
    uint64_t *buf = aligned_alloc(64, n * sizeof *buf);
    if (!buf) return 0;
    for (size_t i = 0; i < n; i++) buf[i] = i;
    uint64_t sink = 0;
    const double bw = rb_measure(buf, n, aviary_get_num_threads(), 4, 3, &sink);
    free(buf);
    return sink == 1 ? 0 : bw;
}

#define MAX_REPEAT 100

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The median of n values (sorted in place), with their min and max. */
static double median(double *v, int n, double *lo, double *hi) {
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    *lo = v[0];
    *hi = v[n - 1];
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int run_one(const char *model, const char *shape, aviary_weight_type wt, long threads, long prompt, long gen,
                   long repeat, bench_result *r) {
    memset(r, 0, sizeof *r);
    aviary_model_params p = aviary_model_default_params();
    p.weights = wt;
    if (threads > 0) aviary_set_num_threads((int)threads);
    double t0 = now();
    aviary_model *m = NULL;
    aviary_status s = model ? aviary_model_load(model, &p, &m) : aviary_model_random(shape, &p, 42, &m);
    if (s) return cli_fail_status(s);
    r->t_load = now() - t0;
    const aviary_model_info *in = aviary_model_get_info(m);
    const size_t V = (size_t)in->vocab_size;
    float *logits = malloc(V * sizeof(float));
    int32_t *tok = malloc((size_t)prompt * sizeof *tok);
    aviary_state *st = NULL;
    if (!logits || !tok || aviary_state_create(m, &st)) {
        free(logits);
        free(tok);
        aviary_model_free(m);
        return cli_fail("bench: out of memory");
    }
    unsigned seed = 7;
    for (long i = 0; i < prompt; i++) {
        seed = seed * 1103515245u + 12345u;
        tok[i] = (int32_t)((seed >> 8) % V);
    }
    double tp[MAX_REPEAT], tg[MAX_REPEAT], cp[MAX_REPEAT], cg[MAX_REPEAT];
    for (long k = 0; !s && k < repeat; k++) {
        aviary_state_reset(st);
        t0 = now();
        double c0 = cpu_seconds();
        s = aviary_model_eval(m, st, tok, (size_t)prompt, logits);
        tp[k] = now() - t0;
        cp[k] = cpu_seconds() - c0;
        tg[k] = cg[k] = 0;
        for (long g = 0; !s && g < gen; g++) {
            int32_t best = 0;
            for (size_t v = 1; v < V; v++)
                if (logits[v] > logits[best]) best = (int32_t)v;
            double t1 = now(), c1 = cpu_seconds();
            s = aviary_model_eval(m, st, &best, 1, logits);
            tg[k] += now() - t1;
            cg[k] += cpu_seconds() - c1;
        }
    }
    if (!s) {
        /* rates, so the median run is the one reported with its CPU time */
        double rp[MAX_REPEAT], rg[MAX_REPEAT];
        for (long k = 0; k < repeat; k++) {
            rp[k] = (double)prompt / tp[k];
            rg[k] = gen > 0 ? (double)gen / tg[k] : 0.0;
        }
        double mp = median(rp, (int)repeat, &r->pre_lo, &r->pre_hi);
        double mg = median(rg, (int)repeat, &r->gen_lo, &r->gen_hi);
        r->t_pre = (double)prompt / mp;
        r->t_gen = gen > 0 ? (double)gen / mg : 0.0;
        /* CPU share of the run nearest the median */
        long bp = 0, bg = 0;
        for (long k = 1; k < repeat; k++) {
            if (fabs(tp[k] - r->t_pre) < fabs(tp[bp] - r->t_pre)) bp = k;
            if (fabs(tg[k] - r->t_gen) < fabs(tg[bg] - r->t_gen)) bg = k;
        }
        r->c_pre = cp[bp] * r->t_pre / tp[bp];
        r->c_gen = gen > 0 ? cg[bg] * r->t_gen / tg[bg] : 0.0;
    }
    int rc = 0;
    if (s) rc = cli_fail_status(s);
    else {
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        r->ok = 1;
        r->threads = aviary_get_num_threads();
        r->weights = in->weights;
        r->weight_mb = (double)in->weight_bytes / 1e6;
        /* Per generated token every matrix is read once; of the embedding only one row. */
        r->read_mb = (double)(in->weight_bytes - in->embedding_bytes) / 1e6;
        r->state_mb = (double)in->state_floats * 4.0 / 1e6;
        r->rss_mb = (double)ru.ru_maxrss * 1024.0 / 1e6;
        snprintf(r->model, sizeof r->model, "RWKV-%d L%d D%d V%d ffn %d", in->version, in->n_layer, in->n_embd,
                 in->vocab_size, in->dim_ffn);
    }
    aviary_state_free(st);
    free(logits);
    free(tok);
    aviary_model_free(m);
    return rc;
}

/* Run one combination in a child process; the result comes back through a pipe. */
static int run_child(const char *model, const char *shape, aviary_weight_type wt, long threads, long prompt, long gen,
                     long repeat, bench_result *r) {
    int fd[2];
    if (pipe(fd)) return cli_fail("bench: pipe: cannot create");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(fd[0]);
        close(fd[1]);
        return cli_fail("bench: cannot fork");
    }
    if (pid == 0) {
        close(fd[0]);
        bench_result res;
        int rc = run_one(model, shape, wt, threads, prompt, gen, repeat, &res);
        ssize_t w = write(fd[1], &res, sizeof res);
        close(fd[1]);
        fflush(NULL);
        _exit(rc || w != (ssize_t)sizeof res ? 1 : 0);
    }
    close(fd[1]);
    ssize_t got = read(fd[0], r, sizeof *r);
    close(fd[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (got != (ssize_t)sizeof *r || !WIFEXITED(status) || WEXITSTATUS(status) || !r->ok) return 1;
    return 0;
}

/* Split a comma list into at most max items (in place). */
static int split_list(char *s, char **items, int max) {
    int n = 0;
    for (char *tok = strtok(s, ","); tok && n < max; tok = strtok(NULL, ",")) items[n++] = tok;
    return n;
}

int cli_cmd_bench(int argc, char **argv) {
    const char *model = NULL, *shape = NULL, *wlist = "auto", *tlist = NULL, *bwarg = NULL;
    long prompt = 512, gen = 64, repeat = 1;
    double bw = 35.0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-m") || !strcmp(a, "--model")) && has) model = argv[++i];
        else if (!strcmp(a, "--shape") && has) shape = argv[++i];
        else if (!strcmp(a, "--weights") && has) wlist = argv[++i];
        else if (!strcmp(a, "--threads") && has) tlist = argv[++i];
        else if (!strcmp(a, "--prompt") && has) {
            if (!cli_parse_int(a, argv[++i], 1, 1 << 20, &prompt)) return 1;
        } else if (!strcmp(a, "--gen") && has) {
            if (!cli_parse_int(a, argv[++i], 0, 1 << 20, &gen)) return 1;
        } else if (!strcmp(a, "--repeat") && has) {
            if (!cli_parse_int(a, argv[++i], 1, MAX_REPEAT, &repeat)) return 1;
        } else if (!strcmp(a, "--bandwidth") && has) {
            bwarg = argv[++i];
            if (strcmp(bwarg, "measure") && !cli_parse_float(a, bwarg, 0.1, 10000.0, &bw)) return 1;
        } else {
            usage(stderr);
            return cli_fail("bench: unknown or incomplete option '%s'", a);
        }
    }
    if (!model == !shape) {
        usage(stderr);
        return cli_fail("bench: give exactly one of -m MODEL and --shape SHAPE");
    }
    char wbuf[128], tbuf[128];
    snprintf(wbuf, sizeof wbuf, "%s", wlist);
    snprintf(tbuf, sizeof tbuf, "%s", tlist ? tlist : "0");
    char *wi[8], *ti[8];
    int nw = split_list(wbuf, wi, 8), nt = split_list(tbuf, ti, 8);
    aviary_weight_type wts[8];
    long ths[8];
    if (nw == 0) return cli_fail("bench: --weights: empty list");
    if (nt == 0) return cli_fail("bench: --threads: empty list");
    for (int i = 0; i < nw; i++)
        if (aviary_weight_type_parse(wi[i], &wts[i])) return cli_fail_status(AVIARY_INVALID_ARG);
    for (int i = 0; i < nt; i++) {
        if (!tlist) ths[i] = 0;
        else if (!cli_parse_int("--threads", ti[i], 1, 1024, &ths[i])) return 1;
    }
    if (bwarg && !strcmp(bwarg, "measure")) {
        /* in a child: its 1 GB must not count in anyone's peak RSS, and the
         * parent must not start OpenMP threads before forking the runs */
        int fd[2];
        if (pipe(fd)) return cli_fail("bench: pipe: cannot create");
        fflush(stdout);
        pid_t pid = fork();
        if (pid < 0) return cli_fail("bench: cannot fork");
        if (pid == 0) {
            close(fd[0]);
            long mt = 0; /* the most threads of the list */
            for (int i = 0; i < nt; i++) mt = ths[i] > mt ? ths[i] : mt;
            if (mt > 0) aviary_set_num_threads((int)mt);
            double v[2] = {measure_bandwidth(), (double)aviary_get_num_threads()};
            _exit(write(fd[1], v, sizeof v) == (ssize_t)sizeof v ? 0 : 1);
        }
        close(fd[1]);
        double v[2] = {0, 0};
        ssize_t got = read(fd[0], v, sizeof v);
        close(fd[0]);
        waitpid(pid, NULL, 0);
        if (got != (ssize_t)sizeof v || v[0] <= 0) return cli_fail("bench: --bandwidth measure: out of memory");
        bw = v[0];
        printf("bandwidth  %.1f GB/s measured (1 GB read, %d thread(s))\n", bw, (int)v[1]);
    }
    printf("cpu        %s\n", aviary_linear_cpu_info());
    const bool table = nw * nt > 1;
    if (table)
        printf("%-8s %-7s | %10s | %10s | %10s | %9s | %10s | %9s | %7s | %s%s\n", "weights", "threads", "weights MB",
               "read MB/tok", "prefill/s", "gen tok/s", "bw limit/s", "peak RSS", "load s", "cores busy pre/gen",
               repeat > 1 ? " | prefill min-max | gen min-max" : "");
    int rc = 0;
    for (int w = 0; w < nw; w++)
        for (int t = 0; t < nt; t++) {
            bench_result r;
            int e = table ? run_child(model, shape, wts[w], ths[t], prompt, gen, repeat, &r)
                          : run_one(model, shape, wts[w], ths[t], prompt, gen, repeat, &r);
            if (e) {
                rc = 1;
                if (!table) return 1;
                continue;
            }
            const double limit = bw * 1e3 / r.read_mb;
            if (table) {
                if (w == 0 && t == 0)
                    printf("# %s, prompt %ld, gen %ld%s\n", r.model, prompt, gen,
                           repeat > 1 ? ", median of the runs" : "");
                printf("%-8s %-7d | %10.1f | %10.1f | %10.1f | %9.2f | %10.2f | %6.0f MB | %7.2f | %.2f / %.2f",
                       aviary_weight_type_name(r.weights), r.threads, r.weight_mb, r.read_mb, (double)prompt / r.t_pre,
                       gen > 0 ? (double)gen / r.t_gen : 0.0, limit, r.rss_mb, r.t_load, r.c_pre / r.t_pre,
                       gen > 0 ? r.c_gen / r.t_gen : 0.0);
                if (repeat > 1)
                    printf("        | %.1f-%.1f | %.2f-%.2f", r.pre_lo, r.pre_hi, r.gen_lo, r.gen_hi);
                printf("\n");
                fflush(stdout);
                continue;
            }
            printf("model      %s, weights %s, %d thread(s)\n", r.model, aviary_weight_type_name(r.weights),
                   r.threads);
            printf("weights    %.1f MB (%.1f MB read per token), state %.2f MB, load %.2f s\n", r.weight_mb,
                   r.read_mb, r.state_mb, r.t_load);
            printf("prefill    %ld tokens in %.3f s: %.1f tokens/s (%.2f cores busy)", prompt, r.t_pre,
                   (double)prompt / r.t_pre, r.c_pre / r.t_pre);
            if (repeat > 1) printf("; median of %ld runs, %.1f-%.1f", repeat, r.pre_lo, r.pre_hi);
            printf("\n");
            if (gen > 0) {
                printf("generate   %ld tokens in %.3f s: %.2f tokens/s (bandwidth limit at %.1f GB/s: %.2f tokens/s; "
                       "%.2f cores busy)",
                       gen, r.t_gen, (double)gen / r.t_gen, bw, limit, r.c_gen / r.t_gen);
                if (repeat > 1) printf("; median of %ld runs, %.2f-%.2f", repeat, r.gen_lo, r.gen_hi);
                printf("\n");
            }
            printf("peak RSS   %.1f MB\n", r.rss_mb);
        }
    return rc;
}
