// SPDX-License-Identifier: LGPL-2.1-or-later
// engine.c: one model on one device, shared by any number of contexts:
// device choice, the OpenCL context, the program (built once) and the
// weights (packed and uploaded once). Reference-counted and thread-safe:
// contexts on several threads borrow it at once. A context never writes to
// anything here: its kernels are its own (clSetKernelArg is the one OpenCL
// call that is not thread-safe on a shared object), so are its queue and
// every buffer but the weights.
#include "engine.h"

#include "kernel-path.h"
#include "log.h"
#include "model-loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ipg_status_t ipg_engine_create(const ipg_model_t * model, const char * device, const char * device_path,
                               ipg_engine_t ** out, char * err, size_t err_size) {
    if (!out || !model) {
        ipg_format_error(err, err_size, "ipg_engine_create: NULL argument");
        return IPG_ERR_INVALID_ARG;
    }
    *out = NULL;
    ipg_engine_t * e = calloc(1, sizeof *e);
    if (!e) {
        ipg_format_error(err, err_size, "out of memory");
        return IPG_ERR_NO_MEMORY;
    }
    e->model = model;
    snprintf(e->device_arg, sizeof e->device_arg, "%s", device ? device : "");
    atomic_init(&e->refs, 1);
    // The engine's queue only uploads the weights; contexts run on their own.
    ipg_status_t st = ipg_cl_init(&e->cl, device, false, err, err_size);
    // The device's kernel path (the table, or IPG_PATH) unless the caller
    // names one; the weights are laid out for it, so every context of the
    // engine runs that path.
    if (st == IPG_OK && device_path && *device_path && strcmp(device_path, "auto") != 0)
        st = ipg_kernel_path_select(&e->cl, device_path, err, err_size);
    if (st == IPG_OK) st = ipg_weights_upload(&e->cl, model, &e->wd, err, err_size);
    if (st == IPG_OK && clFinish(e->cl.queue) != CL_SUCCESS) {
        ipg_format_error(err, err_size, "uploading the weights to %s did not finish", e->cl.device_name);
        st = IPG_ERR_OPENCL;
    }
    // Contexts run on queues of their own: the upload queue is done.
    if (st == IPG_OK) {
        clReleaseCommandQueue(e->cl.queue);
        e->cl.queue = NULL;
    }
    if (st != IPG_OK) {
        ipg_engine_unref(e);
        return st;
    }
    ipg_log(IPG_LOG_DEBUG, "engine: %s on %s", ipg_model_description(model), e->cl.device_name);
    *out = e;
    return IPG_OK;
}

ipg_engine_t * ipg_engine_ref(ipg_engine_t * engine) {
    if (engine) atomic_fetch_add(&engine->refs, 1);
    return engine;
}

void ipg_engine_unref(ipg_engine_t * engine) {
    if (!engine || atomic_fetch_sub(&engine->refs, 1) != 1) return;
    if (engine->cl.queue) clFinish(engine->cl.queue);
    ipg_weights_free(&engine->wd, engine->model->n_convs);
    ipg_cl_free(&engine->cl);
    free(engine);
}

uint64_t ipg_engine_device_bytes(const ipg_engine_t * engine) { return engine ? engine->cl.bytes_allocated : 0; }

const ipg_model_t * ipg_engine_model(const ipg_engine_t * engine) { return engine ? engine->model : NULL; }

const char * ipg_engine_device_name(const ipg_engine_t * engine) { return engine ? engine->cl.device_name : ""; }

const ipg_weights_dev_t * ipg_engine_weights(const ipg_engine_t * engine) { return &engine->wd; }

uint64_t ipg_engine_cl_objects_created(const ipg_engine_t * engine) { return engine ? engine->cl.objects_created : 0; }

ipg_status_t ipg_engine_borrow_cl(const ipg_engine_t * engine, ipg_cl_t * cl, bool profiling, char * err,
                                  size_t err_size) {
    *cl = engine->cl;
    cl->queue = NULL;
    cl->objects_created = 0;
    cl->bytes_allocated = 0;
    cl_int rc = clRetainContext(cl->context);
    if (rc != CL_SUCCESS) {
        memset(cl, 0, sizeof *cl);
        ipg_format_error(err, err_size, "clRetainContext failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    rc = clRetainProgram(cl->program);
    if (rc != CL_SUCCESS) {
        cl->program = NULL;
        ipg_cl_free(cl);
        ipg_format_error(err, err_size, "clRetainProgram failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    cl->queue = clCreateCommandQueue(cl->context, cl->device, profiling ? CL_QUEUE_PROFILING_ENABLE : 0, &rc);
    if (rc != CL_SUCCESS) {
        cl->queue = NULL;
        ipg_cl_free(cl);
        ipg_format_error(err, err_size, "clCreateCommandQueue failed: %s", ipg_cl_error_name(rc));
        return IPG_ERR_OPENCL;
    }
    return IPG_OK;
}
