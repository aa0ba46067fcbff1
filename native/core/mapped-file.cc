// mmap of a model file: the kernel pages tensor data in on demand, so opening a 40 GB model costs nothing.
#include "mapped-file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "error.h"

namespace qinfer {

MappedFile::MappedFile(const std::string &path) : path_(path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw Error(QINFER_E_IO, "cannot open " + path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    ::close(fd);
    throw Error(QINFER_E_IO, "cannot stat " + path + ": " + std::strerror(e));
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    throw Error(QINFER_E_IO, path + " is not a regular file");
  }
  size_ = uint64_t(st.st_size);
  if (size_ == 0) {
    ::close(fd);
    throw Error(QINFER_E_BAD_FILE, path + ": the file is empty");
  }
  void *p = mmap(nullptr, size_t(size_), PROT_READ, MAP_SHARED, fd, 0);
  int e = errno;
  ::close(fd);  // the mapping keeps the file open
  if (p == MAP_FAILED) throw Error(QINFER_E_IO, "cannot map " + path + ": " + std::strerror(e));
  data_ = static_cast<const uint8_t *>(p);
}

MappedFile::~MappedFile() {
  if (data_) munmap(const_cast<uint8_t *>(data_), size_t(size_));
}

}  // namespace qinfer
