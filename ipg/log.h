// SPDX-License-Identifier: LGPL-2.1-or-later
// log.h: how the library talks: a sentence into the caller's error buffer
// (error.h, shared with the tools) and the process-wide log callback
// (log.c). Not installed.
#ifndef IPG_LOG_H
#define IPG_LOG_H

#include "error.h"
#include "ipg.h"

void ipg_log(ipg_log_level_t level, const char * fmt, ...) __attribute__((format(printf, 2, 3)));

#endif   // IPG_LOG_H
