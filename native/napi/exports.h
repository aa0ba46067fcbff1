// Each N-API source registers its own exports at static-init time, so adding a file never edits another.
#pragma once

#include <napi.h>

namespace qinfer::napi {

using ExportFn = void (*)(Napi::Env env, Napi::Object exports);

struct ExportRegistrar {
  explicit ExportRegistrar(ExportFn fn);
};

void run_export_registrars(Napi::Env env, Napi::Object exports);

}  // namespace qinfer::napi

#define QINFER_REGISTER_EXPORTS(fn) static ::qinfer::napi::ExportRegistrar qinfer_registrar_##fn(fn)
