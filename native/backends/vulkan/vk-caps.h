// What a Vulkan physical device offers (queried once per device) and its probe fields as JSON.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vk-loader.h"

namespace qinfer::vk {

struct DeviceCaps {
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkPhysicalDeviceProperties props{};
  VkPhysicalDeviceMemoryProperties memory{};
  std::vector<std::string> extensions;
  uint32_t compute_queue_family = UINT32_MAX;  // UINT32_MAX: the device cannot compute

  uint32_t subgroup_size = 0;
  uint32_t min_subgroup_size = 0, max_subgroup_size = 0;  // 0 without subgroup size control
  bool subgroup_arithmetic = false;                       // basic and arithmetic operations in compute shaders

  bool float16 = false;           // shaderFloat16
  bool int8_arithmetic = false;   // shaderInt8
  bool storage8bit = false;       // storageBuffer8BitAccess
  bool storage16bit = false;      // storageBuffer16BitAccess
  bool integer_dot_product = false;
  bool integer_dot_4x8_accelerated = false;  // packed 4x8-bit signed dot product runs in hardware
  bool cooperative_matrix = false;
  std::string cooperative_matrix_extension;  // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix
  // VK_NV_cooperative_matrix (what Debian bookworm's headers and glslc know) lists 16x16x16 f16 x f16 -> f32
  // subgroup products, with shaderFloat16 on a Vulkan 1.2 device: matmul-coopmat.comp can run.
  bool coopmat_f16_nv = false;
  bool memory_budget = false;                // VK_EXT_memory_budget

  std::string driver_name, driver_info;

  bool has_extension(const char *name) const;
  uint32_t api_version() const { return props.apiVersion; }
  // Usable by qinfer: Vulkan 1.1, a compute queue and subgroup arithmetic (the shaders' reductions).
  bool usable() const { return api_version() >= VK_API_VERSION_1_1 && compute_queue_family != UINT32_MAX && subgroup_arithmetic; }
  uint64_t device_local_bytes() const;
  // Budget left in device-local heaps where VK_EXT_memory_budget says, else device_local_bytes().
  uint64_t device_local_free_bytes() const;
};

DeviceCaps query_caps(VkPhysicalDevice physical);

// The probe's details_json for one device.
std::string caps_json(const DeviceCaps &caps);

}  // namespace qinfer::vk
