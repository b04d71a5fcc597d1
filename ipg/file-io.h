// SPDX-License-Identifier: LGPL-2.1-or-later
// file-io.h: the one whole-file reader of the library and its tools (model
// files, IPG_KERNEL_DIR kernel sources, the CLI's images), and the opener
// under it, which the model loader uses to map a file instead of reading it.
#ifndef IPG_FILE_IO_H
#define IPG_FILE_IO_H

#include "ipg.h"

#include <stddef.h>
#include <stdint.h>

// Reads the regular file `path` whole into a malloc'd buffer (*out, freed by
// the caller; a NUL follows the *size bytes so text can be used as a string).
//
// Anything but a regular file (directory, FIFO, device, socket) is refused
// before the first blocking open or read, so a FIFO or /dev/zero cannot hang
// or exhaust the caller; so is a file of more than `max_bytes` bytes, before
// anything is allocated. Messages start with the path and name what it is:
// "PATH: cannot open: No such file or directory", "PATH: cannot read: is a
// FIFO, not a regular file" (or "a directory", "a character device", "a block
// device", "a socket"), "PATH: 2147483648 bytes, more than the limit of N".
//
// Returns IPG_OK; IPG_ERR_INVALID_ARG for a NULL argument; IPG_ERR_IO when
// the file cannot be opened or read or is refused; IPG_ERR_NO_MEMORY.
ipg_status_t ipg_file_read(const char * path, size_t max_bytes, uint8_t ** out, size_t * size, char * err,
                           size_t err_size);

// Opens the regular file `path` read-only with the same refusals, before any
// blocking open, as ipg_file_read (a file of more than `max_bytes` bytes
// too). Returns the descriptor (O_NONBLOCK, close-on-exec; the caller closes
// it) and its size in *size; -1 with the message in `err` otherwise.
int ipg_file_open(const char * path, size_t max_bytes, uint64_t * size, char * err, size_t err_size);

#endif   // IPG_FILE_IO_H
