// SPDX-License-Identifier: LGPL-2.1-or-later
// ipg-error.h: how the library reports: a sentence into the caller's error
// buffer, and the process-wide log callback (log.c). Not installed.
#ifndef IPG_ERROR_H
#define IPG_ERROR_H

#include "ipg.h"

#include <stddef.h>

// Room for one error sentence (a context's ipg_ctx_last_error()).
#define IPG_ERR_LEN 1024

// printf into a caller's error buffer (NULL-safe, always terminated).
void ipg_format_error(char * err, size_t err_size, const char * fmt, ...)
    __attribute__((format(printf, 3, 4)));
void ipg_log(ipg_log_level_t level, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

#endif // IPG_ERROR_H
