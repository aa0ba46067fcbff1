// Probe fields of the qinfer-cuda module: driver and runtime versions, and per device name, memory, compute capability, SMs, PCI bus id.
#include <string>

#include <cuda_runtime_api.h>

#include "backends/module-common.h"
#include "cuda-backend.h"

namespace qinfer::cuda {
namespace {

int attribute(cudaDeviceAttr attr, int device) {
  int v = 0;
  if (cudaDeviceGetAttribute(&v, attr, device) != cudaSuccess) cudaGetLastError();
  return v;
}

}  // namespace

std::string version_text(int v) { return std::to_string(v / 1000) + "." + std::to_string((v % 1000) / 10); }

int backend_info(char *json, size_t json_len) {
  int runtime = 0;
  cudaRuntimeGetVersion(&runtime);
  return module::write_json(json, json_len,
                            "{\"driverVersion\":" + module::json_string(version_text(driver_version())) +
                                ",\"runtimeVersion\":" + module::json_string(version_text(runtime)) +
                                ",\"architectures\":" + module::json_string(QINFER_CUDA_ARCHS_TEXT) + "}");
}

int device_info(int device, qinfer_device_info *out) {
  cudaDeviceProp prop{};
  if (cudaError_t e = cudaGetDeviceProperties(&prop, device)) {
    cudaGetLastError();
    return module::fail(QINFER_E_INVALID_ARGUMENT, "cudaGetDeviceProperties(" + std::to_string(device) + "): " + cudaGetErrorString(e));
  }
  *out = qinfer_device_info{};
  std::snprintf(out->name, sizeof out->name, "%s", prop.name);
  out->memory_total = prop.totalGlobalMem;
  out->memory_free = prop.totalGlobalMem;
  // Free memory needs a context on the device; without one the total stands in.
  size_t free_b = 0, total_b = 0;
  if (cudaSetDevice(device) == cudaSuccess && cudaMemGetInfo(&free_b, &total_b) == cudaSuccess) out->memory_free = free_b;
  cudaGetLastError();
  char bus[32] = "";
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) cudaGetLastError();
  std::string cc = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  std::string json = "{\"computeCapability\":" + module::json_string(cc) +
                     ",\"multiprocessors\":" + std::to_string(prop.multiProcessorCount) +
                     ",\"pciBusId\":" + module::json_string(bus) +
                     ",\"l2CacheBytes\":" + std::to_string(prop.l2CacheSize) +
                     ",\"sharedMemoryPerBlockOptin\":" + std::to_string(prop.sharedMemPerBlockOptin) +
                     ",\"memoryBusWidth\":" + std::to_string(attribute(cudaDevAttrGlobalMemoryBusWidth, device)) + "}";
  return module::write_json(out->details_json, sizeof out->details_json, json);
}

}  // namespace qinfer::cuda
