// The safetensors header reader: every tensor's dtype, shape and byte range checked (sizes agree,
// inside the file, no overlaps) with overflow-safe arithmetic.
#include "safetensors.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <unordered_set>

#include "byte-cursor.h"
#include "error.h"
#include "json.h"

namespace qinfer {
namespace {

constexpr size_t kMaxDims = 16;

struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

void pread_exact(int fd, void *dst, uint64_t n, uint64_t offset, const std::string &path) {
  auto *p = static_cast<uint8_t *>(dst);
  while (n) {
    ssize_t r = ::pread(fd, p, size_t(n), off_t(offset));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) throw Error(QINFER_E_IO, "cannot read " + path + ": " + std::strerror(errno));
    if (r == 0) throw Error(QINFER_E_BAD_FILE, path + ": truncated safetensors header");
    p += r;
    n -= uint64_t(r);
    offset += uint64_t(r);
  }
}

SafetensorsTensor read_tensor(JsonReader &j, std::string name, uint64_t data_size) {
  SafetensorsTensor t;
  t.name = std::move(name);
  const std::string what = "tensor \"" + t.name + "\"";
  bool has_dtype = false, has_shape = false, has_offsets = false;
  uint64_t begin = 0, end = 0;
  j.begin_object();
  std::string key;
  while (j.next_member(key)) {
    if (key == "dtype" && !has_dtype) {
      t.dtype = j.string_value();
      has_dtype = true;
    } else if (key == "shape" && !has_shape) {
      j.begin_array();
      while (j.next_item()) {
        if (t.shape.size() == kMaxDims) j.fail(what + " has more than 16 dimensions");
        t.shape.push_back(j.uint_value());
      }
      has_shape = true;
    } else if (key == "data_offsets" && !has_offsets) {
      j.begin_array();
      int n = 0;
      while (j.next_item()) {
        uint64_t v = j.uint_value();
        if (n == 0) begin = v;
        else if (n == 1) end = v;
        else j.fail(what + " data_offsets must hold two numbers");
        n++;
      }
      if (n != 2) j.fail(what + " data_offsets must hold two numbers");
      has_offsets = true;
    } else if (key == "dtype" || key == "shape" || key == "data_offsets") {
      j.fail(what + " repeats the field \"" + key + "\"");
    } else {
      j.skip_value();  // fields newer writers may add
    }
  }
  if (!has_dtype || !has_shape || !has_offsets) j.fail(what + " lacks dtype, shape or data_offsets");
  const uint32_t size = safetensors_dtype_size(t.dtype);
  if (!size) throw Error(QINFER_E_UNSUPPORTED, what + " has dtype " + t.dtype + ", which qinfer does not know");
  uint64_t elements = 1;
  for (uint64_t d : t.shape)
    if (mul_overflows(elements, d, &elements)) j.fail(what + " has more than 2^64 elements");
  if (mul_overflows(elements, size, &t.bytes)) j.fail(what + " is larger than 2^64 bytes");
  if (end < begin) j.fail(what + " data_offsets end before they begin");
  if (end > data_size)
    j.fail(what + " data ends at " + std::to_string(end) + " but the file holds " + std::to_string(data_size) + " bytes of data");
  if (end - begin != t.bytes)
    j.fail(what + " occupies " + std::to_string(end - begin) + " bytes but " + t.dtype + " of its shape needs " +
           std::to_string(t.bytes));
  t.offset = begin;
  return t;
}

}  // namespace

uint32_t safetensors_dtype_size(const std::string &d) {
  static const std::pair<const char *, uint32_t> kSizes[] = {
      {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
      {"U64", 8}, {"U32", 4}, {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};
  for (const auto &e : kSizes)
    if (d == e.first) return e.second;
  return 0;
}

SafetensorsHeader parse_safetensors_header(const char *json, uint64_t json_size, uint64_t file_size, const std::string &name) {
  SafetensorsHeader h;
  if (json_size > file_size || file_size - json_size < 8)
    throw Error(QINFER_E_BAD_FILE, name + ": the header claims " + std::to_string(json_size) + " bytes but the file has " +
                                       std::to_string(file_size));
  h.data_offset = 8 + json_size;
  const uint64_t data_size = file_size - h.data_offset;
  JsonReader j(json, json_size, name);
  if (!j.peek_object()) j.fail("the header is not a JSON object");
  j.begin_object();
  std::unordered_set<std::string> names;
  std::string key;
  while (j.next_member(key)) {
    if (!names.insert(key).second) j.fail("duplicate entry \"" + key + "\"");
    if (key == "__metadata__") {
      j.begin_object();
      std::string mk;
      while (j.next_member(mk)) {
        if (!j.peek_string()) j.fail("__metadata__ \"" + mk + "\" is not a string");
        h.metadata.emplace_back(mk, j.string_value());
      }
      continue;
    }
    h.tensors.push_back(read_tensor(j, key, data_size));
  }
  j.end();
  auto overlap = find_overlap(h.tensors);
  if (overlap.first)
    throw Error(QINFER_E_BAD_FILE, name + ": tensor \"" + overlap.second->name + "\" overlaps tensor \"" + overlap.first->name + "\"");
  for (SafetensorsTensor &t : h.tensors) t.offset += h.data_offset;
  return h;
}

SafetensorsHeader read_safetensors(const std::string &path) {
  Fd f{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (f.fd < 0) throw Error(QINFER_E_IO, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(f.fd, &st) != 0) throw Error(QINFER_E_IO, "cannot stat " + path + ": " + std::strerror(errno));
  if (!S_ISREG(st.st_mode)) throw Error(QINFER_E_IO, path + " is not a regular file");
  const uint64_t size = uint64_t(st.st_size);
  if (size < 8) throw Error(QINFER_E_BAD_FILE, path + ": too short for a safetensors file (" + std::to_string(size) + " bytes)");
  uint64_t len = 0;
  pread_exact(f.fd, &len, 8, 0, path);
  if (len > kSafetensorsMaxHeader)
    throw Error(QINFER_E_BAD_FILE, path + ": the header length " + std::to_string(len) + " is over the 100 MiB limit (not a safetensors file?)");
  if (len > size - 8)
    throw Error(QINFER_E_BAD_FILE, path + ": the header claims " + std::to_string(len) + " bytes but the file has " + std::to_string(size));
  std::string json(size_t(len), '\0');
  pread_exact(f.fd, json.data(), len, 8, path);
  return parse_safetensors_header(json.data(), len, size, path);
}

}  // namespace qinfer
