// SPDX-License-Identifier: LGPL-2.1-or-later
// file-io.c: whole-file reading. See file-io.h.
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L   // O_CLOEXEC, fstat
#endif

#include "file-io.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

// What a non-regular file is, for messages; NULL when it has no common name.
static const char * file_kind(mode_t mode) {
    if (S_ISDIR(mode)) {
        return "a directory";
    }
    if (S_ISFIFO(mode)) {
        return "a FIFO";
    }
    if (S_ISCHR(mode)) {
        return "a character device";
    }
    if (S_ISBLK(mode)) {
        return "a block device";
    }
    if (S_ISSOCK(mode)) {
        return "a socket";
    }
    return NULL;
}

// Refuses anything but a regular file, naming what it is; true when regular.
// A device or FIFO could block or stream forever (/dev/zero).
static bool file_check_regular(const char * path, const struct stat * st, char * err, size_t err_size) {
    if (!S_ISREG(st->st_mode)) {
        const char * kind = file_kind(st->st_mode);
        if (kind != NULL) {
            ipg_format_error_prefixed(err, err_size, path, "cannot read: is %s, not a regular file", kind);
        } else {
            ipg_format_error_prefixed(err, err_size, path, "cannot read: not a regular file");
        }
        return false;
    }
    return true;
}

static bool file_check_size(const char * path, uint64_t bytes, size_t max_bytes, char * err, size_t err_size) {
    if (bytes > (uint64_t) max_bytes) {
        ipg_format_error_prefixed(err, err_size, path, "%llu bytes, more than the limit of %zu",
                                  (unsigned long long) bytes, max_bytes);
        return false;
    }
    return true;
}

int ipg_file_open(const char * path, size_t max_bytes, uint64_t * size, char * err, size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (path == NULL || size == NULL) {
        ipg_format_error(err, err_size, "ipg_file_open: NULL argument");
        return -1;
    }
    *size = 0;
    // stat() first: opening a FIFO for reading blocks until a writer comes.
    struct stat st;
    if (stat(path, &st) != 0) {
        ipg_format_error_prefixed(err, err_size, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!file_check_regular(path, &st, err, err_size) ||
        !file_check_size(path, (uint64_t) st.st_size, max_bytes, err, err_size)) {
        return -1;
    }
    // O_NONBLOCK, then fstat again: the path may have been replaced by a FIFO
    // since the stat().
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ipg_format_error_prefixed(err, err_size, path, "cannot open: %s", strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) != 0) {
        ipg_format_error_prefixed(err, err_size, path, "cannot stat: %s", strerror(errno));
        close(fd);
        return -1;
    }
    if (!file_check_regular(path, &st, err, err_size) ||
        !file_check_size(path, (uint64_t) st.st_size, max_bytes, err, err_size)) {
        close(fd);
        return -1;
    }
    *size = (uint64_t) st.st_size;
    return fd;
}

ipg_status_t ipg_file_read(const char * path, size_t max_bytes, uint8_t ** out, size_t * size, char * err,
                           size_t err_size) {
    if (err != NULL && err_size > 0) {
        err[0] = '\0';
    }
    if (path == NULL || out == NULL || size == NULL) {
        ipg_format_error(err, err_size, "ipg_file_read: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    *size = 0;
    if (max_bytes == SIZE_MAX) {
        max_bytes = SIZE_MAX - 1;   // room for the terminating NUL
    }

    uint64_t st_size;
    int fd = ipg_file_open(path, max_bytes, &st_size, err, err_size);
    if (fd < 0) {
        return IPG_ERR_IO;
    }

    // Read to EOF rather than trusting st_size, so a file that changes size
    // under us is still read consistently (and still within the limit).
    size_t cap = (size_t) st_size + 1;
    size_t len = 0;
    uint8_t * buf = malloc(cap);
    if (buf == NULL) {
        ipg_format_error_prefixed(err, err_size, path, "out of memory reading %zu bytes", cap);
        close(fd);
        return IPG_ERR_NO_MEMORY;
    }
    for (;;) {
        if (len + 1 == cap) {
            // Full: one probe byte past the end tells EOF from a grown file.
            if (cap - 1 >= max_bytes) {
                uint8_t probe;
                ssize_t got;
                do {
                    got = read(fd, &probe, 1);
                } while (got < 0 && errno == EINTR);
                if (got == 0) {
                    break;
                }
                if (got < 0) {
                    ipg_format_error_prefixed(err, err_size, path, "cannot read: %s", strerror(errno));
                } else {
                    ipg_format_error_prefixed(err, err_size, path, "more than the limit of %zu bytes", max_bytes);
                }
                free(buf);
                close(fd);
                return IPG_ERR_IO;
            }
            size_t ncap = cap - 1 > max_bytes / 2 ? max_bytes + 1 : cap * 2;
            uint8_t * nbuf = realloc(buf, ncap);
            if (nbuf == NULL) {
                ipg_format_error_prefixed(err, err_size, path, "out of memory reading %zu bytes", ncap);
                free(buf);
                close(fd);
                return IPG_ERR_NO_MEMORY;
            }
            buf = nbuf;
            cap = ncap;
        }
        ssize_t got = read(fd, buf + len, cap - 1 - len);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got < 0) {
            ipg_format_error_prefixed(err, err_size, path, "cannot read: %s", strerror(errno));
            free(buf);
            close(fd);
            return IPG_ERR_IO;
        }
        if (got == 0) {
            break;
        }
        len += (size_t) got;
    }
    close(fd);
    buf[len] = '\0';
    *out = buf;
    *size = len;
    return IPG_OK;
}
