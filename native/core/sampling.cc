// Sampler implementation; the order (penalties, temperature, top-k, top-p, min-p) follows Hugging Face's generate().
#include "sampling.h"

#include <algorithm>
#include <cmath>

namespace qinfer {

namespace {

uint64_t splitmix64(uint64_t &x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

struct ByLogitDesc {
  template <typename C>
  bool operator()(const C &a, const C &b) const {
    return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
  }
};

}  // namespace

Rng::Rng(uint64_t seed) {
  for (auto &s : s_) s = splitmix64(seed);
}

uint64_t Rng::next() {
  uint64_t result = rotl(s_[1] * 5, 7) * 9;
  uint64_t t = s_[1] << 17;
  s_[2] ^= s_[0];
  s_[3] ^= s_[1];
  s_[1] ^= s_[2];
  s_[0] ^= s_[3];
  s_[2] ^= t;
  s_[3] = rotl(s_[3], 45);
  return result;
}

double Rng::uniform() { return double(next() >> 11) * 0x1.0p-53; }

Sampler::Sampler(const SamplerParams &params) : params_(params), rng_(params.seed) {}

void Sampler::reset() {
  window_.clear();
  counts_.clear();
  rng_ = Rng(params_.seed);
}

void Sampler::accept(int32_t token) {
  if (params_.penalty_last_n == 0) return;
  window_.push_back(token);
  counts_[token]++;
  if (params_.penalty_last_n > 0 && int32_t(window_.size()) > params_.penalty_last_n) {
    int32_t old = window_.front();
    window_.pop_front();
    if (--counts_[old] == 0) counts_.erase(old);
  }
}

void Sampler::apply_penalties(std::vector<Candidate> &c) const {
  for (const auto &[id, count] : counts_) {
    if (id < 0 || size_t(id) >= c.size()) continue;
    float &l = c[size_t(id)].logit;
    if (params_.repeat_penalty != 1.0f) l = l > 0 ? l / params_.repeat_penalty : l * params_.repeat_penalty;
    l -= float(count) * params_.frequency_penalty + params_.presence_penalty;
  }
}

// Leaves the k best candidates, sorted best first.
void Sampler::keep_top(std::vector<Candidate> &c, size_t k) {
  k = std::min(k, c.size());
  std::partial_sort(c.begin(), c.begin() + std::ptrdiff_t(k), c.end(), ByLogitDesc());
  c.resize(k);
}

void Sampler::softmax(std::vector<Candidate> &c) {
  float mx = -INFINITY;
  for (const auto &x : c) mx = std::max(mx, x.logit);
  double sum = 0;
  for (auto &x : c) sum += (x.p = std::exp(x.logit - mx));
  for (auto &x : c) x.p = float(x.p / sum);
}

// Keeps the smallest best-first prefix whose mass reaches top_p. Sorts only as deep as needed:
// with a large vocabulary the nucleus is usually a few dozen tokens.
void Sampler::truncate_top_p(std::vector<Candidate> &c, bool sorted) const {
  size_t sorted_len = sorted ? c.size() : 0;
  double cum = 0;
  for (size_t i = 0; i < c.size(); i++) {
    if (i == sorted_len) {
      sorted_len = std::min(c.size(), std::max<size_t>(64, sorted_len * 4));
      std::partial_sort(c.begin() + std::ptrdiff_t(i), c.begin() + std::ptrdiff_t(sorted_len), c.end(), ByLogitDesc());
    }
    cum += c[i].p;
    if (cum >= params_.top_p) {
      c.resize(i + 1);
      return;
    }
  }
}

int32_t Sampler::sample(const float *logits, int32_t n_vocab) {
  std::vector<Candidate> &c = scratch_;
  c.resize(size_t(n_vocab));
  for (int32_t i = 0; i < n_vocab; i++) c[size_t(i)] = {i, logits[i], 0.0f};
  apply_penalties(c);

  if (params_.temperature <= 0.0f) {
    return std::min_element(c.begin(), c.end(), ByLogitDesc())->id;
  }
  for (auto &x : c) x.logit /= params_.temperature;
  bool sorted = params_.top_k > 0;
  if (sorted) keep_top(c, size_t(params_.top_k));
  softmax(c);
  if (params_.top_p < 1.0f) {
    truncate_top_p(c, sorted);
    sorted = true;
  }
  if (params_.min_p > 0.0f) {
    float p_max = 0;
    for (const auto &x : c) p_max = std::max(p_max, x.p);
    float threshold = p_max * params_.min_p;
    c.erase(std::remove_if(c.begin(), c.end(), [&](const Candidate &x) { return x.p < threshold; }), c.end());
  }
  double total = 0;
  for (const auto &x : c) total += x.p;
  double r = rng_.uniform() * total;
  for (const auto &x : c) {
    r -= x.p;
    if (r < 0) return x.id;
  }
  return c.back().id;
}

}  // namespace qinfer
