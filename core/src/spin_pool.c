/*
 * spin_pool.c - see spin_pool.h.
 *
 * Protocol (all atomics sequentially consistent unless noted). The pool
 * serves one job at a time; the thread that wins `busy` is the poster.
 *  - post: write the job fields, next = 0, then gen++ (the futex word);
 *    futex-wake only if some worker announced itself in `sleepers`.
 *  - a worker that sees a new gen g enters (inside++), then checks that the
 *    job is still g and not yet closed; if so it takes chunks from `next`
 *    until none are left, then leaves (inside--). Otherwise it leaves
 *    without touching the job.
 *  - the poster takes chunks too; when none are left it sets closed = g and
 *    waits for inside == 0: only workers that entered before the close are
 *    waited for, and those are running (they finish at most one chunk). A
 *    worker that wakes late finds the job closed, so the poster never waits
 *    for a sleeping thread, and the job fields are not rewritten while any
 *    worker can read them.
 * The inside++ / closed check of a worker and the closed = g / inside load
 * of the poster are the two halves of a Dekker pattern: with seq_cst at
 * least one side sees the other's write.
 */
#include "spin_pool.h"
#include <omp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>
#ifdef __linux__
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>
#define HAVE_FUTEX 1
#else
#define HAVE_FUTEX 0
#endif
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define CPU_RELAX() _mm_pause()
#else
#define CPU_RELAX() ((void)0)
#endif

#define MAX_WORKERS 63
#define DEFAULT_SPIN_US 200
#define MISSES_MAX 4 /* jobs in a row without a chunk before a worker stops spinning */
#define PREEMPT_NS 300000 /* a gap this long while spinning means the thread was preempted */
#define POSTER_SPINS 2000 /* pauses (~50-100 us) the poster spins for the last chunks before sleeping */
#define NOSPIN_JOBS 1000 /* jobs a preempted worker sleeps between (~20 tokens of a small model) */

static struct {
    _Atomic int busy;           /* a poster owns the pool */
    _Atomic uint32_t gen;       /* job generation; futex word the workers sleep on */
    _Atomic uint32_t closed;    /* generation of the last job whose items are all taken */
    _Atomic int inside;         /* workers currently reading the job; futex word the poster may sleep on */
    _Atomic int waiter;         /* the poster sleeps (or is about to) until inside == 0 */
    _Atomic int sleepers;       /* workers in (or about to enter) futex wait */
    _Atomic int64_t next;       /* next item of the current job */
    /* the current job: written by the poster before gen++, read by workers inside */
    void (*fn)(void *ctx, int64_t i);
    void *ctx;
    int64_t n, chunk;
    int nwant;                  /* workers that take part (index < nwant) */
    int nworkers;               /* started so far; only the poster reads or writes it */
    int64_t spin_ns;
} P;

static pthread_once_t g_spin_once = PTHREAD_ONCE_INIT;

static void read_spin_env(void) {
    const char *e = getenv("AVIARY_SPIN_US");
    long us = DEFAULT_SPIN_US;
    if (e && *e) {
        char *end;
        long v = strtol(e, &end, 10);
        if (*end == '\0' && v >= 0 && v <= 100000) us = v;
    }
    P.spin_ns = (int64_t)us * 1000;
}

static int64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Take chunks of the current job until none are left; true if any was taken. */
static bool run_items(void) {
    const int64_t n = P.n, chunk = P.chunk;
    for (bool took = false;; took = true) {
        int64_t i0 = atomic_fetch_add_explicit(&P.next, chunk, memory_order_relaxed);
        if (i0 >= n) return took;
        int64_t i1 = i0 + chunk < n ? i0 + chunk : n;
        for (int64_t i = i0; i < i1; i++) P.fn(P.ctx, i);
    }
}

#if HAVE_FUTEX
/* Wait until gen differs from `seen`: spin up to spin_ns, then sleep.
 * *preempted is set when the spin was interrupted by the scheduler (a gap
 * of PREEMPT_NS between two clock reads that are normally microseconds
 * apart): the CPU is shared with another busy thread. */
static uint32_t wait_job(uint32_t seen, int64_t spin_ns, bool *preempted) {
    int64_t last = now_ns();
    const int64_t deadline = last + spin_ns;
    for (unsigned it = 1;; it++) {
        uint32_t g = atomic_load_explicit(&P.gen, memory_order_acquire);
        if (g != seen) {
            /* also when the job came while this thread was descheduled */
            if (spin_ns && now_ns() - last > PREEMPT_NS) *preempted = true;
            return g;
        }
        if (it & 63) {
            CPU_RELAX();
            continue;
        }
        const int64_t t = now_ns();
        if (t - last > PREEMPT_NS) *preempted = true;
        last = t;
        if (t < deadline && !*preempted) continue;
        atomic_fetch_add(&P.sleepers, 1);
        if (atomic_load(&P.gen) == seen)
            syscall(SYS_futex, (uint32_t *)&P.gen, FUTEX_WAIT_PRIVATE, seen, NULL, NULL, 0);
        atomic_fetch_sub(&P.sleepers, 1);
        last = now_ns(); /* sleeping is not being preempted */
    }
}

static void *worker_main(void *arg) {
    const int idx = (int)(intptr_t)arg;
    uint32_t seen = atomic_load(&P.gen);
    /* Spin only while this worker is useful. One that came too late to take
     * any chunk of the last MISSES_MAX jobs (its CPU busy with another
     * process, or the jobs too small) sleeps straight away: spinning would
     * then only take CPU time from the poster or from other processes. One
     * job it helps with turns spinning back on. */
    int misses = MISSES_MAX;
    /* Likewise, after being preempted while spinning the worker sleeps
     * between the next NOSPIN_JOBS jobs: a thread that sleeps is woken
     * promptly by the scheduler (wake-up preemption), while a spinning one
     * that has used its share waits behind the other process. */
    int nospin = 0;
    for (;;) {
        bool preempted = false;
        const uint32_t g = wait_job(seen, misses < MISSES_MAX && !nospin ? P.spin_ns : 0, &preempted);
        if (preempted) nospin = NOSPIN_JOBS;
        else if (nospin) nospin--;
        seen = g;
        bool helped = false;
        atomic_fetch_add(&P.inside, 1);
        if (atomic_load(&P.gen) == g && atomic_load(&P.closed) != g && idx < P.nwant) helped = run_items();
        if (atomic_fetch_sub(&P.inside, 1) == 1 && atomic_load(&P.waiter))
            syscall(SYS_futex, (int *)&P.inside, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
        misses = helped ? 0 : misses < MISSES_MAX ? misses + 1 : MISSES_MAX;
    }
    return NULL;
}

/* Start workers up to `want` (poster only). False if none could be started. */
static bool grow(int want) {
    while (P.nworkers < want) {
        pthread_attr_t a;
        pthread_t th;
        if (pthread_attr_init(&a)) break;
        pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
        pthread_attr_setstacksize(&a, (size_t)256 << 10);
        int e = pthread_create(&th, &a, worker_main, (void *)(intptr_t)P.nworkers);
        pthread_attr_destroy(&a);
        if (e) break;
        P.nworkers++;
    }
    return P.nworkers > 0;
}
#endif

bool aviary__pool_for(int64_t n, int64_t chunk, void (*fn)(void *ctx, int64_t i), void *ctx) {
    if (chunk < 1) chunk = 1;
    int nt = omp_get_max_threads();
    if (nt <= 1 || n <= chunk) {
        for (int64_t i = 0; i < n; i++) fn(ctx, i);
        return true;
    }
#if !HAVE_FUTEX
    return false;
#else
    if (omp_in_parallel()) return false;
    int expect = 0;
    if (!atomic_compare_exchange_strong(&P.busy, &expect, 1)) return false;
    pthread_once(&g_spin_once, read_spin_env);
    int want = nt - 1 < MAX_WORKERS ? nt - 1 : MAX_WORKERS;
    if (!grow(want)) {
        atomic_store(&P.busy, 0);
        return false;
    }
    P.fn = fn;
    P.ctx = ctx;
    P.n = n;
    P.chunk = chunk;
    P.nwant = want;
    atomic_store_explicit(&P.next, 0, memory_order_relaxed);
    const uint32_t g = atomic_fetch_add(&P.gen, 1) + 1;
    if (atomic_load(&P.sleepers)) syscall(SYS_futex, (uint32_t *)&P.gen, FUTEX_WAKE_PRIVATE, INT32_MAX, NULL, NULL, 0);
    run_items();
    atomic_store(&P.closed, g);
    /* Workers still inside are running their last chunk: spin briefly, then
     * sleep, so that a worker preempted mid-chunk on this CPU gets it back. */
    for (unsigned it = 1;; it++) {
        const int v = atomic_load(&P.inside);
        if (!v) break;
        if (it < POSTER_SPINS) {
            CPU_RELAX();
            continue;
        }
        atomic_store(&P.waiter, 1);
        if (atomic_load(&P.inside) == v) syscall(SYS_futex, (int *)&P.inside, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
        atomic_store(&P.waiter, 0);
    }
    atomic_store(&P.busy, 0);
    return true;
#endif
}
