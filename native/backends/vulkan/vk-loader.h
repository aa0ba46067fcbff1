// The Vulkan API as the qinfer-vulkan module sees it: libvulkan.so.1 opened at run time, entry points loaded by hand, one instance.
#pragma once

#define VK_NO_PROTOTYPES
#include <vulkan/vulkan.h>

#include <string>
#include <vector>

namespace qinfer::vk {

#define QINFER_VK_INSTANCE_FUNCS(X)          \
  X(vkDestroyInstance)                       \
  X(vkEnumeratePhysicalDevices)              \
  X(vkGetPhysicalDeviceProperties)           \
  X(vkGetPhysicalDeviceProperties2)          \
  X(vkGetPhysicalDeviceFeatures2)            \
  X(vkGetPhysicalDeviceMemoryProperties)     \
  X(vkGetPhysicalDeviceMemoryProperties2)    \
  X(vkGetPhysicalDeviceQueueFamilyProperties) \
  X(vkEnumerateDeviceExtensionProperties)    \
  X(vkCreateDevice)

#define QINFER_VK_DEVICE_FUNCS(X)   \
  X(vkDestroyDevice)                \
  X(vkGetDeviceQueue)               \
  X(vkCreateBuffer)                 \
  X(vkDestroyBuffer)                \
  X(vkGetBufferMemoryRequirements)  \
  X(vkAllocateMemory)               \
  X(vkFreeMemory)                   \
  X(vkBindBufferMemory)             \
  X(vkMapMemory)                    \
  X(vkUnmapMemory)                  \
  X(vkCreateShaderModule)           \
  X(vkDestroyShaderModule)          \
  X(vkCreateDescriptorSetLayout)    \
  X(vkDestroyDescriptorSetLayout)   \
  X(vkCreatePipelineLayout)         \
  X(vkDestroyPipelineLayout)        \
  X(vkCreateComputePipelines)       \
  X(vkDestroyPipeline)              \
  X(vkCreateDescriptorPool)         \
  X(vkDestroyDescriptorPool)        \
  X(vkAllocateDescriptorSets)       \
  X(vkUpdateDescriptorSets)         \
  X(vkCreateCommandPool)            \
  X(vkDestroyCommandPool)           \
  X(vkAllocateCommandBuffers)       \
  X(vkFreeCommandBuffers)           \
  X(vkBeginCommandBuffer)           \
  X(vkEndCommandBuffer)             \
  X(vkCmdBindPipeline)              \
  X(vkCmdBindDescriptorSets)        \
  X(vkCmdPushConstants)             \
  X(vkCmdDispatch)                  \
  X(vkCmdPipelineBarrier)           \
  X(vkCmdCopyBuffer)                \
  X(vkCmdUpdateBuffer)              \
  X(vkCmdFillBuffer)                \
  X(vkCreateQueryPool)              \
  X(vkDestroyQueryPool)             \
  X(vkCmdResetQueryPool)            \
  X(vkCmdWriteTimestamp)            \
  X(vkGetQueryPoolResults)          \
  X(vkCreateFence)                  \
  X(vkDestroyFence)                 \
  X(vkWaitForFences)                \
  X(vkGetFenceStatus)               \
  X(vkQueueSubmit)                  \
  X(vkDeviceWaitIdle)

struct Api {
  PFN_vkGetInstanceProcAddr vkGetInstanceProcAddr = nullptr;
  PFN_vkCreateInstance vkCreateInstance = nullptr;
  PFN_vkEnumerateInstanceVersion vkEnumerateInstanceVersion = nullptr;  // absent in 1.0 loaders
  PFN_vkEnumerateInstanceLayerProperties vkEnumerateInstanceLayerProperties = nullptr;
  PFN_vkEnumerateInstanceExtensionProperties vkEnumerateInstanceExtensionProperties = nullptr;
  PFN_vkCreateDebugUtilsMessengerEXT vkCreateDebugUtilsMessengerEXT = nullptr;
  PFN_vkDestroyDebugUtilsMessengerEXT vkDestroyDebugUtilsMessengerEXT = nullptr;
  // Null where the loader or no driver knows VK_NV_cooperative_matrix.
  PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV vkGetPhysicalDeviceCooperativeMatrixPropertiesNV = nullptr;
#define QINFER_VK_DECLARE(name) PFN_##name name = nullptr;
  QINFER_VK_INSTANCE_FUNCS(QINFER_VK_DECLARE)
  QINFER_VK_DEVICE_FUNCS(QINFER_VK_DECLARE)
#undef QINFER_VK_DECLARE
};

// Filled by open_instance(); read-only afterwards.
extern Api api;

struct Instance {
  VkInstance instance = VK_NULL_HANDLE;
  uint32_t loader_version = 0;  // what vkEnumerateInstanceVersion reports
  uint32_t api_version = 0;     // what the instance was created for
  bool validation = false;      // the Khronos validation layer is active
  std::vector<VkPhysicalDevice> physical_devices;
};

// Opens libvulkan.so.1, creates the instance (with the validation layer when
// QINFER_VULKAN_VALIDATION=1) and lists physical devices. Returns "" or why Vulkan is unusable.
std::string open_instance(Instance &out);
void close_instance(Instance &inst);

// Validation messages of severity error seen so far; compute and synchronize fail once this grows,
// so a test run under the validation layer cannot pass with errors.
uint32_t validation_error_count();
std::string first_validation_error();

std::string result_text(VkResult r);
std::string version_text(uint32_t v);

}  // namespace qinfer::vk
