// Device memory for the device evaluator: regions carved out of a few large backend buffers, freed together.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "qinfer/backend.h"

namespace qinfer {

struct DeviceRegion {
  qinfer_buffer *buffer = nullptr;
  uint64_t offset = 0;
  explicit operator bool() const { return buffer != nullptr; }
  DeviceRegion at(uint64_t bytes) const { return {buffer, offset + bytes}; }
};

class DeviceArena {
 public:
  // Regions start at multiples of kAlign; a buffer holds up to chunk_bytes (a larger region gets its own).
  static constexpr uint64_t kAlign = 256;
  DeviceArena(const qinfer_backend *backend, int device, uint64_t chunk_bytes) : vt_(backend), device_(device), chunk_(chunk_bytes) {}
  ~DeviceArena();
  DeviceArena(const DeviceArena &) = delete;
  DeviceArena &operator=(const DeviceArena &) = delete;

  // Plans a region of `bytes`; nothing is allocated until allocate().
  DeviceRegion *reserve(uint64_t bytes);
  // Allocates every buffer the reservations need and fills in their regions; throws qinfer::Error
  // (E_OUT_OF_MEMORY when the device is full) naming `what`.
  void allocate(const std::string &what);
  // Bytes allocate() will take (or has taken) for every reservation so far.
  uint64_t planned() const;
  uint64_t bytes() const { return total_; }

 private:
  struct Pending {
    uint64_t bytes;
    DeviceRegion region;
  };
  const qinfer_backend *vt_;
  int device_;
  uint64_t chunk_;
  std::deque<Pending> pending_;  // stable addresses for the regions handed out
  std::vector<qinfer_buffer *> buffers_;
  uint64_t total_ = 0;
};

// Throws qinfer::Error with the backend's message when a vtable call returned a failure status.
void check_backend(const qinfer_backend *backend, int status, const char *what);

}  // namespace qinfer
