// cpuid/XGETBV feature detection: a flag counts only when the OS also saves the registers it uses.
#include "cpu-info.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define QINFER_X86 1
#endif

namespace qinfer {
namespace {

#ifdef QINFER_X86
struct Regs {
  uint32_t a = 0, b = 0, c = 0, d = 0;
};

Regs cpuid(uint32_t leaf, uint32_t sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

bool bit(uint32_t v, int n) { return (v >> n) & 1u; }

void detect_x86(CpuInfo &info) {
  Regs r0 = cpuid(0);
  char vendor[13] = {0};
  std::memcpy(vendor + 0, &r0.b, 4);
  std::memcpy(vendor + 4, &r0.d, 4);
  std::memcpy(vendor + 8, &r0.c, 4);
  info.vendor = vendor;
  uint32_t max_leaf = r0.a;

  Regs ext0 = cpuid(0x80000000u);
  if (ext0.a >= 0x80000004u) {
    char brand[49] = {0};
    for (uint32_t i = 0; i < 3; i++) {
      Regs r = cpuid(0x80000002u + i);
      std::memcpy(brand + 16 * i + 0, &r.a, 4);
      std::memcpy(brand + 16 * i + 4, &r.b, 4);
      std::memcpy(brand + 16 * i + 8, &r.c, 4);
      std::memcpy(brand + 16 * i + 12, &r.d, 4);
    }
    std::string s(brand);
    size_t a = s.find_first_not_of(' '), b = s.find_last_not_of(' ');
    info.model = a == std::string::npos ? "" : s.substr(a, b - a + 1);
  }

  CpuFeatures &f = info.features;
  if (max_leaf < 1) return;
  Regs r1 = cpuid(1);
  f.sse4_2 = bit(r1.c, 20);
  bool osxsave = bit(r1.c, 27);
  uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  // XMM|YMM state, then opmask|ZMM_Hi256|Hi16_ZMM, then XTILECFG|XTILEDATA.
  bool os_avx = (xcr0 & 0x6) == 0x6;
  bool os_avx512 = os_avx && (xcr0 & 0xE0) == 0xE0;
  bool os_amx = (xcr0 & 0x60000) == 0x60000;

  f.avx = os_avx && bit(r1.c, 28);
  f.fma = f.avx && bit(r1.c, 12);
  f.f16c = f.avx && bit(r1.c, 29);
  if (max_leaf < 7) return;
  Regs r7 = cpuid(7, 0);
  Regs r7s1 = cpuid(7, 1);
  f.avx2 = f.avx && bit(r7.b, 5);
  f.bmi2 = bit(r7.b, 8);
  f.avx512f = os_avx512 && bit(r7.b, 16);
  f.avx512bw = f.avx512f && bit(r7.b, 30);
  f.avx512dq = f.avx512f && bit(r7.b, 17);
  f.avx512vl = f.avx512f && bit(r7.b, 31);
  f.avx512vnni = f.avx512f && bit(r7.c, 11);
  f.avx512bf16 = f.avx512f && bit(r7s1.a, 5);
  f.avxvnni = f.avx2 && bit(r7s1.a, 4);
  f.amx = os_amx && bit(r7.d, 24) && bit(r7.d, 25);
}
#endif

uint64_t parse_cache_size(const std::string &s) {
  uint64_t v = std::strtoull(s.c_str(), nullptr, 10);
  if (s.find('K') != std::string::npos) v <<= 10;
  else if (s.find('M') != std::string::npos) v <<= 20;
  return v;
}

std::string read_line(const std::string &path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

void detect_caches(CpuInfo &info) {
  for (int i = 0; i < 8; i++) {
    std::string dir = "/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(i) + "/";
    std::string level = read_line(dir + "level");
    if (level.empty()) break;
    std::string type = read_line(dir + "type");
    uint64_t size = parse_cache_size(read_line(dir + "size"));
    if (level == "1" && type == "Data") info.l1d_bytes = size;
    else if (level == "2") info.l2_bytes = size;
    else if (level == "3") info.l3_bytes = size;
  }
}

// Distinct (package, core) pairs: SMT siblings share a core id.
int count_physical_cores(int logical) {
  std::set<std::pair<std::string, std::string>> cores;
  for (int i = 0; i < logical; i++) {
    std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(i) + "/topology/";
    std::string core = read_line(dir + "core_id");
    if (core.empty()) continue;
    cores.insert({read_line(dir + "physical_package_id"), core});
  }
  return cores.empty() ? logical : int(cores.size());
}

CpuInfo detect() {
  CpuInfo info;
#ifdef QINFER_X86
  detect_x86(info);
#endif
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  info.logical_cores = n > 0 ? int(n) : 1;
  info.physical_cores = count_physical_cores(info.logical_cores);
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages > 0 && page > 0) info.memory_bytes = uint64_t(pages) * uint64_t(page);
  detect_caches(info);
  return info;
}

}  // namespace

const CpuInfo &cpu_info() {
  static const CpuInfo info = detect();
  return info;
}

}  // namespace qinfer
