// A Vulkan logical device for compute: memory choice, staging transfers, lazily built pipelines, fenced submissions.
#include "vk-context.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "backends/module-common.h"
#include "vk-timing.h"

namespace qinfer::vk {
namespace {

using module::fail;

constexpr uint64_t kStagingMax = 64ull << 20;
constexpr uint64_t kInlineWriteMax = 65536;  // vkCmdUpdateBuffer's limit
constexpr uint64_t kFenceTimeoutNs = 120ull * 1000 * 1000 * 1000;

int fail_vk(VkResult r, const std::string &what) {
  int status = (r == VK_ERROR_OUT_OF_DEVICE_MEMORY || r == VK_ERROR_OUT_OF_HOST_MEMORY) ? QINFER_E_OUT_OF_MEMORY : QINFER_E_INTERNAL;
  return fail(status, what + ": " + result_text(r));
}

// Orders everything before against everything after: queue submissions are not ordered for
// memory on their own, and these command buffers are few and short.
void barrier(VkCommandBuffer cmd, VkPipelineStageFlags src_stage, VkAccessFlags src_access, VkPipelineStageFlags dst_stage,
             VkAccessFlags dst_access) {
  VkMemoryBarrier mb{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  mb.srcAccessMask = src_access;
  mb.dstAccessMask = dst_access;
  api.vkCmdPipelineBarrier(cmd, src_stage, dst_stage, 0, 1, &mb, 0, nullptr, 0, nullptr);
}

void leading_barrier(VkCommandBuffer cmd) {
  barrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT | VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_MEMORY_WRITE_BIT | VK_ACCESS_HOST_WRITE_BIT,
          VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_READ_BIT | VK_ACCESS_MEMORY_WRITE_BIT);
}

// Device writes become visible to the host once the fence is waited on.
void trailing_barrier(VkCommandBuffer cmd) {
  barrier(cmd, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT, VK_ACCESS_MEMORY_WRITE_BIT, VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
}

// On a GPU, polls the fence for up to kSpinNs before sleeping in vkWaitForFences, as CUDA's default synchronization
// spins: a decode step is a few ms at most. (On the H200 a TinyLlama token still cost ~1.1 ms beyond its step's
// device time with polling, 1.3 ms without: README, Whole models on GPUs.) A CPU device (lavapipe) needs the cores
// the poll would take.
constexpr uint64_t kSpinNs = 20ull * 1000 * 1000;

VkResult wait_fence(VkDevice device, VkFence fence, bool spin) {
  const auto start = std::chrono::steady_clock::now();
  while (spin) {
    VkResult r = api.vkGetFenceStatus(device, fence);
    if (r != VK_NOT_READY) return r;
    if (uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - start).count()) > kSpinNs) break;
  }
  return api.vkWaitForFences(device, 1, &fence, VK_TRUE, kFenceTimeoutNs);
}

}  // namespace

bool reuse_enabled() {
  static const bool on = [] {
    const char *e = std::getenv("QINFER_VULKAN_REUSE");
    return !(e && std::strcmp(e, "0") == 0);
  }();
  return on;
}

std::string Context::create(const DeviceCaps &caps, int index, std::unique_ptr<Context> &out) {
  std::unique_ptr<Context> c(new Context(caps, index));
  std::string why = c->init();
  if (why.empty()) out = std::move(c);
  return why;
}

std::string Context::init() {
  float priority = 1.0f;
  VkDeviceQueueCreateInfo qci{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  qci.queueFamilyIndex = caps_.compute_queue_family;
  qci.queueCount = 1;
  qci.pQueuePriorities = &priority;
  VkDeviceCreateInfo dci{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO};
  dci.queueCreateInfoCount = 1;
  dci.pQueueCreateInfos = &qci;
  // matmul-coopmat.comp's 4 subgroups of a 128-thread workgroup need 32-lane subgroups. QINFER_VULKAN_COOPMAT=0
  // keeps batched products on the shader cores (matmul-tiled.comp, F32 activations).
  const char *coopmat_env = std::getenv("QINFER_VULKAN_COOPMAT");
  coopmat_ = caps_.coopmat_f16_nv && caps_.subgroup_size == 32 && !(coopmat_env && std::strcmp(coopmat_env, "0") == 0);
  VkPhysicalDeviceCooperativeMatrixFeaturesNV coop{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV};
  VkPhysicalDeviceShaderFloat16Int8Features f16{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES};
  const char *coop_ext = VK_NV_COOPERATIVE_MATRIX_EXTENSION_NAME;
  if (coopmat_) {
    coop.cooperativeMatrix = VK_TRUE;
    f16.shaderFloat16 = VK_TRUE;
    coop.pNext = &f16;
    dci.pNext = &coop;
    dci.enabledExtensionCount = 1;
    dci.ppEnabledExtensionNames = &coop_ext;
  }
  if (VkResult r = api.vkCreateDevice(caps_.physical, &dci, nullptr, &device_)) return "vkCreateDevice failed: " + result_text(r);
  api.vkGetDeviceQueue(device_, caps_.compute_queue_family, 0, &queue_);

  VkCommandPoolCreateInfo pci{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pci.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pci.queueFamilyIndex = caps_.compute_queue_family;
  if (VkResult r = api.vkCreateCommandPool(device_, &pci, nullptr, &command_pool_)) return "vkCreateCommandPool failed: " + result_text(r);

  VkDescriptorSetLayoutBinding bindings[kBindings];
  for (int i = 0; i < kBindings; i++)
    bindings[i] = {uint32_t(i), VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo lci{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  lci.bindingCount = kBindings;
  lci.pBindings = bindings;
  if (VkResult r = api.vkCreateDescriptorSetLayout(device_, &lci, nullptr, &set_layout_))
    return "vkCreateDescriptorSetLayout failed: " + result_text(r);
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants)};
  VkPipelineLayoutCreateInfo plci{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  plci.setLayoutCount = 1;
  plci.pSetLayouts = &set_layout_;
  plci.pushConstantRangeCount = 1;
  plci.pPushConstantRanges = &range;
  if (VkResult r = api.vkCreatePipelineLayout(device_, &plci, nullptr, &pipeline_layout_))
    return "vkCreatePipelineLayout failed: " + result_text(r);
  pipelines_.assign(shaders::COUNT, VK_NULL_HANDLE);

  // CPU and integrated devices see host memory as device memory: map it and skip staging copies.
  VkPhysicalDeviceType type = caps_.props.deviceType;
  unified_ = (type == VK_PHYSICAL_DEVICE_TYPE_CPU || type == VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU) &&
             memory_type(~0u, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT | VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT) >= 0;
  return "";
}

Context::~Context() {
  if (!device_) return;
  api.vkDeviceWaitIdle(device_);
  drain();
  forget_recording();
  if (timestamps_) api.vkDestroyQueryPool(device_, timestamps_, nullptr);
  if (staging_.buffer) api.vkDestroyBuffer(device_, staging_.buffer, nullptr);
  if (staging_.memory) api.vkFreeMemory(device_, staging_.memory, nullptr);
  for (VkPipeline p : pipelines_)
    if (p) api.vkDestroyPipeline(device_, p, nullptr);
  if (pipeline_layout_) api.vkDestroyPipelineLayout(device_, pipeline_layout_, nullptr);
  if (set_layout_) api.vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  if (command_pool_) api.vkDestroyCommandPool(device_, command_pool_, nullptr);
  api.vkDestroyDevice(device_, nullptr);
}

int Context::memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const {
  for (uint32_t i = 0; i < caps_.memory.memoryTypeCount; i++)
    if ((allowed & (1u << i)) && (caps_.memory.memoryTypes[i].propertyFlags & want) == want) return int(i);
  return -1;
}

int Context::make_buffer(uint64_t bytes, VkBufferUsageFlags usage, bool host_visible, VkBuffer *buffer, VkDeviceMemory *memory,
                         void **mapped) {
  VkBufferCreateInfo bci{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  bci.size = std::max<uint64_t>((bytes + 3) & ~uint64_t(3), 4);  // fills and copies work in words
  bci.usage = usage;
  bci.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  if (VkResult r = api.vkCreateBuffer(device_, &bci, nullptr, buffer)) return fail_vk(r, "vkCreateBuffer");
  VkMemoryRequirements req;
  api.vkGetBufferMemoryRequirements(device_, *buffer, &req);
  const VkMemoryPropertyFlags host = VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
  int type = host_visible ? memory_type(req.memoryTypeBits, host | (unified_ ? VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT : 0))
                          : memory_type(req.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (type < 0) type = memory_type(req.memoryTypeBits, host_visible ? host : 0);
  VkResult r = VK_ERROR_OUT_OF_DEVICE_MEMORY;
  if (type >= 0) {
    VkMemoryAllocateInfo mai{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
    mai.allocationSize = req.size;
    mai.memoryTypeIndex = uint32_t(type);
    r = api.vkAllocateMemory(device_, &mai, nullptr, memory);
  }
  if (r == VK_SUCCESS) r = api.vkBindBufferMemory(device_, *buffer, *memory, 0);
  if (r == VK_SUCCESS && host_visible) r = api.vkMapMemory(device_, *memory, 0, VK_WHOLE_SIZE, 0, mapped);
  if (r != VK_SUCCESS) {
    if (*memory) api.vkFreeMemory(device_, *memory, nullptr);
    api.vkDestroyBuffer(device_, *buffer, nullptr);
    *buffer = VK_NULL_HANDLE;
    *memory = VK_NULL_HANDLE;
    return fail_vk(r, "cannot allocate " + std::to_string(bytes) + " bytes of Vulkan memory on " + caps_.props.deviceName);
  }
  return QINFER_OK;
}

qinfer_buffer *Context::alloc(uint64_t bytes) {
  if (bytes > caps_.props.limits.maxStorageBufferRange) {
    fail(QINFER_E_UNSUPPORTED, "a Vulkan buffer of " + std::to_string(bytes) + " bytes exceeds this device's storage buffer range (" +
                                   std::to_string(caps_.props.limits.maxStorageBufferRange) + " bytes)");
    return nullptr;
  }
  std::lock_guard<std::mutex> lock(mu_);
  auto b = std::make_unique<qinfer_buffer>(qinfer_buffer{VK_NULL_HANDLE, VK_NULL_HANDLE, bytes, index_, nullptr});
  const VkBufferUsageFlags usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  if (make_buffer(bytes, usage, unified_, &b->buffer, &b->memory, &b->mapped)) return nullptr;
  return b.release();
}

void Context::free(qinfer_buffer *b) {
  if (!b) return;
  std::lock_guard<std::mutex> lock(mu_);
  drain();  // a submitted command buffer may still use it
  forget_recording();  // it may name this buffer, and a new one may come back with the same handle
  api.vkDestroyBuffer(device_, b->buffer, nullptr);
  api.vkFreeMemory(device_, b->memory, nullptr);
  delete b;
}

int Context::begin(VkCommandBuffer *cmd, bool one_time) {
  VkCommandBufferAllocateInfo ai{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  ai.commandPool = command_pool_;
  ai.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  ai.commandBufferCount = 1;
  if (VkResult r = api.vkAllocateCommandBuffers(device_, &ai, cmd)) return fail_vk(r, "vkAllocateCommandBuffers");
  VkCommandBufferBeginInfo bi{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  bi.flags = one_time ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT : 0;
  if (VkResult r = api.vkBeginCommandBuffer(*cmd, &bi)) {
    api.vkFreeCommandBuffers(device_, command_pool_, 1, cmd);
    return fail_vk(r, "vkBeginCommandBuffer");
  }
  leading_barrier(*cmd);
  return QINFER_OK;
}

// Ends `cmd`, submits it with a fence and records it (and `pool`) as in flight, owned from here on.
int Context::submit(VkCommandBuffer cmd, VkDescriptorPool pool) {
  trailing_barrier(cmd);
  if (VkResult r = api.vkEndCommandBuffer(cmd)) {
    api.vkFreeCommandBuffers(device_, command_pool_, 1, &cmd);
    if (pool) api.vkDestroyDescriptorPool(device_, pool, nullptr);
    return fail_vk(r, "vkEndCommandBuffer");
  }
  return queue(cmd, pool, false);
}

// Submits an ended command buffer with a fence; a reusable one (the recording) stays owned by recording_.
int Context::queue(VkCommandBuffer cmd, VkDescriptorPool pool, bool reusable) {
  Submission s{cmd, VK_NULL_HANDLE, pool, reusable};
  VkFenceCreateInfo fci{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  VkResult r = api.vkCreateFence(device_, &fci, nullptr, &s.fence);
  if (r == VK_SUCCESS) {
    VkSubmitInfo si{VK_STRUCTURE_TYPE_SUBMIT_INFO};
    si.commandBufferCount = 1;
    si.pCommandBuffers = &cmd;
    r = api.vkQueueSubmit(queue_, 1, &si, s.fence);
  }
  if (r != VK_SUCCESS) {
    if (s.fence) api.vkDestroyFence(device_, s.fence, nullptr);
    if (!reusable) {
      api.vkFreeCommandBuffers(device_, command_pool_, 1, &cmd);
      if (pool) api.vkDestroyDescriptorPool(device_, pool, nullptr);
    }
    return fail_vk(r, "vkQueueSubmit");
  }
  in_flight_.push_back(s);
  return QINFER_OK;
}

// Waits for every submission and frees what it held; the first failure is returned.
int Context::drain() {
  int status = QINFER_OK;
  for (Submission &s : in_flight_) {
    VkResult r = wait_fence(device_, s.fence, caps_.props.deviceType != VK_PHYSICAL_DEVICE_TYPE_CPU);
    if (r != VK_SUCCESS && status == QINFER_OK)
      status = fail_vk(r, r == VK_TIMEOUT ? "the Vulkan device did not finish within 120 s" : "vkWaitForFences");
    // After a timeout the device is in an unknown state: wait for it before freeing.
    if (r == VK_TIMEOUT) api.vkDeviceWaitIdle(device_);
    api.vkDestroyFence(device_, s.fence, nullptr);
    if (s.reusable) continue;
    api.vkFreeCommandBuffers(device_, command_pool_, 1, &s.cmd);
    if (s.pool) api.vkDestroyDescriptorPool(device_, s.pool, nullptr);
  }
  in_flight_.clear();
  return status;
}

// Callers have drained: the recording is not in flight.
void Context::forget_recording() {
  if (recording_.cmd) api.vkFreeCommandBuffers(device_, command_pool_, 1, &recording_.cmd);
  if (recording_.pool) api.vkDestroyDescriptorPool(device_, recording_.pool, nullptr);
  recording_ = Recording{};
  seen_.clear();
}

bool Context::same(const std::vector<qinfer_op> &a, const qinfer_op *ops, int n) {
  // qinfer_op has no padding, and callers value-initialize it, so bytes compare fields.
  return a.size() == size_t(n) && n > 0 && std::memcmp(a.data(), ops, sizeof(qinfer_op) * size_t(n)) == 0;
}

bool Context::replay(const qinfer_op *ops, int n, int *status) {
  std::lock_guard<std::mutex> lock(mu_);
  if (!recording_.cmd || !same(recording_.ops, ops, n)) return false;
  *status = check_validation();
  // A command buffer may be pending only once: wait when the recording's last submission may still run.
  const bool pending = std::any_of(in_flight_.begin(), in_flight_.end(), [](const Submission &s) { return s.reusable; });
  if (*status == QINFER_OK && pending) *status = drain();
  if (*status == QINFER_OK) *status = queue(recording_.cmd, VK_NULL_HANDLE, true);
  if (*status == QINFER_OK && timed()) *status = collect_timing(recording_.shaders, true);
  return true;
}

// A query pool of at least n timestamps (everything is waited for while timing, so none is in use).
int Context::timestamps(uint32_t n) {
  if (timestamp_count_ >= n) return QINFER_OK;
  if (timestamps_) {
    forget_recording();  // it writes to the old pool
    api.vkDestroyQueryPool(device_, timestamps_, nullptr);
  }
  timestamps_ = VK_NULL_HANDLE;
  VkQueryPoolCreateInfo qci{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
  qci.queryType = VK_QUERY_TYPE_TIMESTAMP;
  qci.queryCount = std::max(n, 4096u);
  if (VkResult r = api.vkCreateQueryPool(device_, &qci, nullptr, &timestamps_)) return fail_vk(r, "vkCreateQueryPool");
  timestamp_count_ = qci.queryCount;
  return QINFER_OK;
}

void Context::time_after(VkCommandBuffer cmd, uint32_t i) {
  api.vkCmdWriteTimestamp(cmd, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, timestamps_, i);
}

// Waits for the submission just queued and adds its dispatch times.
int Context::collect_timing(const std::vector<shaders::Id> &ids, bool replay) {
  if (int st = drain()) return st;
  std::vector<uint64_t> ticks(ids.size() + 1);
  if (VkResult r = api.vkGetQueryPoolResults(device_, timestamps_, 0, uint32_t(ticks.size()), ticks.size() * 8, ticks.data(), 8,
                                             VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT))
    return fail_vk(r, "vkGetQueryPoolResults");
  std::vector<double> ns(ticks.size());
  for (size_t i = 0; i < ticks.size(); i++) ns[i] = double(ticks[i] - ticks[0]) * double(caps_.props.limits.timestampPeriod);
  timing::add(ids, ns, replay);
  return QINFER_OK;
}

int Context::staging(uint64_t bytes) {
  if (staging_.size >= bytes) return QINFER_OK;
  if (staging_.buffer) {
    api.vkDestroyBuffer(device_, staging_.buffer, nullptr);
    api.vkFreeMemory(device_, staging_.memory, nullptr);
    staging_ = Staging{};
  }
  uint64_t size = std::max<uint64_t>(bytes, 1 << 20);
  if (int st = make_buffer(size, VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT, true, &staging_.buffer,
                           &staging_.memory, &staging_.mapped))
    return st;
  staging_.size = size;
  return QINFER_OK;
}

// Host <-> buffer through the staging buffer, in chunks, waiting for each.
int Context::copy(qinfer_buffer *b, uint64_t offset, void *host, uint64_t bytes, bool to_device) {
  if (int st = staging(std::min(bytes, kStagingMax))) return st;
  auto *p = static_cast<uint8_t *>(host);
  for (uint64_t done = 0; done < bytes;) {
    uint64_t n = std::min(bytes - done, staging_.size);
    if (to_device) std::memcpy(staging_.mapped, p + done, n);
    VkCommandBuffer cmd;
    if (int st = begin(&cmd)) return st;
    VkBufferCopy region = to_device ? VkBufferCopy{0, offset + done, n} : VkBufferCopy{offset + done, 0, n};
    if (to_device) api.vkCmdCopyBuffer(cmd, staging_.buffer, b->buffer, 1, &region);
    else api.vkCmdCopyBuffer(cmd, b->buffer, staging_.buffer, 1, &region);
    if (int st = submit(cmd, VK_NULL_HANDLE)) return st;
    if (int st = drain()) return st;
    if (!to_device) std::memcpy(p + done, staging_.mapped, n);
    done += n;
  }
  return QINFER_OK;
}

// Device-local buffers are written and read by commands queued behind the earlier submissions (their barriers order
// them): a small write (a decode step's inputs) is recorded with its data and not waited for; other transfers wait
// only for their own copies. Mapped buffers are touched by the host, after everything in flight.
int Context::write(qinfer_buffer *b, uint64_t offset, const void *src, uint64_t bytes) {
  if (!b || !module::fits(b->size, offset, bytes)) return fail(QINFER_E_INVALID_ARGUMENT, "buffer write out of bounds");
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes == 0) return QINFER_OK;
  if (b->mapped) {
    if (int st = drain()) return st;
    std::memcpy(static_cast<uint8_t *>(b->mapped) + offset, src, bytes);
    return QINFER_OK;
  }
  if (bytes <= kInlineWriteMax && offset % 4 == 0 && bytes % 4 == 0) {
    VkCommandBuffer cmd;
    if (int st = begin(&cmd)) return st;
    api.vkCmdUpdateBuffer(cmd, b->buffer, offset, bytes, src);
    return submit(cmd, VK_NULL_HANDLE);
  }
  return copy(b, offset, const_cast<void *>(src), bytes, true);
}

int Context::read(qinfer_buffer *b, uint64_t offset, void *dst, uint64_t bytes) {
  if (!b || !module::fits(b->size, offset, bytes)) return fail(QINFER_E_INVALID_ARGUMENT, "buffer read out of bounds");
  std::lock_guard<std::mutex> lock(mu_);
  if (bytes == 0) return drain();
  if (b->mapped) {
    if (int st = drain()) return st;
    std::memcpy(dst, static_cast<const uint8_t *>(b->mapped) + offset, bytes);
    return QINFER_OK;
  }
  return copy(b, offset, dst, bytes, false);
}

int Context::pipeline(shaders::Id id, VkPipeline *out) {
  if (pipelines_[id]) {
    *out = pipelines_[id];
    return QINFER_OK;
  }
  const shaders::Spirv &spv = shaders::table[id];
  VkShaderModuleCreateInfo smci{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  smci.codeSize = spv.bytes;
  smci.pCode = spv.words;
  VkShaderModule module;
  if (VkResult r = api.vkCreateShaderModule(device_, &smci, nullptr, &module)) return fail_vk(r, std::string("shader ") + spv.name);
  VkComputePipelineCreateInfo cpci{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  cpci.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  cpci.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  cpci.stage.module = module;
  cpci.stage.pName = "main";
  cpci.layout = pipeline_layout_;
  VkResult r = api.vkCreateComputePipelines(device_, VK_NULL_HANDLE, 1, &cpci, nullptr, &pipelines_[id]);
  api.vkDestroyShaderModule(device_, module, nullptr);
  if (r != VK_SUCCESS) {
    pipelines_[id] = VK_NULL_HANDLE;
    return fail_vk(r, std::string("pipeline ") + spv.name);
  }
  *out = pipelines_[id];
  return QINFER_OK;
}

int Context::run(const std::vector<Dispatch> &dispatches, const qinfer_op *ops, int n_ops) {
  if (dispatches.empty()) return QINFER_OK;
  std::lock_guard<std::mutex> lock(mu_);
  if (int st = check_validation()) return st;
  // The same list twice in a row (a decode step) is recorded once, kept, and resubmitted by replay().
  const bool keep = reuse_enabled() && same(seen_, ops, n_ops);
  seen_.assign(ops, ops + n_ops);
  if (keep) {
    if (int st = drain()) return st;
    forget_recording();
  }
  uint32_t n = uint32_t(dispatches.size());
  VkDescriptorPoolSize ps{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, n * kBindings};
  VkDescriptorPoolCreateInfo dpci{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
  dpci.maxSets = n;
  dpci.poolSizeCount = 1;
  dpci.pPoolSizes = &ps;
  VkDescriptorPool pool;
  if (VkResult r = api.vkCreateDescriptorPool(device_, &dpci, nullptr, &pool)) return fail_vk(r, "vkCreateDescriptorPool");
  std::vector<VkDescriptorSetLayout> layouts(n, set_layout_);
  std::vector<VkDescriptorSet> sets(n);
  VkDescriptorSetAllocateInfo dsai{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
  dsai.descriptorPool = pool;
  dsai.descriptorSetCount = n;
  dsai.pSetLayouts = layouts.data();
  VkCommandBuffer cmd = VK_NULL_HANDLE;
  VkResult r = api.vkAllocateDescriptorSets(device_, &dsai, sets.data());
  int st = r == VK_SUCCESS ? begin(&cmd, !keep) : fail_vk(r, "vkAllocateDescriptorSets");
  if (st) {
    api.vkDestroyDescriptorPool(device_, pool, nullptr);
    return st;
  }
  const uint32_t max_x = caps_.props.limits.maxComputeWorkGroupCount[0];
  std::vector<shaders::Id> ids(n);
  for (uint32_t i = 0; i < n; i++) ids[i] = dispatches[i].shader;
  if (timing::enabled() && caps_.props.limits.timestampComputeAndGraphics && (st = timestamps(n + 1)) == QINFER_OK) {
    api.vkCmdResetQueryPool(cmd, timestamps_, 0, n + 1);
    time_after(cmd, 0);
  }
  for (uint32_t i = 0; i < n && st == QINFER_OK; i++) {
    const Dispatch &d = dispatches[i];
    VkPipeline p;
    if ((st = pipeline(d.shader, &p))) break;
    VkDescriptorBufferInfo infos[kBindings];
    VkWriteDescriptorSet writes[kBindings];
    for (int k = 0; k < kBindings; k++) {
      infos[k] = {(d.buffers[k] ? d.buffers[k] : d.buffers[kDst])->buffer, 0, VK_WHOLE_SIZE};
      writes[k] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
      writes[k].dstSet = sets[i];
      writes[k].dstBinding = uint32_t(k);
      writes[k].descriptorCount = 1;
      writes[k].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
      writes[k].pBufferInfo = &infos[k];
    }
    api.vkUpdateDescriptorSets(device_, kBindings, writes, 0, nullptr);
    api.vkCmdBindPipeline(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, p);
    api.vkCmdBindDescriptorSets(cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline_layout_, 0, 1, &sets[i], 0, nullptr);
    api.vkCmdPushConstants(cmd, pipeline_layout_, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof(PushConstants), &d.pc);
    if (d.workgroups > 0) {
      uint32_t x = uint32_t(std::min<uint64_t>(d.workgroups, max_x));
      uint64_t y = (d.workgroups + x - 1) / x;
      if (y > caps_.props.limits.maxComputeWorkGroupCount[1]) {
        st = fail(QINFER_E_UNSUPPORTED, "dispatch of " + std::to_string(d.workgroups) + " workgroups exceeds the device limits");
        break;
      }
      api.vkCmdDispatch(cmd, x, uint32_t(y), 1);
    }
    // The next op may read what this one wrote.
    barrier(cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT,
            VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    if (timed()) time_after(cmd, i + 1);
  }
  if (st) {
    api.vkEndCommandBuffer(cmd);
    api.vkFreeCommandBuffers(device_, command_pool_, 1, &cmd);
    api.vkDestroyDescriptorPool(device_, pool, nullptr);
    return st;
  }
  if (!keep) {
    st = submit(cmd, pool);
    return st == QINFER_OK && timed() ? collect_timing(ids, false) : st;
  }
  trailing_barrier(cmd);
  if (VkResult er = api.vkEndCommandBuffer(cmd)) {
    api.vkFreeCommandBuffers(device_, command_pool_, 1, &cmd);
    api.vkDestroyDescriptorPool(device_, pool, nullptr);
    return fail_vk(er, "vkEndCommandBuffer");
  }
  recording_ = Recording{std::vector<qinfer_op>(ops, ops + n_ops), std::move(ids), cmd, pool};
  st = queue(cmd, VK_NULL_HANDLE, true);
  return st == QINFER_OK && timed() ? collect_timing(recording_.shaders, false) : st;
}

int Context::synchronize() {
  std::lock_guard<std::mutex> lock(mu_);
  if (int st = drain()) return st;
  return check_validation();
}

int Context::check_validation() {
  if (validation_error_count() == 0) return QINFER_OK;
  return fail(QINFER_E_INTERNAL, "the Vulkan validation layer reported " + std::to_string(validation_error_count()) +
                                     " error(s); first: " + first_validation_error());
}

}  // namespace qinfer::vk
