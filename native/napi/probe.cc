// probe bindings: CPU facts from cpuid, and one backend module opened and described (run in a child process by lib/probe.ts).
#include <string>

#include "backends/cpu/isa.h"
#include "core/backend-module.h"
#include "core/cpu-info.h"
#include "errors.h"
#include "exports.h"

namespace qinfer::napi {
namespace {

Napi::Value cpu_info_js(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  const CpuInfo &ci = cpu_info();
  Napi::Object o = Napi::Object::New(env);
  o.Set("vendor", ci.vendor);
  o.Set("model", ci.model);
  o.Set("logicalCores", ci.logical_cores);
  o.Set("physicalCores", ci.physical_cores);
  o.Set("l1dBytes", double(ci.l1d_bytes));
  o.Set("l2Bytes", double(ci.l2_bytes));
  o.Set("l3Bytes", double(ci.l3_bytes));
  o.Set("memoryBytes", double(ci.memory_bytes));
  o.Set("isaSupported", cpu::isa_name(cpu::isa_supported()));
  const CpuFeatures &f = ci.features;
  Napi::Object feats = Napi::Object::New(env);
  feats.Set("sse4_2", f.sse4_2);
  feats.Set("avx", f.avx);
  feats.Set("avx2", f.avx2);
  feats.Set("fma", f.fma);
  feats.Set("f16c", f.f16c);
  feats.Set("bmi2", f.bmi2);
  feats.Set("avx512f", f.avx512f);
  feats.Set("avx512dq", f.avx512dq);
  feats.Set("avx512bw", f.avx512bw);
  feats.Set("avx512vl", f.avx512vl);
  feats.Set("avx512vnni", f.avx512vnni);
  feats.Set("avx512bf16", f.avx512bf16);
  feats.Set("avxvnni", f.avxvnni);
  feats.Set("amx", f.amx);
  o.Set("features", feats);
  return o;
}

Napi::Object describe(Napi::Env env, const BackendModule &m) {
  Napi::Object o = Napi::Object::New(env);
  o.Set("name", m.name);
  o.Set("available", m.available());
  Napi::Array devices = Napi::Array::New(env);
  if (!m.available()) {
    o.Set("reason", m.reason);
    o.Set("devices", devices);
    return o;
  }
  std::string json(QINFER_DETAILS_MAX, '\0');
  m.vtable->backend_info(json.data(), json.size());
  o.Set("infoJson", std::string(json.c_str()));
  int n = m.vtable->device_count();
  for (int i = 0; i < n; i++) {
    qinfer_device_info di{};
    if (m.vtable->device_info(i, &di) != 0) continue;
    Napi::Object d = Napi::Object::New(env);
    d.Set("index", i);
    d.Set("name", std::string(di.name));
    d.Set("memoryBytes", double(di.memory_total));
    d.Set("freeMemoryBytes", double(di.memory_free));
    d.Set("detailsJson", std::string(di.details_json));
    devices.Set(uint32_t(devices.Length()), d);
  }
  o.Set("devices", devices);
  return o;
}

// probeBackend(name, modulePath?): "cpu" needs no path.
Napi::Value probe_backend(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string name = info[0].As<Napi::String>();
  BackendModule m = open_backend(name, info.Length() > 1 && info[1].IsString() ? std::string(info[1].As<Napi::String>()) : std::string());
  return describe(env, m);
}

void register_exports(Napi::Env env, Napi::Object exports) {
  exports.Set("cpuInfo", Napi::Function::New(env, cpu_info_js));
  exports.Set("probeBackend", Napi::Function::New(env, probe_backend));
}

QINFER_REGISTER_EXPORTS(register_exports);

}  // namespace
}  // namespace qinfer::napi
