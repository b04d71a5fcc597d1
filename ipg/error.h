// SPDX-License-Identifier: LGPL-2.1-or-later
// error.h: the one way the library and its tools write an error message into
// a caller's buffer. Every fallible call takes (char * err, size_t err_size);
// both may be NULL/0, and a message that does not fit is cut, always
// NUL-terminated.
#ifndef IPG_ERROR_H
#define IPG_ERROR_H

#include <stdarg.h>
#include <stddef.h>

// Room for one error sentence (a context's ipg_ctx_last_error()).
#define IPG_ERR_LEN 1024

// printf into err.
void ipg_format_error(char * err, size_t err_size, const char * fmt, ...) __attribute__((format(printf, 3, 4)));

// "PREFIX: " then the formatted text: messages about a file start with its
// name. A NULL prefix writes no "PREFIX: ".
void ipg_format_error_prefixed(char * err, size_t err_size, const char * prefix, const char * fmt, ...)
    __attribute__((format(printf, 4, 5)));

// The va_list form of ipg_format_error_prefixed(), for callers that wrap it.
void ipg_format_error_prefixed_v(char * err, size_t err_size, const char * prefix, const char * fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));

#endif   // IPG_ERROR_H
