#!/usr/bin/env bash
# Builds qinfer on the GPU machine (device tool) and runs the probe and the backend tests there; logs go to $OUT.
#
# Here, in the checkout the device tool sends (/work/main), once per dependency change:
#   ../shared/scripts/device-carry.sh                       # node, the Vulkan loader, GL dispatch libraries
#   bash scripts/device-check.sh pack [CHECKOUT]            # node_modules and dist from CHECKOUT (default .),
#                                                           # glslc and the Vulkan headers, the validation layer
# On the device (run, carry [".device-carry"]):
#   bash scripts/device-check.sh run [vitest args...]       # default: test/backends; then the matvec
#                                                           # timings (qinfer-backend-bench) and a copy
#                                                           # bandwidth for scale
set -uo pipefail
d=.device-carry

case "${1:-}" in
  pack)
    src=${2:-.}
    tar -C "$src" -c --exclude='node_modules/typescript' --exclude='node_modules/.cache' --exclude='node_modules/node-llama-cpp' \
      --exclude='node_modules/@node-llama-cpp' node_modules | xz -T0 -3 > "$d/node_modules.tar.xz"
    tar -C "$src" -c dist | xz -T0 -3 > "$d/dist.tar.xz"
    mkdir -p "$d/build-tools"
    # Unpacked under /tmp on the device, not /: they only serve the build. The validation layer goes
    # beside the loader debs, which setup.sh unpacks into /.
    (cd "$d/build-tools" && apt-get download glslc libshaderc1 libvulkan-dev >/dev/null)
    (cd "$d" && apt-get download vulkan-validationlayers >/dev/null)
    du -sh "$d"/* "$d"/build-tools/*
    ;;
  run)
    shift
    out=${OUT:-/tmp/qinfer-out}
    mkdir -p "$out"
    # shellcheck disable=SC1091
    source "$d/setup.sh"
    [ -d dist ] || xz -dc "$d/dist.tar.xz" | tar -x
    tools=/tmp/qinfer-build-tools
    for f in "$d"/build-tools/*.deb; do dpkg -x "$f" "$tools"; done
    export PATH="$tools/usr/bin:$PATH" LD_LIBRARY_PATH="$tools/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export VULKAN_SDK="$tools/usr" PATH="/usr/local/cuda/bin:$PATH"
    { nvidia-smi; nvcc --version; cmake --version; glslc --version; } > "$out/tools.txt" 2>&1
    if ! (time node node_modules/cmake-js/bin/cmake-js compile --CDQINFER_NATIVE_TESTS=ON) > "$out/build.log" 2>&1; then
      tail -60 "$out/build.log"
      exit 1
    fi
    grep -E "qinfer-cuda:|real" "$out/build.log"
    cat build/Release/qinfer-modules.json
    node dist/cli/main.js probe 2>&1 | tee "$out/probe.txt"
    node dist/cli/main.js probe --json > "$out/probe.json" 2> "$out/probe-json.stderr"
    node node_modules/vitest/vitest.mjs run "${@:-test/backends}" 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/tests.log"
    status=${PIPESTATUS[0]}
    grep -vE '^\s*$' "$out/tests.log" | tail -40
    {
      # Device-to-device copy through PyTorch (bytes read + written), the ceiling for memory-bound kernels.
      python3 -c 'import torch
a = torch.empty(1 << 30, dtype=torch.uint8, device="cuda"); b = torch.empty_like(a)
for _ in range(3): b.copy_(a)
s, e = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
s.record()
for _ in range(20): b.copy_(a)
e.record(); torch.cuda.synchronize()
print("device copy: %.0f GB/s (read + write)" % (2 * 20 * a.numel() / (s.elapsed_time(e) / 1e3) / 1e9))' || true
      bench=build/Release/qinfer-backend-bench
      $bench vulkan build/Release/qinfer-vulkan.so 14336 4096 f32,f16,q8_0,q4_0,q4_K,q6_K 100
      $bench cuda build/Release/qinfer-cuda.so 14336 4096 f32 100
    } 2>&1 | tee "$out/bench.txt"
    exit "$status"
    ;;
  *)
    echo "usage: $0 pack [CHECKOUT] | run [vitest args...]" >&2
    exit 2
    ;;
esac
