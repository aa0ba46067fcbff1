# The shader variants embedded in qinfer-vulkan: qinfer_vulkan_shader(<id> <source> [DEFINE=VALUE ...]); vk-ops.cc dispatches by id.
qinfer_vulkan_shader(add_f32 add-f32.comp)
qinfer_vulkan_shader(matvec_f32 matvec-f32.comp)
