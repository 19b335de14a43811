/*
 * spin_pool.h - a small thread pool for the short, memory-bound loops of
 * one-token generation (the GEMVs in linear.c). Internal to libaviary.
 *
 * Why not OpenMP: under OMP_WAIT_POLICY=PASSIVE (which this project's runs
 * use) libgomp puts its threads to sleep on a futex at the end of every
 * parallel region, so each of the ~50 GEMVs of a token paid a futex wake-up
 * of the other thread (tens of microseconds, a scheduler tick when its CPU
 * is busy) -- a third of the token time of a small model. The pool's
 * workers instead spin for a bounded time (AVIARY_SPIN_US, default 200
 * microseconds, measured in docs/performance.md) after each job, which
 * covers the gaps between the GEMVs of a token, then sleep on a futex:
 * when no token is being computed the workers sleep, as PASSIVE asks.
 *
 * Results do not depend on which thread runs an item: items are handed out
 * dynamically, `chunk` at a time, and each item writes only its own output.
 */
#ifndef AVIARY_SPIN_POOL_H
#define AVIARY_SPIN_POOL_H

#include "internal.h"
#include <stdint.h>

/* Runs fn(ctx, i) for every i in [0, n), `chunk` consecutive items at a
 * time, on the calling thread plus up to omp_get_max_threads() - 1 pool
 * workers (created on first use; with one thread everything runs inline).
 * Returns when every item is done. Returns false without running anything
 * when the pool cannot be used: not Linux, called inside an OpenMP parallel
 * region, another thread is using the pool right now, or a worker thread
 * could not be created -- the caller then runs the loop itself (OpenMP). */
AVIARY_INTERNAL bool aviary__pool_for(int64_t n, int64_t chunk, void (*fn)(void *ctx, int64_t i), void *ctx);

#endif
