// SPDX-License-Identifier: LGPL-2.1-or-later
// engine-check.h: the engine tests' one assertion. CHECK(cond, fmt, ...)
// counts a pass, or prints "FAIL file:line: message" and counts a failure,
// so that a test runs every check and decides at the end from g_failed.
// Each test is one translation unit: the counters are its own.
#ifndef IPG_ENGINE_CHECK_H
#define IPG_ENGINE_CHECK_H

#include <stdio.h>

static int g_passed = 0, g_failed = 0;

#define CHECK(cond, ...)                                \
    do {                                                \
        if (cond) {                                     \
            g_passed++;                                 \
        } else {                                        \
            g_failed++;                                 \
            printf("FAIL %s:%d: ", __FILE__, __LINE__); \
            printf(__VA_ARGS__);                        \
            printf("\n");                               \
        }                                               \
    } while (0)

#endif   // IPG_ENGINE_CHECK_H
