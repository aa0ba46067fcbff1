/* The C interface between the addon and a backend (CPU built in; CUDA and Vulkan as dlopen'ed modules). */
#ifndef QINFER_BACKEND_H
#define QINFER_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "qinfer/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes layout or meaning; a module built for another
   version is refused at load with both numbers in the reason. */
#define QINFER_BACKEND_ABI_VERSION 3u

/* Every module exports exactly this symbol. */
#define QINFER_BACKEND_REGISTER_SYMBOL "qinfer_backend_register"

#define QINFER_NAME_MAX 256
#define QINFER_DETAILS_MAX 8192

typedef enum qinfer_op_code {
  /* dst[i] = src0[i] + src1[i], F32, ne[0] elements. */
  QINFER_OP_ADD_F32 = 1,
  /* dst[r] = sum_c W[r][c] * x[c]; W (src0) of ggml type `type`, ne[0] = cols, ne[1] = rows,
     x (src1) and dst F32. */
  QINFER_OP_MATVEC = 2,
  /* Every op below: F32 activations. dst[t][r] = sum_c W[r][c] * X[t][c]; W (src0) of ggml type
     `type`, ne[0] = cols, ne[1] = rows, ne[2] = tokens; X (src1) [tokens][cols]. */
  QINFER_OP_MATMUL = 3,
  /* dst[i] = row ids[i] of a table (src0, type `type`, ne[0] = cols, ne[1] = rows) as F32;
     ids (src1) int32, ne[2] of them. */
  QINFER_OP_GET_ROWS = 4,
  /* dst = src0 / rms(src0 row) * src1 (weight, may be NULL); ne[0] = row length, ne[1] = rows,
     params[0] = eps. */
  QINFER_OP_RMS_NORM = 5,
  /* dst = src0 [ne[2] tokens][ne[1] heads][ne[0] head_dim] rotated by positions (src1, int32 per
     token); ne[3] = rotated dims; params: [0] freq_base, [1] freq_scale, [2] non-zero for NeoX,
     [3] YaRN ext_factor (0: off), [4] attn_factor (cos and sin are multiplied by it; 1 for plain
     RoPE), [5] and [6] YaRN's correction range (pair indices low, high); src2 = optional per-pair
     frequency divisors (ne[3] / 2 floats). Pair i of a token at position p turns by
       e = p * freq_base^(-2i/ne[3]) / divisor[i],  angle = freq_scale * e, and with ext_factor != 0
       r = ext_factor * (1 - clamp((i - low) / max(0.001, high - low), 0, 1)),
       angle = angle * (1 - r) + e * r   (ggml's rope with ext_factor, as llama.cpp applies YaRN). */
  QINFER_OP_ROPE = 6,
  /* dst = softmax of each row of src0; ne[0] = row length, ne[1] = rows. */
  QINFER_OP_SOFTMAX = 7,
  /* dst = silu(src0) * src1, ne[0] elements. */
  QINFER_OP_SILU_MUL = 8,
  /* dst (int32) = index of the largest element of each row of src0; ne[0] = row length, ne[1] rows. */
  QINFER_OP_ARGMAX = 9,
  /* Causal grouped-query attention: q (src0) [ne[2] tokens][ne[1] heads][ne[0] head_dim]; K cache
     (src1) and V cache (src2) head-major [ne[3] kv heads][params[1] positions][head_dim] of ggml type
     `type` (F32, F16, Q8_0); src3 int32 per token: cache positions it sees (position + 1);
     params[0] = score scale. dst has q's shape. */
  QINFER_OP_ATTENTION = 10,
  /* Stores K or V rows into a head-major cache: src0 F32 [ne[2] tokens][ne[1] kv heads][ne[0] head_dim],
     src1 int32 per token: the cache position it goes to (0 <= position < ne[3]); dst the cache
     [ne[1] heads][ne[3] positions][head_dim] of ggml type `type` (F32, F16, Q8_0), converted as the
     CPU's quantizer does. */
  QINFER_OP_KV_STORE = 11,
  /* dst[r][i] = src0[r][i] + src1[i] (a bias added to every row); ne[0] = row length, ne[1] = rows. */
  QINFER_OP_ADD_ROWS = 12,
  /* Copies ne[1] rows of ne[0] bytes; source rows ne[2] bytes apart, destination rows ne[3] bytes
     apart; every size, stride and offset a multiple of 4; source and destination do not overlap. */
  QINFER_OP_COPY = 13
} qinfer_op_code;

typedef struct qinfer_buffer qinfer_buffer; /* opaque, owned by the backend */

typedef struct qinfer_op {
  int32_t op;      /* qinfer_op_code */
  int32_t type;    /* ggml type id of src[0] where the op has a typed weight */
  qinfer_buffer *src[4];
  uint64_t src_offset[4];
  qinfer_buffer *dst;
  uint64_t dst_offset;
  int64_t ne[4];
  float params[8]; /* ABI 3: 8 (was 4) */
} qinfer_op;

typedef struct qinfer_device_info {
  char name[QINFER_NAME_MAX];
  uint64_t memory_total;
  uint64_t memory_free;
  /* One JSON object of backend-specific fields (compute capability, subgroup size, ...);
     merged into the probe's device entry. */
  char details_json[QINFER_DETAILS_MAX];
} qinfer_device_info;

typedef struct qinfer_backend {
  uint32_t abi_version;
  const char *name;
  /* Opens the driver. On failure returns non-zero and writes a reason a person can act on
     ("libcuda.so.1 not found", "no Vulkan physical device"). */
  int (*init)(char *reason, size_t reason_len);
  /* One JSON object of backend-wide fields (driver version, API version). */
  int (*backend_info)(char *json, size_t json_len);
  int (*device_count)(void);
  int (*device_info)(int device, qinfer_device_info *out);

  qinfer_buffer *(*buffer_alloc)(int device, uint64_t bytes);
  void (*buffer_free)(qinfer_buffer *buffer);
  int (*buffer_write)(qinfer_buffer *buffer, uint64_t offset, const void *src, uint64_t bytes);
  int (*buffer_read)(qinfer_buffer *buffer, uint64_t offset, void *dst, uint64_t bytes);

  /* Non-zero when the device runs `op` with a weight of ggml type `type`. */
  int (*supports_op)(int device, int32_t op, int32_t type);
  /* Enqueues ops in order; results are visible after synchronize. Returns a qinfer_status. */
  int (*compute)(int device, const qinfer_op *ops, int n_ops);
  int (*synchronize)(int device);
  /* The message of this thread's last failure (never NULL). */
  const char *(*last_error)(void);
  void (*shutdown)(void);
} qinfer_backend;

typedef const qinfer_backend *(*qinfer_backend_register_fn)(uint32_t host_abi_version);

#ifdef __cplusplus
}
#endif

#endif
