// SPDX-License-Identifier: LGPL-2.1-or-later
// check.h: the format tests' one assertion: prints "ok  WHAT" or
// "FAIL WHAT: DETAIL" and counts, so that a test runs every check and fails
// at the end.
#ifndef IPG_TEST_CHECK_H
#define IPG_TEST_CHECK_H

#include <stdbool.h>

void check(bool ok, const char * what, const char * detail);

// Prints "N checks, M failed"; returns the exit status (1 if any failed).
int check_summary(void);

#endif   // IPG_TEST_CHECK_H
