// Temp-file-then-rename output: a crash, error or abort never leaves a truncated file under the target name.
#include "output-file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <random>

#include "error.h"

namespace qinfer {
namespace {

constexpr size_t kBufferBytes = 4 << 20;

std::string dir_of(const std::string &path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

[[noreturn]] void io_error(const std::string &what, const std::string &path) {
  throw Error(QINFER_E_IO, what + " " + path + ": " + std::strerror(errno));
}

}  // namespace

OutputFile::OutputFile(const std::string &target) : target_(target), buf_(kBufferBytes) {
  const std::string dir = dir_of(target);
  const std::string base = target.substr(target.find_last_of('/') + 1);
  std::random_device rd;
  for (int attempt = 0; fd_ < 0; attempt++) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, ".%d.%08x.tmp", int(getpid()), unsigned(rd()));
    temp_ = (dir == "/" ? "" : dir) + "/." + base + suffix;
    fd_ = ::open(temp_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd_ < 0 && (errno != EEXIST || attempt > 16)) io_error("cannot create a temporary file in", dir);
  }
}

OutputFile::~OutputFile() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temp_.c_str());
}

void OutputFile::write(const void *data, uint64_t n) {
  const auto *p = static_cast<const uint8_t *>(data);
  written_ += n;
  while (n) {
    if (used_ == buf_.size()) flush();
    size_t k = size_t(std::min<uint64_t>(n, buf_.size() - used_));
    std::memcpy(buf_.data() + used_, p, k);
    used_ += k;
    p += k;
    n -= k;
  }
}

void OutputFile::pad(uint64_t alignment) {
  static const uint8_t zeros[256] = {};
  uint64_t n = (alignment - written_ % alignment) % alignment;
  while (n) {
    uint64_t k = std::min<uint64_t>(n, sizeof zeros);
    write(zeros, k);
    n -= k;
  }
}

void OutputFile::flush() {
  size_t off = 0;
  while (off < used_) {
    ssize_t w = ::write(fd_, buf_.data() + off, used_ - off);
    if (w < 0) {
      if (errno == EINTR) continue;
      io_error("cannot write", temp_);
    }
    off += size_t(w);
  }
  used_ = 0;
}

void OutputFile::commit() {
  flush();
  if (::fsync(fd_) != 0) io_error("cannot sync", temp_);
  if (::close(fd_) != 0) {
    fd_ = -1;
    io_error("cannot close", temp_);
  }
  fd_ = -1;
  if (::rename(temp_.c_str(), target_.c_str()) != 0) io_error("cannot rename the temporary file to", target_);
  committed_ = true;
  int dfd = ::open(dir_of(target_).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);  // makes the rename durable; best effort (some filesystems refuse directory fsync)
    ::close(dfd);
  }
}

}  // namespace qinfer
