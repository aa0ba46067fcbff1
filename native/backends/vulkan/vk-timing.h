// QINFER_VULKAN_TIMING=1: the device time of every dispatch, from a timestamp written after each (every submission is
// then waited for at once), summed per shader and per submission, printed to stderr at exit. Costs a wait per step.
#pragma once

#include <cstdint>
#include <vector>

#include "vk-shaders.h"

namespace qinfer::vk::timing {

bool enabled();

// One submission: its dispatches' shaders and the n + 1 timestamps (ns) around them; `replay`: a kept recording.
void add(const std::vector<shaders::Id> &ids, const std::vector<double> &ns, bool replay);

}  // namespace qinfer::vk::timing
