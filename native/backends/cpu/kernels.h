// The table of kernels one ISA level provides: matrix products per weight format and the float primitives of the operators.
#pragma once

#include <cstddef>
#include <cstdint>

#include "isa.h"
#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cpu {

// One matrix product call: y[t * ldy + r] = dot(W row r, token t) for rows [r0, r1), tokens [t0, t1).
struct GemmArgs {
  const uint8_t *w;    // weight rows, `w_stride` bytes apart
  size_t w_stride;
  const uint8_t *act;  // the tokens as prepared by the kernel's quantize_act, `act_stride` bytes apart
  size_t act_stride;
  float *y;
  int64_t ldy;
  int64_t cols;
  const float *w_scale;  // W8A8: one scale per weight row (null for the block formats, whose blocks hold theirs)
  // Kernels with pack: tokens [4g, 4g+4) rearranged by pack at packed + g * packed_stride, for every
  // full group of 4 (null when the caller packed nothing, e.g. fewer than 4 tokens).
  const uint8_t *packed;
  size_t packed_stride;
};

struct GemmKernel {
  // Bytes of one token's activations as this kernel reads them (cols must be a multiple of the
  // weight format's block size).
  size_t (*act_bytes)(int64_t cols);
  // Turns one F32 token into the kernel's activation layout (8-bit blocks for quantized weights).
  void (*quantize_act)(const float *x, void *act, int64_t cols);
  void (*gemm)(const GemmArgs &a, int64_t r0, int64_t r1, int64_t t0, int64_t t1);
  // Optional: bytes of, and the layout for, 4 consecutive tokens already quantized by quantize_act
  // (act_stride bytes apart), which the batched tiles read instead.
  size_t (*pack_bytes)(int64_t cols) = nullptr;
  void (*pack)(const uint8_t *act, size_t act_stride, int64_t cols, uint8_t *out) = nullptr;
};

// W8A8 static: w8a8.quantize_act with a scale fixed in advance (same layout, values beyond the range clamped).
using W8a8StaticActFn = void (*)(const float *x, float scale, void *act, int64_t cols);

struct Kernels {
  Isa isa;
  // Indexed by type slot (qinfer_type_slot: the ggml id, qinfer's own block formats after ggml's);
  // gemm is null for types this level does not compute.
  GemmKernel gemm[QINFER_TYPE_SLOT_COUNT];
  // qinfer's W8A8 (type id QINFER_TYPE_W8A8, outside the ggml-indexed table above).
  GemmKernel w8a8;
  W8a8StaticActFn w8a8_static_act;

  // Float primitives the operators are built from.
  void (*add_f32)(const float *a, const float *b, float *dst, int64_t n);
  float (*dot_f32)(const float *a, const float *b, int64_t n);
  float (*dot_f16)(const qinfer_half *a, const float *b, int64_t n);
  // y[i] += a * x[i]
  void (*axpy_f32)(float a, const float *x, float *y, int64_t n);
  void (*axpy_f16)(float a, const qinfer_half *x, float *y, int64_t n);
  // y[i] *= a
  void (*scale_f32)(float a, float *y, int64_t n);
  void (*f32_to_f16)(const float *x, qinfer_half *y, int64_t n);
  void (*f16_to_f32)(const qinfer_half *x, float *y, int64_t n);
  // Row pieces of the operators: out = silu(gate) * up; the largest element; x[i] = exp(x[i] - shift)
  // returning their sum; the sum of squares; y = x * s * w (w may be null).
  void (*silu_mul_f32)(const float *gate, const float *up, float *out, int64_t n);
  float (*max_f32)(const float *x, int64_t n);
  double (*exp_sum_f32)(float *x, float shift, int64_t n);
  double (*sum_sq_f32)(const float *x, int64_t n);
  void (*scale_mul_f32)(const float *x, float s, const float *w, float *y, int64_t n);
};

const Kernels &kernels_generic();
const Kernels &kernels_avx2();
const Kernels &kernels_avx512();
const Kernels &kernels_avx512vnni();

// BF16 products with avx512_bf16 instructions: only for CPUs where cpu_has_avx512bf16().
GemmKernel gemm_bf16_avx512bf16();
// AMX-INT8: whether cpuid and the OS allow it (asks Linux for the tile state once), and the Q8_0/Q4_0
// kernel that runs batches on the tiles and everything else through `vnni` (matmul-amx.cc).
bool amx_available();
GemmKernel gemm_amx(int32_t type, const GemmKernel &vnni);

const Kernels &kernels_for(Isa isa);
// The table of isa_active().
const Kernels &kernels();

}  // namespace qinfer::cpu
