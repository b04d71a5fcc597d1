// SPDX-License-Identifier: LGPL-2.1-or-later
// log.c: the library's only way to talk: a process-wide log callback (error
// strings for caller buffers are error.c's). Never stdout, never exit.
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void default_log(ipg_log_level_t level, const char * message, void * user_data) {
    (void) user_data;
    // Quiet unless asked: a library must not write to a host application's stderr.
    static int enabled = -1;
    if (enabled < 0) {
        const char * v = getenv("IPG_LOG");
        enabled = v && *v ? atoi(v) : -1;
        if (enabled < 0) enabled = (v && *v) ? 1 : 0;
    }
    if ((int) level < enabled) {   // IPG_LOG=1 errors, 2 +warnings, 3 +info, 4 +debug
        static const char * names[] = { "error", "warning", "info", "debug" };
        fprintf(stderr, "ipg %s: %s\n", names[level], message);
    }
}

static ipg_log_fn g_log_fn = default_log;
static void * g_log_ud = NULL;

void ipg_log_set(ipg_log_fn fn, void * user_data) {
    g_log_fn = fn;
    g_log_ud = user_data;
}

void ipg_log(ipg_log_level_t level, const char * fmt, ...) {
    if (!g_log_fn) return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_log_fn(level, msg, g_log_ud);
}
