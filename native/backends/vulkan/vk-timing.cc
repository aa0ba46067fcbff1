// Per-shader and per-submission device time sums for QINFER_VULKAN_TIMING=1 (vk-timing.h).
#include "vk-timing.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>

namespace qinfer::vk::timing {
namespace {

struct Totals {
  std::mutex mu;
  uint64_t count[shaders::COUNT] = {};
  double ns[shaders::COUNT] = {};
  std::vector<double> replays, runs;  // per submission, ns

  ~Totals() {
    if (replays.empty() && runs.empty()) return;
    auto median = [](std::vector<double> v) {
      if (v.empty()) return 0.0;
      std::nth_element(v.begin(), v.begin() + long(v.size() / 2), v.end());
      return v[v.size() / 2] / 1e3;
    };
    std::fprintf(stderr, "qinfer-vulkan timing: %zu replayed submissions, device time median %.1f us; %zu recorded, median %.1f us\n",
                 replays.size(), median(replays), runs.size(), median(runs));
    std::vector<int> order;
    for (int i = 0; i < int(shaders::COUNT); i++)
      if (count[i]) order.push_back(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return ns[a] > ns[b]; });
    for (int i : order)
      std::fprintf(stderr, "  %-22s %9llu dispatches %12.1f us total %9.2f us each\n", shaders::table[i].name, (unsigned long long)count[i],
                   ns[i] / 1e3, ns[i] / 1e3 / double(count[i]));
  }
};

Totals &totals() {
  static Totals t;
  return t;
}

}  // namespace

bool enabled() {
  static const bool on = [] {
    const char *e = std::getenv("QINFER_VULKAN_TIMING");
    return e && *e && std::strcmp(e, "0") != 0;
  }();
  return on;
}

void add(const std::vector<shaders::Id> &ids, const std::vector<double> &ns, bool replay) {
  Totals &t = totals();
  std::lock_guard<std::mutex> lock(t.mu);
  for (size_t i = 0; i < ids.size() && i + 1 < ns.size(); i++) {
    t.count[ids[i]]++;
    t.ns[ids[i]] += ns[i + 1] - ns[i];
  }
  if (!ns.empty()) (replay ? t.replays : t.runs).push_back(ns.back() - ns.front());
}

}  // namespace qinfer::vk::timing
