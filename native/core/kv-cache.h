// The key/value cache: one slot of `n_ctx` positions per sequence, head-major per layer, in anonymous memory paged in on use.
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/llama-model.h"

namespace qinfer {

class KvCache {
 public:
  KvCache(const LlamaHparams &hp, int32_t n_ctx, int32_t n_seq, int32_t type);
  ~KvCache();
  KvCache(const KvCache &) = delete;
  KvCache &operator=(const KvCache &) = delete;

  int32_t n_ctx() const { return n_ctx_; }
  int32_t n_seq() const { return n_seq_; }
  int32_t type() const { return type_; }
  // Bytes between positions of one head; heads are n_ctx positions apart.
  size_t row_bytes() const { return row_bytes_; }
  uint8_t *k(int32_t layer, int32_t seq) const { return base(layer, seq, 0); }
  uint8_t *v(int32_t layer, int32_t seq) const { return base(layer, seq, 1); }
  // Copies positions [0, n) of every layer from one slot to another (a shared prompt prefix).
  void copy_prefix(int32_t src_seq, int32_t dst_seq, int32_t n);
  uint64_t bytes() const { return bytes_; }
  uint64_t resident_bytes() const;

 private:
  uint8_t *base(int32_t layer, int32_t seq, int kv) const {
    return data_ + ((size_t(layer) * size_t(n_seq_) + size_t(seq)) * 2 + size_t(kv)) * slot_bytes_;
  }

  int32_t n_layer_, n_head_kv_, n_ctx_, n_seq_, type_;
  size_t row_bytes_, slot_bytes_;
  uint8_t *data_ = nullptr;
  uint64_t bytes_ = 0;
};

}  // namespace qinfer
