// Splits a matrix product into row chunks for the pool: chunks small enough to stay in L2 while every
// token tile passes over them, and numerous enough that a thread slowed by another process is covered.
#include "matmul.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "core/error.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cpu {
namespace {

constexpr int64_t kRowAlign = 16;            // chunk sizes are multiples of every kernel's row tile
constexpr uint64_t kChunkBytes = 192 << 10;  // weight bytes per chunk when many tokens reuse it

int64_t round_up(int64_t v, int64_t m) { return (v + m - 1) / m * m; }

// Activation scratch of the calling thread, reused across calls (which = 0: quantized tokens, 1: packed).
uint8_t *act_scratch(size_t bytes, int which) {
  thread_local std::vector<uint8_t> bufs[2];
  std::vector<uint8_t> &buf = bufs[which];
  if (buf.size() < bytes + 64) buf.resize(bytes + 64);
  uintptr_t p = reinterpret_cast<uintptr_t>(buf.data());
  return reinterpret_cast<uint8_t *>((p + 63) & ~uintptr_t(63));
}

// Rows [r0, r1) of segment seg, one unit of work for the pool.
struct RowChunk {
  int seg;
  int64_t r0, r1;
};

std::vector<RowChunk> &chunk_scratch() {
  thread_local std::vector<RowChunk> chunks;
  return chunks;
}

// One weight matrix of a product: `rows` rows `w_stride` bytes apart, results at y[t * ldy + r].
struct Segment {
  const uint8_t *w;
  int64_t rows;
  float *y;
  int64_t ldy;
};

// Quantizes the tokens for the kernel once, then splits the rows of every segment (matrices that take
// the same input) into chunks handed out over the pool together: one dispatch and one tail instead of
// one per matrix.
// static_act: the tokens are quantized by it with the fixed act_scale (W8A8 static) instead of gk.quantize_act.
void run_gemm(const GemmKernel &gk, ThreadPool &pool, size_t w_stride, const float *w_scale, const Segment *segs, int count,
              int64_t cols, const float *x, int64_t ldx, int64_t n_tokens, W8a8StaticActFn static_act = nullptr,
              float act_scale = 0) {
  int64_t total_rows = 0;
  for (int i = 0; i < count; i++) total_rows += segs[i].rows;
  if (total_rows <= 0 || n_tokens <= 0) return;
  GemmArgs g{};
  g.w_stride = w_stride;
  g.w_scale = w_scale;
  g.act_stride = size_t(round_up(int64_t(gk.act_bytes(cols)), 64));
  uint8_t *act = act_scratch(g.act_stride * size_t(n_tokens), 0);
  g.act = act;
  g.cols = cols;

  pool.parallel_for(n_tokens, 1, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      if (static_act) static_act(x + t * ldx, act_scale, act + size_t(t) * g.act_stride, cols);
      else gk.quantize_act(x + t * ldx, act + size_t(t) * g.act_stride, cols);
    }
  });
  if (gk.pack && n_tokens >= 4) {
    const int64_t groups = n_tokens / 4;
    g.packed_stride = size_t(round_up(int64_t(gk.pack_bytes(cols)), 64));
    uint8_t *packed = act_scratch(g.packed_stride * size_t(groups), 1);
    g.packed = packed;
    pool.parallel_for(groups, 1, [&](int64_t q0, int64_t q1) {
      for (int64_t q = q0; q < q1; q++) gk.pack(act + size_t(4 * q) * g.act_stride, g.act_stride, cols, packed + size_t(q) * g.packed_stride);
    });
  }

  // Matrix-vector: guided chunks (each a share of what is left, down to kRowAlign rows), so the last
  // chunks are short and no thread waits long for another at the end. Batches: chunks that fit in L2.
  std::vector<RowChunk> &chunks = chunk_scratch();
  chunks.clear();
  const int64_t threads = pool.size();
  const int64_t l2_rows = round_up(std::max<int64_t>(1, int64_t(kChunkBytes / (g.w_stride ? g.w_stride : 1))), kRowAlign);
  int64_t left = total_rows;
  for (int i = 0; i < count; i++) {
    for (int64_t r = 0; r < segs[i].rows;) {
      int64_t size;
      if (n_tokens == 1) size = round_up(std::max<int64_t>(left / (2 * threads), 1), kRowAlign);
      else size = std::min(round_up(std::max<int64_t>(total_rows / (threads * 2), 1), kRowAlign), l2_rows);
      size = std::min(size, segs[i].rows - r);
      chunks.push_back({i, r, r + size});
      r += size;
      left -= size;
    }
  }
  pool.parallel_for(int64_t(chunks.size()), 1, [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; c++) {
      const RowChunk &ch = chunks[size_t(c)];
      GemmArgs gs = g;
      gs.w = segs[ch.seg].w;
      gs.y = segs[ch.seg].y;
      gs.ldy = segs[ch.seg].ldy;
      gk.gemm(gs, ch.r0, ch.r1, 0, n_tokens);
    }
  });
}

void check_supported(const Kernels &k, int32_t type) {
  if (matmul_supported(k, type)) return;
  const qinfer_type_traits *t = qinfer_type_traits_of(type);
  throw Error(QINFER_E_UNSUPPORTED, std::string("matrix products with ") + (t && t->name ? t->name : "this type") +
                                        " weights are not supported by the CPU kernels (" + isa_name(k.isa) + ")");
}

}  // namespace

uint64_t type_row_bytes(int32_t type, int64_t cols) {
  const qinfer_type_traits *t = qinfer_type_traits_of(type);
  if (!t) throw Error(QINFER_E_INVALID_ARGUMENT, "unknown ggml type " + std::to_string(type));
  if (cols % t->block_size)
    throw Error(QINFER_E_INVALID_ARGUMENT, std::string("a row of ") + t->name + " must hold a multiple of " +
                                               std::to_string(t->block_size) + " elements, not " + std::to_string(cols));
  return uint64_t(cols / t->block_size) * uint64_t(t->type_size);
}

bool matmul_supported(const Kernels &k, int32_t type) {
  const int32_t slot = qinfer_type_slot(type);
  return slot >= 0 && k.gemm[slot].gemm != nullptr;
}

void matmul(const Kernels &k, ThreadPool &pool, int32_t type, const void *w, int64_t rows, int64_t cols, const float *x,
            int64_t ldx, int64_t n_tokens, float *y, int64_t ldy) {
  check_supported(k, type);
  const Segment seg{static_cast<const uint8_t *>(w), rows, y, ldy};
  run_gemm(k.gemm[qinfer_type_slot(type)], pool, type_row_bytes(type, cols), nullptr, &seg, 1, cols, x, ldx, n_tokens);
}

void matmul_same_input(const Kernels &k, ThreadPool &pool, int32_t type, const void *const *w, const int64_t *rows, float *const *y,
                       int count, int64_t cols, const float *x, int64_t n_tokens) {
  check_supported(k, type);
  std::vector<Segment> segs(static_cast<size_t>(count));
  for (int i = 0; i < count; i++) segs[size_t(i)] = Segment{static_cast<const uint8_t *>(w[i]), rows[i], y[i], rows[i]};
  run_gemm(k.gemm[qinfer_type_slot(type)], pool, type_row_bytes(type, cols), nullptr, segs.data(), count, cols, x, cols, n_tokens);
}

void matmul_w8a8(const Kernels &k, ThreadPool &pool, const void *w, const float *w_scale, int64_t rows, int64_t cols,
                 const float *x, int64_t ldx, int64_t n_tokens, float *y, int64_t ldy, float act_scale) {
  if (!k.w8a8.gemm) throw Error(QINFER_E_UNSUPPORTED, std::string("W8A8 products are not supported by the CPU kernels (") + isa_name(k.isa) + ")");
  if (!w_scale) throw Error(QINFER_E_INVALID_ARGUMENT, "W8A8 weights need their row scales");
  if (!(act_scale >= 0) || !std::isfinite(act_scale))
    throw Error(QINFER_E_INVALID_ARGUMENT, "a W8A8 activation scale must be finite and positive (0: per token)");
  const Segment seg{static_cast<const uint8_t *>(w), rows, y, ldy};
  run_gemm(k.w8a8, pool, size_t(cols), w_scale, &seg, 1, cols, x, ldx, n_tokens, act_scale > 0 ? k.w8a8_static_act : nullptr, act_scale);
}

}  // namespace qinfer::cpu
