// SPDX-License-Identifier: LGPL-2.1-or-later
//
// image-io.c: JPEG (TurboJPEG), PNG (libpng) and binary PPM/PGM decoding to
// tightly packed 8-bit RGB. See image-io.h.

#include "image-io.h"
#include "error.h"
#include "file-io.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

// Files larger than this are refused before decoding (a 16384 x 16384 image
// needs far less in any supported format except a 16-bit PNG without
// compression, which is still under this).
#define MAX_FILE_BYTES ((size_t) 2 << 30)

#define PIXELS_ENV "IPGNET_MAX_PIXELS"
// libpng's limits on ancillary chunks (iCCP, zTXt, ...): bytes per chunk and
// chunks in all. A real image needs far less.
#define PNG_CHUNK_MALLOC_MAX ((png_alloc_size_t) 8000000)
#define PNG_CHUNK_CACHE_MAX  1000

// 0 until cli_image_set_max_pixels(): then the environment or the default.
static uint64_t max_pixels_set;

static int parse_pixels(const char * text, uint64_t * out) {
    const uint64_t most = (uint64_t) CLI_IMAGE_MAX_DIM * CLI_IMAGE_MAX_DIM;
    char * end = NULL;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (!text[0] || text[0] == '-' || end == text || *end != '\0' || errno != 0 || v < 1 || v > most) return -1;
    *out = (uint64_t) v;
    return 0;
}

int cli_image_set_max_pixels(const char * text, char * err, size_t err_size) {
    if (!text || parse_pixels(text, &max_pixels_set) != 0) {
        ipg_format_error(err, err_size, "invalid pixel limit '%s' (a count from 1 to %llu)", text ? text : "",
                         (unsigned long long) CLI_IMAGE_MAX_DIM * CLI_IMAGE_MAX_DIM);
        return -1;
    }
    return 0;
}

// The limit in force; -1 with a message when IPGNET_MAX_PIXELS is invalid.
static int max_pixels(uint64_t * out, char * err, size_t err_size) {
    if (max_pixels_set) {
        *out = max_pixels_set;
        return 0;
    }
    const char * env = getenv(PIXELS_ENV);
    if (!env || !*env) {
        *out = CLI_IMAGE_DEFAULT_MAX_PIXELS;
        return 0;
    }
    if (parse_pixels(env, out) != 0) {
        ipg_format_error(err, err_size, PIXELS_ENV "='%s' is not a pixel count from 1 to %llu", env,
                         (unsigned long long) CLI_IMAGE_MAX_DIM * CLI_IMAGE_MAX_DIM);
        return -1;
    }
    return 0;
}

void cli_image_free(cli_image_t * img) {
    if (!img) return;
    free(img->data);
    memset(img, 0, sizeof *img);
}

static int check_dims(long long w, long long h, const char * kind, const char * name, char * err, size_t err_size) {
    if (w <= 0 || h <= 0) {
        ipg_format_error_prefixed(err, err_size, name, "%s image has zero size (%lld x %lld)", kind, w, h);
        return -1;
    }
    if (w > CLI_IMAGE_MAX_DIM || h > CLI_IMAGE_MAX_DIM) {
        ipg_format_error_prefixed(err, err_size, name, "%s image too large (%lld x %lld, at most %d x %d)", kind, w, h,
                                  CLI_IMAGE_MAX_DIM, CLI_IMAGE_MAX_DIM);
        return -1;
    }
    uint64_t most = 0;
    char why[256];
    if (max_pixels(&most, why, sizeof why) != 0) {
        ipg_format_error_prefixed(err, err_size, name, "%s", why);
        return -1;
    }
    if ((uint64_t) w * (uint64_t) h > most) {
        ipg_format_error_prefixed(err, err_size, name,
                                  "%s image too large (%lld x %lld is %" PRIu64
                                  " pixels, more than the limit of %" PRIu64 "; see --max-pixels or " PIXELS_ENV ")",
                                  kind, w, h, (uint64_t) w * (uint64_t) h, most);
        return -1;
    }
    return 0;
}

// ---- JPEG ------------------------------------------------------------------

// Pillow's MULDIV255: a * b / 255, rounded.
static inline int muldiv255(int a, int b) {
    int t = a * b + 128;
    return ((t >> 8) + t) >> 8;
}

static const char * tj_message(tjhandle tj) {
    const char * m = tjGetErrorStr2(tj);
    return (m && *m) ? m : "unknown error";
}

static int tj_failure(tjhandle tj, const char * name, char * err, size_t err_size) {
    const char * msg = tj_message(tj);
    int warning = tj && tjGetErrorCode(tj) == TJERR_WARNING;
    if (strstr(msg, "Premature end") || strstr(msg, "premature end"))
        ipg_format_error_prefixed(err, err_size, name, "truncated JPEG data (%s)", msg);
    else if (warning)
        ipg_format_error_prefixed(err, err_size, name, "corrupt JPEG data (%s)", msg);
    else
        ipg_format_error_prefixed(err, err_size, name, "cannot decode JPEG (%s)", msg);
    return -1;
}

static int decode_jpeg(const uint8_t * bytes, size_t size, const char * name, cli_image_t * out, char * err,
                       size_t err_size) {
    if (size > ULONG_MAX) {
        ipg_format_error_prefixed(err, err_size, name, "JPEG file too large");
        return -1;
    }
    tjhandle tj = tjInitDecompress();
    if (!tj) {
        ipg_format_error_prefixed(err, err_size, name, "cannot initialise the JPEG decoder (%s)", tj_message(NULL));
        return -1;
    }
    int w = 0, h = 0, subsamp = 0, colorspace = 0;
    if (tjDecompressHeader3(tj, bytes, (unsigned long) size, &w, &h, &subsamp, &colorspace) != 0) {
        tj_failure(tj, name, err, err_size);
        tjDestroy(tj);
        return -1;
    }
    if (w == 0 && h == 0) {
        // libjpeg reached the end of the data before a frame header (it
        // takes the file for a tables-only stream).
        ipg_format_error_prefixed(err, err_size, name,
                                  "truncated JPEG data (no frame header before the end of the file)");
        tjDestroy(tj);
        return -1;
    }
    if (check_dims(w, h, "JPEG", name, err, err_size) != 0) {
        tjDestroy(tj);
        return -1;
    }
    int cmyk = (colorspace == TJCS_CMYK || colorspace == TJCS_YCCK);
    size_t npix = (size_t) w * (size_t) h;
    uint8_t * buf = malloc(npix * (cmyk ? 4 : 3));
    if (!buf) {
        ipg_format_error_prefixed(err, err_size, name, "out of memory for a %d x %d image", w, h);
        tjDestroy(tj);
        return -1;
    }
    // Accurate integer DCT and fancy upsampling, as Pillow. A libjpeg warning
    // (e.g. premature end of data) makes tjDecompress2() return -1: we treat
    // it as an error. TJFLAG_LIMITSCANS refuses a progressive JPEG of more
    // than 500 scans: each scan re-reads every coefficient, so a small file
    // of many scans costs minutes (issue 18).
    if (tjDecompress2(tj, bytes, (unsigned long) size, buf, w, 0, h, cmyk ? TJPF_CMYK : TJPF_RGB, TJFLAG_LIMITSCANS) !=
        0) {
        tj_failure(tj, name, err, err_size);
        free(buf);
        tjDestroy(tj);
        return -1;
    }
    tjDestroy(tj);
    if (cmyk) {
        // libjpeg returns CMYK as stored; like Pillow, assume Adobe's inverted
        // convention, then convert as Pillow's convert("RGB") does.
        uint8_t * d = buf;
        const uint8_t * s = buf;
        for (size_t i = 0; i < npix; i++, s += 4, d += 3) {
            int nk = s[3];   // 255 - K
            for (int c = 0; c < 3; c++) {
                int v = nk - muldiv255(255 - s[c], nk);
                d[c] = (uint8_t) (v < 0 ? 0 : v > 255 ? 255 : v);
            }
        }
        uint8_t * shrunk = realloc(buf, npix * 3);
        if (shrunk) buf = shrunk;
    }
    out->width = w;
    out->height = h;
    out->stride = 3 * w;
    out->data = buf;
    return 0;
}

// ---- PNG -------------------------------------------------------------------

typedef struct {
    const uint8_t * data;
    size_t size;
    size_t pos;
    int truncated;
    char msg[256];
} png_src_t;

static void png_on_error(png_structp png, png_const_charp msg) {
    png_src_t * src = png_get_error_ptr(png);
    if (src) {
        snprintf(src->msg, sizeof src->msg, "%s", msg ? msg : "unknown error");
    }
    png_longjmp(png, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void) png;
    (void) msg;   // ancillary-chunk trouble: harmless for the pixels
}

static void png_read_mem(png_structp png, png_bytep dst, size_t n) {
    png_src_t * src = png_get_io_ptr(png);
    if (n > src->size - src->pos) {
        src->truncated = 1;
        png_error(png, "unexpected end of file");
    }
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
}

static uint32_t be32(const uint8_t * b) {
    return (uint32_t) b[0] << 24 | (uint32_t) b[1] << 16 | (uint32_t) b[2] << 8 | b[3];
}

static int decode_png(const uint8_t * bytes, size_t size, const char * name, cli_image_t * out, char * err,
                      size_t err_size) {
    // The size from IHDR (the first chunk) before libpng starts, so a too
    // large image gets the same message as in the other formats; libpng
    // reports a missing or malformed IHDR itself.
    if (size >= 24 && memcmp(bytes + 12, "IHDR", 4) == 0 &&
        check_dims(be32(bytes + 16), be32(bytes + 20), "PNG", name, err, err_size) != 0)
        return -1;
    png_src_t src = { .data = bytes, .size = size, .pos = 0, .truncated = 0, .msg = "" };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, png_on_error, png_on_warning);
    if (!png) {
        ipg_format_error_prefixed(err, err_size, name, "cannot initialise the PNG decoder");
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        ipg_format_error_prefixed(err, err_size, name, "cannot initialise the PNG decoder");
        return -1;
    }
    // Modified after setjmp(), read after longjmp(): volatile.
    uint8_t * volatile pix = NULL;
    png_bytep * volatile rows = NULL;
    volatile int dims_bad = 0;

    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pix);
        png_destroy_read_struct(&png, &info, NULL);
        if (dims_bad) return -1;   // message already written
        if (src.truncated)
            ipg_format_error_prefixed(err, err_size, name, "truncated PNG data (%s)", src.msg);
        else
            ipg_format_error_prefixed(err, err_size, name, "corrupt PNG data (%s)", src.msg);
        return -1;
    }

    png_set_read_fn(png, &src, png_read_mem);
    // libpng refuses larger IHDR sizes itself; check_dims() then applies the
    // pixel limit before any row is allocated.
    png_set_user_limits(png, CLI_IMAGE_MAX_DIM, CLI_IMAGE_MAX_DIM);
    png_set_chunk_malloc_max(png, PNG_CHUNK_MALLOC_MAX);
    png_set_chunk_cache_max(png, PNG_CHUNK_CACHE_MAX);
    png_read_info(png, info);

    png_uint_32 w = 0, h = 0;
    int bit_depth = 0, color_type = 0;
    png_get_IHDR(png, info, &w, &h, &bit_depth, &color_type, NULL, NULL, NULL);
    if (check_dims(w, h, "PNG", name, err, err_size) != 0) {
        dims_bad = 1;
        png_longjmp(png, 1);
    }
    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (bit_depth == 16) png_set_strip_16(png);   // keep the high byte, as Pillow
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    (void) png_set_interlace_handling(png);
    png_read_update_info(png, info);

    int channels = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if (png_get_bit_depth(png, info) != 8 || (channels != 3 && channels != 4) ||
        rowbytes != (size_t) w * (size_t) channels)
        png_error(png, "unsupported pixel layout after conversion");

    pix = malloc(rowbytes * h);
    rows = malloc(sizeof(png_bytep) * h);
    if (!pix || !rows) png_error(png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pix + (size_t) y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL);

    uint8_t * data = pix;
    free(rows);
    rows = NULL;
    pix = NULL;
    png_destroy_read_struct(&png, &info, NULL);

    size_t npix = (size_t) w * h;
    if (channels == 4) {
        // Drop alpha (no compositing), in place.
        for (size_t i = 0; i < npix; i++) {
            data[3 * i + 0] = data[4 * i + 0];
            data[3 * i + 1] = data[4 * i + 1];
            data[3 * i + 2] = data[4 * i + 2];
        }
        uint8_t * shrunk = realloc(data, npix * 3);
        if (shrunk) data = shrunk;
    }
    out->width = (int32_t) w;
    out->height = (int32_t) h;
    out->stride = 3 * (int32_t) w;
    out->data = data;
    return 0;
}

// ---- PPM / PGM ---------------------------------------------------------------

// Skips whitespace and comments, then reads a decimal number. Returns -1 at
// the end of the data, -2 on overflow, -3 on anything but a digit.
static long long pnm_number(const uint8_t * b, size_t size, size_t * pos) {
    size_t p = *pos;
    for (;;) {
        if (p >= size) return -1;
        if (b[p] == '#') {
            while (p < size && b[p] != '\n' && b[p] != '\r') p++;
        } else if (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r' || b[p] == '\v' || b[p] == '\f') {
            p++;
        } else {
            break;
        }
    }
    if (b[p] < '0' || b[p] > '9') return -3;
    long long v = 0;
    while (p < size && b[p] >= '0' && b[p] <= '9') {
        v = v * 10 + (b[p] - '0');
        if (v > 1000000000LL) return -2;
        p++;
    }
    *pos = p;
    return v;
}

static int decode_pnm(const uint8_t * bytes, size_t size, const char * name, cli_image_t * out, char * err,
                      size_t err_size) {
    char kind = (char) bytes[1];
    if (kind != '5' && kind != '6') {
        ipg_format_error_prefixed(err, err_size, name,
                                  "unsupported PNM variant P%c (only binary PGM P5 and PPM P6 with maxval 255)",
                                  (kind >= 0x20 && kind < 0x7f) ? kind : '?');
        return -1;
    }
    const char * fmt = kind == '6' ? "PPM" : "PGM";
    size_t pos = 2;
    long long v[3];
    for (int i = 0; i < 3; i++) {
        v[i] = pnm_number(bytes, size, &pos);
        if (v[i] == -1) {
            ipg_format_error_prefixed(err, err_size, name, "truncated %s header", fmt);
            return -1;
        }
        if (v[i] < 0) {
            ipg_format_error_prefixed(err, err_size, name, "malformed %s header%s", fmt,
                                      v[i] == -2 ? " (number too large)" : "");
            return -1;
        }
    }
    if (v[2] != 255) {
        ipg_format_error_prefixed(err, err_size, name, "unsupported %s maxval %lld (only 255)", fmt, v[2]);
        return -1;
    }
    // Exactly one whitespace byte separates the header from the pixels.
    if (pos >= size) {
        ipg_format_error_prefixed(err, err_size, name, "truncated %s data (no pixels)", fmt);
        return -1;
    }
    if (!(bytes[pos] == ' ' || bytes[pos] == '\t' || bytes[pos] == '\n' || bytes[pos] == '\r' || bytes[pos] == '\v' ||
          bytes[pos] == '\f')) {
        ipg_format_error_prefixed(err, err_size, name, "malformed %s header", fmt);
        return -1;
    }
    pos++;
    if (check_dims(v[0], v[1], fmt, name, err, err_size) != 0) return -1;
    size_t w = (size_t) v[0], h = (size_t) v[1];
    size_t ch = kind == '6' ? 3 : 1;
    size_t need = w * h * ch;
    if (size - pos < need) {
        ipg_format_error_prefixed(err, err_size, name, "truncated %s data (%zu of %zu pixel bytes)", fmt, size - pos,
                                  need);
        return -1;
    }
    uint8_t * data = malloc(w * h * 3);
    if (!data) {
        ipg_format_error_prefixed(err, err_size, name, "out of memory for a %zu x %zu image", w, h);
        return -1;
    }
    const uint8_t * s = bytes + pos;
    if (ch == 3) {
        memcpy(data, s, need);
    } else {
        for (size_t i = 0; i < w * h; i++) data[3 * i] = data[3 * i + 1] = data[3 * i + 2] = s[i];
    }
    out->width = (int32_t) w;
    out->height = (int32_t) h;
    out->stride = 3 * (int32_t) w;
    out->data = data;
    return 0;
}

// ---- entry points ------------------------------------------------------------

static const uint8_t png_sig[8] = { 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n' };

int cli_image_decode(const uint8_t * bytes, size_t size, const char * name, cli_image_t * out, char * err,
                     size_t err_size) {
    if (err && err_size) err[0] = '\0';
    if (!name) name = "(image)";
    if (!out) {
        ipg_format_error_prefixed(err, err_size, name, "no output image");
        return -1;
    }
    memset(out, 0, sizeof *out);
    if (!bytes || size == 0) {
        ipg_format_error_prefixed(err, err_size, name, "empty file");
        return -1;
    }
    if (size >= 2 && bytes[0] == 0xff && bytes[1] == 0xd8) return decode_jpeg(bytes, size, name, out, err, err_size);
    size_t cmp = size < sizeof png_sig ? size : sizeof png_sig;
    if (cmp >= 4 && memcmp(bytes, png_sig, cmp) == 0) {
        if (size < sizeof png_sig + 8) {
            ipg_format_error_prefixed(err, err_size, name, "truncated PNG data (%zu bytes)", size);
            return -1;
        }
        return decode_png(bytes, size, name, out, err, err_size);
    }
    if (size >= 2 && bytes[0] == 'P' && bytes[1] >= '1' && bytes[1] <= '7')
        return decode_pnm(bytes, size, name, out, err, err_size);
    ipg_format_error_prefixed(err, err_size, name, "not a JPEG, PNG or PPM image");
    return -1;
}

int cli_image_load(const char * path, cli_image_t * out, char * err, size_t err_size) {
    if (err && err_size) err[0] = '\0';
    if (out) memset(out, 0, sizeof *out);
    if (!path || !*path) {
        ipg_format_error_prefixed(err, err_size, "(no path)", "no file name given");
        return -1;
    }
    uint8_t * buf = NULL;
    size_t len = 0;
    if (ipg_file_read(path, MAX_FILE_BYTES, &buf, &len, err, err_size) != IPG_OK) return -1;
    int rc = cli_image_decode(buf, len, path, out, err, err_size);
    free(buf);
    return rc;
}
