// ============================================================================
// eltwise.cl: element-wise ops on flat float buffers. Global (n).
// ============================================================================

__kernel void ipg_relu(__global const float * in, __global float * out, int n)
{
    const int i = get_global_id(0);
    if (i < n) out[i] = fmax(in[i], 0.0f);
}
