// Fusion of op sequences of a decode step into single kernels, checked so that the fused kernel computes what the
// ops compute one after another: the operands it reads are never written by it, except where one thread reads
// and then writes the same element.
//   RMS_NORM or SILU_MUL, then a Q4_0/Q8_0 product of its output (1-4 tokens), then an ADD_F32 of the product
//   and a residual (each part optional, at least two): one matrix-vector kernel (cuda-matvec-q8.cu).
//   ROPE, then the KV_STORE of its rotated K heads and/or an unrelated KV_STORE (V): one kernel (cuda-graph-ops.cu).
#include "cuda-fuse.h"

#include <cmath>
#include <cstdlib>
#include <cstring>

#include "backends/module-common.h"
#include "backends/op-regions.h"
#include "cuda-graph-ops.h"
#include "cuda-matmul-paths.h"
#include "qinfer/ggml-types.h"

namespace qinfer::cuda {
namespace {

bool fuse_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("QINFER_CUDA_FUSE");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

bool at_same_start(qinfer_buffer *b, uint64_t off, const Region &r) { return b == r.b && off == r.off; }

// Raw device pointer of a region (qinfer_buffer's first field is the device pointer: cuda-backend.cc).
template <class T>
T *ptr(qinfer_buffer *b, uint64_t off) {
  return b ? reinterpret_cast<T *>(*reinterpret_cast<uint8_t **>(b) + off) : nullptr;
}

int fuse_product(const qinfer_op *ops, int n, int i, cudaStream_t stream, cudaError_t *err) {
  int j = i;
  const qinfer_op *pre = nullptr;
  if ((ops[i].op == QINFER_OP_RMS_NORM || ops[i].op == QINFER_OP_SILU_MUL) && i + 1 < n) pre = &ops[i], j = i + 1;
  const qinfer_op &m = ops[j];
  if (m.op != QINFER_OP_MATMUL && m.op != QINFER_OP_MATVEC) return 0;
  if (m.type != QINFER_TYPE_Q4_0 && m.type != QINFER_TYPE_Q8_0) return 0;
  const int64_t cols = m.ne[0], rows = m.ne[1], tokens = m.op == QINFER_OP_MATVEC ? 1 : m.ne[2];
  if (tokens < 1 || tokens > kMatvecQ8MaxTokens) return 0;
  const Region w = src_of(m, 0, module::row_bytes(m.type, cols) * uint64_t(rows)), x = src_of(m, 1, uint64_t(cols * tokens) * 4),
               y = dst_of(m, uint64_t(rows * tokens) * 4);
  MatvecFusion f;
  Region in, a2, pre_out;  // what the prologue reads and writes instead of x
  if (pre) {
    pre_out = dst_of(*pre, uint64_t(cols * tokens) * 4);
    if (!same(pre_out, x)) return 0;
    if (pre->op == QINFER_OP_RMS_NORM) {
      if (pre->ne[0] != cols || pre->ne[1] != tokens) return 0;
      in = src_of(*pre, 0, uint64_t(cols * tokens) * 4);
      a2 = pre->src[1] ? src_of(*pre, 1, uint64_t(cols) * 4) : Region{};
      f.pre = 1;
      f.eps = pre->params[0];
    } else {
      if (pre->ne[0] != cols * tokens) return 0;
      in = src_of(*pre, 0, uint64_t(cols * tokens) * 4);
      a2 = src_of(*pre, 1, uint64_t(cols * tokens) * 4);
      f.pre = 2;
    }
    if (!disjoint(pre_out, {in, a2, w, y})) return 0;
    f.a2 = ptr<const float>(a2.b, a2.off);
    f.pre_out = ptr<float>(pre_out.b, pre_out.off);
  } else {
    in = x;
  }
  if (!disjoint(y, {in, a2, w})) return 0;
  const qinfer_op *add = nullptr;
  if (j + 1 < n && ops[j + 1].op == QINFER_OP_ADD_F32 && ops[j + 1].ne[0] == rows * tokens) {
    const qinfer_op &a = ops[j + 1];
    const uint64_t len = uint64_t(rows * tokens) * 4;
    const int ri = at_same_start(a.src[1], a.src_offset[1], y) ? 0 : at_same_start(a.src[0], a.src_offset[0], y) ? 1 : -1;
    if (ri >= 0) {
      const Region res = src_of(a, ri, len), sum = dst_of(a, len);
      // sum may be res itself (each element read, then written, by one thread), nothing else read or written.
      const bool sum_ok = disjoint(sum, {in, a2, w, pre_out, y}) && (same(sum, res) || disjoint(sum, {res}));
      if (sum_ok && disjoint(res, {y, pre_out})) {
        add = &a;
        f.res = ptr<const float>(res.b, res.off);
        f.sum = ptr<float>(sum.b, sum.off);
      }
    }
  }
  if (!pre && !add) return 0;
  const cudaError_t e = launch_matvec_q8(m.type, ptr<const uint8_t>(w.b, w.off), ptr<const float>(in.b, in.off), ptr<float>(y.b, y.off), rows,
                                         cols, tokens, stream, &f);
  if (e == cudaErrorNotSupported) return 0;
  *err = e;
  return (pre ? 1 : 0) + 1 + (add ? 1 : 0);
}

int fuse_rope(const qinfer_op *ops, int n, int i, cudaStream_t stream, cudaError_t *err) {
  const qinfer_op &r = ops[i];
  const int64_t hd = r.ne[0], heads = r.ne[1], tokens = r.ne[2], n_dims = r.ne[3];
  const uint64_t rope_len = uint64_t(hd * heads * tokens) * 4;
  const Region rin = src_of(r, 0, rope_len), rout = dst_of(r, rope_len), rpos = src_of(r, 1, uint64_t(tokens) * 4),
               rff = r.src[2] ? src_of(r, 2, uint64_t(n_dims / 2) * 4) : Region{};
  RopeStoreArgs a{};
  a.x = ptr<const float>(rin.b, rin.off);
  a.positions = ptr<const int32_t>(rpos.b, rpos.off);
  a.freq_factors = ptr<const float>(rff.b, rff.off);
  a.y = ptr<float>(rout.b, rout.off);
  a.tokens = tokens, a.heads = heads, a.head_dim = hd, a.n_dims = n_dims;
  a.rope = RopeArgs{r.params[0], r.params[1], r.params[2] != 0, r.params[3], r.params[4], r.params[5], r.params[6]};
  a.theta_scale = std::pow(a.rope.freq_base, -2.0f / float(n_dims));  // the host's powf, as launch_rope computes it
  int used = 0;
  Region written[3] = {rout}, read[6] = {rin, rpos, rff};
  int n_written = 1, n_read = 3;
  for (int k = i + 1; k < n && k <= i + 2; k++) {
    const qinfer_op &s = ops[k];
    if (s.op != QINFER_OP_KV_STORE || s.ne[0] != hd || s.ne[2] != tokens) break;
    if (used && (s.type != a.kv_type || s.ne[3] != a.stride)) break;
    const uint64_t row = module::row_bytes(s.type, hd);
    const Region src = src_of(s, 0, uint64_t(hd * s.ne[1] * tokens) * 4), pos = src_of(s, 1, uint64_t(tokens) * 4),
                 cache = dst_of(s, uint64_t(s.ne[1]) * uint64_t(s.ne[3]) * row);
    bool ok = true;
    for (int q = 0; q < n_written; q++) ok = ok && !overlap(cache, written[q]) && !overlap(pos, written[q]);
    for (int q = 0; q < n_read; q++) ok = ok && !overlap(cache, read[q]);
    if (!ok) break;
    read[n_read++] = pos;
    const bool from_rope = src.b == rout.b && src.off >= rout.off && (src.off - rout.off) % uint64_t(hd * 4) == 0;
    if (from_rope) {
      const int64_t first = int64_t((src.off - rout.off) / uint64_t(hd * 4)), kh = s.ne[1];
      if (a.k_cache || !((tokens == 1 && first + kh <= heads) || (first == 0 && kh == heads))) break;
      a.k_cache = ptr<uint8_t>(cache.b, cache.off);
      a.k_positions = ptr<const int32_t>(pos.b, pos.off);
      a.k_first = first, a.k_heads = kh;
    } else {
      if (a.v_cache || overlap(src, rout)) break;
      for (int q = 1; q < n_written; q++) ok = ok && !overlap(src, written[q]);
      if (!ok) break;
      a.v = ptr<const float>(src.b, src.off);
      a.v_cache = ptr<uint8_t>(cache.b, cache.off);
      a.v_positions = ptr<const int32_t>(pos.b, pos.off);
      a.v_heads = s.ne[1];
      read[n_read++] = src;
    }
    a.kv_type = s.type, a.stride = s.ne[3], a.row_bytes = row;
    written[n_written++] = cache;
    used++;
  }
  if (!used) return 0;
  const cudaError_t e = launch_rope_store(a, stream);
  if (e == cudaErrorNotSupported) return 0;
  *err = e;
  return 1 + used;
}

}  // namespace

int launch_fused(const qinfer_op *ops, int n_ops, int i, cudaStream_t stream, cudaError_t *err) {
  if (!fuse_enabled()) return 0;
  const int32_t op = ops[i].op;
  if (op == QINFER_OP_RMS_NORM || op == QINFER_OP_SILU_MUL || op == QINFER_OP_MATMUL || op == QINFER_OP_MATVEC)
    return fuse_product(ops, n_ops, i, stream, err);
  if (op == QINFER_OP_ROPE) return fuse_rope(ops, n_ops, i, stream, err);
  return 0;
}

}  // namespace qinfer::cuda
