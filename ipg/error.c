// SPDX-License-Identifier: LGPL-2.1-or-later
// error.c: error strings written into caller buffers. See error.h.
#include "error.h"

#include <stdio.h>

void ipg_format_error_prefixed_v(char * err, size_t err_size, const char * prefix, const char * fmt, va_list ap) {
    if (err == NULL || err_size == 0) {
        return;
    }
    size_t n = 0;
    if (prefix != NULL) {
        int w = snprintf(err, err_size, "%s: ", prefix);
        if (w < 0) {
            w = 0;
        }
        if ((size_t) w >= err_size) {
            return;   // the prefix alone filled the buffer (cut and terminated)
        }
        n = (size_t) w;
    }
    vsnprintf(err + n, err_size - n, fmt, ap);
}

void ipg_format_error_prefixed(char * err, size_t err_size, const char * prefix, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ipg_format_error_prefixed_v(err, err_size, prefix, fmt, ap);
    va_end(ap);
}

void ipg_format_error(char * err, size_t err_size, const char * fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    ipg_format_error_prefixed_v(err, err_size, NULL, fmt, ap);
    va_end(ap);
}
