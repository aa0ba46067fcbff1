// Programmatic dependent launch (sm_90+): a kernel launched with launch_pdl may start while the kernel before it
// in the stream (or captured graph) is finishing; it must call pdl_wait() before it reads anything an earlier
// kernel wrote or writes anything an earlier kernel reads. Work that depends on neither (prefetching weights)
// goes before the wait. QINFER_CUDA_PDL=0 launches plainly (the wait is then a no-op).
#pragma once

#include <cstdlib>
#include <cstring>
#include <utility>

#include <cuda_runtime.h>

namespace qinfer::cuda {

__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;\n" ::: "memory");
#endif
}

// Lets the next kernel's blocks be scheduled (they still wait for this grid to finish in pdl_wait()).
__device__ __forceinline__ void pdl_trigger() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;\n" ::: "memory");
#endif
}

// Whether launches on the current device carry the programmatic-serialization attribute.
inline bool pdl_on_current_device() {
  static const bool env_on = [] {
    const char *e = std::getenv("QINFER_CUDA_PDL");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  if (!env_on) return false;
  constexpr int kMaxDevices = 64;
  static int major[kMaxDevices] = {};  // 0: not read yet (benign race: every reader writes the same value)
  int device = 0;
  if (cudaGetDevice(&device) != cudaSuccess || device < 0 || device >= kMaxDevices) return false;
  if (!major[device] && cudaDeviceGetAttribute(&major[device], cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return major[device] >= 9;
}

template <class... KArgs, class... Args>
cudaError_t launch_pdl(void (*kernel)(KArgs...), dim3 grid, dim3 block, size_t smem, cudaStream_t stream, Args &&...args) {
  cudaLaunchConfig_t cfg{};
  cfg.gridDim = grid;
  cfg.blockDim = block;
  cfg.dynamicSmemBytes = smem;
  cfg.stream = stream;
  cudaLaunchAttribute attr[1];
  attr[0].id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attr[0].val.programmaticStreamSerializationAllowed = 1;
  cfg.attrs = attr;
  cfg.numAttrs = pdl_on_current_device() ? 1 : 0;
  return cudaLaunchKernelEx(&cfg, kernel, std::forward<Args>(args)...);
}

}  // namespace qinfer::cuda
