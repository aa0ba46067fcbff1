// libFuzzer target: the GGUF parser on arbitrary bytes must return contents or throw qinfer::Error, nothing else.
#include <cstddef>
#include <cstdint>

#include "core/error.h"
#include "core/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  try {
    qinfer::GgufContents g = qinfer::parse_gguf(data, size, "fuzz");
    // Everything the parser promises: tensor data inside the input.
    for (const qinfer::GgufTensorInfo &t : g.tensors)
      if (t.offset > size || t.bytes > size - t.offset) __builtin_trap();
  } catch (const qinfer::Error &e) {
    if (e.status() != QINFER_E_BAD_FILE) __builtin_trap();
  }
  return 0;
}
