// Byte ranges of ops' operands, for the GPU modules' fusion planners: a fusion is taken only when no
// operand one kernel reads is written by it, which these answer.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "qinfer/backend.h"

namespace qinfer {

struct Region {
  qinfer_buffer *b = nullptr;
  uint64_t off = 0, len = 0;
};

inline Region src_of(const qinfer_op &op, int i, uint64_t len) { return {op.src[i], op.src_offset[i], len}; }
inline Region dst_of(const qinfer_op &op, uint64_t len) { return {op.dst, op.dst_offset, len}; }

inline bool overlap(const Region &a, const Region &b) {
  return a.b && a.b == b.b && a.len && b.len && a.off < b.off + b.len && b.off < a.off + a.len;
}
inline bool same(const Region &a, const Region &b) { return a.b == b.b && a.off == b.off && a.len == b.len; }
inline bool disjoint(const Region &a, std::initializer_list<Region> others) {
  for (const Region &o : others)
    if (overlap(a, o)) return false;
  return true;
}

}  // namespace qinfer
