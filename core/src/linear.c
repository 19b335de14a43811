/*
 * linear.c - aviary_linear (aviary_linear.h): y = x W^T (+ b).
 *
 * Two backends behind one struct, chosen at create time:
 *
 *  - oneDNN (default). The weight is packed once, at create time, into the
 *    blocked layout oneDNN's matmul picks for it (weights memory desc with
 *    dnnl_format_tag_any, queried from a primitive for a prefill-sized m).
 *    On the CPUs aviary targets that layout is "BA16a64b[V]a": blocks of 64
 *    output channels, each one contiguous stream over k in which 64 outputs x
 *    V consecutive k values (V = 1 f32, 2 bf16, 4 int8) form one 64-byte
 *    row, i.e. exactly what AVX-512 FMA / VPDPBUSD consume with a
 *    broadcast x. We recognise that layout (and pack it ourselves, a few rows
 *    at a time, so no full f32 copy of a large matrix is ever resident), and:
 *      * m <= GEMV_MAX_M (one token: memory bound) runs our own GEMV kernels
 *        over the packed blocks (AVX-512 when the CPU has it, plain C
 *        otherwise), OpenMP over blocks of 64 outputs;
 *      * larger m (prefill) runs the oneDNN matmul primitive (AMX / AVX-512
 *        brgemm), one primitive per m, cached in the linear.
 *    If oneDNN offers no such layout (CPUs without AVX-512, where its gemm
 *    wants plain weights; int8 without VNNI, whose matmul would saturate),
 *    the weights are stored k-major instead ([in][out], setup_kmajor): the
 *    one-token GEMV streams the rows of the nonzero inputs (AVX-512, AVX2
 *    or C kernels), prefill runs oneDNN on the plain weights, or, for bf16
 *    and int8 where oneDNN has no exact matmul, an f32 matmul over tiles
 *    widened to f32 (f32_tiles). Only if no engine can be created does the
 *    linear fall back to the C backend.
 *  - portable C (AVIARY_MATMUL=c, or fallback): row-major [out, in] weights,
 *    plain loops, OpenMP over outputs. The reference the tests compare with.
 *
 * Precisions. f32: f32 everywhere. bf16: weights bf16, x kept f32 in
 * effect: the GEMV widens the weights to f32 in registers (x exact); the
 * oneDNN primitive splits x into bf16 hi + lo parts and runs both through
 * AMX (f32 accumulation), giving ~2^-16 relative error on x instead of
 * bf16's 2^-9 (see split_bf16); the C path keeps x f32. int8: symmetric
 * per-output-channel weight scales (max|w_row| / 127); the oneDNN path
 * quantizes each row of x in two int8 levels, x ~= s1 q1 + s2 q2 (q2 the
 * residual, see quant_resid: ~15 bits in all), and accumulates exact int32
 * dot products (VPDPBUSD on q+128 with a precomputed 128*sum(w)
 * compensation, or oneDNN's matmul over 2m rows: s8:s8 with AMX, u8:s8
 * with the same compensation on CPUs without it, see src_u8), then
 * y = (acc1 s1 + acc2 s2) * w_scale. The C path keeps x f32.
 * docs/precision.md measures what each precision costs.
 *
 * Thread safety: a linear is immutable after create except for its
 * primitive cache (mutex). Each calling thread has its own oneDNN stream and
 * scratch buffers (thread-local, freed at thread exit), and primitives run
 * with a user-provided scratchpad, so forward may run concurrently.
 */
#include "internal.h"
#include <assert.h>
#include "spin_pool.h"
#include <math.h>
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#include <pthread.h>
#include <stdio.h>
#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

typedef enum backend { BACKEND_C = 0, BACKEND_DNNL = 1 } backend;

#define NB 64            /* outputs per packed block */
#define GEMV_MAX_M 4     /* rows handled by our own kernels; larger m goes to the oneDNN primitive */
/* Below this many multiply-adds (~0.1 ms on one core) a prefill matmul is
 * not split over threads (see aviary_linear_forward). */
#define SMALL_MATMUL_MACS 4.0e6
#define PACK_ROWS 256    /* output rows converted to f32 at a time while packing */
#define PRIM_CACHE 8     /* cached oneDNN primitives (distinct m, or m and tile width) per linear */
#define PD_PROBE_M 256   /* m of the primitive whose preferred weight layout we adopt */
#define TILE_N 256       /* outputs per f32_tiles tile (in x 256 f32: 2 MB for in = 2048) */

typedef struct prim_entry {
    int64_t m;
    int64_t n;               /* 0, or the width of an f32_tiles tile */
    dnnl_primitive_t prim;
    size_t scratch;
} prim_entry;

struct aviary_linear {
    int64_t in, out;
    aviary_weight_type wt;   /* F32, BF16 or INT8 (never AUTO) */
    backend be;
    float *bias;             /* [out] or NULL */
    float *scale;            /* INT8: [out] per-channel weight scale (both backends) */
    size_t wbytes;
    /* C backend: row-major [out, in] of float / uint16_t / int8_t */
    void *w;
    /* oneDNN backend: packed blocks, see the file comment */
    void *pk;
    int64_t kb, vnni;        /* k block (16/32/64) and k values per 64-byte row (1/2/4) */
    int64_t kp, np;          /* k and out padded to kb and NB */
    int32_t *comp;           /* INT8: [np] 128 * sum_k w[k][n], for the u8 GEMV and a u8 prefill */
    /* INT8 prefill: the matmul takes x as u8 (q + 128) with an s32 result we
     * correct by comp. Chosen where oneDNN's layout for an s8 x carries its
     * own compensation (AVX-512 VNNI without AMX, e.g. AMD Zen 4), which our
     * packing and GEMV kernels do not write; with AMX, s8 x is kept. */
    bool src_u8;
    /* BF16 / INT8 prefill where oneDNN has no native exact matmul for the
     * precision (see dnnl_native): the k-major weights are widened to f32
     * TILE_N outputs at a time and run through an f32 matmul, so x stays
     * exact and memory stays bf16 / int8. */
    bool f32_tiles;
    bool kmajor;             /* pk is [in][np], row k = input k's weights (sparse x, or no blocked layout) */
    dnnl_memory_desc_t wmd;
    dnnl_memory_t wmem;
    pthread_mutex_t mu;
    bool mu_init;
    prim_entry cache[PRIM_CACHE];
};

/* ------------------------------------------------------------ names -- */

const char *aviary_weight_type_name(aviary_weight_type t) {
    switch (t) {
    case AVIARY_WEIGHTS_AUTO: return "auto";
    case AVIARY_WEIGHTS_F32: return "f32";
    case AVIARY_WEIGHTS_BF16: return "bf16";
    case AVIARY_WEIGHTS_INT8: return "int8";
    }
    return "?";
}

aviary_status aviary_weight_type_parse(const char *s, aviary_weight_type *out) {
    static const aviary_weight_type all[] = {AVIARY_WEIGHTS_AUTO, AVIARY_WEIGHTS_F32, AVIARY_WEIGHTS_BF16,
                                             AVIARY_WEIGHTS_INT8};
    if (!s || !out) return aviary_error(AVIARY_INVALID_ARG, "linear.c: weight type: NULL argument");
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!strcmp(s, aviary_weight_type_name(all[i]))) { *out = all[i]; return AVIARY_OK; }
    return aviary_error(AVIARY_INVALID_ARG, "linear.c: unknown weight type '%s' (want auto, f32, bf16 or int8)", s);
}

aviary_linear_params aviary_linear_default_params(void) {
    aviary_linear_params p = {AVIARY_WEIGHTS_AUTO, false};
    return p;
}

/* ------------------------------------------------ process-wide oneDNN -- */

static dnnl_engine_t g_engine;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_key_t g_tls_key;
static bool g_tls_ok;
static int g_cpu_bf16, g_cpu_vnni, g_cpu_avx512, g_cpu_avx2;
/* oneDNN's int8 matmul is exact only with VNNI (or AMX): without, its
 * VPMADDUBSW pairs saturate at 16 bits on full-range int8 weights. */
static bool g_dnnl_int8_exact;
/* oneDNN's bf16 matmul runs natively (avx512_core_bf16, AMX); below, it
 * emulates bf16 at a fraction of the f32 rate, so f32 tiles serve instead. */
static bool g_dnnl_bf16_native;

/* Does oneDNN run this precision natively and exactly on this CPU? If not,
 * bf16 and int8 linears take the k-major layout with f32 tiles. */
static bool dnnl_native(aviary_weight_type wt) {
    return wt == AVIARY_WEIGHTS_F32 || (wt == AVIARY_WEIGHTS_BF16 ? g_dnnl_bf16_native : g_dnnl_int8_exact);
}
static int g_gemv_streams = 4; /* see the one-token kernels */

/* Per-thread resources: a stream and growable scratch (converted x, oneDNN scratchpad). */
typedef struct tls {
    dnnl_stream_t stream;
    void *xbuf; size_t xcap;
    void *scr; size_t scap;
    float *ybuf; size_t ycap;
} tls;

static void tls_free(void *p) {
    tls *t = p;
    if (!t) return;
    if (t->stream) dnnl_stream_destroy(t->stream);
    aviary__free_aligned(t->xbuf);
    aviary__free_aligned(t->scr);
    aviary__free_aligned(t->ybuf);
    free(t);
}

/* Our kernels' instruction sets: what the CPU has, capped at level
 * (aviary__linear_kernels). */
static void set_kernels(int level) {
#if HAVE_X86
    __builtin_cpu_init(); /* idempotent */
    g_cpu_avx2 = level <= AVIARY__KERNELS_AVX2 && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    g_cpu_avx512 = level == AVIARY__KERNELS_BEST && __builtin_cpu_supports("avx512f") &&
                   __builtin_cpu_supports("avx512bw");
    g_cpu_vnni = g_cpu_avx512 && __builtin_cpu_supports("avx512vnni");
    g_cpu_bf16 = g_cpu_avx512 && __builtin_cpu_supports("avx512bf16");
#else
    (void)level;
#endif
}

static void global_init(void) {
    if (dnnl_engine_create(&g_engine, dnnl_cpu, 0) != dnnl_success) g_engine = NULL;
    g_tls_ok = pthread_key_create(&g_tls_key, tls_free) == 0;
    /* each ISA value's bits include those of the ISAs below it */
    const unsigned isa = (unsigned)dnnl_get_effective_cpu_isa();
    g_dnnl_int8_exact = (isa & dnnl_cpu_isa_avx512_core_vnni) == dnnl_cpu_isa_avx512_core_vnni ||
                        (isa & dnnl_cpu_isa_avx2_vnni) == dnnl_cpu_isa_avx2_vnni;
    g_dnnl_bf16_native = (isa & dnnl_cpu_isa_avx512_core_bf16) == dnnl_cpu_isa_avx512_core_bf16;
#if HAVE_X86
    __builtin_cpu_init();
    const char *st = getenv("AVIARY_GEMV_STREAMS");
    g_gemv_streams = st && (!strcmp(st, "1") || !strcmp(st, "4")) ? atoi(st) : __builtin_cpu_is("amd") ? 1 : 4;
#endif
    /* AVIARY_KERNELS=avx2|portable caps our own kernels; with oneDNN's
     * ONEDNN_MAX_CPU_ISA=AVX2 it runs this machine as a CPU without AVX-512. */
    const char *env = getenv("AVIARY_KERNELS");
    set_kernels(env && !strcmp(env, "portable") ? AVIARY__KERNELS_PORTABLE
                : env && !strcmp(env, "avx2")   ? AVIARY__KERNELS_AVX2
                                                : AVIARY__KERNELS_BEST);
}

void aviary__linear_kernels(int level) {
    pthread_once(&g_once, global_init);
    set_kernels(level);
}

static const char *isa_name(unsigned isa) {
    switch (isa) {
    case dnnl_cpu_isa_sse41: return "sse41";
    case dnnl_cpu_isa_avx: return "avx";
    case dnnl_cpu_isa_avx2: return "avx2";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    default: return "other";
    }
}

static char g_cpu_info[160];

static void cpu_info_fill(void) {
    snprintf(g_cpu_info, sizeof g_cpu_info, "oneDNN %s; kernels %s%s%s; one-token streams %d",
             g_engine ? isa_name((unsigned)dnnl_get_effective_cpu_isa()) : "unavailable",
             g_cpu_avx512 ? "avx512" : g_cpu_avx2 ? "avx2" : "portable", g_cpu_vnni ? "+vnni" : "",
             g_cpu_bf16 ? "+bf16" : "", g_gemv_streams);
}

/* Reflects the kernel level at its first call (aviary__linear_kernels
 * changes after that are for tests and not shown). */
const char *aviary_linear_cpu_info(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&g_once, global_init);
    pthread_once(&once, cpu_info_fill);
    return g_cpu_info;
}

static tls *get_tls(void) {
    if (!g_tls_ok) return NULL;
    tls *t = pthread_getspecific(g_tls_key);
    if (t) return t;
    t = calloc(1, sizeof *t);
    if (!t) return NULL;
    if (dnnl_stream_create(&t->stream, g_engine, dnnl_stream_default_flags) != dnnl_success ||
        pthread_setspecific(g_tls_key, t) != 0) {
        tls_free(t);
        return NULL;
    }
    return t;
}

/* Grow one of the thread's buffers to at least n bytes (contents not kept). */
static void *tls_buf_(void **buf, size_t *cap, size_t n) {
    if (*cap >= n) return *buf;
    void *nb = aviary__alloc_aligned(n);
    if (!nb) return NULL;
    aviary__free_aligned(*buf);
    *buf = nb;
    *cap = n;
    return nb;
}

#define tls_buf(b, c, n) tls_buf_((void **)(b), (c), (n))

/* ------------------------------------------------------- lifecycle -- */

void aviary_linear_free(aviary_linear *lin) {
    if (!lin) return;
    for (int i = 0; i < PRIM_CACHE; i++)
        if (lin->cache[i].prim) dnnl_primitive_destroy(lin->cache[i].prim);
    if (lin->wmem) dnnl_memory_destroy(lin->wmem);
    if (lin->mu_init) pthread_mutex_destroy(&lin->mu);
    aviary__free_aligned(lin->w);
    aviary__free_aligned(lin->pk);
    aviary__free_aligned(lin->comp);
    aviary__free_aligned(lin->scale);
    aviary__free_aligned(lin->bias);
    free(lin);
}

static int64_t round_up(int64_t a, int64_t b) { return (a + b - 1) / b * b; }

/* bytes per stored weight */
static size_t wt_size(aviary_weight_type wt) {
    return wt == AVIARY_WEIGHTS_F32 ? 4 : wt == AVIARY_WEIGHTS_BF16 ? 2 : 1;
}

static dnnl_data_type_t dnnl_wtype(aviary_weight_type wt) {
    return wt == AVIARY_WEIGHTS_F32 ? dnnl_f32 : wt == AVIARY_WEIGHTS_BF16 ? dnnl_bf16 : dnnl_s8;
}

/* The matmul's x and result types: the weights' type for x (u8 for a
 * src_u8 int8 linear), f32 results (s32 for src_u8, corrected by comp). */
static dnnl_data_type_t src_type(const aviary_linear *lin) {
    return lin->src_u8 ? dnnl_u8 : dnnl_wtype(lin->wt);
}
static dnnl_data_type_t dst_type(const aviary_linear *lin) { return lin->src_u8 ? dnnl_s32 : dnnl_f32; }

static dnnl_status_t create_pd(const dnnl_memory_desc_t *smd, const dnnl_memory_desc_t *wmd,
                               const dnnl_memory_desc_t *dmd, dnnl_primitive_desc_t *pd);

/* Create the matmul primitive descriptor for m rows. wmd: the weights desc
 * (format_tag_any to ask oneDNN, or the adopted packed desc). */
static dnnl_status_t make_pd(const aviary_linear *lin, int64_t m, const dnnl_memory_desc_t *wmd,
                             dnnl_primitive_desc_t *pd) {
    dnnl_memory_desc_t smd, dmd;
    dnnl_dims_t sd = {m, lin->in}, dd = {m, lin->out};
    dnnl_status_t e;
    if ((e = dnnl_memory_desc_init_by_tag(&smd, 2, sd, src_type(lin), dnnl_ab)) ||
        (e = dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dst_type(lin), dnnl_ab)))
        return e;
    return create_pd(&smd, wmd, &dmd, pd);
}

/* The f32 matmul of m rows by one f32_tiles tile of nc outputs: plain
 * [m, in] x [in, nc] -> [m, nc]. */
static dnnl_status_t make_tile_pd(const aviary_linear *lin, int64_t m, int64_t nc, dnnl_primitive_desc_t *pd) {
    dnnl_memory_desc_t smd, wmd, dmd;
    dnnl_dims_t sd = {m, lin->in}, wd = {lin->in, nc}, dd = {m, nc};
    dnnl_status_t e;
    if ((e = dnnl_memory_desc_init_by_tag(&smd, 2, sd, dnnl_f32, dnnl_ab)) ||
        (e = dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_f32, dnnl_ab)) ||
        (e = dnnl_memory_desc_init_by_tag(&dmd, 2, dd, dnnl_f32, dnnl_ab)))
        return e;
    return create_pd(&smd, &wmd, &dmd, pd);
}

static dnnl_status_t create_pd(const dnnl_memory_desc_t *smd, const dnnl_memory_desc_t *wmd,
                               const dnnl_memory_desc_t *dmd, dnnl_primitive_desc_t *pd) {
    dnnl_status_t e;
    dnnl_matmul_desc_t md;
    if ((e = dnnl_matmul_desc_init(&md, smd, wmd, NULL, dmd))) return e;
    dnnl_primitive_attr_t attr;
    if ((e = dnnl_primitive_attr_create(&attr))) return e;
    e = dnnl_primitive_attr_set_scratchpad_mode(attr, dnnl_scratchpad_mode_user);
    /* int8: no output scales in the primitive (weight and x scales are
     * applied in our epilogue), so every layer's same-shaped projection has
     * the same primitive: one JIT compile, shared through oneDNN's primitive
     * cache. (Runtime scales, DNNL_RUNTIME_F32_VAL, would do the same but
     * make oneDNN 2.6 pick a ~50x slower implementation.) */
    if (!e) e = dnnl_primitive_desc_create(pd, &md, attr, g_engine, NULL);
    dnnl_primitive_attr_destroy(attr);
    return e;
}

/* Does oneDNN's preferred weight layout match the blocked layout our
 * packing and GEMV kernels implement? */
static bool adopt_layout(aviary_linear *lin, const dnnl_memory_desc_t *w) {
    const int64_t v = lin->wt == AVIARY_WEIGHTS_F32 ? 1 : lin->wt == AVIARY_WEIGHTS_BF16 ? 2 : 4;
    const int64_t kb = 16 * v, kp = round_up(lin->in, kb), np = round_up(lin->out, NB);
    const dnnl_blocking_desc_t *b = &w->format_desc.blocking;
    if (w->ndims != 2 || w->format_kind != dnnl_blocked || w->offset0 != 0 || w->extra.flags != 0) return false;
    if (w->padded_dims[0] != kp || w->padded_dims[1] != np) return false;
    if (b->strides[0] != kb * NB || b->strides[1] != kp * NB) return false;
    const int nbl = v == 1 ? 2 : 3;
    if (b->inner_nblks != nbl || b->inner_blks[0] != 16 || b->inner_idxs[0] != 0 || b->inner_blks[1] != NB ||
        b->inner_idxs[1] != 1)
        return false;
    if (nbl == 3 && (b->inner_blks[2] != v || b->inner_idxs[2] != 0)) return false;
    if (dnnl_memory_desc_get_size(w) != (size_t)(kp * np) * (size_t)(v == 1 ? 4 : v == 2 ? 2 : 1)) return false;
    lin->kb = kb; lin->vnni = v; lin->kp = kp; lin->np = np;
    lin->wmd = *w;
    return true;
}

/* Offset of element (k, n) in the packed layout is pk_base(n) + pk_koff(k):
 * (n / NB) * kp * NB + (k / kb) * kb * NB + ((k % kb) / v) * NB * v + (n % NB) * v + k % v,
 * where the two k terms collapse to (k / v) * NB * v since kb is a multiple of v. */
static inline size_t pk_base(const aviary_linear *lin, int64_t n) {
    return (size_t)((n / NB) * lin->kp * NB + (n % NB) * lin->vnni);
}
static inline size_t pk_koff(int64_t k, int64_t v) { return (size_t)((k / v) * NB * v + k % v); }

/* Quantize one row of f32 weights to int8 with a symmetric scale; *sum
 * (if not NULL) gets the sum of the quantized values. */
static float quant_row(const float *r, int64_t in, int8_t *q, int64_t qstride, int32_t *sum) {
    float mx = 0;
    for (int64_t i = 0; i < in; i++) mx = fabsf(r[i]) > mx ? fabsf(r[i]) : mx;
    const float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
    int32_t acc = 0;
    for (int64_t i = 0; i < in; i++) {
        q[i * qstride] = (int8_t)lrintf(r[i] * inv);
        acc += q[i * qstride];
    }
    if (sum) *sum = acc;
    return sc;
}

/* aviary_f32_to_bf16 inlined (the packing loops call it per weight). */
static inline uint16_t to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u); /* round to nearest even */
    return (uint16_t)(u >> 16);
}

/* Store rows [n0, n0 + cnt) (f32, [cnt, in]) in the linear's precision and layout. */
static void store_rows(aviary_linear *lin, int64_t n0, int64_t cnt, const float *f) {
    const int64_t in = lin->in;
    if (lin->be == BACKEND_C) {
        if (lin->wt == AVIARY_WEIGHTS_F32) memcpy((float *)lin->w + n0 * in, f, (size_t)(cnt * in) * sizeof(float));
        else if (lin->wt == AVIARY_WEIGHTS_BF16) {
            uint16_t *h = (uint16_t *)lin->w + n0 * in;
            for (int64_t i = 0; i < cnt * in; i++) h[i] = to_bf16(f[i]);
        } else
            for (int64_t r = 0; r < cnt; r++)
                lin->scale[n0 + r] = quant_row(f + r * in, in, (int8_t *)lin->w + (n0 + r) * in, 1, NULL);
        return;
    }
    if (lin->kmajor) {
        const int64_t np = lin->np;
#pragma omp parallel for schedule(static) if (cnt * in >= (1 << 18))
        for (int64_t r = 0; r < cnt; r++) {
            const int64_t n = n0 + r;
            if (lin->wt == AVIARY_WEIGHTS_F32)
                for (int64_t k = 0; k < in; k++) ((float *)lin->pk)[k * np + n] = f[r * in + k];
            else if (lin->wt == AVIARY_WEIGHTS_BF16)
                for (int64_t k = 0; k < in; k++) ((uint16_t *)lin->pk)[k * np + n] = to_bf16(f[r * in + k]);
            else {
                int32_t sum;
                lin->scale[n] = quant_row(f + r * in, in, (int8_t *)lin->pk + n, np, &sum);
                if (lin->comp) lin->comp[n] = 128 * sum;
            }
        }
        return;
    }
#pragma omp parallel for schedule(static) if (cnt * in >= (1 << 18))
    for (int64_t r = 0; r < cnt; r++) {
        const int64_t n = n0 + r;
        const float *row = f + r * in;
        if (lin->wt == AVIARY_WEIGHTS_F32) {
            float *p = (float *)lin->pk + pk_base(lin, n);
            for (int64_t k = 0; k < in; k++) p[k * NB] = row[k];
        } else if (lin->wt == AVIARY_WEIGHTS_BF16) {
            uint16_t *p = (uint16_t *)lin->pk + pk_base(lin, n);
            for (int64_t k = 0; k < in; k++) p[pk_koff(k, 2)] = to_bf16(row[k]);
        } else {
            int8_t *p = (int8_t *)lin->pk + pk_base(lin, n);
            /* within a k block the k values of one output are spaced NB*V apart, V at a time */
            float mx = 0;
            for (int64_t k = 0; k < in; k++) mx = fabsf(row[k]) > mx ? fabsf(row[k]) : mx;
            const float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
            int32_t sum = 0;
            for (int64_t k = 0; k < in; k++) {
                const int8_t q = (int8_t)lrintf(row[k] * inv);
                p[pk_koff(k, 4)] = q;
                sum += q;
            }
            lin->scale[n] = sc;
            lin->comp[n] = 128 * sum;
        }
    }
}

/* Pick the backend and allocate storage (weights still unset). */
/* The k-major layout of a sparse-input linear (AVIARY__LINEAR_SPARSE_X):
 * pk holds [in][np] (each input's weights to all outputs contiguous, rows
 * padded to NB outputs), described to oneDNN as plain strided weights so the
 * prefill primitive reads it directly. False when oneDNN refuses it. */
static bool setup_kmajor(aviary_linear *lin) {
    const int64_t np = round_up(lin->out, NB);
    dnnl_memory_desc_t wmd;
    dnnl_dims_t wd = {lin->in, lin->out}, st = {np, 1};
    dnnl_primitive_desc_t pd = NULL;
    if (dnnl_memory_desc_init_by_strides(&wmd, 2, wd, dnnl_wtype(lin->wt), st) != dnnl_success) return false;
    const bool native = dnnl_native(lin->wt);
    lin->src_u8 = lin->f32_tiles = false;
    bool ok = native && make_pd(lin, PD_PROBE_M, &wmd, &pd) == dnnl_success;
    if (!ok && native && lin->wt == AVIARY_WEIGHTS_INT8) { /* an s8 x refused: try u8 */
        lin->src_u8 = true;
        ok = make_pd(lin, PD_PROBE_M, &wmd, &pd) == dnnl_success;
    }
    if (!ok && lin->wt != AVIARY_WEIGHTS_F32) { /* no exact bf16 / int8 matmul: f32 tiles */
        lin->src_u8 = false;
        lin->f32_tiles = true;
        ok = make_tile_pd(lin, PD_PROBE_M, TILE_N, &pd) == dnnl_success;
    }
    if (!ok) {
        lin->src_u8 = lin->f32_tiles = false;
        return false;
    }
    dnnl_primitive_desc_destroy(pd);
    lin->kmajor = true;
    lin->kb = lin->vnni = 1;
    lin->kp = lin->in;
    lin->np = np;
    lin->wmd = wmd;
    return true;
}

static aviary_status setup(aviary_linear *lin, const char *nm, unsigned flags) {
    const char *env = getenv("AVIARY_MATMUL");
    bool want_c = env && !strcmp(env, "c");
    const int64_t outn = lin->out, in = lin->in;
    if (lin->wt == AVIARY_WEIGHTS_INT8 && !(lin->scale = aviary__alloc_aligned((size_t)outn * sizeof(float))))
        return aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
    if (!want_c) {
        pthread_once(&g_once, global_init);
        if (g_engine && g_tls_ok) {
            dnnl_memory_desc_t any;
            dnnl_dims_t wd = {in, outn};
            dnnl_primitive_desc_t pd = NULL;
            bool ok = (flags & AVIARY__LINEAR_SPARSE_X) && setup_kmajor(lin);
            /* int8: first with an s8 x; if that layout is not ours, with a u8
             * x (see src_u8); without an exact int8 matmul, k-major below */
            const int passes = !dnnl_native(lin->wt) ? 0 : lin->wt == AVIARY_WEIGHTS_INT8 ? 2 : 1;
            for (int pass = 0; !ok && pass < passes; pass++) {
                lin->src_u8 = pass == 1;
                ok = dnnl_memory_desc_init_by_tag(&any, 2, wd, dnnl_wtype(lin->wt), dnnl_format_tag_any) ==
                         dnnl_success &&
                     make_pd(lin, PD_PROBE_M, &any, &pd) == dnnl_success &&
                     adopt_layout(lin, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0));
                if (pd) dnnl_primitive_desc_destroy(pd);
                pd = NULL;
            }
            if (!ok) lin->src_u8 = false;
            /* No blocked layout of ours on offer (CPUs without AVX-512, where
             * oneDNN's gemm wants plain weights): the k-major layout then
             * serves every linear, its GEMV a row-streaming one. */
            if (!ok && !(flags & AVIARY__LINEAR_SPARSE_X)) ok = setup_kmajor(lin);
            /* comp and the u8 GEMV belong to the blocked layout */
            if (ok) {
                /* k-major: whole padded rows (oneDNN's size ends at the last real element) */
                const size_t bytes = lin->kmajor ? (size_t)(lin->in * lin->np) * wt_size(lin->wt)
                                                 : dnnl_memory_desc_get_size(&lin->wmd);
                lin->pk = aviary__alloc_aligned(bytes);
                /* comp serves the u8 GEMV on packed blocks and a u8 prefill;
                 * the k-major GEMV takes f32 x */
                const bool comp = lin->wt == AVIARY_WEIGHTS_INT8 && (!lin->kmajor || lin->src_u8);
                if (comp) lin->comp = aviary__alloc_aligned((size_t)lin->np * sizeof(int32_t));
                if (!lin->pk || (comp && !lin->comp))
                    return aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
                if (dnnl_memory_create(&lin->wmem, &lin->wmd, g_engine, lin->pk) != dnnl_success)
                    return aviary_error(AVIARY_NOMEM, "linear.c: %s: oneDNN memory creation failed", nm);
                if (pthread_mutex_init(&lin->mu, NULL))
                    return aviary_error(AVIARY_NOMEM, "linear.c: %s: mutex creation failed", nm);
                lin->mu_init = true;
                lin->be = BACKEND_DNNL;
                lin->wbytes = bytes + (lin->wt != AVIARY_WEIGHTS_INT8 ? 0
                                       : (size_t)outn * sizeof(float) +
                                             (lin->comp ? (size_t)lin->np * sizeof(int32_t) : 0));
                return AVIARY_OK;
            }
            aviary__free_aligned(lin->pk);
            lin->pk = NULL;
        }
    }
    lin->be = BACKEND_C;
    size_t n = (size_t)(outn * in);
    const size_t es = wt_size(lin->wt);
    if (!(lin->w = aviary__alloc_aligned(n * es))) return aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
    lin->wbytes = n * es + (lin->wt == AVIARY_WEIGHTS_INT8 ? (size_t)outn * sizeof(float) : 0);
    return AVIARY_OK;
}

aviary_status aviary__linear_create_rows(int64_t outn, int64_t in, aviary_weight_type wt, unsigned flags,
                                         aviary__linear_rows_fn fn, void *ctx, const float *bias, const char *name,
                                         aviary_linear **out) {
    if (out) *out = NULL;
    const char *nm = name ? name : "weight";
    if (!fn || !out || outn <= 0 || in <= 0 || wt < AVIARY_WEIGHTS_F32 || wt > AVIARY_WEIGHTS_INT8)
        return aviary_error(AVIARY_INVALID_ARG, "linear.c: %s: invalid create arguments", nm);
    size_t n;
    if (!aviary__mul_size((size_t)outn, (size_t)in, &n) || !aviary__mul_size(n, sizeof(float), &n))
        return aviary_error(AVIARY_NOMEM, "linear.c: %s: weight too large", nm);
    aviary_linear *lin = calloc(1, sizeof *lin);
    if (!lin) return aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
    lin->in = in; lin->out = outn; lin->wt = wt;
    aviary_status s = setup(lin, nm, flags);
    const int64_t chunk = PACK_ROWS < outn ? PACK_ROWS : outn;
    float *f = s ? NULL : aviary__alloc_aligned((size_t)(chunk * in) * sizeof(float));
    if (!s && !f) s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
    for (int64_t n0 = 0; !s && n0 < outn; n0 += chunk) {
        const int64_t cnt = outn - n0 < chunk ? outn - n0 : chunk;
        if (!(s = fn(ctx, n0, cnt, f))) store_rows(lin, n0, cnt, f);
    }
    aviary__free_aligned(f);
    if (!s && bias) {
        if (!(lin->bias = aviary__alloc_aligned((size_t)outn * sizeof(float))))
            s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
        else memcpy(lin->bias, bias, (size_t)outn * sizeof(float));
    }
    if (s) {
        aviary_linear_free(lin);
        return s;
    }
    *out = lin;
    return AVIARY_OK;
}

/* Row source over a tensor: rows of [out, in] (or columns of [in, out]). */
typedef struct tensor_rows {
    const aviary_tensor *w;
    bool transposed;
    float *tmp; /* transposed: [in, cnt] staging */
} tensor_rows;

static aviary_status tensor_rows_fn(void *ctx, int64_t n0, int64_t cnt, float *dst) {
    const tensor_rows *tr = ctx;
    aviary_tensor v = *tr->w;
    v.owned = NULL;
    const size_t es = aviary_dtype_size(v.dtype);
    if (!tr->transposed) {
        v.shape[0] = cnt;
        v.data = (char *)v.data + (size_t)(n0 * v.strides[0]) * es;
        return aviary_tensor_to_f32(&v, dst);
    }
    const int64_t in = v.shape[0];
    v.shape[1] = cnt;
    v.data = (char *)v.data + (size_t)(n0 * v.strides[1]) * es;
    aviary_status s = aviary_tensor_to_f32(&v, tr->tmp);
    if (s) return s;
    for (int64_t k = 0; k < in; k++)
        for (int64_t r = 0; r < cnt; r++) dst[r * in + k] = tr->tmp[k * cnt + r];
    return AVIARY_OK;
}

aviary_status aviary__linear_create_flags(const aviary_tensor *weight, const aviary_tensor *bias,
                                          const aviary_linear_params *params, unsigned flags, aviary_linear **out) {
    if (out) *out = NULL;
    if (!weight || !out) return aviary_error(AVIARY_INVALID_ARG, "linear.c: create: NULL weight or out");
    aviary_linear_params p = params ? *params : aviary_linear_default_params();
    const char *nm = weight->name ? weight->name : "weight";
    if (weight->ndim != 2 || weight->shape[0] <= 0 || weight->shape[1] <= 0)
        return aviary_error(AVIARY_SHAPE, "linear.c: %s: weight must be 2-D and non-empty", nm);
    if (!weight->data) return aviary_error(AVIARY_INVALID_ARG, "linear.c: %s: weight has no data", nm);
    if ((int)p.weights < AVIARY_WEIGHTS_AUTO || (int)p.weights > AVIARY_WEIGHTS_INT8)
        return aviary_error(AVIARY_INVALID_ARG, "linear.c: %s: invalid weight type %d", nm, (int)p.weights);
    int64_t rows = weight->shape[0], cols = weight->shape[1];
    int64_t outn = p.transposed ? cols : rows, in = p.transposed ? rows : cols;
    if (bias && (bias->ndim != 1 || bias->shape[0] != outn || !bias->data))
        return aviary_error(AVIARY_SHAPE, "linear.c: %s: bias must be 1-D of length %lld", nm, (long long)outn);
    aviary_weight_type wt = p.weights;
    if (wt == AVIARY_WEIGHTS_AUTO) wt = weight->dtype == AVIARY_BF16 ? AVIARY_WEIGHTS_BF16 : AVIARY_WEIGHTS_F32;
    float *b = NULL, *tmp = NULL;
    aviary_status s = AVIARY_OK;
    if (bias) {
        if (!(b = malloc((size_t)outn * sizeof(float)))) return aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
        if ((s = aviary_tensor_to_f32(bias, b))) goto done;
    }
    if (p.transposed && !(tmp = malloc((size_t)(in * (PACK_ROWS < outn ? PACK_ROWS : outn)) * sizeof(float)))) {
        s = aviary_error(AVIARY_NOMEM, "linear.c: %s: out of memory", nm);
        goto done;
    }
    tensor_rows tr = {weight, p.transposed, tmp};
    s = aviary__linear_create_rows(outn, in, wt, flags, tensor_rows_fn, &tr, b, nm, out);
done:
    free(b);
    free(tmp);
    return s;
}

aviary_status aviary_linear_create(const aviary_tensor *weight, const aviary_tensor *bias,
                                   const aviary_linear_params *params, aviary_linear **out) {
    return aviary__linear_create_flags(weight, bias, params, 0, out);
}

int64_t aviary_linear_in(const aviary_linear *lin) { return lin ? lin->in : 0; }
int64_t aviary_linear_out(const aviary_linear *lin) { return lin ? lin->out : 0; }
aviary_weight_type aviary_linear_weight_type(const aviary_linear *lin) {
    return lin ? lin->wt : AVIARY_WEIGHTS_AUTO;
}
size_t aviary_linear_bytes(const aviary_linear *lin) {
    return lin ? lin->wbytes + (lin->bias ? (size_t)lin->out * sizeof(float) : 0) : 0;
}
const char *aviary__linear_backend_name(const aviary_linear *lin) {
    return !lin ? "?" : lin->be == BACKEND_C ? "c" : lin->kmajor ? "onednn-kmajor" : "onednn";
}

/* ------------------------------------------------------- C backend -- */

static float row_dot(const aviary_linear *lin, int64_t o, const float *x) {
    int64_t in = lin->in;
    float acc = 0;
    if (lin->wt == AVIARY_WEIGHTS_F32) {
        const float *w = (const float *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += w[i] * x[i];
    } else if (lin->wt == AVIARY_WEIGHTS_BF16) {
        const uint16_t *w = (const uint16_t *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += aviary_bf16_to_f32(w[i]) * x[i];
    } else {
        const int8_t *w = (const int8_t *)lin->w + o * in;
        for (int64_t i = 0; i < in; i++) acc += (float)w[i] * x[i];
        acc *= lin->scale[o];
    }
    return acc + (lin->bias ? lin->bias[o] : 0.0f);
}

static void forward_c(const aviary_linear *lin, const float *x, int64_t m, float *y) {
    int64_t outn = lin->out, in = lin->in;
    int64_t total = m * outn;
#pragma omp parallel for schedule(static)
    for (int64_t k = 0; k < total; k++) {
        int64_t r = k / outn, o = k % outn;
        y[r * outn + o] = row_dot(lin, o, x + r * in);
    }
}

/* --------------------------------------------- GEMV on packed blocks -- */
/* Each kernel computes, for R rows of x (R <= GEMV_MAX_M) and one block of
 * 64 outputs, acc[r][0..63] over the whole padded k range. xs: the rows of x
 * in the kernel's input form, row stride xstride elements: f32 [kp]; bf16
 * pairs as uint32 [kp/2]; int8 as u8 quads (q + 128) as uint32 [kp/4]. */

static void blk_f32_c(const float *w, const float *x, int64_t xs, int R, int64_t kp, float *acc) {
    for (int r = 0; r < R; r++) {
        float a[NB] = {0};
        const float *xr = x + r * xs;
        for (int64_t k = 0; k < kp; k++)
            for (int j = 0; j < NB; j++) a[j] += w[k * NB + j] * xr[k];
        memcpy(acc + r * NB, a, sizeof a);
    }
}

static void blk_bf16_c(const uint16_t *w, const float *x, int64_t xs, int R, int64_t kp, float *acc) {
    for (int r = 0; r < R; r++) {
        float a[NB] = {0};
        const float *xr = x + r * xs;
        for (int64_t k2 = 0; k2 < kp / 2; k2++) {
            const float x0 = xr[2 * k2], x1 = xr[2 * k2 + 1];
            const uint16_t *wk = w + k2 * 2 * NB;
            for (int j = 0; j < NB; j++) a[j] += aviary_bf16_to_f32(wk[2 * j]) * x0 + aviary_bf16_to_f32(wk[2 * j + 1]) * x1;
        }
        memcpy(acc + r * NB, a, sizeof a);
    }
}

static void blk_s8_c(const int8_t *w, const uint32_t *x, int64_t xs, int R, int64_t kp, int32_t *acc) {
    for (int r = 0; r < R; r++) {
        int32_t a[NB] = {0};
        const uint32_t *xr = x + r * xs;
        for (int64_t k4 = 0; k4 < kp / 4; k4++) {
            const int8_t *wk = w + k4 * 4 * NB;
            const uint32_t q = xr[k4];
            const int32_t u0 = (int32_t)(q & 255), u1 = (int32_t)((q >> 8) & 255), u2 = (int32_t)((q >> 16) & 255),
                          u3 = (int32_t)(q >> 24);
            for (int j = 0; j < NB; j++)
                a[j] += u0 * wk[4 * j] + u1 * wk[4 * j + 1] + u2 * wk[4 * j + 2] + u3 * wk[4 * j + 3];
        }
        memcpy(acc + r * NB, a, sizeof a);
    }
}

#if HAVE_X86
/* AVX-512 versions. R is a compile-time constant in each instantiation so the
 * R x 4 accumulators stay in registers; every 64-byte weight row is loaded
 * once and used for all R rows of x. */
#define AVX512_F32_KERNEL(R)                                                                                  \
    __attribute__((target("avx512f"))) static void blk_f32_avx512_##R(const float *w, const float *x,        \
                                                                        int64_t xs, int64_t kp, float *acc) { \
        __m512 a[R][4];                                                                                       \
        for (int r = 0; r < R; r++)                                                                           \
            for (int j = 0; j < 4; j++) a[r][j] = _mm512_setzero_ps();                                        \
        for (int64_t k = 0; k < kp; k++) {                                                                    \
            const float *wk = w + k * NB;                                                                     \
            const __m512 w0 = _mm512_load_ps(wk), w1 = _mm512_load_ps(wk + 16), w2 = _mm512_load_ps(wk + 32), \
                         w3 = _mm512_load_ps(wk + 48);                                                        \
            for (int r = 0; r < R; r++) {                                                                     \
                const __m512 xb = _mm512_set1_ps(x[r * xs + k]);                                              \
                a[r][0] = _mm512_fmadd_ps(w0, xb, a[r][0]);                                                   \
                a[r][1] = _mm512_fmadd_ps(w1, xb, a[r][1]);                                                   \
                a[r][2] = _mm512_fmadd_ps(w2, xb, a[r][2]);                                                   \
                a[r][3] = _mm512_fmadd_ps(w3, xb, a[r][3]);                                                   \
            }                                                                                                 \
        }                                                                                                     \
        for (int r = 0; r < R; r++)                                                                           \
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + r * NB + 16 * j, a[r][j]);                     \
    }
AVX512_F32_KERNEL(2)
AVX512_F32_KERNEL(3)
AVX512_F32_KERNEL(4)

/* bf16 weights, f32 x: each 64-byte row holds 16 outputs x 2 k as bf16
 * pairs; the even k values become f32 by a 16-bit shift, the odd ones by
 * masking, then two FMAs (even and odd k into separate accumulators, so the
 * dependency chains are half as long). Exact f32 x: no rounding of x at all. */
#define AVX512_BF16_KERNEL(R)                                                                                   \
    __attribute__((target("avx512f,avx512bw"))) static void blk_bf16_avx512_##R(                               \
        const uint16_t *w, const float *x, int64_t xs, int64_t kp, float *acc) {                               \
        __m512 a[R][4], b[R][4];                                                                                \
        const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);                                                 \
        for (int r = 0; r < R; r++)                                                                             \
            for (int j = 0; j < 4; j++) a[r][j] = b[r][j] = _mm512_setzero_ps();                                \
        for (int64_t k2 = 0; k2 < kp / 2; k2++) {                                                               \
            const uint16_t *wk = w + k2 * 2 * NB;                                                               \
            for (int j = 0; j < 4; j++) {                                                                       \
                const __m512i v = _mm512_load_si512(wk + 32 * j);                                               \
                const __m512 we = _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));                                \
                const __m512 wo = _mm512_castsi512_ps(_mm512_and_si512(v, hi));                                 \
                for (int r = 0; r < R; r++) {                                                                   \
                    a[r][j] = _mm512_fmadd_ps(we, _mm512_set1_ps(x[r * xs + 2 * k2]), a[r][j]);                 \
                    b[r][j] = _mm512_fmadd_ps(wo, _mm512_set1_ps(x[r * xs + 2 * k2 + 1]), b[r][j]);             \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        for (int r = 0; r < R; r++)                                                                             \
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + r * NB + 16 * j, _mm512_add_ps(a[r][j], b[r][j])); \
    }
AVX512_BF16_KERNEL(2)
AVX512_BF16_KERNEL(3)
AVX512_BF16_KERNEL(4)

#define AVX512_S8_KERNEL(R)                                                                                     \
    __attribute__((target("avx512f,avx512bw,avx512vnni"))) static void blk_s8_avx512_##R(                      \
        const int8_t *w, const uint32_t *x, int64_t xs, int64_t kp, int32_t *acc) {                            \
        __m512i a[R][4];                                                                                        \
        for (int r = 0; r < R; r++)                                                                             \
            for (int j = 0; j < 4; j++) a[r][j] = _mm512_setzero_si512();                                       \
        for (int64_t k4 = 0; k4 < kp / 4; k4++) {                                                               \
            const int8_t *wk = w + k4 * 4 * NB;                                                                 \
            const __m512i w0 = _mm512_load_si512(wk), w1 = _mm512_load_si512(wk + 64),                          \
                          w2 = _mm512_load_si512(wk + 128), w3 = _mm512_load_si512(wk + 192);                   \
            for (int r = 0; r < R; r++) {                                                                       \
                const __m512i xb = _mm512_set1_epi32((int)x[r * xs + k4]);                                      \
                a[r][0] = _mm512_dpbusd_epi32(a[r][0], xb, w0);                                                 \
                a[r][1] = _mm512_dpbusd_epi32(a[r][1], xb, w1);                                                 \
                a[r][2] = _mm512_dpbusd_epi32(a[r][2], xb, w2);                                                 \
                a[r][3] = _mm512_dpbusd_epi32(a[r][3], xb, w3);                                                 \
            }                                                                                                   \
        }                                                                                                       \
        for (int r = 0; r < R; r++)                                                                             \
            for (int j = 0; j < 4; j++) _mm512_storeu_si512(acc + r * NB + 16 * j, a[r][j]);                    \
    }
AVX512_S8_KERNEL(4)
#endif

#if HAVE_X86
/* One-token kernels (R = 1; int8: its q1 and q2 rows) read the block as
 * S interleaved streams (S = g_gemv_streams), the k range cut in S equal
 * parts (kp / v is a multiple of 16), each prefetched GEMV_PF 256-byte units
 * ahead. On the Intel VM one sequential stream per core left DRAM bandwidth
 * unused: bench_membw read 26-27 GB/s with one stream per thread and 30-31
 * GB/s with four, and RWKV-6 24x2048 generation went from 7.9 to 10.2
 * tokens/s (bf16) and 15.4 to 18.4 (int8) with S = 4 (2, 8 and 16 were no
 * better). On the AMD Zen 4 VM it is the other way round: S = 1 gave, in
 * alternated runs (2 threads), int8 18.4 -> 19.7 and bf16 9.2 -> 10.8
 * tokens/s. So S is 1 on AMD CPUs and 4 elsewhere; AVIARY_GEMV_STREAMS=1|4
 * overrides it. */
#define GEMV_PF 4

#define PREFETCH_UNIT(p)                                                                                      \
    do {                                                                                                      \
        const char *p_ = (const char *)(p);                                                                   \
        _mm_prefetch(p_, _MM_HINT_T0); _mm_prefetch(p_ + 64, _MM_HINT_T0);                                    \
        _mm_prefetch(p_ + 128, _MM_HINT_T0); _mm_prefetch(p_ + 192, _MM_HINT_T0);                             \
    } while (0)

__attribute__((target("avx512f"), always_inline)) static inline void blk_f32_avx512_sb(const float *w,
                                                                                      const float *x, int64_t kp,
                                                                                      float *acc, const int S) {
    __m512 a[2][4];
    for (int j = 0; j < 4; j++) a[0][j] = a[1][j] = _mm512_setzero_ps();
    const int64_t q = kp / S;
    for (int64_t i = 0; i < q; i++)
        for (int s = 0; s < S; s++) {
            const int64_t k = s * q + i;
            const float *wk = w + k * NB;
            PREFETCH_UNIT(wk + GEMV_PF * NB);
            const __m512 xb = _mm512_set1_ps(x[k]);
            for (int j = 0; j < 4; j++) a[s & 1][j] = _mm512_fmadd_ps(_mm512_load_ps(wk + 16 * j), xb, a[s & 1][j]);
        }
    for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + 16 * j, _mm512_add_ps(a[0][j], a[1][j]));
}

__attribute__((target("avx512f,avx512bw"), always_inline)) static inline void blk_bf16_avx512_sb(
    const uint16_t *w, const float *x, int64_t kp, float *acc, const int S) {
    __m512 a[4], b[4];
    const __m512i hi = _mm512_set1_epi32((int)0xffff0000u);
    for (int j = 0; j < 4; j++) a[j] = b[j] = _mm512_setzero_ps();
    const int64_t q = kp / 2 / S;
    for (int64_t i = 0; i < q; i++)
        for (int s = 0; s < S; s++) {
            const int64_t k2 = s * q + i;
            const uint16_t *wk = w + k2 * 2 * NB;
            PREFETCH_UNIT(wk + GEMV_PF * 2 * NB);
            const __m512 xe = _mm512_set1_ps(x[2 * k2]), xo = _mm512_set1_ps(x[2 * k2 + 1]);
            for (int j = 0; j < 4; j++) {
                const __m512i v = _mm512_load_si512(wk + 32 * j);
                a[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_slli_epi32(v, 16)), xe, a[j]);
                b[j] = _mm512_fmadd_ps(_mm512_castsi512_ps(_mm512_and_si512(v, hi)), xo, b[j]);
            }
        }
    for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + 16 * j, _mm512_add_ps(a[j], b[j]));
}

/* int8, the two quantized rows of one token (q1 and the residual q2) */
__attribute__((target("avx512f,avx512bw,avx512vnni"), always_inline)) static inline void blk_s8_avx512_sb(
    const int8_t *w, const uint32_t *x, int64_t xs, int64_t kp, int32_t *acc, const int S) {
    __m512i a[2][4];
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 4; j++) a[r][j] = _mm512_setzero_si512();
    const int64_t q = kp / 4 / S;
    for (int64_t i = 0; i < q; i++) {
        for (int s = 0; s < S; s++) {
            const int64_t k4 = s * q + i;
            const int8_t *wk = w + k4 * 4 * NB;
            PREFETCH_UNIT(wk + GEMV_PF * 4 * NB);
            const __m512i w0 = _mm512_load_si512(wk), w1 = _mm512_load_si512(wk + 64),
                          w2 = _mm512_load_si512(wk + 128), w3 = _mm512_load_si512(wk + 192);
            for (int r = 0; r < 2; r++) {
                const __m512i xb = _mm512_set1_epi32((int)x[r * xs + k4]);
                a[r][0] = _mm512_dpbusd_epi32(a[r][0], xb, w0);
                a[r][1] = _mm512_dpbusd_epi32(a[r][1], xb, w1);
                a[r][2] = _mm512_dpbusd_epi32(a[r][2], xb, w2);
                a[r][3] = _mm512_dpbusd_epi32(a[r][3], xb, w3);
            }
        }
    }
    for (int r = 0; r < 2; r++)
        for (int j = 0; j < 4; j++) _mm512_storeu_si512(acc + r * NB + 16 * j, a[r][j]);
}


__attribute__((target("avx512f"))) static void blk_f32_avx512_s(const float *w, const float *x, int64_t kp,
                                                                float *acc) {
    if (g_gemv_streams == 1) blk_f32_avx512_sb(w, x, kp, acc, 1);
    else blk_f32_avx512_sb(w, x, kp, acc, 4);
}
__attribute__((target("avx512f,avx512bw"))) static void blk_bf16_avx512_s(const uint16_t *w, const float *x,
                                                                          int64_t kp, float *acc) {
    if (g_gemv_streams == 1) blk_bf16_avx512_sb(w, x, kp, acc, 1);
    else blk_bf16_avx512_sb(w, x, kp, acc, 4);
}
__attribute__((target("avx512f,avx512bw,avx512vnni"))) static void blk_s8_avx512_s(const int8_t *w,
                                                                                   const uint32_t *x, int64_t xs,
                                                                                   int64_t kp, int32_t *acc) {
    if (g_gemv_streams == 1) blk_s8_avx512_sb(w, x, xs, kp, acc, 1);
    else blk_s8_avx512_sb(w, x, xs, kp, acc, 4);
}
#endif

static void run_blk(const aviary_linear *lin, int64_t b, const void *xin, int64_t xs, int R, void *acc) {
    const int64_t kp = lin->kp;
    if (lin->wt == AVIARY_WEIGHTS_F32) {
        const float *w = (const float *)lin->pk + b * kp * NB;
#if HAVE_X86
        if (g_cpu_avx512) {
            if (R == 1) { blk_f32_avx512_s(w, xin, kp, acc); return; }
            switch (R) {
            case 2: blk_f32_avx512_2(w, xin, xs, kp, acc); return;
            case 3: blk_f32_avx512_3(w, xin, xs, kp, acc); return;
            default: blk_f32_avx512_4(w, xin, xs, kp, acc); return;
            }
        }
#endif
        blk_f32_c(w, xin, xs, R, kp, acc);
    } else if (lin->wt == AVIARY_WEIGHTS_BF16) {
        const uint16_t *w = (const uint16_t *)lin->pk + b * kp * NB;
#if HAVE_X86
        if (g_cpu_avx512) {
            if (R == 1) { blk_bf16_avx512_s(w, xin, kp, acc); return; }
            switch (R) {
            case 2: blk_bf16_avx512_2(w, xin, xs, kp, acc); return;
            case 3: blk_bf16_avx512_3(w, xin, xs, kp, acc); return;
            default: blk_bf16_avx512_4(w, xin, xs, kp, acc); return;
            }
        }
#endif
        blk_bf16_c(w, xin, xs, R, kp, acc);
    } else {
        const int8_t *w = (const int8_t *)lin->pk + b * kp * NB;
#if HAVE_X86
        if (g_cpu_vnni) {
            /* gemv_block passes the q1/q2 rows of one or two tokens at a time */
            assert(R == 2 || R == 4);
            if (R == 2) blk_s8_avx512_s(w, xin, xs, kp, acc);
            else blk_s8_avx512_4(w, xin, xs, kp, acc);
            return;
        }
#endif
        blk_s8_c(w, xin, xs, R, kp, acc);
    }
}

/* x = hi + lo with hi = bf16(x), lo = bf16(x - hi): W x = W hi + W lo, each
 * an exact bf16 x bf16 product accumulated in f32, is within ~2^-16 of the
 * f32 result (bf16 x alone would be 2^-9: far outside the reference
 * tolerances of bf16 checkpoints, which upcast weights and keep x f32). */
static void split_bf16_c(const float *x, int64_t n, uint16_t *hi, uint16_t *lo) {
    for (int64_t i = 0; i < n; i++) {
        const uint16_t h = aviary_f32_to_bf16(x[i]);
        hi[i] = h;
        lo[i] = aviary_f32_to_bf16(x[i] - aviary_bf16_to_f32(h));
    }
}

/* Symmetric int8 quantization of one row of x (scale max|x| / 127, round to
 * nearest even); returns the scale. */
static float quant_x_c(const float *x, int64_t n, int8_t *q) {
    float mx = 0;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(x[i]);
        mx = a > mx ? a : mx;
    }
    const float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
    for (int64_t i = 0; i < n; i++) q[i] = (int8_t)lrintf(x[i] * inv);
    return sc;
}

#if HAVE_X86
__attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16"))) static void split_bf16_avx512(const float *x, int64_t n,
                                                                                      uint16_t *hi, uint16_t *lo) {
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 v = _mm512_maskz_loadu_ps(mk, x + i);
        const __m256i h = (__m256i)_mm512_cvtneps_pbh(v);
        const __m512 hf = _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
        const __m256i l = (__m256i)_mm512_cvtneps_pbh(_mm512_sub_ps(v, hf));
        _mm256_mask_storeu_epi16(hi + i, mk, h);
        _mm256_mask_storeu_epi16(lo + i, mk, l);
    }
}

__attribute__((target("avx512f,avx512bw"))) static float quant_x_avx512(const float *x, int64_t n, int8_t *q) {
    __m512 mx = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_maskz_loadu_ps(mk, x + i)));
    }
    const float m = _mm512_reduce_max_ps(mx);
    const float sc = m > 0 ? m / 127.0f : 1.0f, inv = 1.0f / sc;
    const __m512 iv = _mm512_set1_ps(inv);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_maskz_loadu_ps(mk, x + i), iv)); /* RNE */
        _mm512_mask_cvtsepi32_storeu_epi8(q + i, mk, v);
    }
    return sc;
}
#endif

/* The int8 GEMV quantizes x in two levels: x ~= s1 q1 + s2 q2, q1 as
 * quant_x, q2 the residual x - s1 q1 quantized the same way (s2 ~ s1 / 254),
 * so x keeps ~15 bits and int8 generation costs only the weight rounding.
 * Writes q2, returns s2. */
static float quant_resid_c(const float *x, int64_t n, const int8_t *q1, float s1, int8_t *q2) {
    float mx = 0;
    for (int64_t i = 0; i < n; i++) {
        const float a = fabsf(x[i] - s1 * (float)q1[i]);
        mx = a > mx ? a : mx;
    }
    const float sc = mx > 0 ? mx / 127.0f : 1.0f, inv = 1.0f / sc;
    for (int64_t i = 0; i < n; i++) q2[i] = (int8_t)lrintf((x[i] - s1 * (float)q1[i]) * inv);
    return sc;
}

#if HAVE_X86
__attribute__((target("avx512f,avx512bw,avx512vl"))) static float quant_resid_avx512(const float *x, int64_t n,
                                                                             const int8_t *q1, float s1, int8_t *q2) {
    const __m512 vs1 = _mm512_set1_ps(s1);
    __m512 mx = _mm512_setzero_ps();
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, q1 + i)));
        const __m512 r = _mm512_fnmadd_ps(vs1, q, _mm512_maskz_loadu_ps(mk, x + i));
        mx = _mm512_max_ps(mx, _mm512_abs_ps(r));
    }
    const float m = _mm512_reduce_max_ps(mx);
    const float sc = m > 0 ? m / 127.0f : 1.0f;
    const __m512 iv = _mm512_set1_ps(1.0f / sc);
    for (int64_t i = 0; i < n; i += 16) {
        const __mmask16 mk = n - i >= 16 ? 0xffff : (__mmask16)((1u << (n - i)) - 1);
        const __m512 q = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mk, q1 + i)));
        const __m512 r = _mm512_fnmadd_ps(vs1, q, _mm512_maskz_loadu_ps(mk, x + i));
        _mm512_mask_cvtsepi32_storeu_epi8(q2 + i, mk, _mm512_cvtps_epi32(_mm512_mul_ps(r, iv)));
    }
    return sc;
}
#endif

/* q + 128 as u8, in place: flipping the sign bit of two's complement adds 128. */
static void to_u8(int8_t *q, int64_t n) {
    uint8_t *u = (uint8_t *)q;
    for (int64_t i = 0; i < n; i++) u[i] ^= 0x80;
}

static float quant_resid(const float *x, int64_t n, const int8_t *q1, float s1, int8_t *q2) {
#if HAVE_X86
    if (g_cpu_avx512) return quant_resid_avx512(x, n, q1, s1, q2);
#endif
    return quant_resid_c(x, n, q1, s1, q2);
}

static void split_bf16(const float *x, int64_t n, uint16_t *hi, uint16_t *lo) {
#if HAVE_X86
    if (g_cpu_bf16) {
        split_bf16_avx512(x, n, hi, lo);
        return;
    }
#endif
    split_bf16_c(x, n, hi, lo);
}

static float quant_x(const float *x, int64_t n, int8_t *q) {
#if HAVE_X86
    if (g_cpu_avx512) return quant_x_avx512(x, n, q);
#endif
    return quant_x_c(x, n, q);
}

/* One GEMV (m <= GEMV_MAX_M rows) prepared for the kernels: x converted
 * into the thread's buffer, then any block of 64 outputs can run on its own. */
typedef struct gemv_job {
    const aviary_linear *lin;
    const uint32_t *xb;  /* x in kernel form, row stride xs 4-byte units */
    const float *xsc;    /* int8: per-row x scales */
    int64_t xs;
    int R;
    float *y;
} gemv_job;

/* 4-byte units of kernel-form x for R rows (plus room for R scales). x forms:
 * f32 and bf16 weights: f32 x padded to kp; int8: u8 quads (q + 128). */
static int64_t gemv_xs(const aviary_linear *lin) { return lin->wt == AVIARY_WEIGHTS_INT8 ? lin->kp / 4 : lin->kp; }
/* int8 keeps two quantized rows (q1, residual q2) per row of x */
static int gemv_rows(const aviary_linear *lin, int R) { return lin->wt == AVIARY_WEIGHTS_INT8 ? 2 * R : R; }
static size_t gemv_units(const aviary_linear *lin, int R) {
    /* rows, their scales, and 16-unit (64-byte) alignment for the next job */
    return (size_t)(gemv_rows(lin, R) * gemv_xs(lin)) + 2 * GEMV_MAX_M + 15;
}

static void gemv_prep(const aviary_linear *lin, const float *x, int R, float *y, uint32_t *xb, gemv_job *j) {
    const int64_t in = lin->in, kp = lin->kp, xs = gemv_xs(lin);
    const int XR = gemv_rows(lin, R);
    float *xsc = (float *)(xb + XR * xs);
    memset(xb, 0, (size_t)(XR * xs) * 4);
    for (int r = 0; r < R; r++) {
        const float *xr = x + r * in;
        if (lin->wt != AVIARY_WEIGHTS_INT8) memcpy(xb + r * xs, xr, (size_t)in * sizeof(float));
        else {
            /* rows 2r (q1) and 2r + 1 (residual q2), each as u8 = q + 128 */
            int8_t *q1 = (int8_t *)(xb + 2 * r * xs), *q2 = (int8_t *)(xb + (2 * r + 1) * xs);
            xsc[2 * r] = quant_x(xr, in, q1);
            xsc[2 * r + 1] = quant_resid(xr, in, q1, xsc[2 * r], q2);
            for (int64_t k = 0; k < kp; k++) { /* padding: weights there are 0 */
                ((uint8_t *)q1)[k] = (uint8_t)(q1[k] + 128);
                ((uint8_t *)q2)[k] = (uint8_t)(q2[k] + 128);
            }
        }
    }
    *j = (gemv_job){lin, xb, xsc, xs, R, y};
}

static void gemv_block(const gemv_job *jb, int64_t b) {
    const aviary_linear *lin = jb->lin;
    const int R = jb->R;
    const int64_t xs = jb->xs, outn = lin->out;
    _Alignas(64) float acc[2 * GEMV_MAX_M * NB];
    if (lin->wt == AVIARY_WEIGHTS_INT8)
        /* the kernels take up to 4 rows: two rows of x (q1 and q2 rows) at a time */
        for (int r0 = 0; r0 < R; r0 += 2)
            run_blk(lin, b, jb->xb + 2 * r0 * xs, xs, R - r0 < 2 ? 2 : 4, acc + 2 * r0 * NB);
    else run_blk(lin, b, jb->xb, xs, R, acc);
    const int64_t n0 = b * NB, cnt = outn - n0 < NB ? outn - n0 : NB;
    for (int r = 0; r < R; r++) {
        float *yr = jb->y + r * outn + n0;
        if (lin->wt == AVIARY_WEIGHTS_INT8) {
            const int32_t *a1 = (const int32_t *)acc + 2 * r * NB, *a2 = a1 + NB;
            const float s1 = jb->xsc[2 * r], s2 = jb->xsc[2 * r + 1];
            for (int64_t j = 0; j < cnt; j++) {
                const int32_t c = lin->comp[n0 + j];
                yr[j] = ((float)(a1[j] - c) * s1 + (float)(a2[j] - c) * s2) * lin->scale[n0 + j];
            }
        } else memcpy(yr, acc + r * NB, (size_t)cnt * sizeof(float));
        if (lin->bias)
            for (int64_t j = 0; j < cnt; j++) yr[j] += lin->bias[n0 + j];
    }
}

/* Worth waking the other threads for: at least ~256 KB of weights (below
 * that a fork/join costs about what the GEMV does). Blocks are handed out
 * dynamically, 4 at a time: on a shared machine a thread that starts late
 * (woken while its CPU was busy) then just takes fewer blocks instead of
 * making the others wait for its fixed half (measured +13% tokens/s for
 * RWKV-7 12x768 int8 on 2 threads, no loss on RWKV-6 24x2048). */
#define GEMV_PAR_BYTES ((int64_t)1 << 18)

/* Blocks run on spin_pool (spin_pool.h: no futex wake-up per GEMV under
 * OMP_WAIT_POLICY=PASSIVE); OpenMP when the pool is unavailable. */
static void gemv_item(void *ctx, int64_t b) { gemv_block((const gemv_job *)ctx, b); }

typedef struct multi_job {
    int n;
    const gemv_job *jobs;
    const int64_t *first; /* [n + 1]: first global block of each linear */
} multi_job;

static void multi_item(void *ctx, int64_t g) {
    const multi_job *mj = ctx;
    int i = 0;
    while (g >= mj->first[i + 1]) i++;
    gemv_block(&mj->jobs[i], g - mj->first[i]);
}

static int64_t gemv_bytes(const aviary_linear *lin) { return lin->kp * lin->np * (4 / lin->vnni); }

/* Blocks per hand-out: 4, except for GEMVs of few blocks (a LoRA's 160 x
 * 2048, 3 blocks), which one thread would otherwise take whole. */
static int64_t gemv_chunk(int64_t nblk) { return nblk >= 16 ? 4 : 1; }

static aviary_status forward_gemv(const aviary_linear *lin, tls *t, const float *x, int64_t m, float *y) {
    uint32_t *xb = tls_buf(&t->xbuf, &t->xcap, gemv_units(lin, (int)m) * 4);
    if (!xb) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
    gemv_job j;
    gemv_prep(lin, x, (int)m, y, xb, &j);
    const int64_t nblk = lin->np / NB;
    if (nblk > 1 && gemv_bytes(lin) >= GEMV_PAR_BYTES) {
        if (!aviary__pool_for(nblk, gemv_chunk(nblk), gemv_item, &j)) {
#pragma omp parallel for schedule(dynamic, 4)
            for (int64_t b = 0; b < nblk; b++) gemv_block(&j, b);
        }
    } else
        for (int64_t b = 0; b < nblk; b++) gemv_block(&j, b);
    return AVIARY_OK;
}

/* ------------------------------------- sparse-input GEMV (k-major) -- */
/* For a linear whose input is mostly exact zeros -- RWKV's channel-mix value
 * projection, fed relu(k)^2 -- one token only needs the weight rows of the
 * nonzero inputs: y = sum over k with x[k] != 0 of x[k] W[k][:]. The k-major
 * layout makes each such row one contiguous read, and the zero inputs' rows
 * are never read. The product is exact in the skipped terms (they are 0 *
 * w), so this changes only the summation order; int8 weights are multiplied
 * by f32 x here (no quantization of x). The nonzero rows are split into
 * SPARSE_ITEMS ranges summed into separate partials (so no two threads write
 * one output), then added up in a fixed order: results do not depend on
 * which thread ran what. */
#define SPARSE_ITEMS 8
#define SPARSE_ROWS_MIN 16 /* nonzero rows per item at least */

typedef struct sparse_job {
    const aviary_linear *lin;
    const float *x;     /* [m, in] */
    int m;
    const int32_t *idx; /* nonzero inputs (any row), ascending */
    int64_t nnz;
    int items;
    float *part;        /* [items][m][np] */
} sparse_job;

static void sparse_rows_c(const aviary_linear *lin, const float *x, int m, const int32_t *idx, int64_t cnt,
                          float *part) {
    const int64_t np = lin->np, in = lin->in;
    for (int64_t i = 0; i < cnt; i++) {
        const int64_t k = idx[i];
        for (int r = 0; r < m; r++) {
            const float xv = x[r * in + k];
            float *pr = part + r * np;
            if (xv == 0.0f) continue;
            if (lin->wt == AVIARY_WEIGHTS_F32) {
                const float *w = (const float *)lin->pk + k * np;
                for (int64_t n = 0; n < np; n++) pr[n] += xv * w[n];
            } else if (lin->wt == AVIARY_WEIGHTS_BF16) {
                const uint16_t *w = (const uint16_t *)lin->pk + k * np;
                for (int64_t n = 0; n < np; n++) pr[n] += xv * aviary_bf16_to_f32(w[n]);
            } else {
                const int8_t *w = (const int8_t *)lin->pk + k * np;
                for (int64_t n = 0; n < np; n++) pr[n] += xv * (float)w[n];
            }
        }
    }
}

#if HAVE_X86
/* 16 weights of row w (element offset n) as f32 */
#define SP_LOAD_F32(w, n) _mm512_loadu_ps((const float *)(w) + (n))
#define SP_LOAD_BF16(w, n) \
    _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)((const uint16_t *)(w) + (n)))), 16))
#define SP_LOAD_S8(w, n) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)((const int8_t *)(w) + (n)))))

/* One row of x (m == 1), SPARSE_G nonzero inputs at a time: each 64-output
 * stretch of the partial is loaded once, gets SPARSE_G rows' products, and
 * is stored; the next group's rows are prefetched at the same stretch.
 * Measured on the 2-core VM, 2048 x 7168 (RWKV-6 1.6B's value), 2 threads:
 * with half the inputs zero 0.71 ms (bf16) / 0.37 ms (int8) per call against
 * 0.98 / 0.50 dense -- not 2x, since the hardware prefetcher also fetches
 * the skipped rows next to needed ones; with 90% zero 0.11 / 0.08 ms. */
#define SPARSE_G 8
/* One kernel body for both vector widths: V the vector type, L its f32
 * lanes, P the intrinsics' prefix (_mm512 / _mm256). */
#define SPARSE_KERNEL(NAME, TARGET, V, L, P, T, LOAD)                                                          \
    __attribute__((target(TARGET))) static void NAME(const aviary_linear *lin, const float *x,                  \
                                                     const int32_t *idx, int64_t cnt, float *part) {             \
        const int64_t np = lin->np;                                                                             \
        const T *base = (const T *)lin->pk;                                                                     \
        int64_t i = 0;                                                                                          \
        for (; i + SPARSE_G <= cnt; i += SPARSE_G) {                                                            \
            const T *w[SPARSE_G];                                                                               \
            V xv[SPARSE_G];                                                                                     \
            for (int g = 0; g < SPARSE_G; g++) {                                                                \
                w[g] = base + idx[i + g] * np;                                                                  \
                xv[g] = P##_set1_ps(x[idx[i + g]]);                                                             \
            }                                                                                                   \
            const int64_t p0 = i + SPARSE_G, p1 = p0 + SPARSE_G < cnt ? p0 + SPARSE_G : cnt;                    \
            for (int64_t n = 0; n < np; n += 64) {                                                              \
                for (int64_t p = p0; p < p1; p++)                                                               \
                    for (size_t b = 0; b < 64 * sizeof(T); b += 64)                                             \
                        _mm_prefetch((const char *)(base + idx[p] * np + n) + b, _MM_HINT_T0);                  \
                for (int j = 0; j < 64 / (L); j++) {                                                            \
                    V a = P##_load_ps(part + n + (L) * j);                                                      \
                    for (int g = 0; g < SPARSE_G; g++) a = P##_fmadd_ps(LOAD(w[g], n + (L) * j), xv[g], a);      \
                    P##_store_ps(part + n + (L) * j, a);                                                        \
                }                                                                                               \
            }                                                                                                   \
        }                                                                                                       \
        for (; i < cnt; i++) {                                                                                  \
            const T *w0 = base + idx[i] * np;                                                                   \
            const V x0 = P##_set1_ps(x[idx[i]]);                                                                \
            for (int64_t n = 0; n < np; n += (L))                                                               \
                P##_store_ps(part + n, P##_fmadd_ps(LOAD(w0, n), x0, P##_load_ps(part + n)));                   \
        }                                                                                                       \
    }
#define SPARSE_KERNEL_AVX512(NAME, T, LOAD) SPARSE_KERNEL(NAME, "avx512f,avx512bw", __m512, 16, _mm512, T, LOAD)
SPARSE_KERNEL_AVX512(sparse_rows_f32_avx512, float, SP_LOAD_F32)
SPARSE_KERNEL_AVX512(sparse_rows_bf16_avx512, uint16_t, SP_LOAD_BF16)
SPARSE_KERNEL_AVX512(sparse_rows_s8_avx512, int8_t, SP_LOAD_S8)

/* The same for CPUs with AVX2 and FMA but not AVX-512, 8 outputs a vector.
 * There every linear has the k-major layout (see setup), so this is also
 * their dense one-token GEMV. */
#define SP2_LOAD_F32(w, n) _mm256_loadu_ps((const float *)(w) + (n))
#define SP2_LOAD_BF16(w, n) \
    _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)((const uint16_t *)(w) + (n)))), 16))
#define SP2_LOAD_S8(w, n) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)((const int8_t *)(w) + (n)))))
#define SPARSE_KERNEL_AVX2(NAME, T, LOAD) SPARSE_KERNEL(NAME, "avx2,fma", __m256, 8, _mm256, T, LOAD)
SPARSE_KERNEL_AVX2(sparse_rows_f32_avx2, float, SP2_LOAD_F32)
SPARSE_KERNEL_AVX2(sparse_rows_bf16_avx2, uint16_t, SP2_LOAD_BF16)
SPARSE_KERNEL_AVX2(sparse_rows_s8_avx2, int8_t, SP2_LOAD_S8)
#endif

static void sparse_item(void *ctx, int64_t it) {
    const sparse_job *j = ctx;
    const aviary_linear *lin = j->lin;
    const int64_t i0 = it * j->nnz / j->items, i1 = (it + 1) * j->nnz / j->items;
    float *part = j->part + it * j->m * lin->np;
    memset(part, 0, (size_t)(j->m * lin->np) * sizeof(float));
#if HAVE_X86
    /* one row of x: the vector kernels, indexed [precision - F32] */
    typedef void (*rows_fn)(const aviary_linear *, const float *, const int32_t *, int64_t, float *);
    static const rows_fn avx512[3] = {sparse_rows_f32_avx512, sparse_rows_bf16_avx512, sparse_rows_s8_avx512};
    static const rows_fn avx2[3] = {sparse_rows_f32_avx2, sparse_rows_bf16_avx2, sparse_rows_s8_avx2};
    if ((g_cpu_avx512 || g_cpu_avx2) && j->m == 1) {
        (g_cpu_avx512 ? avx512 : avx2)[lin->wt - AVIARY_WEIGHTS_F32](lin, j->x, j->idx + i0, i1 - i0, part);
        return;
    }
#endif
    sparse_rows_c(lin, j->x, j->m, j->idx + i0, i1 - i0, part);
}

/* The inputs k (ascending) where any of the m rows of x is nonzero (x != 0,
 * so NaN counts as nonzero and -0 as zero); returns their count. The scalar
 * loop cost ~35 us per RWKV-6 1.6B value call (7168 inputs), ~10% of the
 * call; the AVX-512 one compares 16 inputs at a time and compress-stores
 * their indices. */
static int64_t nonzero_inputs_c(const float *x, int64_t m, int64_t in, int32_t *idx) {
    int64_t nnz = 0;
    for (int64_t k = 0; k < in; k++) {
        bool nz = false;
        for (int64_t r = 0; r < m; r++) nz |= x[r * in + k] != 0.0f;
        if (nz) idx[nnz++] = (int32_t)k;
    }
    return nnz;
}

#if HAVE_X86
__attribute__((target("avx512f"))) static int64_t nonzero_inputs_avx512(const float *x, int64_t m, int64_t in,
                                                                       int32_t *idx) {
    int64_t nnz = 0;
    const __m512i step = _mm512_set1_epi32(16);
    __m512i k16 = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    for (int64_t k = 0; k < in; k += 16, k16 = _mm512_add_epi32(k16, step)) {
        const __mmask16 live = in - k >= 16 ? 0xffff : (__mmask16)((1u << (in - k)) - 1);
        __mmask16 nz = 0;
        for (int64_t r = 0; r < m; r++)
            nz |= _mm512_mask_cmp_ps_mask(live, _mm512_maskz_loadu_ps(live, x + r * in + k), _mm512_setzero_ps(),
                                          _CMP_NEQ_UQ);
        _mm512_mask_compressstoreu_epi32(idx + nnz, nz, k16);
        nnz += __builtin_popcount(nz);
    }
    return nnz;
}
#endif

static int64_t nonzero_inputs(const float *x, int64_t m, int64_t in, int32_t *idx) {
#if HAVE_X86
    if (g_cpu_avx512) return nonzero_inputs_avx512(x, m, in, idx);
#endif
    return nonzero_inputs_c(x, m, in, idx);
}

static aviary_status forward_sparse(const aviary_linear *lin, tls *t, const float *x, int64_t m, float *y) {
    const int64_t in = lin->in, outn = lin->out, np = lin->np;
    int32_t *idx = tls_buf(&t->xbuf, &t->xcap, (size_t)in * sizeof(int32_t));
    if (!idx) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
    const int64_t nnz = nonzero_inputs(x, m, in, idx);
    int items = (int)(nnz / SPARSE_ROWS_MIN);
    items = items < 1 ? 1 : items > SPARSE_ITEMS ? SPARSE_ITEMS : items;
    float *part = tls_buf(&t->ybuf, &t->ycap, (size_t)(items * m * np) * sizeof(float));
    if (!part) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
    sparse_job j = {lin, x, (int)m, idx, nnz, items, part};
    if (items > 1 && nnz * np * (int64_t)wt_size(lin->wt) >= GEMV_PAR_BYTES) {
        if (!aviary__pool_for(items, 1, sparse_item, &j)) {
#pragma omp parallel for schedule(dynamic, 1)
            for (int64_t it = 0; it < items; it++) sparse_item(&j, it);
        }
    } else
        for (int64_t it = 0; it < items; it++) sparse_item(&j, it);
    for (int64_t r = 0; r < m; r++) {
        float *yr = y + r * outn;
        memcpy(yr, part + r * np, (size_t)outn * sizeof(float));
        for (int it = 1; it < items; it++) {
            const float *pr = part + (it * m + r) * np;
            for (int64_t n = 0; n < outn; n++) yr[n] += pr[n];
        }
        if (lin->wt == AVIARY_WEIGHTS_INT8)
            for (int64_t n = 0; n < outn; n++) yr[n] *= lin->scale[n];
        if (lin->bias)
            for (int64_t n = 0; n < outn; n++) yr[n] += lin->bias[n];
    }
    return AVIARY_OK;
}

#define MULTI_MAX 8

aviary_status aviary__linear_forward_multi(int n, const aviary_linear *const *lins, const float *const *xs, int64_t m,
                                           float *const *ys) {
    if (n < 1 || n > MULTI_MAX || !lins || !xs || !ys)
        return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward_multi: bad arguments");
    bool fused = m >= 1 && m <= GEMV_MAX_M;
    size_t units = 0;
    for (int i = 0; i < n && fused; i++) {
        if (!lins[i] || lins[i]->be != BACKEND_DNNL || lins[i]->kmajor) fused = false;
        else units += gemv_units(lins[i], (int)m);
    }
    tls *t = fused ? get_tls() : NULL;
    uint32_t *xb = t ? tls_buf(&t->xbuf, &t->xcap, units * 4) : NULL;
    if (!xb) {
        for (int i = 0; i < n; i++) {
            aviary_status s = aviary_linear_forward(lins[i], xs[i], m, ys[i]);
            if (s) return s;
        }
        return AVIARY_OK;
    }
    gemv_job jobs[MULTI_MAX];
    int64_t first[MULTI_MAX + 1];
    int64_t bytes = 0;
    first[0] = 0;
    for (int i = 0; i < n; i++) {
        if (!xs[i] || !ys[i]) return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward_multi: NULL argument");
        gemv_prep(lins[i], xs[i], (int)m, ys[i], xb, &jobs[i]);
        xb += gemv_units(lins[i], (int)m) & ~(size_t)15;
        first[i + 1] = first[i] + lins[i]->np / NB;
        bytes += gemv_bytes(lins[i]);
    }
    /* one parallel loop over every block of every linear */
    multi_job mj = {n, jobs, first};
    if (first[n] > 1 && bytes >= GEMV_PAR_BYTES) {
        if (!aviary__pool_for(first[n], gemv_chunk(first[n]), multi_item, &mj)) {
#pragma omp parallel for schedule(dynamic, 4)
            for (int64_t g = 0; g < first[n]; g++) multi_item(&mj, g);
        }
    } else
        for (int64_t g = 0; g < first[n]; g++) multi_item(&mj, g);
    return AVIARY_OK;
}

/* -------------------------------------------------- oneDNN primitive -- */

/* The primitive for m rows (n == 0) or for m rows of an f32_tiles tile n
 * wide, from the linear's cache or made now. */
static aviary_status get_prim(aviary_linear *lin, int64_t m, int64_t n, prim_entry *out, bool *temp) {
    *temp = false;
    pthread_mutex_lock(&lin->mu);
    for (int i = 0; i < PRIM_CACHE; i++)
        if (lin->cache[i].prim && lin->cache[i].m == m && lin->cache[i].n == n) {
            *out = lin->cache[i];
            pthread_mutex_unlock(&lin->mu);
            return AVIARY_OK;
        }
    dnnl_primitive_desc_t pd = NULL;
    dnnl_primitive_t prim = NULL;
    dnnl_status_t e = n ? make_tile_pd(lin, m, n, &pd) : make_pd(lin, m, &lin->wmd, &pd);
    size_t scr = 0;
    if (!e) {
        scr = dnnl_memory_desc_get_size(dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0));
        e = dnnl_primitive_create(&prim, pd);
    }
    if (pd) dnnl_primitive_desc_destroy(pd);
    if (e) {
        pthread_mutex_unlock(&lin->mu);
        return aviary_error(AVIARY_UNSUPPORTED, "linear.c: oneDNN matmul %lldx%lldx%lld (%s): error %d", (long long)m,
                            (long long)lin->in, (long long)lin->out, aviary_weight_type_name(lin->wt), (int)e);
    }
    /* Cache it in a free slot. When the cache is full the primitive serves
     * this call only (the caller destroys it): a cached primitive may be
     * running on another thread at any time, so entries are never evicted. */
    out->m = m; out->n = n; out->prim = prim; out->scratch = scr;
    for (int i = 0; i < PRIM_CACHE; i++)
        if (!lin->cache[i].prim) {
            lin->cache[i] = *out;
            pthread_mutex_unlock(&lin->mu);
            return AVIARY_OK;
        }
    pthread_mutex_unlock(&lin->mu);
    *temp = true;
    return AVIARY_OK;
}

static aviary_status run_prim(const aviary_linear *lin, tls *t, const prim_entry *pt, const float *x, int64_t m,
                              float *y);

/* Run primitive pe: plain src [M, k] of type sdt, weights wmem, plain dst
 * [M, n] of type ddt, with the thread's scratchpad. */
static aviary_status exec_prim(const prim_entry *pe, tls *t, int64_t M, int64_t k, int64_t n, dnnl_data_type_t sdt,
                               const void *src, dnnl_memory_t wmem, dnnl_data_type_t ddt, void *dst) {
    void *scr = pe->scratch ? tls_buf(&t->scr, &t->scap, pe->scratch) : NULL;
    if (pe->scratch && !scr) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
    dnnl_memory_desc_t smd, dmd, scrmd;
    dnnl_dims_t sd = {M, k}, dd = {M, n}, scd = {(int64_t)pe->scratch};
    dnnl_memory_t sm = NULL, dm = NULL, scm = NULL;
    dnnl_status_t e = dnnl_memory_desc_init_by_tag(&smd, 2, sd, sdt, dnnl_ab);
    if (!e) e = dnnl_memory_desc_init_by_tag(&dmd, 2, dd, ddt, dnnl_ab);
    if (!e) e = dnnl_memory_create(&sm, &smd, g_engine, (void *)src);
    if (!e) e = dnnl_memory_create(&dm, &dmd, g_engine, dst);
    if (!e && pe->scratch) {
        e = dnnl_memory_desc_init_by_tag(&scrmd, 1, scd, dnnl_u8, dnnl_a);
        if (!e) e = dnnl_memory_create(&scm, &scrmd, g_engine, scr);
    }
    if (!e) {
        dnnl_exec_arg_t args[4] = {{DNNL_ARG_SRC, sm}, {DNNL_ARG_WEIGHTS, wmem}, {DNNL_ARG_DST, dm},
                                   {DNNL_ARG_SCRATCHPAD, scm}};
        e = dnnl_primitive_execute(pe->prim, t->stream, pe->scratch ? 4 : 3, args);
        if (!e) e = dnnl_stream_wait(t->stream);
    }
    if (sm) dnnl_memory_destroy(sm);
    if (dm) dnnl_memory_destroy(dm);
    if (scm) dnnl_memory_destroy(scm);
    if (e) return aviary_error(AVIARY_UNSUPPORTED, "linear.c: oneDNN matmul execution failed: error %d", (int)e);
    return AVIARY_OK;
}

/* f32_tiles prefill (see the field): for each TILE_N outputs, widen the
 * k-major bf16 or int8 weights (times their scale) to a plain f32 [in, nc]
 * tile, multiply, and copy the [m, nc] result into y's columns. */
static aviary_status forward_tiles(aviary_linear *lin, tls *t, const float *x, int64_t m, float *y) {
    const int64_t in = lin->in, outn = lin->out, np = lin->np;
    const int64_t tn = TILE_N < outn ? TILE_N : outn;
    float *wf = tls_buf(&t->xbuf, &t->xcap, (size_t)(in * tn) * sizeof(float));
    float *dt = wf ? tls_buf(&t->ybuf, &t->ycap, (size_t)(m * tn) * sizeof(float)) : NULL;
    if (!dt) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
    for (int64_t n0 = 0; n0 < outn; n0 += tn) {
        const int64_t nc = outn - n0 < tn ? outn - n0 : tn;
        if (lin->wt == AVIARY_WEIGHTS_BF16) {
            const uint16_t *pk = lin->pk;
#pragma omp parallel for schedule(static)
            for (int64_t k = 0; k < in; k++)
                for (int64_t j = 0; j < nc; j++) wf[k * nc + j] = aviary_bf16_to_f32(pk[k * np + n0 + j]);
        } else {
            assert(lin->wt == AVIARY_WEIGHTS_INT8);
            const int8_t *pk = lin->pk;
            const float *sc = lin->scale + n0;
#pragma omp parallel for schedule(static)
            for (int64_t k = 0; k < in; k++)
                for (int64_t j = 0; j < nc; j++) wf[k * nc + j] = (float)pk[k * np + n0 + j] * sc[j];
        }
        prim_entry pe;
        bool temp;
        aviary_status s = get_prim(lin, m, nc, &pe, &temp);
        if (s) return s;
        dnnl_memory_desc_t wmd;
        dnnl_dims_t wd = {in, nc};
        dnnl_memory_t wm = NULL;
        if (dnnl_memory_desc_init_by_tag(&wmd, 2, wd, dnnl_f32, dnnl_ab) ||
            dnnl_memory_create(&wm, &wmd, g_engine, wf))
            s = aviary_error(AVIARY_NOMEM, "linear.c: oneDNN memory creation failed");
        if (!s) s = exec_prim(&pe, t, m, in, nc, dnnl_f32, x, wm, dnnl_f32, dt);
        if (wm) dnnl_memory_destroy(wm);
        if (temp) dnnl_primitive_destroy(pe.prim);
        if (s) return s;
#pragma omp parallel for schedule(static) if (m * nc >= (1 << 16))
        for (int64_t r = 0; r < m; r++)
            for (int64_t j = 0; j < nc; j++) y[r * outn + n0 + j] = dt[r * nc + j] + (lin->bias ? lin->bias[n0 + j] : 0.0f);
    }
    return AVIARY_OK;
}

static aviary_status forward_dnnl(aviary_linear *lin, tls *t, const float *x, int64_t m, float *y) {
    if (lin->f32_tiles) return forward_tiles(lin, t, x, m, y);
    prim_entry pe;
    bool temp;
    /* bf16: the hi and lo halves of x, int8: its two quantization levels,
     * run as 2m rows of one matmul */
    aviary_status s = get_prim(lin, lin->wt == AVIARY_WEIGHTS_F32 ? m : 2 * m, 0, &pe, &temp);
    if (s) return s;
    s = run_prim(lin, t, &pe, x, m, y);
    if (temp) dnnl_primitive_destroy(pe.prim);
    return s;
}

static aviary_status run_prim(const aviary_linear *lin, tls *t, const prim_entry *pt, const float *x, int64_t m, float *y) {
    const prim_entry pe = *pt;
    const int64_t in = lin->in, outn = lin->out;
    const void *src = x;
    float *xsc = NULL, *dst = y;
    const int64_t M = lin->wt == AVIARY_WEIGHTS_F32 ? m : 2 * m;
    if (lin->wt != AVIARY_WEIGHTS_F32) {
        const size_t es = lin->wt == AVIARY_WEIGHTS_BF16 ? 4 : 2;
        const size_t xbytes = ((size_t)(m * in) * es + 63) & ~(size_t)63; /* the int8 row scales follow, aligned */
        void *b = tls_buf(&t->xbuf, &t->xcap, xbytes + (size_t)(2 * m) * sizeof(float));
        if (!b) return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
        if (lin->wt == AVIARY_WEIGHTS_BF16) {
            uint16_t *h = b;
#pragma omp parallel for schedule(static) if (m * in >= (1 << 16))
            for (int64_t r = 0; r < m; r++) split_bf16(x + r * in, in, h + r * in, h + (m + r) * in);
        } else {
            /* rows 0..m-1: q1, rows m..2m-1: the residual q2 (see quant_resid) */
            int8_t *q = b;
            xsc = (float *)((char *)b + xbytes);
#pragma omp parallel for schedule(static) if (m * in >= (1 << 16))
            for (int64_t r = 0; r < m; r++) {
                xsc[r] = quant_x(x + r * in, in, q + r * in);
                xsc[m + r] = quant_resid(x + r * in, in, q + r * in, xsc[r], q + (m + r) * in);
                if (lin->src_u8) {
                    to_u8(q + r * in, in);
                    to_u8(q + (m + r) * in, in);
                }
            }
        }
        /* the 2m output rows go to scratch, combined into y below */
        if (!(dst = tls_buf(&t->ybuf, &t->ycap, (size_t)(2 * m * outn) * sizeof(float))))
            return aviary_error(AVIARY_NOMEM, "linear.c: forward: out of memory");
        src = b;
    }
    aviary_status s = exec_prim(&pe, t, M, in, outn, src_type(lin), src, lin->wmem, dst_type(lin), dst);
    if (s) return s;
    if (dst != y || lin->bias) {
#pragma omp parallel for schedule(static) if (m * outn >= (1 << 16))
        for (int64_t r = 0; r < m; r++) {
            float *yr = y + r * outn;
            const float *d1 = dst + r * outn, *d2 = dst + (m + r) * outn;
            if (xsc && lin->src_u8) {
                /* s32 sums of (q + 128) w: subtract comp exactly before scaling */
                const int32_t *a1 = (const int32_t *)d1, *a2 = (const int32_t *)d2;
                const float s1 = xsc[r], s2 = xsc[m + r];
                for (int64_t j = 0; j < outn; j++)
                    yr[j] = ((float)(a1[j] - lin->comp[j]) * s1 + (float)(a2[j] - lin->comp[j]) * s2) * lin->scale[j];
            } else if (xsc) {
                const float s1 = xsc[r], s2 = xsc[m + r];
                for (int64_t j = 0; j < outn; j++) yr[j] = (d1[j] * s1 + d2[j] * s2) * lin->scale[j];
            } else if (dst != y)
                for (int64_t j = 0; j < outn; j++) yr[j] = d1[j] + d2[j];
            if (lin->bias)
                for (int64_t j = 0; j < outn; j++) yr[j] += lin->bias[j];
        }
    }
    return AVIARY_OK;
}

aviary_status aviary_linear_forward(const aviary_linear *lin, const float *x, int64_t m, float *y) {
    if (!lin || !x || !y) return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward: NULL argument");
    if (m < 1) return aviary_error(AVIARY_INVALID_ARG, "linear.c: forward: m must be >= 1 (got %lld)", (long long)m);
    if (lin->be == BACKEND_C) {
        forward_c(lin, x, m, y);
        return AVIARY_OK;
    }
    tls *t = get_tls();
    if (!t) return aviary_error(AVIARY_NOMEM, "linear.c: forward: cannot create the thread's oneDNN stream");
    if (m <= GEMV_MAX_M) return lin->kmajor ? forward_sparse(lin, t, x, m, y) : forward_gemv(lin, t, x, m, y);
    /* Small products run on the calling thread alone: waking the OpenMP team
     * (asleep under OMP_WAIT_POLICY=PASSIVE) costs more than the work, and
     * RWKV-TS or a tiny Vision-RWKV issue hundreds of such calls per input.
     * omp_set_num_threads() changes only this thread's setting, and oneDNN
     * keys its primitives by thread count, so both kinds stay cached. */
    const bool small = (double)m * (double)lin->in * (double)lin->out < SMALL_MATMUL_MACS;
    const int team = small ? omp_get_max_threads() : 0;
    if (small && team > 1) omp_set_num_threads(1);
    /* The primitive cache is the only mutable part (guarded by lin->mu). */
    aviary_status s = forward_dnnl((aviary_linear *)lin, t, x, m, y);
    if (small && team > 1) omp_set_num_threads(team);
    return s;
}
