// Token sampling: penalties, temperature, top-k, top-p, min-p, then a seeded draw (same seed, same tokens).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <unordered_map>
#include <vector>

namespace qinfer {

struct SamplerParams {
  float temperature = 0.0f;  // 0 = greedy (argmax after penalties)
  int32_t top_k = 0;         // 0 = off
  float top_p = 1.0f;        // 1 = off
  float min_p = 0.0f;        // 0 = off; keeps tokens with p >= min_p * p(max)
  float repeat_penalty = 1.0f;
  float frequency_penalty = 0.0f;
  float presence_penalty = 0.0f;
  int32_t penalty_last_n = 64;  // window the penalties look at; 0 = off, -1 = whole history
  uint64_t seed = 0;
};

// splitmix64-seeded xoshiro256**: identical sequences on every platform and compiler.
class Rng {
 public:
  explicit Rng(uint64_t seed);
  uint64_t next();
  double uniform();  // [0, 1) from 53 random bits

 private:
  uint64_t s_[4];
};

class Sampler {
 public:
  explicit Sampler(const SamplerParams &params);

  // Picks a token from raw logits (not modified). History comes from accept().
  int32_t sample(const float *logits, int32_t n_vocab);
  // Records a token (prompt or generated) for the penalties.
  void accept(int32_t token);
  void reset();

 private:
  struct Candidate {
    int32_t id;
    float logit;
    float p;
  };

  void apply_penalties(std::vector<Candidate> &c) const;
  static void keep_top(std::vector<Candidate> &c, size_t k);
  static void softmax(std::vector<Candidate> &c);
  void truncate_top_p(std::vector<Candidate> &c, bool sorted) const;

  SamplerParams params_;
  Rng rng_;
  std::deque<int32_t> window_;
  std::unordered_map<int32_t, int32_t> counts_;
  std::vector<Candidate> scratch_;
};

}  // namespace qinfer
