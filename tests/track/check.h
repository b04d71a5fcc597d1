// SPDX-License-Identifier: LGPL-2.1-or-later
// check.h: the tiny check/report helpers the tracking tests share.
#ifndef TRACK_CHECK_H
#define TRACK_CHECK_H

#include <math.h>
#include <stdbool.h>
#include <stdio.h>

static int n_checks;
static int n_failed;

static inline void check(bool ok, const char * what) {
    n_checks++;
    if (!ok) {
        n_failed++;
    }
    printf("%s %s\n", ok ? "ok  " : "FAIL", what);
}

static inline void check_near(double got, double want, double tol, const char * what) {
    n_checks++;
    bool ok = fabs(got - want) <= tol;
    if (!ok) {
        n_failed++;
    }
    printf("%s %s: %.12g (want %.12g)\n", ok ? "ok  " : "FAIL", what, got, want);
}

static inline void check_int(long got, long want, const char * what) {
    n_checks++;
    bool ok = got == want;
    if (!ok) {
        n_failed++;
    }
    printf("%s %s: %ld (want %ld)\n", ok ? "ok  " : "FAIL", what, got, want);
}

static inline int check_summary(void) {
    printf("%d checks, %d failed\n", n_checks, n_failed);
    return n_failed == 0 ? 0 : 1;
}

#endif
