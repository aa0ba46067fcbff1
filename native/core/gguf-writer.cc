// The GGUF writer: spec validation, header/metadata/tensor-info serialization and the streaming driver.
#include "gguf-writer.h"

#include <unordered_set>

#include "byte-cursor.h"
#include "output-file.h"
#include "qinfer/ggml-types.h"
#include "tensor-stream.h"

namespace qinfer {
namespace {

constexpr size_t kMaxTensorName = 63;  // llama.cpp's GGML_MAX_NAME less the terminator

[[noreturn]] void invalid(const std::string &m) { throw Error(QINFER_E_INVALID_ARGUMENT, m); }

template <typename T>
void put(std::vector<uint8_t> &out, T v) {
  const auto *p = reinterpret_cast<const uint8_t *>(&v);
  out.insert(out.end(), p, p + sizeof(T));
}

void put_string(std::vector<uint8_t> &out, const std::string &s) {
  put<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void append_array_body(std::vector<uint8_t> &out, const GgufValue &v) {
  put<uint32_t>(out, uint32_t(v.elem_type));
  put<uint64_t>(out, v.count);
  if (uint32_t size = gguf_type_size(v.elem_type)) {
    if (v.raw.size() != v.count * size) invalid("array element bytes do not match its count");
    out.insert(out.end(), v.raw.begin(), v.raw.end());
  } else if (v.elem_type == GgufType::STRING) {
    if (v.strings.size() != v.count) invalid("array string count does not match its count");
    for (const std::string &s : v.strings) put_string(out, s);
  } else {
    if (v.items.size() != v.count) invalid("array item count does not match its count");
    for (const GgufValue &item : v.items) append_array_body(out, item);
  }
}

// Layout of every tensor and the checks that need no source: name, type, shape.
TensorLayout layout_of(const GgufWriteTensor &t) {
  const std::string what = "tensor \"" + t.name + "\"";
  const qinfer_type_traits *tr = qinfer_type_traits_of(t.type);
  if (!tr) invalid(what + " has unknown ggml type id " + std::to_string(t.type));
  if (t.shape.empty() || t.shape.size() > kGgufMaxDims) invalid(what + " must have 1 to 4 dimensions");
  TensorLayout l;
  l.elements = 1;
  for (uint64_t d : t.shape)
    if (d > uint64_t(INT64_MAX) || mul_overflows(l.elements, d, &l.elements) || l.elements > uint64_t(INT64_MAX))
      invalid(what + " has more than 2^63 elements");
  if (t.shape[0] % uint64_t(tr->block_size))
    invalid(what + " of type " + tr->name + " needs rows that are a multiple of " + std::to_string(tr->block_size) + " elements");
  if (mul_overflows(l.elements / uint64_t(tr->block_size), uint64_t(tr->type_size), &l.out_bytes)) invalid(what + " is too large");
  l.row_elements = t.shape.size() == 1 ? 1 : t.shape[0];
  l.rows = l.row_elements ? l.elements / l.row_elements : 0;
  return l;
}

// The effective alignment, and whether general.alignment has to be added to the metadata.
uint32_t resolve_alignment(const GgufWriteSpec &spec, bool *add_key) {
  const GgufKv *key = nullptr;
  for (const GgufKv &kv : spec.metadata)
    if (kv.key == "general.alignment") key = &kv;
  *add_key = false;
  if (key) {
    if (key->value.type != GgufType::U32) invalid("general.alignment must be a u32");
    uint64_t a = key->value.u;
    if (a == 0 || (a & (a - 1))) invalid("general.alignment " + std::to_string(a) + " is not a power of two");
    if (spec.alignment && spec.alignment != a)
      invalid("alignment " + std::to_string(spec.alignment) + " disagrees with general.alignment " + std::to_string(a));
    return uint32_t(a);
  }
  uint32_t a = spec.alignment ? spec.alignment : kGgufDefaultAlignment;
  if (a & (a - 1)) invalid("alignment " + std::to_string(a) + " is not a power of two");
  *add_key = a != kGgufDefaultAlignment;
  return a;
}

}  // namespace

void append_gguf_value(std::vector<uint8_t> &out, const GgufValue &v) {
  put<uint32_t>(out, uint32_t(v.type));
  switch (v.type) {
    case GgufType::U8: put<uint8_t>(out, uint8_t(v.u)); break;
    case GgufType::I8: put<int8_t>(out, int8_t(v.i)); break;
    case GgufType::U16: put<uint16_t>(out, uint16_t(v.u)); break;
    case GgufType::I16: put<int16_t>(out, int16_t(v.i)); break;
    case GgufType::U32: put<uint32_t>(out, uint32_t(v.u)); break;
    case GgufType::I32: put<int32_t>(out, int32_t(v.i)); break;
    case GgufType::U64: put<uint64_t>(out, v.u); break;
    case GgufType::I64: put<int64_t>(out, v.i); break;
    case GgufType::F32: put<float>(out, float(v.f)); break;
    case GgufType::F64: put<double>(out, v.f); break;
    case GgufType::BOOL: put<uint8_t>(out, v.u ? 1 : 0); break;
    case GgufType::STRING: put_string(out, v.str); break;
    case GgufType::ARRAY: append_array_body(out, v); break;
  }
}

uint64_t write_gguf(const GgufWriteSpec &spec, const std::atomic<bool> *abort, const GgufProgressFn &progress) {
  if (spec.version != 3 && spec.version != 2) invalid("GGUF version must be 2 or 3");
  bool add_alignment_key = false;
  const uint64_t alignment = resolve_alignment(spec, &add_alignment_key);

  std::unordered_set<std::string> keys;
  for (const GgufKv &kv : spec.metadata) {
    if (kv.key.empty()) invalid("a metadata key is empty");
    if (!keys.insert(kv.key).second) invalid("duplicate metadata key \"" + kv.key + "\"");
  }
  std::unordered_set<std::string> names;
  std::vector<TensorLayout> layouts;
  SourceFiles files;
  GgufWriteProgress p;
  p.tensors_total = spec.tensors.size();
  for (const GgufWriteTensor &t : spec.tensors) {
    if (t.name.size() > kMaxTensorName)
      invalid("tensor name \"" + t.name + "\" is longer than llama.cpp's limit of 63 bytes");
    if (!names.insert(t.name).second) invalid("duplicate tensor name \"" + t.name + "\"");
    layouts.push_back(layout_of(t));
    check_tensor_source(t, layouts.back(), files);
    p.bytes_total += layouts.back().out_bytes;
  }

  std::vector<uint8_t> head;
  put<uint32_t>(head, kGgufMagic);
  put<uint32_t>(head, spec.version);
  put<uint64_t>(head, spec.tensors.size());
  put<uint64_t>(head, spec.metadata.size() + (add_alignment_key ? 1 : 0));
  for (const GgufKv &kv : spec.metadata) {
    put_string(head, kv.key);
    append_gguf_value(head, kv.value);
  }
  if (add_alignment_key) {
    GgufValue a;
    a.type = GgufType::U32;
    a.u = alignment;
    put_string(head, "general.alignment");
    append_gguf_value(head, a);
  }
  uint64_t offset = 0;
  for (size_t k = 0; k < spec.tensors.size(); k++) {
    const GgufWriteTensor &t = spec.tensors[k];
    put_string(head, t.name);
    put<uint32_t>(head, uint32_t(t.shape.size()));
    for (uint64_t d : t.shape) put<uint64_t>(head, d);
    put<int32_t>(head, t.type);
    put<uint64_t>(head, offset);
    const uint64_t bytes = layouts[k].out_bytes;
    offset += bytes + (alignment - bytes % alignment) % alignment;
  }

  OutputFile out(spec.path);
  out.write(head.data(), head.size());
  // A file without tensors has no data section, so nothing to align (as the llama.cpp vocab files).
  if (!spec.tensors.empty()) out.pad(alignment);
  if (progress) progress(p);
  for (size_t k = 0; k < spec.tensors.size(); k++) {
    stream_tensor(spec.tensors[k], layouts[k], files, out, abort, [&](uint64_t n) {
      p.bytes_done += n;
      if (progress) progress(p);
    });
    out.pad(alignment);
    p.tensors_done++;
    if (progress) progress(p);
  }
  if (abort && abort->load()) throw Error(QINFER_E_ABORTED, "writing the GGUF file was aborted");
  out.commit();
  return out.written();
}

}  // namespace qinfer
