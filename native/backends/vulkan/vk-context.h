// One Vulkan logical device: buffers, transfers through a staging buffer, pipelines, and submitted command buffers.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "vk-caps.h"
#include "vk-ops.h"

struct qinfer_buffer {
  VkBuffer buffer;
  VkDeviceMemory memory;
  uint64_t size;
  int device;
  void *mapped;  // persistently mapped when the buffer lives in host-visible memory
};

namespace qinfer::vk {

// False when QINFER_VULKAN_REUSE=0 (to compare with recording every call).
bool reuse_enabled();

class Context {
 public:
  // Creates the logical device; returns "" or why it could not.
  static std::string create(const DeviceCaps &caps, int index, std::unique_ptr<Context> &out);
  ~Context();
  Context(const Context &) = delete;
  Context &operator=(const Context &) = delete;

  // On failure these return null or a qinfer_status, with the module's last error set.
  qinfer_buffer *alloc(uint64_t bytes);
  void free(qinfer_buffer *b);
  int write(qinfer_buffer *b, uint64_t offset, const void *src, uint64_t bytes);
  int read(qinfer_buffer *b, uint64_t offset, void *dst, uint64_t bytes);
  // Records the dispatches planned from `ops` (n_ops of them) into one command buffer and submits it; synchronize()
  // waits. When `ops` equals the previous call's list, the recording is kept for replay().
  int run(const std::vector<Dispatch> &dispatches, const qinfer_op *ops, int n_ops);
  // Resubmits the kept recording when it was made from exactly `ops` (status in *status); false otherwise.
  bool replay(const qinfer_op *ops, int n, int *status);
  int synchronize();
  // Batched products of quantized weights may run on the matrix units (matmul-coopmat.comp).
  bool coopmat() const { return coopmat_; }

 private:
  struct Submission {
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;
    bool reusable = false;  // the recording: drain() keeps its command buffer
  };
  struct Recording {
    std::vector<qinfer_op> ops;
    std::vector<shaders::Id> shaders;  // of its dispatches, for QINFER_VULKAN_TIMING
    VkCommandBuffer cmd = VK_NULL_HANDLE;
    VkDescriptorPool pool = VK_NULL_HANDLE;  // its descriptor sets, written once
  };
  struct Staging {
    VkBuffer buffer = VK_NULL_HANDLE;
    VkDeviceMemory memory = VK_NULL_HANDLE;
    void *mapped = nullptr;
    uint64_t size = 0;
  };

  explicit Context(const DeviceCaps &caps, int index) : caps_(caps), index_(index) {}
  std::string init();
  int memory_type(uint32_t allowed, VkMemoryPropertyFlags want) const;
  int make_buffer(uint64_t bytes, VkBufferUsageFlags usage, bool host_visible, VkBuffer *buffer, VkDeviceMemory *memory, void **mapped);
  int pipeline(shaders::Id id, VkPipeline *out);
  int begin(VkCommandBuffer *cmd, bool one_time = true);
  int submit(VkCommandBuffer cmd, VkDescriptorPool pool);
  int queue(VkCommandBuffer cmd, VkDescriptorPool pool, bool reusable);
  int drain();
  void forget_recording();
  static bool same(const std::vector<qinfer_op> &a, const qinfer_op *ops, int n);
  int staging(uint64_t bytes);
  int copy(qinfer_buffer *b, uint64_t offset, void *host, uint64_t bytes, bool to_device);
  int check_validation();
  bool timed() const { return timestamps_ != VK_NULL_HANDLE; }
  int timestamps(uint32_t n);
  void time_after(VkCommandBuffer cmd, uint32_t i);
  int collect_timing(const std::vector<shaders::Id> &ids, bool replay);

  std::mutex mu_;
  DeviceCaps caps_;
  int index_;
  bool coopmat_ = false;
  bool unified_ = false;  // device memory is host memory (lavapipe, integrated GPUs): map instead of staging
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkCommandPool command_pool_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipelineLayout pipeline_layout_ = VK_NULL_HANDLE;
  std::vector<VkPipeline> pipelines_;
  std::vector<Submission> in_flight_;
  std::vector<qinfer_op> seen_;  // the previous run's ops
  Recording recording_;
  Staging staging_;
  VkQueryPool timestamps_ = VK_NULL_HANDLE;  // QINFER_VULKAN_TIMING: a timestamp before and after each dispatch
  uint32_t timestamp_count_ = 0;
};

}  // namespace qinfer::vk
