// The GGUF parser: header, metadata and tensor infos, with every count, length, shape and offset checked
// against the bytes that exist (overflow-safe) before anything is allocated or dereferenced.
#include "byte-cursor.h"
#include "gguf.h"
#include "qinfer/ggml-types.h"

namespace qinfer {
namespace {

constexpr uint64_t kMinKvBytes = 8 + 4 + 1;          // empty key, type, one-byte value
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 4 + 8;  // empty name, n_dims, type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;           // element type + count

void check_abort(const std::atomic<bool> *abort) {
  if (abort && abort->load(std::memory_order_relaxed)) throw Error(QINFER_E_ABORTED, "reading the GGUF file was aborted");
}

std::string quoted(const std::string &s) {
  if (s.size() > 80) return "\"" + s.substr(0, 80) + "...\"";
  return "\"" + s + "\"";
}

GgufType read_type(ByteCursor &c, const std::string &what) {
  uint32_t t = c.read<uint32_t>(what);
  if (t >= kGgufTypeCount) c.fail(what + " is " + std::to_string(t) + ", not a GGUF value type (0..12)");
  return GgufType(t);
}

void read_value(ByteCursor &c, GgufType type, GgufValue &v, const std::string &what, int depth);

void read_array(ByteCursor &c, GgufValue &v, const std::string &what, int depth) {
  if (depth >= kGgufMaxArrayDepth)
    c.fail(what + " nests arrays deeper than " + std::to_string(kGgufMaxArrayDepth) + " levels");
  v.elem_type = read_type(c, what + " element type");
  v.count = c.read<uint64_t>(what + " element count");
  const uint32_t elem = gguf_type_size(v.elem_type);
  // The smallest encoding of one element bounds the count by what the file still holds.
  const uint64_t min_elem = elem ? elem : v.elem_type == GgufType::STRING ? 8 : kMinArrayBytes;
  if (v.count > c.remaining() / min_elem)
    c.fail(what + " claims " + std::to_string(v.count) + " elements of type " + gguf_type_name(v.elem_type) +
           " at offset " + std::to_string(c.pos()) + " but only " + std::to_string(c.remaining()) +
           " bytes remain in the file");
  if (elem) {
    const uint64_t n = v.count * elem;
    v.raw.assign(c.here(), c.here() + n);
    c.skip(n, what);
    if (v.elem_type == GgufType::BOOL)
      for (uint8_t b : v.raw)
        if (b > 1) c.fail(what + " holds a bool that is neither 0 nor 1");
  } else if (v.elem_type == GgufType::STRING) {
    v.strings.reserve(size_t(v.count));
    for (uint64_t k = 0; k < v.count; k++) v.strings.push_back(c.read_string(what + " item " + std::to_string(k)));
  } else {
    v.items.resize(size_t(v.count));
    for (uint64_t k = 0; k < v.count; k++) {
      v.items[k].type = GgufType::ARRAY;
      read_array(c, v.items[k], what + " item " + std::to_string(k), depth + 1);
    }
  }
}

void read_value(ByteCursor &c, GgufType type, GgufValue &v, const std::string &what, int depth) {
  v.type = type;
  switch (type) {
    case GgufType::U8: v.u = c.read<uint8_t>(what); break;
    case GgufType::I8: v.i = c.read<int8_t>(what); break;
    case GgufType::U16: v.u = c.read<uint16_t>(what); break;
    case GgufType::I16: v.i = c.read<int16_t>(what); break;
    case GgufType::U32: v.u = c.read<uint32_t>(what); break;
    case GgufType::I32: v.i = c.read<int32_t>(what); break;
    case GgufType::U64: v.u = c.read<uint64_t>(what); break;
    case GgufType::I64: v.i = c.read<int64_t>(what); break;
    case GgufType::F32: v.f = c.read<float>(what); break;
    case GgufType::F64: v.f = c.read<double>(what); break;
    case GgufType::BOOL:
      v.u = c.read<uint8_t>(what);
      if (v.u > 1) c.fail(what + " is a bool of value " + std::to_string(v.u) + ", not 0 or 1");
      break;
    case GgufType::STRING: v.str = c.read_string(what); break;
    case GgufType::ARRAY: read_array(c, v, what, depth); break;
  }
}

void read_metadata(ByteCursor &c, uint64_t n_kv, GgufContents &g, const std::atomic<bool> *abort) {
  if (n_kv > c.remaining() / kMinKvBytes)
    c.fail("header claims " + std::to_string(n_kv) + " metadata entries but the file holds " +
           std::to_string(c.remaining()) + " more bytes");
  g.metadata.resize(size_t(n_kv));
  for (uint64_t k = 0; k < n_kv; k++) {
    check_abort(abort);
    GgufKv &kv = g.metadata[k];
    const std::string where = "metadata entry " + std::to_string(k);
    kv.key = c.read_string(where + " key");
    if (!is_valid_utf8(kv.key.data(), kv.key.size())) c.fail(where + " has a key that is not valid UTF-8");
    if (kv.key.empty()) c.fail(where + " has an empty key");
    if (!g.key_index.emplace(kv.key, size_t(k)).second) c.fail("duplicate metadata key " + quoted(kv.key));
    const std::string what = "metadata " + quoted(kv.key);
    read_value(c, read_type(c, what + " type"), kv.value, what, 0);
  }
  if (const GgufValue *a = g.find("general.alignment")) {
    if (a->type != GgufType::U32)
      c.fail(std::string("general.alignment must be a u32 but is a ") + gguf_type_name(a->type));
    if (a->u == 0 || (a->u & (a->u - 1)) != 0)
      c.fail("general.alignment " + std::to_string(a->u) + " is not a power of two");
    g.alignment = uint32_t(a->u);
  }
}

void read_tensor_info(ByteCursor &c, uint64_t k, GgufContents &g, GgufTensorInfo &t) {
  const std::string where = "tensor info " + std::to_string(k);
  t.name = c.read_string(where + " name");
  if (!is_valid_utf8(t.name.data(), t.name.size())) c.fail(where + " has a name that is not valid UTF-8");
  if (!g.tensor_index.emplace(t.name, size_t(k)).second) c.fail("duplicate tensor name " + quoted(t.name));
  const std::string what = "tensor " + quoted(t.name);
  t.n_dims = c.read<uint32_t>(what + " dimension count");
  if (t.n_dims > kGgufMaxDims)
    c.fail(what + " has " + std::to_string(t.n_dims) + " dimensions (ggml allows at most 4)");
  t.elements = 1;
  for (uint32_t d = 0; d < t.n_dims; d++) {
    t.ne[d] = c.read<uint64_t>(what + " dimension " + std::to_string(d));
    if (t.ne[d] > uint64_t(INT64_MAX)) c.fail(what + " dimension " + std::to_string(d) + " is negative");
  }
  for (uint32_t d = 0; d < kGgufMaxDims; d++)
    if (mul_overflows(t.elements, t.ne[d], &t.elements) || t.elements > uint64_t(INT64_MAX))
      c.fail(what + " has more than 2^63 elements");
  t.type = c.read<int32_t>(what + " type");
  const qinfer_type_traits *tr = qinfer_type_traits_of(t.type);
  if (!tr) c.fail(what + " has unknown ggml type id " + std::to_string(t.type));
  if (t.ne[0] % uint64_t(tr->block_size) != 0)
    c.fail(what + " of type " + tr->name + " has " + std::to_string(t.ne[0]) +
           " elements per row, not a multiple of its block size " + std::to_string(tr->block_size));
  if (mul_overflows(t.elements / uint64_t(tr->block_size), uint64_t(tr->type_size), &t.bytes))
    c.fail(what + " is larger than 2^64 bytes");
  t.offset = c.read<uint64_t>(what + " data offset");
}

// Offsets become absolute; each tensor must be aligned, inside the file and disjoint from the others.
void place_tensors(ByteCursor &c, GgufContents &g) {
  const uint64_t a = g.alignment;
  uint64_t data = c.pos();
  if (data % a && add_overflows(data, a - data % a, &data)) c.fail("data section offset overflows");
  if (g.tensors.empty()) {
    g.data_offset = std::min(data, g.file_size);  // files without tensors may end unpadded
    return;
  }
  if (data > g.file_size)
    c.fail("data section would start at offset " + std::to_string(data) + " (aligned to " + std::to_string(a) +
           ") but the file ends at " + std::to_string(g.file_size));
  g.data_offset = data;
  const uint64_t room = g.file_size - data;
  for (GgufTensorInfo &t : g.tensors) {
    const std::string what = "tensor " + quoted(t.name);
    if (t.offset % a) c.fail(what + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " + std::to_string(a));
    if (t.offset > room || t.bytes > room - t.offset)
      c.fail(what + " data (" + std::to_string(t.bytes) + " bytes at data offset " + std::to_string(t.offset) +
             ") extends past the end of the file (" + std::to_string(room) + " bytes of data)");
    t.offset += data;
  }
  auto overlap = find_overlap(g.tensors);
  if (overlap.first) c.fail("tensor " + quoted(overlap.second->name) + " overlaps tensor " + quoted(overlap.first->name));
}

}  // namespace

GgufContents parse_gguf(const uint8_t *data, uint64_t size, const std::string &name, const std::atomic<bool> *abort) {
  ByteCursor c(data, size, name);
  GgufContents g;
  g.file_size = size;
  c.need(4, "the GGUF magic");
  if (c.read<uint32_t>("magic") != kGgufMagic) c.fail("not a GGUF file (the first 4 bytes are not \"GGUF\")");
  g.version = c.read<uint32_t>("the GGUF version");
  if (g.version != 2 && g.version != 3) {
    if (g.version == 1) c.fail("GGUF version 1 (a 2023 draft) is not supported; convert the model again");
    if (g.version > 0xFFFF && (g.version & 0xFFFF) == 0) c.fail("the file is a big-endian GGUF, which qinfer does not read");
    c.fail("unsupported GGUF version " + std::to_string(g.version) + " (qinfer reads versions 2 and 3)");
  }
  const uint64_t n_tensors = c.read<uint64_t>("the tensor count");
  const uint64_t n_kv = c.read<uint64_t>("the metadata count");
  read_metadata(c, n_kv, g, abort);
  if (n_tensors > c.remaining() / kMinTensorInfoBytes)
    c.fail("header claims " + std::to_string(n_tensors) + " tensors but the file holds only " +
           std::to_string(c.remaining()) + " bytes of tensor infos");
  g.tensors.resize(size_t(n_tensors));
  for (uint64_t k = 0; k < n_tensors; k++) {
    check_abort(abort);
    read_tensor_info(c, k, g, g.tensors[k]);
  }
  place_tensors(c, g);
  return g;
}

const GgufValue *GgufContents::find(const std::string &key) const {
  auto it = key_index.find(key);
  return it == key_index.end() ? nullptr : &metadata[it->second].value;
}

const GgufTensorInfo *GgufContents::find_tensor(const std::string &name) const {
  auto it = tensor_index.find(name);
  return it == tensor_index.end() ? nullptr : &tensors[it->second];
}

std::optional<uint64_t> GgufContents::get_uint(const std::string &key) const {
  const GgufValue *v = find(key);
  if (!v) return std::nullopt;
  switch (v->type) {
    case GgufType::U8: case GgufType::U16: case GgufType::U32: case GgufType::U64: return v->u;
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
      if (v->i >= 0) return uint64_t(v->i);
      break;
    default: break;
  }
  throw Error(QINFER_E_BAD_FILE, "metadata \"" + key + "\" must be a non-negative integer");
}

std::optional<double> GgufContents::get_float(const std::string &key) const {
  const GgufValue *v = find(key);
  if (!v) return std::nullopt;
  if (v->type == GgufType::F32 || v->type == GgufType::F64) return v->f;
  throw Error(QINFER_E_BAD_FILE, "metadata \"" + key + "\" must be a float");
}

const std::string *GgufContents::get_string(const std::string &key) const {
  const GgufValue *v = find(key);
  if (!v) return nullptr;
  if (v->type != GgufType::STRING) throw Error(QINFER_E_BAD_FILE, "metadata \"" + key + "\" must be a string");
  return &v->str;
}

const char *gguf_type_name(GgufType t) {
  static const char *const kNames[kGgufTypeCount] = {"u8",  "i8",   "u16",    "i16",   "u32", "i32", "f32",
                                                     "bool", "string", "array", "u64", "i64", "f64"};
  return uint32_t(t) < kGgufTypeCount ? kNames[uint32_t(t)] : "unknown";
}

uint32_t gguf_type_size(GgufType t) {
  static const uint32_t kSizes[kGgufTypeCount] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
  return uint32_t(t) < kGgufTypeCount ? kSizes[uint32_t(t)] : 0;
}

GgufFile::GgufFile(const std::string &path, const std::atomic<bool> *abort)
    : map_(path), contents_(parse_gguf(map_.data(), map_.size(), path, abort)) {}

std::shared_ptr<GgufFile> GgufFile::open(const std::string &path, const std::atomic<bool> *abort) {
  return std::make_shared<GgufFile>(path, abort);
}

const uint8_t *GgufFile::tensor_data(const std::string &name) const {
  const GgufTensorInfo *t = find_tensor(name);
  if (!t) throw Error(QINFER_E_BAD_FILE, path() + ": no tensor named \"" + name + "\"");
  return tensor_data(*t);
}

}  // namespace qinfer
