// Queries a Vulkan physical device's features and properties, chaining only the structs its version or extensions allow.
#include "vk-caps.h"

#include <cstdio>
#include <cstring>

#include "backends/module-common.h"

namespace qinfer::vk {
namespace {

std::vector<std::string> device_extensions(VkPhysicalDevice physical) {
  uint32_t n = 0;
  if (api.vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, nullptr) != VK_SUCCESS) return {};
  std::vector<VkExtensionProperties> props(n);
  if (api.vkEnumerateDeviceExtensionProperties(physical, nullptr, &n, props.data()) != VK_SUCCESS) return {};
  std::vector<std::string> out;
  for (uint32_t i = 0; i < n; i++) out.emplace_back(props[i].extensionName);
  return out;
}

// Appends `s` to a pNext chain.
template <class S>
void chain(void **&tail, S &s) {
  *tail = &s;
  tail = &s.pNext;
}

const char *device_type_name(VkPhysicalDeviceType t) {
  switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
  }
}

// NVIDIA packs its driver version as 10.8.8.6 bits; everyone else uses the Vulkan version layout.
std::string driver_version_text(const VkPhysicalDeviceProperties &p) {
  uint32_t v = p.driverVersion;
  if (p.vendorID == 0x10DE) {
    char text[32];
    std::snprintf(text, sizeof text, "%u.%u.%02u", v >> 22, (v >> 14) & 0xff, (v >> 6) & 0xff);  // as nvidia-smi prints it
    return text;
  }
  return version_text(v);
}

const char *b(bool v) { return v ? "true" : "false"; }

}  // namespace

bool DeviceCaps::has_extension(const char *name) const {
  for (const auto &e : extensions)
    if (e == name) return true;
  return false;
}

uint64_t DeviceCaps::device_local_bytes() const {
  uint64_t total = 0;
  for (uint32_t i = 0; i < memory.memoryHeapCount; i++)
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) total += memory.memoryHeaps[i].size;
  return total;
}

uint64_t DeviceCaps::device_local_free_bytes() const {
  if (!memory_budget) return device_local_bytes();
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
  VkPhysicalDeviceMemoryProperties2 mp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2};
  mp.pNext = &budget;
  api.vkGetPhysicalDeviceMemoryProperties2(physical, &mp);
  uint64_t free_bytes = 0;
  for (uint32_t i = 0; i < mp.memoryProperties.memoryHeapCount; i++)
    if ((mp.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) && budget.heapBudget[i] > budget.heapUsage[i])
      free_bytes += budget.heapBudget[i] - budget.heapUsage[i];
  return free_bytes;
}

DeviceCaps query_caps(VkPhysicalDevice physical) {
  DeviceCaps c;
  c.physical = physical;
  api.vkGetPhysicalDeviceProperties(physical, &c.props);
  api.vkGetPhysicalDeviceMemoryProperties(physical, &c.memory);
  c.extensions = device_extensions(physical);

  uint32_t nq = 0;
  api.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, nullptr);
  std::vector<VkQueueFamilyProperties> queues(nq);
  api.vkGetPhysicalDeviceQueueFamilyProperties(physical, &nq, queues.data());
  for (uint32_t i = 0; i < nq && c.compute_queue_family == UINT32_MAX; i++)
    if (queues[i].queueFlags & VK_QUEUE_COMPUTE_BIT) c.compute_queue_family = i;
  if (c.api_version() < VK_API_VERSION_1_1) return c;  // the *2 queries below need 1.1

  const uint32_t v = c.api_version();
  c.memory_budget = c.has_extension(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);

  // Features: a struct goes into the chain only when the device's version or an extension defines it.
  VkPhysicalDeviceFeatures2 f2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2};
  void **tail = &f2.pNext;
  VkPhysicalDevice16BitStorageFeatures s16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES};
  chain(tail, s16);
  VkPhysicalDeviceShaderFloat16Int8Features f16i8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  if (v >= VK_API_VERSION_1_2 || c.has_extension(VK_KHR_SHADER_FLOAT16_INT8_EXTENSION_NAME)) chain(tail, f16i8);
  VkPhysicalDevice8BitStorageFeatures s8{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES};
  if (v >= VK_API_VERSION_1_2 || c.has_extension(VK_KHR_8BIT_STORAGE_EXTENSION_NAME)) chain(tail, s8);
  bool has_dot = v >= VK_API_VERSION_1_3 || c.has_extension(VK_KHR_SHADER_INTEGER_DOT_PRODUCT_EXTENSION_NAME);
  VkPhysicalDeviceShaderIntegerDotProductFeatures dot{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_FEATURES};
  if (has_dot) chain(tail, dot);
  api.vkGetPhysicalDeviceFeatures2(physical, &f2);
  c.storage16bit = s16.storageBuffer16BitAccess;
  c.float16 = f16i8.shaderFloat16;
  c.int8_arithmetic = f16i8.shaderInt8;
  c.storage8bit = s8.storageBuffer8BitAccess;
  c.integer_dot_product = dot.shaderIntegerDotProduct;

  // The cooperative-matrix extensions make their feature mandatory, so the extension says it all
  // (Debian bookworm's 1.3.239 headers predate the KHR structs).
  for (const char *ext : {"VK_KHR_cooperative_matrix", "VK_NV_cooperative_matrix"}) {
    if (!c.cooperative_matrix && c.has_extension(ext)) {
      c.cooperative_matrix = true;
      c.cooperative_matrix_extension = ext;
    }
  }
  if (c.float16 && v >= VK_API_VERSION_1_2 && c.has_extension(VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME) &&
      api.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV) {
    uint32_t n = 0;
    api.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical, &n, nullptr);
    std::vector<VkCooperativeMatrixPropertiesNV> shapes(n, {VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV});
    if (n) api.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV(physical, &n, shapes.data());
    for (const VkCooperativeMatrixPropertiesNV &m : shapes)
      c.coopmat_f16_nv |= m.MSize == 16 && m.NSize == 16 && m.KSize == 16 && m.AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                          m.BType == VK_COMPONENT_TYPE_FLOAT16_NV && m.CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                          m.DType == VK_COMPONENT_TYPE_FLOAT32_NV && m.scope == VK_SCOPE_SUBGROUP_NV;
  }

  VkPhysicalDeviceProperties2 p2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2};
  tail = &p2.pNext;
  VkPhysicalDeviceSubgroupProperties sg{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES};
  chain(tail, sg);
  VkPhysicalDeviceSubgroupSizeControlProperties sgc{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_PROPERTIES};
  if (v >= VK_API_VERSION_1_3 || c.has_extension(VK_EXT_SUBGROUP_SIZE_CONTROL_EXTENSION_NAME)) chain(tail, sgc);
  VkPhysicalDeviceDriverProperties drv{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
  if (v >= VK_API_VERSION_1_2 || c.has_extension(VK_KHR_DRIVER_PROPERTIES_EXTENSION_NAME)) chain(tail, drv);
  VkPhysicalDeviceShaderIntegerDotProductProperties dotp{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_INTEGER_DOT_PRODUCT_PROPERTIES};
  if (has_dot) chain(tail, dotp);
  api.vkGetPhysicalDeviceProperties2(physical, &p2);
  c.subgroup_size = sg.subgroupSize;
  const VkSubgroupFeatureFlags needed = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  c.subgroup_arithmetic = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) && (sg.supportedOperations & needed) == needed;
  c.min_subgroup_size = sgc.minSubgroupSize;
  c.max_subgroup_size = sgc.maxSubgroupSize;
  c.driver_name = drv.driverName;
  c.driver_info = drv.driverInfo;
  c.integer_dot_4x8_accelerated = dotp.integerDotProduct4x8BitPackedSignedAccelerated;
  return c;
}

std::string caps_json(const DeviceCaps &c) {
  const VkPhysicalDeviceProperties &p = c.props;
  std::string heaps = "[";
  for (uint32_t i = 0; i < c.memory.memoryHeapCount; i++) {
    const VkMemoryHeap &h = c.memory.memoryHeaps[i];
    heaps += std::string(i ? "," : "") + "{\"bytes\":" + std::to_string(h.size) +
             ",\"deviceLocal\":" + b(h.flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) + "}";
  }
  heaps += "]";
  char vendor_hex[16];
  std::snprintf(vendor_hex, sizeof vendor_hex, "0x%04x", p.vendorID);
  std::string j = "{\"vendorId\":" + std::to_string(p.vendorID) + ",\"vendorIdHex\":\"" + vendor_hex + "\"" +
                  ",\"deviceId\":" + std::to_string(p.deviceID) + ",\"deviceType\":\"" + device_type_name(p.deviceType) + "\"" +
                  ",\"apiVersion\":" + module::json_string(version_text(p.apiVersion)) +
                  ",\"driverVersion\":" + module::json_string(driver_version_text(p)) +
                  ",\"driverName\":" + module::json_string(c.driver_name) + ",\"driverInfo\":" + module::json_string(c.driver_info) +
                  ",\"memoryHeaps\":" + heaps + ",\"subgroupSize\":" + std::to_string(c.subgroup_size);
  if (c.max_subgroup_size)
    j += ",\"minSubgroupSize\":" + std::to_string(c.min_subgroup_size) + ",\"maxSubgroupSize\":" + std::to_string(c.max_subgroup_size);
  j += std::string(",\"subgroupArithmetic\":") + b(c.subgroup_arithmetic) + ",\"float16\":" + b(c.float16) +
       ",\"int8Arithmetic\":" + b(c.int8_arithmetic) + ",\"storage8bit\":" + b(c.storage8bit) + ",\"storage16bit\":" + b(c.storage16bit) +
       ",\"integerDotProduct\":" + b(c.integer_dot_product) + ",\"integerDotProductAccelerated\":" + b(c.integer_dot_4x8_accelerated) +
       ",\"cooperativeMatrix\":" + b(c.cooperative_matrix);
  if (c.cooperative_matrix) j += ",\"cooperativeMatrixExtension\":" + module::json_string(c.cooperative_matrix_extension);
  j += std::string(",\"cooperativeMatrixF16Nv\":") + b(c.coopmat_f16_nv);
  j += ",\"maxStorageBufferRange\":" + std::to_string(p.limits.maxStorageBufferRange) + "}";
  return j;
}

}  // namespace qinfer::vk
