// KV cache storage: anonymous mapping so slots that are never used cost no RAM.
#include "core/kv-cache.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "core/error.h"
#include "qinfer/ggml-types.h"

namespace qinfer {

KvCache::KvCache(const LlamaHparams &hp, int32_t n_ctx, int32_t n_seq, int32_t type)
    : n_layer_(hp.n_layer), n_head_kv_(hp.n_head_kv), n_ctx_(n_ctx), n_seq_(n_seq), type_(type) {
  const qinfer_type_traits *tr = qinfer_type_traits_of(type);
  if ((type != QINFER_TYPE_F32 && type != QINFER_TYPE_F16 && type != QINFER_TYPE_Q8_0) || hp.head_dim % tr->block_size != 0) {
    throw Error(QINFER_E_UNSUPPORTED, "KV cache type id " + std::to_string(type) + " is not supported here (f32, f16, or q8_0 with heads a multiple of 32)");
  }
  row_bytes_ = size_t(hp.head_dim / tr->block_size) * size_t(tr->type_size);
  slot_bytes_ = row_bytes_ * size_t(n_ctx) * size_t(n_head_kv_);
  bytes_ = uint64_t(slot_bytes_) * 2 * uint64_t(n_layer_) * uint64_t(n_seq_);
  void *p = ::mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
  if (p == MAP_FAILED) throw Error(QINFER_E_OUT_OF_MEMORY, "cannot reserve " + std::to_string(bytes_) + " bytes for the KV cache");
  data_ = static_cast<uint8_t *>(p);
}

KvCache::~KvCache() { ::munmap(data_, bytes_); }

void KvCache::copy_prefix(int32_t src, int32_t dst, int32_t n) {
  if (src == dst || n <= 0) return;
  for (int32_t l = 0; l < n_layer_; ++l) {
    for (int kv = 0; kv < 2; ++kv) {
      for (int32_t h = 0; h < n_head_kv_; ++h) {
        size_t off = size_t(h) * size_t(n_ctx_) * row_bytes_;
        std::memcpy(base(l, dst, kv) + off, base(l, src, kv) + off, size_t(n) * row_bytes_);
      }
    }
  }
}

uint64_t KvCache::resident_bytes() const {
  const size_t page = size_t(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> vec((bytes_ + page - 1) / page);
  if (::mincore(data_, bytes_, vec.data()) != 0) return 0;
  uint64_t n = 0;
  for (unsigned char v : vec) n += v & 1;
  return n * page;
}

}  // namespace qinfer
