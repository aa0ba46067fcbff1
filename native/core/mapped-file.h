// A read-only memory map of a whole file (64-bit sizes), shared by the model-file readers.
#pragma once

#include <cstdint>
#include <string>

namespace qinfer {

class MappedFile {
 public:
  // Throws Error(E_IO) when the file cannot be opened or mapped, Error(E_BAD_FILE) when it is empty.
  explicit MappedFile(const std::string &path);
  ~MappedFile();
  MappedFile(const MappedFile &) = delete;
  MappedFile &operator=(const MappedFile &) = delete;

  const uint8_t *data() const { return data_; }
  uint64_t size() const { return size_; }
  const std::string &path() const { return path_; }

 private:
  std::string path_;
  const uint8_t *data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace qinfer
