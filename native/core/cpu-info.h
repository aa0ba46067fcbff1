// What the CPU and the OS let us use: cpuid checked against XGETBV, caches and cores from sysfs.
#pragma once

#include <cstdint>
#include <string>

namespace qinfer {

struct CpuFeatures {
  bool sse4_2 = false, avx = false, avx2 = false, fma = false, f16c = false, bmi2 = false;
  bool avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false, avx512vnni = false;
  bool avx512bf16 = false, avxvnni = false, amx = false;
};

struct CpuInfo {
  std::string vendor;
  std::string model;
  int logical_cores = 1;
  int physical_cores = 1;
  uint64_t l1d_bytes = 0, l2_bytes = 0, l3_bytes = 0;
  uint64_t memory_bytes = 0;
  CpuFeatures features;
};

// Computed once; safe to call from any thread.
const CpuInfo &cpu_info();

}  // namespace qinfer
