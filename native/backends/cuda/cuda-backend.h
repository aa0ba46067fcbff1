// Shared state of the qinfer-cuda module: the driver library opened at init, and the probe functions (cuda-device-info.cc).
#pragma once

#include <cstddef>
#include <string>

#include "qinfer/backend.h"

namespace qinfer::cuda {

// CUDA driver version as cuDriverGetVersion reports it (e.g. 13000 for 13.0); set by init.
int driver_version();

// "13.0" for 13000: CUDA's version numbers as people write them.
std::string version_text(int version);

int backend_info(char *json, size_t json_len);
int device_info(int device, qinfer_device_info *out);

}  // namespace qinfer::cuda
