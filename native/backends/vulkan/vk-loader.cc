// Opens libvulkan.so.1 with dlopen, creates the instance (optionally under the validation layer) and loads every entry point.
#include "vk-loader.h"

#include <dlfcn.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qinfer::vk {

Api api;

namespace {

void *libvulkan = nullptr;
VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
std::atomic<uint32_t> validation_errors{0};
std::mutex first_error_mu;
std::string first_error;

VKAPI_ATTR VkBool32 VKAPI_CALL on_validation_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                     VkDebugUtilsMessageTypeFlagsEXT, const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                     void *) {
  const char *msg = data && data->pMessage ? data->pMessage : "(no message)";
  bool error = severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  std::fprintf(stderr, "qinfer-vulkan validation %s: %s\n", error ? "error" : "warning", msg);
  if (error) {
    std::lock_guard<std::mutex> lock(first_error_mu);
    if (first_error.empty()) first_error = msg;
    validation_errors++;
  }
  return VK_FALSE;
}

// QINFER_VULKAN_VALIDATION=1: the validation layer's core checks; =sync: synchronization checks too.
const char *validation_setting() {
  const char *v = std::getenv("QINFER_VULKAN_VALIDATION");
  return v && *v && std::strcmp(v, "0") != 0 ? v : nullptr;
}

bool has_layer(const char *name) {
  uint32_t n = 0;
  if (api.vkEnumerateInstanceLayerProperties(&n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkLayerProperties> layers(n);
  if (api.vkEnumerateInstanceLayerProperties(&n, layers.data()) != VK_SUCCESS) return false;
  for (const auto &l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

bool has_instance_extension(const char *layer, const char *name) {
  uint32_t n = 0;
  if (api.vkEnumerateInstanceExtensionProperties(layer, &n, nullptr) != VK_SUCCESS) return false;
  std::vector<VkExtensionProperties> exts(n);
  if (api.vkEnumerateInstanceExtensionProperties(layer, &n, exts.data()) != VK_SUCCESS) return false;
  for (const auto &e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

template <class Fn>
void load_global(Fn &fn, const char *name) {
  fn = reinterpret_cast<Fn>(api.vkGetInstanceProcAddr(VK_NULL_HANDLE, name));
}

template <class Fn>
void load_instance(VkInstance inst, Fn &fn, const char *name) {
  fn = reinterpret_cast<Fn>(api.vkGetInstanceProcAddr(inst, name));
}

const char *kValidationLayer = "VK_LAYER_KHRONOS_validation";

}  // namespace

std::string result_text(VkResult r) {
  switch (r) {
    case VK_ERROR_OUT_OF_HOST_MEMORY: return "VK_ERROR_OUT_OF_HOST_MEMORY";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY: return "VK_ERROR_OUT_OF_DEVICE_MEMORY";
    case VK_ERROR_INITIALIZATION_FAILED: return "VK_ERROR_INITIALIZATION_FAILED";
    case VK_ERROR_DEVICE_LOST: return "VK_ERROR_DEVICE_LOST";
    case VK_ERROR_LAYER_NOT_PRESENT: return "VK_ERROR_LAYER_NOT_PRESENT";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "VK_ERROR_EXTENSION_NOT_PRESENT";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "VK_ERROR_FEATURE_NOT_PRESENT";
    case VK_ERROR_INCOMPATIBLE_DRIVER: return "VK_ERROR_INCOMPATIBLE_DRIVER";
    case VK_ERROR_TOO_MANY_OBJECTS: return "VK_ERROR_TOO_MANY_OBJECTS";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "VK_ERROR_OUT_OF_POOL_MEMORY";
    case VK_TIMEOUT: return "VK_TIMEOUT";
    default: return "VkResult " + std::to_string(int(r));
  }
}

std::string version_text(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string open_instance(Instance &out) {
  libvulkan = dlopen("libvulkan.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!libvulkan) return "libvulkan.so.1 not found (install the Vulkan loader, e.g. Debian's libvulkan1, and a Vulkan driver)";
  api.vkGetInstanceProcAddr = reinterpret_cast<PFN_vkGetInstanceProcAddr>(dlsym(libvulkan, "vkGetInstanceProcAddr"));
  if (!api.vkGetInstanceProcAddr) return "libvulkan.so.1 does not export vkGetInstanceProcAddr: the Vulkan loader is broken";
  load_global(api.vkCreateInstance, "vkCreateInstance");
  load_global(api.vkEnumerateInstanceVersion, "vkEnumerateInstanceVersion");
  load_global(api.vkEnumerateInstanceLayerProperties, "vkEnumerateInstanceLayerProperties");
  load_global(api.vkEnumerateInstanceExtensionProperties, "vkEnumerateInstanceExtensionProperties");
  if (!api.vkCreateInstance || !api.vkEnumerateInstanceLayerProperties || !api.vkEnumerateInstanceExtensionProperties)
    return "the Vulkan loader lacks vkCreateInstance: it is broken";

  out.loader_version = VK_API_VERSION_1_0;
  if (api.vkEnumerateInstanceVersion) api.vkEnumerateInstanceVersion(&out.loader_version);
  if (out.loader_version < VK_API_VERSION_1_1)
    return "the Vulkan loader supports only Vulkan " + version_text(out.loader_version) + "; qinfer needs 1.1 (update libvulkan1)";
  // Ask for the newest version both the loader and these headers know; devices may report less.
  out.api_version = out.loader_version < VK_API_VERSION_1_3 ? out.loader_version : VK_API_VERSION_1_3;

  std::vector<const char *> layers, extensions;
  const char *validation = validation_setting();
  bool sync_validation = false;
  if (validation) {
    // Errors reach qinfer through a debug-utils messenger; without one the layer would only print.
    if (has_layer(kValidationLayer) && (has_instance_extension(kValidationLayer, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                                        has_instance_extension(nullptr, VK_EXT_DEBUG_UTILS_EXTENSION_NAME))) {
      layers.push_back(kValidationLayer);
      extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
      sync_validation = std::strcmp(validation, "sync") == 0 &&
                        has_instance_extension(kValidationLayer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
      if (sync_validation) extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
      out.validation = true;
    } else {
      std::fprintf(stderr, "qinfer-vulkan: QINFER_VULKAN_VALIDATION is set but %s is not installed (Debian: vulkan-validationlayers)\n",
                   kValidationLayer);
    }
  }

  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "qinfer";
  app.pEngineName = "qinfer";
  app.apiVersion = out.api_version;
  VkInstanceCreateInfo ci{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  ci.pApplicationInfo = &app;
  ci.enabledLayerCount = uint32_t(layers.size());
  ci.ppEnabledLayerNames = layers.data();
  ci.enabledExtensionCount = uint32_t(extensions.size());
  ci.ppEnabledExtensionNames = extensions.data();
  // Messages from instance creation itself go through the same callback.
  VkDebugUtilsMessengerCreateInfoEXT mci{VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT};
  mci.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  mci.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT;
  mci.pfnUserCallback = on_validation_message;
  if (out.validation) ci.pNext = &mci;
  VkValidationFeatureEnableEXT sync_feature = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT};
  features.pNext = &mci;
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync_feature;
  if (sync_validation) ci.pNext = &features;

  VkResult r = api.vkCreateInstance(&ci, nullptr, &out.instance);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER) return "no Vulkan driver is installed (vkCreateInstance: VK_ERROR_INCOMPATIBLE_DRIVER)";
  if (r != VK_SUCCESS) return "vkCreateInstance failed: " + result_text(r);

#define QINFER_VK_LOAD(name) load_instance(out.instance, api.name, #name);
  QINFER_VK_INSTANCE_FUNCS(QINFER_VK_LOAD)
  QINFER_VK_DEVICE_FUNCS(QINFER_VK_LOAD)
#undef QINFER_VK_LOAD
#define QINFER_VK_CHECK(name) \
  if (!api.name) return "the Vulkan loader does not provide " #name;
  QINFER_VK_INSTANCE_FUNCS(QINFER_VK_CHECK)
  QINFER_VK_DEVICE_FUNCS(QINFER_VK_CHECK)
#undef QINFER_VK_CHECK

  load_instance(out.instance, api.vkGetPhysicalDeviceCooperativeMatrixPropertiesNV, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
  if (out.validation) {
    load_instance(out.instance, api.vkCreateDebugUtilsMessengerEXT, "vkCreateDebugUtilsMessengerEXT");
    load_instance(out.instance, api.vkDestroyDebugUtilsMessengerEXT, "vkDestroyDebugUtilsMessengerEXT");
    if (api.vkCreateDebugUtilsMessengerEXT) api.vkCreateDebugUtilsMessengerEXT(out.instance, &mci, nullptr, &messenger);
  }

  uint32_t n = 0;
  r = api.vkEnumeratePhysicalDevices(out.instance, &n, nullptr);
  if (r != VK_SUCCESS) return "vkEnumeratePhysicalDevices failed: " + result_text(r);
  out.physical_devices.resize(n);
  r = api.vkEnumeratePhysicalDevices(out.instance, &n, out.physical_devices.data());
  if (r != VK_SUCCESS && r != VK_INCOMPLETE) return "vkEnumeratePhysicalDevices failed: " + result_text(r);
  out.physical_devices.resize(n);
  if (n == 0) return "no Vulkan physical device (the loader found no driver that reports a device)";
  return "";
}

void close_instance(Instance &inst) {
  if (messenger && api.vkDestroyDebugUtilsMessengerEXT) api.vkDestroyDebugUtilsMessengerEXT(inst.instance, messenger, nullptr);
  messenger = VK_NULL_HANDLE;
  if (inst.instance && api.vkDestroyInstance) api.vkDestroyInstance(inst.instance, nullptr);
  inst.instance = VK_NULL_HANDLE;
  inst.physical_devices.clear();
}

uint32_t validation_error_count() { return validation_errors.load(); }

std::string first_validation_error() {
  std::lock_guard<std::mutex> lock(first_error_mu);
  return first_error;
}

}  // namespace qinfer::vk
