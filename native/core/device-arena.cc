// Packs reservations into backend buffers of bounded size (Vulkan limits one buffer's range; fewer allocations serve every backend).
#include "core/device-arena.h"

#include "core/error.h"

namespace qinfer {

DeviceArena::~DeviceArena() {
  for (qinfer_buffer *b : buffers_) vt_->buffer_free(b);
}

DeviceRegion *DeviceArena::reserve(uint64_t bytes) {
  pending_.push_back(Pending{bytes, {}});
  return &pending_.back().region;
}

uint64_t DeviceArena::planned() const {
  uint64_t n = 0;
  for (const Pending &p : pending_) n += (p.bytes + kAlign - 1) / kAlign * kAlign;
  return n;
}

void DeviceArena::allocate(const std::string &what) {
  size_t i = 0;
  while (i < pending_.size()) {
    if (pending_[i].region) {
      ++i;
      continue;
    }
    // Consecutive reservations share a buffer while they fit in a chunk.
    uint64_t size = 0;
    size_t end = i;
    while (end < pending_.size() && (end == i || size + pending_[end].bytes <= chunk_)) {
      size = (size + pending_[end].bytes + kAlign - 1) / kAlign * kAlign;
      ++end;
    }
    qinfer_buffer *b = vt_->buffer_alloc(device_, size);
    if (!b) {
      const char *msg = vt_->last_error();
      throw Error(QINFER_E_OUT_OF_MEMORY, "cannot allocate " + std::to_string(size) + " bytes of device memory for " + what +
                                              ": " + (msg && *msg ? msg : "the backend gave no reason"));
    }
    buffers_.push_back(b);
    total_ += size;
    uint64_t offset = 0;
    for (; i < end; ++i) {
      pending_[i].region = {b, offset};
      offset = (offset + pending_[i].bytes + kAlign - 1) / kAlign * kAlign;
    }
  }
}

void check_backend(const qinfer_backend *backend, int status, const char *what) {
  if (status == QINFER_OK) return;
  const char *msg = backend->last_error();
  throw Error(qinfer_status(status), std::string(what) + " on the " + backend->name + " backend failed: " + (msg && *msg ? msg : "no reason given"));
}

}  // namespace qinfer
