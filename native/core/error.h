// The one C++ exception type of the core: a qinfer_status plus a message; the N-API layer turns it into the JS class.
#pragma once

#include <stdexcept>
#include <string>

#include "qinfer/status.h"

namespace qinfer {

class Error : public std::runtime_error {
 public:
  Error(qinfer_status status, const std::string &message) : std::runtime_error(message), status_(status) {}
  qinfer_status status() const { return status_; }

 private:
  qinfer_status status_;
};

}  // namespace qinfer
