// libFuzzer target: the safetensors header parser on arbitrary bytes (first 8 = the file size to check
// against, rest = the JSON header) must return a header or throw BAD_FILE / UNSUPPORTED, nothing else.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "core/error.h"
#include "core/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 8) return 0;
  uint64_t extra;
  std::memcpy(&extra, data, 8);
  const uint64_t json_size = size - 8;
  const uint64_t file_size = 8 + json_size + (extra % (uint64_t(1) << 40));
  try {
    qinfer::SafetensorsHeader h =
        qinfer::parse_safetensors_header(reinterpret_cast<const char *>(data + 8), json_size, file_size, "fuzz");
    for (const qinfer::SafetensorsTensor &t : h.tensors)
      if (t.offset < h.data_offset || t.offset > file_size || t.bytes > file_size - t.offset) __builtin_trap();
  } catch (const qinfer::Error &e) {
    if (e.status() != QINFER_E_BAD_FILE && e.status() != QINFER_E_UNSUPPORTED) __builtin_trap();
  }
  return 0;
}
