# The shader variants embedded in qinfer-vulkan: qinfer_vulkan_shader(<id> <source> [DEFINE=VALUE ...]); vk-ops.cc dispatches by id.
qinfer_vulkan_shader(add_f32 add-f32.comp)
qinfer_vulkan_shader(matvec_f32 matvec-f32.comp)
# Matrix-vector products of every weight format, one variant of matvec-quant.comp each.
foreach(type f16 bf16 q4_0 q4_1 q5_0 q5_1 q8_0 q2_k q3_k q4_k q5_k q6_k iq4_nl iq4_xs)
  string(TOUPPER ${type} upper)
  qinfer_vulkan_shader(matvec_${type} matvec-quant.comp TYPE_${upper}=1)
endforeach()
