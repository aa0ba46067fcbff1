/* Deliberately broken backend modules for the loader's tests: a wrong ABI version, or a driver that is absent. */
#include <stdio.h>
#include <string.h>

#include "qinfer/backend.h"

static int fake_init(char *reason, size_t reason_len) {
  snprintf(reason, reason_len, "libfake.so.1 not found (fake module for tests)");
  return 1;
}

static qinfer_backend fake = {0};

const qinfer_backend *qinfer_backend_register(uint32_t host_abi_version) {
  (void)host_abi_version;
  fake.abi_version = FAKE_ABI_VERSION;
  fake.name = "fake";
  fake.init = fake_init;
  return &fake;
}
