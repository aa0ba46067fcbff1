// Fused decode dispatches (vk-fuse.h): which op sequences qualify, and the bindings and push constants of the
// fused matvec.comp (its header says what each binding holds).
#include "vk-fuse.h"


#include "backends/module-common.h"
#include "backends/op-regions.h"

namespace qinfer::vk {
namespace {

// Where vk-ops.cc sends a product of this many tokens to matvec.comp (one pass of up to 8 tokens).
constexpr int64_t kMaxTokens = 8;

bool vec4_aligned(const Region &r) { return !r.b || r.off % 16 == 0; }

// Binds `r` at `binding` of `d`; false when its offset is not a word offset the shaders can take.
bool bind(Dispatch *d, int binding, const Region &r) {
  if (r.off % 4 != 0 || r.off / 4 > UINT32_MAX) return false;
  d->buffers[binding] = r.b;
  d->pc.off[binding] = uint32_t(r.off / 4);
  return true;
}

int plan_rope(const qinfer_op *ops, int n, int i, bool coopmat, Dispatch *out) {
  const qinfer_op &r = ops[i];
  Dispatch d;
  if (plan_op(r, coopmat, &d) != QINFER_OK || r.ne[0] > 256) return 0;
  const int64_t hd = r.ne[0], heads = r.ne[1], tokens = r.ne[2], n_dims = r.ne[3];
  const uint64_t rope_len = uint64_t(hd * heads * tokens) * 4;
  const Region rin = src_of(r, 0, rope_len), rout = dst_of(r, rope_len), rpos = src_of(r, 1, uint64_t(tokens) * 4),
               rff = r.src[2] ? src_of(r, 2, uint64_t(n_dims / 2) * 4) : Region{};
  Region written[3] = {rout}, read[5] = {rin, rpos, rff}, kv_pos;
  int n_written = 1, n_read = 3, used = 0;
  int32_t kv_type = -1;
  int64_t stride = 0;
  bool have_k = false, have_v = false;
  for (int k = i + 1; k < n && k <= i + 2; k++) {
    const qinfer_op &s = ops[k];
    if (s.op != QINFER_OP_KV_STORE || s.ne[0] != hd || s.ne[2] != tokens) break;
    if (used && (s.type != kv_type || s.ne[3] != stride)) break;
    Dispatch check;
    if (plan_op(s, coopmat, &check) != QINFER_OK) break;
    const uint64_t row = module::row_bytes(s.type, hd);
    const Region src = src_of(s, 0, uint64_t(hd * s.ne[1] * tokens) * 4), pos = src_of(s, 1, uint64_t(tokens) * 4),
                 cache = dst_of(s, uint64_t(s.ne[1]) * uint64_t(s.ne[3]) * row);
    if (used && !same(pos, kv_pos)) break;  // one positions binding for both stores
    bool ok = true;
    for (int q = 0; q < n_written; q++) ok = ok && !overlap(cache, written[q]) && !overlap(pos, written[q]);
    for (int q = 0; q < n_read; q++) ok = ok && !overlap(cache, read[q]);
    if (!ok) break;
    const bool from_rope = src.b == rout.b && src.off >= rout.off && src.off < rout.off + rout.len && (src.off - rout.off) % uint64_t(hd * 4) == 0;
    if (from_rope) {
      // The rotated K heads: a run of one token's heads, or every head of every token.
      const int64_t first = int64_t((src.off - rout.off) / uint64_t(hd * 4)), kh = s.ne[1];
      if (have_k || !((tokens == 1 && first + kh <= heads) || (first == 0 && kh == heads))) break;
      if (!bind(&d, 5, cache)) break;
      d.pc.extra[0] = uint32_t(first), d.pc.extra[1] = uint32_t(kh);
      have_k = true;
    } else {
      for (int q = 0; q < n_written; q++) ok = ok && !overlap(src, written[q]);
      if (have_v || !ok || !bind(&d, 3, src) || !bind(&d, 6, cache)) break;
      d.pc.extra[2] = uint32_t(s.ne[1]);
      read[n_read++] = src;
      have_v = true;
    }
    kv_type = s.type, stride = s.ne[3], kv_pos = pos;
    written[n_written++] = cache;
    used++;
  }
  if (!used || !bind(&d, 7, kv_pos)) return 0;
  d.pc.extra[3] = uint32_t(stride);
  d.shader = kv_type == QINFER_TYPE_F16 ? shaders::ROPE_KV_F16 : shaders::ROPE_KV_F32;
  d.workgroups = uint64_t(heads * tokens) + uint64_t(d.pc.extra[2]) * uint64_t(tokens);
  *out = d;
  return 1 + used;
}

int plan_product(const qinfer_op *ops, int n, int i, bool coopmat, Dispatch *out) {
  int j = i;
  const qinfer_op *pre = nullptr;
  if ((ops[i].op == QINFER_OP_RMS_NORM || ops[i].op == QINFER_OP_SILU_MUL) && i + 1 < n) pre = &ops[i], j = i + 1;
  const qinfer_op &m = ops[j];
  if (m.op != QINFER_OP_MATMUL && m.op != QINFER_OP_MATVEC) return 0;
  if (m.type != QINFER_TYPE_Q4_0 && m.type != QINFER_TYPE_Q8_0) return 0;
  const int64_t cols = m.ne[0], rows = m.ne[1], tokens = m.op == QINFER_OP_MATVEC ? 1 : m.ne[2];
  if (tokens < 1 || tokens > kMaxTokens) return 0;
  // The product's own checks (bounds, offsets, sizes) and launch size; every op fused is checked the same way.
  Dispatch d;
  if (plan_op(m, coopmat, &d) != QINFER_OK || d.shader != (m.type == QINFER_TYPE_Q4_0 ? shaders::MATVEC_Q4_0 : shaders::MATVEC_Q8_0)) return 0;
  const Region w = src_of(m, 0, module::row_bytes(m.type, cols) * uint64_t(rows)), x = src_of(m, 1, uint64_t(cols * tokens) * 4),
               y = dst_of(m, uint64_t(rows * tokens) * 4);
  Region in = x, a2, pre_out;  // what the prologue reads and writes instead of x
  float mode = 0;
  // Too large to stage: the op before runs alone, and the product may still take the add after it.
  if (pre && cols * tokens > kMatvecStagedMax) return 0;
  if (pre) {
    Dispatch check;
    if (plan_op(*pre, coopmat, &check) != QINFER_OK) return 0;
    pre_out = dst_of(*pre, uint64_t(cols * tokens) * 4);
    if (!same(pre_out, x)) return 0;
    in = src_of(*pre, 0, uint64_t(cols * tokens) * 4);
    if (pre->op == QINFER_OP_RMS_NORM) {
      if (pre->ne[0] != cols || pre->ne[1] != tokens) return 0;
      a2 = pre->src[1] ? src_of(*pre, 1, uint64_t(cols) * 4) : Region{};
      mode = pre->src[1] ? 1 : 2;
      d.pc.params[1] = pre->params[0];
    } else {
      if (pre->ne[0] != cols * tokens) return 0;
      a2 = src_of(*pre, 1, uint64_t(cols * tokens) * 4);
      mode = 3;
    }
    if (!vec4_aligned(in) || !vec4_aligned(a2) || !disjoint(pre_out, {in, a2, w, y})) return 0;
  }
  if (!disjoint(y, {in, a2, w})) return 0;
  const qinfer_op *add = nullptr;
  Region res, sum;
  if (j + 1 < n && ops[j + 1].op == QINFER_OP_ADD_F32 && ops[j + 1].ne[0] == rows * tokens) {
    const qinfer_op &a = ops[j + 1];
    const uint64_t len = uint64_t(rows * tokens) * 4;
    auto starts_at_y = [&](int k) { return a.src[k] == y.b && a.src_offset[k] == y.off; };
    const int ri = starts_at_y(1) ? 0 : starts_at_y(0) ? 1 : -1;
    Dispatch check;
    if (ri >= 0 && plan_op(a, coopmat, &check) == QINFER_OK) {
      res = src_of(a, ri, len), sum = dst_of(a, len);
      // sum may be res itself (each element read, then written, by one invocation), nothing else read or written.
      const bool sum_ok = disjoint(sum, {in, a2, w, pre_out, y}) && (same(sum, res) || disjoint(sum, {res}));
      if (sum_ok && disjoint(res, {y, pre_out})) add = &a;
    }
  }
  if (!pre && !add) return 0;
  d.shader = m.type == QINFER_TYPE_Q4_0 ? shaders::MATVEC_FUSED_Q4_0 : shaders::MATVEC_FUSED_Q8_0;
  d.pc.params[0] = mode;
  if (!bind(&d, 1, in)) return 0;
  if (pre && !(bind(&d, 2, a2) && bind(&d, 3, pre_out))) return 0;
  if (add) {
    d.pc.params[2] = 1;
    if (!bind(&d, 5, res) || !bind(&d, 6, sum)) return 0;
  }
  *out = d;
  return (pre ? 1 : 0) + 1 + (add ? 1 : 0);
}

}  // namespace

int plan_fused(const qinfer_op *ops, int n, int i, bool coopmat, Dispatch *out) {
  return ops[i].op == QINFER_OP_ROPE ? plan_rope(ops, n, i, coopmat, out) : plan_product(ops, n, i, coopmat, out);
}

}  // namespace qinfer::vk
