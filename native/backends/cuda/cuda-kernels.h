// Launchers of the CUDA kernels (cuda-kernels.cu, cuda-matmul.cu, cuda-ops.cu, cuda-attention-prefill.cu); each enqueues on `stream` and returns the launch error.
#pragma once

#include <cstdint>

#include <cuda_runtime_api.h>

namespace qinfer::cuda {

cudaError_t launch_add_f32(const float *a, const float *b, float *dst, int64_t n, cudaStream_t stream);

// True for every weight type launch_matmul and launch_get_rows decode.
bool matmul_supported(int32_t type);

// y[t][r] = dot(W row r, x[t]); W `rows` x `cols` of ggml type `type`, x and y F32 (tokens == 1: decode).
cudaError_t launch_matmul(int32_t type, const uint8_t *w, const float *x, float *y, int64_t rows, int64_t cols, int64_t tokens,
                          cudaStream_t stream);

// out[i] = row ids[i] of the table as F32 (NaN for an id outside [0, rows)).
cudaError_t launch_get_rows(int32_t type, const uint8_t *table, int64_t rows, int64_t cols, const int32_t *ids, int64_t n_ids, float *out,
                            cudaStream_t stream);

cudaError_t launch_rms_norm(const float *x, const float *weight, float *y, int64_t rows, int64_t n, float eps, cudaStream_t stream);
cudaError_t launch_softmax(const float *x, float *y, int64_t rows, int64_t n, cudaStream_t stream);
cudaError_t launch_silu_mul(const float *gate, const float *up, float *out, int64_t n, cudaStream_t stream);
cudaError_t launch_argmax(const float *x, int32_t *out, int64_t rows, int64_t n, cudaStream_t stream);
// QINFER_OP_ROPE's scalars (backend.h): frequency base and scale, NeoX pairs, YaRN's ext_factor and correction
// range, and the factor on cos and sin.
struct RopeArgs {
  float freq_base = 10000.0f, freq_scale = 1.0f;
  bool neox = false;
  float ext_factor = 0.0f, attn_factor = 1.0f, corr_low = 0.0f, corr_high = 0.0f;
};
cudaError_t launch_rope(const float *x, const int32_t *positions, const float *freq_factors, float *y, int64_t tokens, int64_t n_heads,
                        int64_t head_dim, int64_t n_dims, const RopeArgs &args, cudaStream_t stream);

// Attention reads head dimensions up to this many, over a cache of F32, F16 or Q8_0.
constexpr int64_t kAttentionMaxHeadDim = 256;
bool attention_supported(int32_t kv_type);
cudaError_t launch_attention(int32_t kv_type, const float *q, const uint8_t *k, const uint8_t *v, const int32_t *n_kv, float *out,
                             int64_t tokens, int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t head_stride, uint64_t row_bytes,
                             float scale, cudaStream_t stream);

// The same for a prompt (many query tokens) over an F16 cache with head_dim 64 or 128, on the tensor cores
// (cuda-attention-prefill.cu); cudaErrorNotSupported, having launched nothing, for other shapes.
cudaError_t launch_attention_prefill_f16(const float *q, const uint8_t *k, const uint8_t *v, const int32_t *n_kv, float *out, int64_t tokens,
                                         int64_t n_heads, int64_t n_kv_heads, int64_t head_dim, int64_t head_stride, uint64_t row_bytes,
                                         float scale, cudaStream_t stream);

// cudaSuccess when the module holds code this device can run (machine code or PTX it can JIT).
cudaError_t kernels_loadable();

}  // namespace qinfer::cuda
