// SPDX-License-Identifier: LGPL-2.1-or-later
// engine.h: what contexts of one (model, device) share (engine.c): the
// OpenCL context, the one built program and the uploaded weights. Each
// context borrows them and keeps its own queue, kernels, plan and buffers
// (OpenCL objects are thread-safe except a cl_kernel's arguments, so no
// kernel object is ever shared). Not installed.
#ifndef IPG_ENGINE_H
#define IPG_ENGINE_H

#include "cl-runtime.h"
#include "network.h"

#include <stdatomic.h>

struct ipg_engine {
    const struct ipg_model * model;   // not owned: outlives the engine
    char device_arg[128];             // the device as asked ("" = auto)
    ipg_cl_t cl;                      // context, program; its queue uploaded the weights
    ipg_weights_dev_t wd;             // read by every context's kernels, never written
    atomic_int refs;                  // contexts and callers holding it
};

// The weights every context of the engine reads.
const ipg_weights_dev_t * ipg_engine_weights(const ipg_engine_t * engine);
// A context's own view of the device: the engine's device, context and
// program retained, and a new queue (with profiling if asked). ipg_cl_free
// releases it.
ipg_status_t ipg_engine_borrow_cl(const ipg_engine_t * engine, ipg_cl_t * cl, bool profiling, char * err,
                                  size_t err_size);
// OpenCL objects the engine created: the program and the weight buffers.
uint64_t ipg_engine_cl_objects_created(const ipg_engine_t * engine);
// The engine a context borrows from (tests check that two contexts share one).
const ipg_engine_t * ipg_ctx_engine(const ipg_ctx_t * ctx);

#endif   // IPG_ENGINE_H
