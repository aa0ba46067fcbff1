// The qinfer-vulkan module's vtable: instance and devices at init, probe fields, and ops routed to a per-device context.
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "backends/module-common.h"
#include "vk-caps.h"
#include "vk-context.h"
#include "vk-fuse.h"
#include "vk-loader.h"
#include "vk-ops.h"

namespace qinfer::vk {
namespace {

using module::fail;

struct State {
  std::mutex mu;
  bool initialized = false;
  std::string reason;  // empty once init succeeded
  Instance instance;
  std::vector<DeviceCaps> devices;  // usable devices, in the driver's order
  std::vector<std::unique_ptr<Context>> contexts;
};

// Never destroyed: at exit, the driver's own teardown may already have run, and destroying devices
// or streams after it crashed the process on the H100 (shutdown() is the orderly way).
State &state() {
  static State *s = new State;
  return *s;
}

std::string open_devices(State &s) {
  std::string why = open_instance(s.instance);
  if (!why.empty()) return why;
  std::string skipped;
  for (VkPhysicalDevice pd : s.instance.physical_devices) {
    DeviceCaps caps = query_caps(pd);
    if (caps.usable()) {
      s.devices.push_back(std::move(caps));
    } else {
      skipped += std::string(skipped.empty() ? "" : ", ") + caps.props.deviceName + " (Vulkan " + version_text(caps.api_version()) +
                 (caps.compute_queue_family == UINT32_MAX ? ", no compute queue)"
                  : !caps.subgroup_arithmetic            ? ", no subgroup arithmetic in compute shaders)"
                                                          : ")");
    }
  }
  if (s.devices.empty()) return "no Vulkan physical device supports what qinfer needs: Vulkan 1.1 compute with subgroup arithmetic (found: " + skipped + ")";
  s.contexts.resize(s.devices.size());
  return "";
}

int vk_init(char *reason, size_t reason_len) {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.initialized) {
    s.reason = open_devices(s);
    s.initialized = true;
  }
  if (!s.reason.empty()) module::write_reason(reason, reason_len, "%s", s.reason.c_str());
  return s.reason.empty() ? 0 : 1;
}

int vk_backend_info(char *json, size_t json_len) {
  const Instance &inst = state().instance;
  return module::write_json(json, json_len,
                            "{\"loaderVersion\":" + module::json_string(version_text(inst.loader_version)) +
                                ",\"apiVersion\":" + module::json_string(version_text(inst.api_version)) +
                                ",\"validation\":" + (inst.validation ? "true" : "false") + "}");
}

int vk_device_count() { return int(state().devices.size()); }

bool valid_device(int device) { return device >= 0 && device < vk_device_count(); }

int vk_device_info(int device, qinfer_device_info *out) {
  if (!valid_device(device)) return fail(QINFER_E_INVALID_ARGUMENT, "no Vulkan device " + std::to_string(device));
  const DeviceCaps &c = state().devices[device];
  *out = qinfer_device_info{};
  std::snprintf(out->name, sizeof out->name, "%s", c.props.deviceName);
  out->memory_total = c.device_local_bytes();
  out->memory_free = c.device_local_free_bytes();
  return module::write_json(out->details_json, sizeof out->details_json, caps_json(c));
}

// The device's context, created on first use.
Context *context(int device) {
  if (!valid_device(device)) {
    fail(QINFER_E_INVALID_ARGUMENT, "no Vulkan device " + std::to_string(device));
    return nullptr;
  }
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  if (!s.contexts[device]) {
    std::string why = Context::create(s.devices[device], device, s.contexts[device]);
    if (!why.empty()) {
      fail(QINFER_E_BACKEND_UNAVAILABLE, why);
      return nullptr;
    }
  }
  return s.contexts[device].get();
}

qinfer_buffer *vk_buffer_alloc(int device, uint64_t bytes) {
  Context *c = context(device);
  return c ? c->alloc(bytes) : nullptr;
}

void vk_buffer_free(qinfer_buffer *b) {
  if (Context *c = b ? context(b->device) : nullptr) c->free(b);
}

int vk_buffer_write(qinfer_buffer *b, uint64_t offset, const void *src, uint64_t bytes) {
  if (!b) return fail(QINFER_E_INVALID_ARGUMENT, "null buffer");
  Context *c = context(b->device);
  return c ? c->write(b, offset, src, bytes) : QINFER_E_BACKEND_UNAVAILABLE;
}

int vk_buffer_read(qinfer_buffer *b, uint64_t offset, void *dst, uint64_t bytes) {
  if (!b) return fail(QINFER_E_INVALID_ARGUMENT, "null buffer");
  Context *c = context(b->device);
  return c ? c->read(b, offset, dst, bytes) : QINFER_E_BACKEND_UNAVAILABLE;
}

// False when QINFER_VULKAN_FUSE=0: every op its own dispatch (to compare, or to rule fusion out).
bool fuse_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("QINFER_VULKAN_FUSE");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

int vk_supports_op(int, int32_t op, int32_t type) { return supports_op(op, type) ? 1 : 0; }

int vk_compute(int device, const qinfer_op *ops, int n_ops) {
  Context *c = context(device);
  if (!c) return QINFER_E_BACKEND_UNAVAILABLE;
  if (int st; c->replay(ops, n_ops, &st)) return st;
  std::vector<Dispatch> dispatches;
  dispatches.reserve(size_t(n_ops > 0 ? n_ops : 0));
  for (int i = 0; i < n_ops;) {
    Dispatch d;
    int used = fuse_enabled() ? plan_fused(ops, n_ops, i, c->coopmat(), &d) : 0;
    if (used == 0) {
      if (int st = plan_op(ops[i], c->coopmat(), &d)) return st;
      used = 1;
    }
    for (qinfer_buffer *b : d.buffers)
      if (b && b->device != device) return fail(QINFER_E_INVALID_ARGUMENT, "an operand lives on another Vulkan device");
    dispatches.push_back(d);
    i += used;
  }
  return c->run(dispatches, ops, n_ops);
}

int vk_synchronize(int device) {
  Context *c = context(device);
  return c ? c->synchronize() : QINFER_E_BACKEND_UNAVAILABLE;
}

const char *vk_last_error() { return module::last_error().c_str(); }

void vk_shutdown() {
  State &s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.contexts.clear();
  s.devices.clear();
  close_instance(s.instance);
  s.initialized = false;
}

const qinfer_backend vtable = {
    QINFER_BACKEND_ABI_VERSION, "vulkan", vk_init, vk_backend_info, vk_device_count, vk_device_info,
    vk_buffer_alloc, vk_buffer_free, vk_buffer_write, vk_buffer_read, vk_supports_op, vk_compute,
    vk_synchronize, vk_last_error, vk_shutdown,
};

}  // namespace
}  // namespace qinfer::vk

extern "C" __attribute__((visibility("default"))) const qinfer_backend *qinfer_backend_register(uint32_t host_abi_version) {
  (void)host_abi_version;
  return &qinfer::vk::vtable;
}
