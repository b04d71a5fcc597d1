// SPDX-License-Identifier: LGPL-2.1-or-later
// clblast-tuning.c: CLBlast parameters for devices its database (1.5.3) does
// not know, applied with CLBlastOverrideParameters when the clblast path is
// chosen. CLBlast's database stops at NVIDIA SM 8.0 and AMD gfx1030 (and
// some Mali); a newer device gets its vendor's generic values.
// None of these rows was measured here (no GPU is lent to this project's
// tests): each says where its values come from. Replace a row with the
// output of CLBlast's tuners (clblast_tuner_xgemm ...) run on the device.
#include "clblast-path.h"

#include "log.h"

#include <clblast_c.h>
#include <string.h>

#define XGEMM_NAMES                                                                                                  \
    {                                                                                                                \
        "GEMMK", "KREG", "KWG", "KWI", "MDIMA", "MDIMC", "MWG", "NDIMB", "NDIMC", "NWG", "SA", "SB", "STRM", "STRN", \
            "VWM", "VWN"                                                                                             \
    }
#define XGEMM_DIRECT_NAMES \
    { "KWID", "MDIMAD", "MDIMCD", "NDIMBD", "NDIMCD", "PADA", "PADB", "VWMD", "VWND", "WGD" }

static const ipg_clblast_params_t tuning_table[] = {
    // NVIDIA SM 9.0 (H100, H200): CLBlast 1.5.3 falls back to its generic
    // NVIDIA values; these are its SM 8.0 (A100-PCIE-40GB) values, the
    // nearest tuned relative. Unmeasured on SM 9.0.
    { "H100",
      "Xgemm",
      16,
      XGEMM_NAMES,
      { 0, 1, 32, 2, 8, 8, 32, 16, 16, 64, 1, 1, 0, 0, 4, 4 },
      "CLBlast 1.5.3 database, SM8.0 A100-PCIE-40GB" },
    { "H100",
      "XgemmDirect",
      10,
      XGEMM_DIRECT_NAMES,
      { 8, 8, 16, 32, 16, 1, 1, 2, 1, 32 },
      "CLBlast 1.5.3 database, SM8.0 A100-PCIE-40GB" },
    { "H200",
      "Xgemm",
      16,
      XGEMM_NAMES,
      { 0, 1, 32, 2, 8, 8, 32, 16, 16, 64, 1, 1, 0, 0, 4, 4 },
      "CLBlast 1.5.3 database, SM8.0 A100-PCIE-40GB" },
    { "H200",
      "XgemmDirect",
      10,
      XGEMM_DIRECT_NAMES,
      { 8, 8, 16, 32, 16, 1, 1, 2, 1, 32 },
      "CLBlast 1.5.3 database, SM8.0 A100-PCIE-40GB" },
};

const char * ipg_clblast_status_name(int status) {
    switch (status) {
        case CLBlastSuccess: return "success";
        case CLBlastOpenCLCompilerNotAvailable: return "no OpenCL compiler";
        case CLBlastTempBufferAllocFailure: return "temporary buffer allocation failed";
        case CLBlastOpenCLOutOfResources: return "CL_OUT_OF_RESOURCES";
        case CLBlastOpenCLOutOfHostMemory: return "CL_OUT_OF_HOST_MEMORY";
        case CLBlastOpenCLBuildProgramFailure: return "building its kernels failed";
        case CLBlastInvalidValue: return "CL_INVALID_VALUE";
        case CLBlastInvalidLocalThreadsTotal: return "work-group too large for the device";
        case CLBlastInvalidLocalThreadsDim: return "work-group dimension too large for the device";
        case CLBlastNotImplemented: return "not implemented";
        case CLBlastInvalidDimension: return "a dimension is zero";
        case CLBlastInsufficientMemoryA: return "matrix A's buffer is too small";
        case CLBlastInsufficientMemoryB: return "matrix B's buffer is too small";
        case CLBlastInsufficientMemoryC: return "matrix C's buffer is too small";
        case CLBlastInsufficientMemoryTemp: return "the temporary buffer is too small";
        case CLBlastInvalidOverrideKernel: return "no such kernel to override";
        case CLBlastMissingOverrideParameter: return "a parameter of the kernel is missing";
        case CLBlastInvalidLocalMemUsage: return "not enough local memory on the device";
        case CLBlastDatabaseError: return "no database entry for the device";
        default: return "CLBlast error (clblast_c.h lists the codes)";
    }
}

ipg_status_t ipg_clblast_apply(const ipg_cl_t * cl, const ipg_clblast_params_t * row, char * err, size_t err_size) {
    const CLBlastStatusCode rc = CLBlastOverrideParameters(cl->device, row->kernel, CLBlastPrecisionSingle, row->n,
                                                           (const char **) row->names, row->values);
    if (rc != CLBlastSuccess) {
        ipg_format_error(err, err_size, "CLBlastOverrideParameters(%s) for %s failed: %s (%d)", row->kernel,
                         cl->device_name, ipg_clblast_status_name(rc), (int) rc);
        return IPG_ERR_OPENCL;
    }
    ipg_log(IPG_LOG_INFO, "CLBlast %s parameters for %s: %s", row->kernel, cl->device_name, row->source);
    return IPG_OK;
}

void ipg_clblast_release(void) {
    const CLBlastStatusCode rc = CLBlastClearCache();
    if (rc != CLBlastSuccess)
        ipg_log(IPG_LOG_WARNING, "CLBlastClearCache failed: %s (%d)", ipg_clblast_status_name(rc), (int) rc);
}

ipg_status_t ipg_clblast_tune(const ipg_cl_t * cl, char * err, size_t err_size) {
    for (size_t i = 0; i < sizeof tuning_table / sizeof tuning_table[0]; i++) {
        if (!strstr(cl->device_name, tuning_table[i].device)) continue;
        ipg_status_t st = ipg_clblast_apply(cl, &tuning_table[i], err, err_size);
        if (st != IPG_OK) return st;
    }
    return IPG_OK;
}
