// Super-block formats (K-quants, IQ4_XS) in one unpacked form: per-group integer scale and min codes and
// per-element level indices, so packing, dequantizing, dot products and the search share one model:
// x = d * sc[g] * levels[q] - dmin * mn[g].
#pragma once

#include <cstdint>

#include "formats.h"
#include "qinfer/blocks.h"

namespace qinfer::quant {

struct KSpec {
  int group;             // elements per group (16 or 32)
  const float *levels;   // value of each level index, ascending
  int nlev;
  bool uniform;          // levels are the consecutive integers levels[0]..levels[nlev-1]
  bool has_min;          // stores a per-group minimum (Q2_K, Q4_K, Q5_K)
  int sc_lo, sc_hi;      // range of the scale codes
  int mn_hi;             // range of the min codes is 0..mn_hi
};

struct KBlock {
  float d = 0, dmin = 0;  // as stored (fp16 values)
  int sc[16] = {}, mn[16] = {};
  uint8_t q[QINFER_QK_K] = {};
};

extern const KSpec kSpecQ2K, kSpecQ3K, kSpecQ4K, kSpecQ5K, kSpecQ6K, kSpecIQ4XS;

// Chooses codes, scales and levels minimising sum w[i] (x[i] - value[i])^2 over one super-block.
void search_superblock(const KSpec &spec, const float *x, const float *w, KBlock &out);

// sum_i value[i] * a[i] against one Q8_K block, in integers per group as the kernels compute it.
float dot_superblock(const KSpec &spec, const KBlock &k, const qinfer_block_q8_k &a);

void dequantize_superblock(const KSpec &spec, const KBlock &k, float *y);

// The entry points differ only in block type, spec and packers.
template <typename Block>
void quantize_k(const KSpec &spec, void (*pack)(const KBlock &, Block &), const float *x, void *dst, int64_t n,
                const float *imp) {
  auto *y = static_cast<Block *>(dst);
  const float *w = importance_or_ones(imp, n);
  KBlock k;
  for (int64_t b = 0; b < n / QINFER_QK_K; b++) {
    search_superblock(spec, x + b * QINFER_QK_K, w + b * QINFER_QK_K, k);
    pack(k, y[b]);
  }
}

template <typename Block>
void dequantize_k(const KSpec &spec, void (*unpack)(const Block &, KBlock &), const void *src, float *dst, int64_t n) {
  const auto *y = static_cast<const Block *>(src);
  KBlock k;
  for (int64_t b = 0; b < n / QINFER_QK_K; b++) {
    unpack(y[b], k);
    dequantize_superblock(spec, k, dst + b * QINFER_QK_K);
  }
}

template <typename Block>
float vec_dot_k(const KSpec &spec, void (*unpack)(const Block &, KBlock &), const void *w, const void *a, int64_t n) {
  const auto *x = static_cast<const Block *>(w);
  const auto *y = static_cast<const qinfer_block_q8_k *>(a);
  KBlock k;
  float sum = 0;
  for (int64_t b = 0; b < n / QINFER_QK_K; b++) {
    unpack(x[b], k);
    sum += dot_superblock(spec, k, y[b]);
  }
  return sum;
}

}  // namespace qinfer::quant
