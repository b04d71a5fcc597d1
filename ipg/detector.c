// SPDX-License-Identifier: LGPL-2.1-or-later
// detector.c: the table of detectors, one entry per arch (detector.h).
#include "detector.h"

#include <stddef.h>

static const ipg_detector_i * const detectors[] = {
    [IPG_ARCH_RETINANET] = &ipg_detector_retinanet,
    [IPG_ARCH_FASTERRCNN] = &ipg_detector_fasterrcnn,
};

const ipg_detector_i * ipg_detector_for_arch(ipg_arch_t arch) {
    if ((int) arch < 0 || (size_t) arch >= sizeof detectors / sizeof detectors[0]) return NULL;
    return detectors[arch];
}
