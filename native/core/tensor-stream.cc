// Streaming tensor data into a GGUF: F32/F16/BF16 conversions (round to nearest even, NaN kept),
// raw copies, and the Q/K row permutation from rotate-half to interleaved RoPE order.
#include "tensor-stream.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "byte-cursor.h"
#include "error.h"
#include "qinfer/blocks.h"
#include "qinfer/ggml-types.h"

namespace qinfer {
namespace {

constexpr uint64_t kChunkElements = 1 << 20;

uint32_t dtype_size(SourceDtype d) {
  switch (d) {
    case SourceDtype::F32: return 4;
    case SourceDtype::F16: case SourceDtype::BF16: return 2;
    case SourceDtype::RAW: return 0;
  }
  return 0;
}

bool is_float_type(int32_t type) { return type == QINFER_TYPE_F32 || type == QINFER_TYPE_F16 || type == QINFER_TYPE_BF16; }

SourceDtype dtype_of_type(int32_t type) {
  return type == QINFER_TYPE_F32 ? SourceDtype::F32 : type == QINFER_TYPE_F16 ? SourceDtype::F16 : SourceDtype::BF16;
}

void to_f32(SourceDtype d, const uint8_t *src, float *dst, uint64_t n) {
  if (d == SourceDtype::F32) {
    std::memcpy(dst, src, n * 4);
  } else if (d == SourceDtype::F16) {
    for (uint64_t k = 0; k < n; k++) {
      qinfer_half h;
      std::memcpy(&h, src + 2 * k, 2);
      dst[k] = qinfer_half_to_f32(h);
    }
  } else {
    for (uint64_t k = 0; k < n; k++) {
      qinfer_bf16 h;
      std::memcpy(&h, src + 2 * k, 2);
      dst[k] = qinfer_bf16_to_f32(h);
    }
  }
}

void from_f32(SourceDtype d, const float *src, uint8_t *dst, uint64_t n) {
  if (d == SourceDtype::F32) {
    std::memcpy(dst, src, n * 4);
  } else if (d == SourceDtype::F16) {
    for (uint64_t k = 0; k < n; k++) {
      qinfer_half h = qinfer_f32_to_half(src[k]);
      std::memcpy(dst + 2 * k, &h, 2);
    }
  } else {
    for (uint64_t k = 0; k < n; k++) {
      qinfer_bf16 h = qinfer_f32_to_bf16(src[k]);
      std::memcpy(dst + 2 * k, &h, 2);
    }
  }
}

// Source row that lands at output row r: within each head, rows (2, half) become (half, 2).
uint64_t rope_source_row(uint64_t r, uint64_t head_rows) {
  const uint64_t half = head_rows / 2;
  const uint64_t head = r / head_rows, within = r % head_rows;
  return head * head_rows + (within % 2) * half + within / 2;
}

}  // namespace

SourceFiles::~SourceFiles() {
  for (auto &kv : files_) ::close(kv.second.fd);
}

int SourceFiles::open(const std::string &path) {
  auto it = files_.find(path);
  if (it != files_.end()) return it->second.fd;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(QINFER_E_IO, "cannot open " + path + ": " + std::strerror(errno));
  off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) {
    int e = errno;
    ::close(fd);
    throw Error(QINFER_E_IO, "cannot seek " + path + ": " + std::strerror(e));
  }
  files_[path] = Entry{fd, uint64_t(end)};
  return fd;
}

uint64_t SourceFiles::size(const std::string &path) {
  open(path);
  return files_[path].size;
}

void SourceFiles::read(const std::string &path, uint64_t offset, void *dst, uint64_t n) {
  int fd = open(path);
  auto *p = static_cast<uint8_t *>(dst);
  while (n) {
    ssize_t r = ::pread(fd, p, size_t(std::min<uint64_t>(n, 1 << 30)), off_t(offset));
    if (r < 0) {
      if (errno == EINTR) continue;
      throw Error(QINFER_E_IO, "cannot read " + path + ": " + std::strerror(errno));
    }
    if (r == 0) throw Error(QINFER_E_BAD_FILE, path + " ended early (was it truncated while being converted?)");
    p += r;
    offset += uint64_t(r);
    n -= uint64_t(r);
  }
}

void check_tensor_source(const GgufWriteTensor &t, const TensorLayout &l, SourceFiles &files) {
  const TensorSource &s = t.source;
  const std::string what = "tensor \"" + t.name + "\"";
  auto bad = [&](const std::string &m) { throw Error(QINFER_E_INVALID_ARGUMENT, what + ": " + m); };
  if (s.kind == TensorSource::Kind::PRODUCED) {
    if (!s.produce) bad("its producer is missing");
    return;
  }
  if (s.kind == TensorSource::Kind::DATA) {
    if (s.size != l.out_bytes)
      bad("its data has " + std::to_string(s.size) + " bytes but a " + qinfer_type_traits_of(t.type)->name + " tensor of this shape has " +
          std::to_string(l.out_bytes));
    return;
  }
  if (s.dtype != SourceDtype::RAW && !is_float_type(t.type))
    bad(std::string("the writer converts only between f32, f16 and bf16, not to ") + qinfer_type_traits_of(t.type)->name +
        " (quantize it, then write it raw)");
  uint64_t in_bytes = l.out_bytes;
  if (s.dtype != SourceDtype::RAW && mul_overflows(l.elements, dtype_size(s.dtype), &in_bytes)) bad("source size overflows");
  const uint64_t size = files.size(s.path);
  if (s.offset > size || in_bytes > size - s.offset)
    bad("its source needs " + std::to_string(in_bytes) + " bytes at offset " + std::to_string(s.offset) + " of " + s.path +
        ", which has " + std::to_string(size) + " bytes");
  if (s.permute_heads) {
    if (s.dtype == SourceDtype::RAW && !is_float_type(t.type) && t.shape.size() < 2)
      bad("a 1-D quantized tensor cannot be permuted by rows");
    if (l.rows % (2 * uint64_t(s.permute_heads)) != 0)
      bad(std::to_string(l.rows) + " rows do not split into " + std::to_string(s.permute_heads) + " heads of an even row count");
  }
}

void stream_tensor(const GgufWriteTensor &t, const TensorLayout &l, SourceFiles &files, OutputFile &out,
                   const std::atomic<bool> *abort, const std::function<void(uint64_t)> &on_bytes) {
  const TensorSource &s = t.source;
  auto check_abort = [&] {
    if (abort && abort->load(std::memory_order_relaxed)) throw Error(QINFER_E_ABORTED, "writing the GGUF file was aborted");
  };
  if (s.kind == TensorSource::Kind::PRODUCED) {
    check_abort();
    std::vector<uint8_t> bytes(size_t(l.out_bytes));
    s.produce(bytes.data(), l.out_bytes);
    out.write(bytes.data(), bytes.size());
    on_bytes(bytes.size());
    return;
  }
  if (s.kind == TensorSource::Kind::DATA) {
    for (uint64_t done = 0; done < l.out_bytes;) {
      check_abort();
      uint64_t n = std::min<uint64_t>(l.out_bytes - done, kChunkElements * 4);
      out.write(s.data + done, n);
      done += n;
      on_bytes(n);
    }
    return;
  }
  const bool raw = s.dtype == SourceDtype::RAW;
  const SourceDtype out_dtype = raw ? SourceDtype::RAW : dtype_of_type(t.type);
  const bool convert = !raw && s.dtype != out_dtype;
  // Units streamed: rows when permuting (a row is row_elements elements), else runs of elements;
  // for raw data a "row" is its byte length in the output type.
  const uint64_t in_row = raw ? l.out_bytes / std::max<uint64_t>(l.rows, 1) : l.row_elements * dtype_size(s.dtype);
  std::vector<uint8_t> in, outbuf;
  std::vector<float> f32;
  auto emit = [&](const uint8_t *src, uint64_t in_bytes, uint64_t elements) {
    if (!convert) {
      out.write(src, in_bytes);
      on_bytes(in_bytes);
      return;
    }
    f32.resize(size_t(elements));
    outbuf.resize(size_t(elements * dtype_size(out_dtype)));
    to_f32(s.dtype, src, f32.data(), elements);
    from_f32(out_dtype, f32.data(), outbuf.data(), elements);
    out.write(outbuf.data(), outbuf.size());
    on_bytes(outbuf.size());
  };
  if (s.permute_heads) {
    const uint64_t head_rows = l.rows / s.permute_heads;
    const uint64_t rows_per_chunk = std::max<uint64_t>(1, kChunkElements / std::max<uint64_t>(l.row_elements, 1));
    for (uint64_t r0 = 0; r0 < l.rows; r0 += rows_per_chunk) {
      check_abort();
      const uint64_t n = std::min(rows_per_chunk, l.rows - r0);
      in.resize(size_t(n * in_row));
      for (uint64_t r = 0; r < n; r++)
        files.read(s.path, s.offset + rope_source_row(r0 + r, head_rows) * in_row, in.data() + r * in_row, in_row);
      emit(in.data(), in.size(), n * l.row_elements);
    }
    return;
  }
  const uint64_t unit = raw ? 1 : dtype_size(s.dtype);  // bytes per streamed element
  const uint64_t total = raw ? l.out_bytes : l.elements;
  const uint64_t chunk = raw ? kChunkElements * 4 : kChunkElements;
  for (uint64_t done = 0; done < total;) {
    check_abort();
    const uint64_t n = std::min(chunk, total - done);
    in.resize(size_t(n * unit));
    files.read(s.path, s.offset + done * unit, in.data(), in.size());
    emit(in.data(), in.size(), raw ? 0 : n);
    done += n;
  }
}

}  // namespace qinfer
