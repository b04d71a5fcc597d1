// SPDX-License-Identifier: LGPL-2.1-or-later
// status.c: names of status codes and pixel-format facts.
#include "ipg.h"

const char * ipg_status_name(ipg_status_t status) {
    switch (status) {
        case IPG_OK: return "ok";
        case IPG_ERR_INVALID_ARG: return "invalid argument";
        case IPG_ERR_IO: return "I/O error";
        case IPG_ERR_BAD_FILE: return "bad model file";
        case IPG_ERR_NO_DEVICE: return "no OpenCL device";
        case IPG_ERR_OPENCL: return "OpenCL error";
        case IPG_ERR_NO_MEMORY: return "out of memory";
        case IPG_ERR_STATE: return "call out of order";
    }
    return "unknown status";
}

int32_t ipg_pixel_format_bpp(ipg_pixel_format_t format) {
    switch (format) {
        case IPG_PIXEL_RGB:
        case IPG_PIXEL_BGR: return 3;
        case IPG_PIXEL_RGBX:
        case IPG_PIXEL_BGRX:
        case IPG_PIXEL_XRGB:
        case IPG_PIXEL_XBGR:
        case IPG_PIXEL_RGBA:
        case IPG_PIXEL_BGRA:
        case IPG_PIXEL_ARGB:
        case IPG_PIXEL_ABGR: return 4;
        default: return 0;
    }
}

int32_t ipg_pixel_format_is_planar(ipg_pixel_format_t format) {
    return format == IPG_PIXEL_I420 || format == IPG_PIXEL_NV12;
}
