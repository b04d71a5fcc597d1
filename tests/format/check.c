// SPDX-License-Identifier: LGPL-2.1-or-later
// check.c: see check.h.
#include "check.h"

#include <stdio.h>

static int n_checks;
static int n_failed;

void check(bool ok, const char * what, const char * detail) {
    n_checks++;
    if (!ok) {
        n_failed++;
    }
    printf("%s %s%s%s\n", ok ? "ok  " : "FAIL", what, detail && detail[0] ? ": " : "", detail ? detail : "");
}

int check_summary(void) {
    printf("%d checks, %d failed\n", n_checks, n_failed);
    return n_failed ? 1 : 0;
}
