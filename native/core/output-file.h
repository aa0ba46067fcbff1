// A buffered output file created beside its target under a unique temp name, renamed over the target
// on commit() after fsync; destroyed uncommitted, it removes the temp file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace qinfer {

class OutputFile {
 public:
  explicit OutputFile(const std::string &target);
  ~OutputFile();
  OutputFile(const OutputFile &) = delete;
  OutputFile &operator=(const OutputFile &) = delete;

  void write(const void *data, uint64_t n);
  // Zero bytes up to the next multiple of `alignment` of the bytes written so far.
  void pad(uint64_t alignment);
  uint64_t written() const { return written_; }
  // Flush, fsync, rename over the target, fsync the directory.
  void commit();

 private:
  void flush();

  std::string target_, temp_;
  int fd_ = -1;
  bool committed_ = false;
  uint64_t written_ = 0;
  std::vector<uint8_t> buf_;
  size_t used_ = 0;
};

}  // namespace qinfer
