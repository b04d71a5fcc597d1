// SPDX-License-Identifier: LGPL-2.1-or-later
//
// image-io.h: decodes JPEG, PNG and binary PPM/PGM files into tightly packed
// 8-bit RGB for ipgnet-detect. The format is told by the file's magic bytes,
// not its name. Every failure (missing, unreadable, empty, truncated, corrupt
// or unsupported file) returns non-zero with a message that names the file.

#ifndef IPGNET_IMAGE_IO_H
#define IPGNET_IMAGE_IO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// Largest accepted width and height.
#define CLI_IMAGE_MAX_DIM 16384

// Default limit on width x height (64 Mpixels: 192 MiB of RGB), checked from
// the header before any pixel is allocated or decoded, so that a small file
// declaring a huge image (a decompression bomb) is refused at once. The
// environment variable IPGNET_MAX_PIXELS overrides it, and
// cli_image_set_max_pixels() (ipgnet-detect --max-pixels) overrides both.
// Progressive JPEGs are also limited to 500 scans (TurboJPEG's
// TJFLAG_LIMITSCANS), and PNG ancillary chunks to 8 MB each, 1000 in all.
#define CLI_IMAGE_DEFAULT_MAX_PIXELS ((uint64_t) 8192 * 8192)

typedef struct {
    int32_t width;
    int32_t height;
    int32_t stride;   // bytes from one row to the next: always 3 * width
    uint8_t * data;   // height * stride bytes, R G B per pixel
} cli_image_t;

// Decodes `path` into `out` (which the caller then frees with
// cli_image_free()). Returns 0 on success. On failure returns non-zero, leaves
// `out` empty and writes a message such as "photo.jpg: truncated JPEG data
// (...)" into `err` (when err is not NULL and err_size > 0).
//
// JPEG is decoded by libjpeg-turbo (accurate DCT, fancy upsampling: the same
// pixels as Pillow built on the same library); grayscale JPEGs are expanded to
// RGB, CMYK JPEGs (Adobe inverted convention) are converted as Pillow's
// convert("RGB") does. Any libjpeg warning (e.g. premature end of data) is an
// error. PNG palette, grayscale, low and 16-bit depths are converted to 8-bit
// RGB (16-bit keeps the high byte); alpha is dropped without compositing.
// PPM (P6) and PGM (P5) must have maxval 255.
int cli_image_load(const char * path, cli_image_t * out, char * err, size_t err_size);

// Same, from a buffer in memory; `name` is only used in messages.
int cli_image_decode(const uint8_t * bytes, size_t size, const char * name, cli_image_t * out, char * err,
                     size_t err_size);

// Sets the pixel-count limit from `text`, a decimal count in 1 ..
// CLI_IMAGE_MAX_DIM^2. Returns 0, or -1 with a message naming the value.
int cli_image_set_max_pixels(const char * text, char * err, size_t err_size);

// Frees the pixels and zeroes *img. Safe on a zeroed or already freed image.
void cli_image_free(cli_image_t * img);

#ifdef __cplusplus
}
#endif

#endif   // IPGNET_IMAGE_IO_H
