#!/usr/bin/env bash
# Vulkan speed and correctness in one device call: test/backends and test/gpu through NVIDIA's Vulkan driver (or, where
# the upload has no room for vitest, scripts/vulkan-device-check.mjs and scripts/gpu-smoke.mjs), then
# `qinfer bench` (pp512, tg128) of qinfer's Vulkan backend (fusions on and off), qinfer's CUDA backend and, when
# carried, llama.cpp's Vulkan backend (llama-bench with node-llama-cpp's prebuilt ggml-vulkan) on the same
# random-weight files (TinyLlama shape Q4_0/Q8_0, Llama-3-8B shape Q4_0), and the per-shader device time of a
# TinyLlama Q4_0 run (QINFER_VULKAN_TIMING=1). Logs and JSON go to $OUT.
#
# Here, in a built checkout (CARRY: a git-ignored folder of the checkout the device tool sends; the upload holds
# 64 MiB with the checkout, so pick parts; binaries are packed with xz's x86 filter, ~4% smaller):
#   bash scripts/vulkan-speed-check.sh pack CARRY [tests] [peer LLAMA_BENCH_DIR]
#     tests: vitest and the test files; peer: a folder holding llama-bench, its libraries and libggml-vulkan.so
# On the device (run with carry [CARRY relative to that checkout]):
#   bash CARRY/vulkan-speed-check.sh run [tests | check] [bench] [bench8b] [timing]
set -uo pipefail

case "${1:-}" in
  pack)
    c=${2:?carry folder}
    shift 2
    mkdir -p "$c" && p=$(mktemp -d)
    [ -s /tmp/vk-speed-node.xz ] || { strip -o "$p/node" "$(command -v node)" && xz -T1 --x86 --lzma2=preset=9e -c "$p/node" > /tmp/vk-speed-node.xz && rm "$p/node"; }
    cp /tmp/vk-speed-node.xz "$c/node.xz"
    # The Vulkan loader and the GL dispatch libraries NVIDIA's Vulkan driver needs (../shared/scripts/device-carry.sh).
    (cd "$c" && apt-get download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 > /dev/null) || exit 1
    cp -r package.json dist scripts "$p/" && mkdir -p "$p/build/Release" "$p/test/fixtures"
    cp -r test/fixtures/models "$p/test/fixtures/"
    find "$p/dist" -name '*.map' -o -name '*.d.ts' | xargs rm -f
    cp build/Release/qinfer-modules.json "$p/build/Release/"
    for f in qinfer.node qinfer-vulkan.so qinfer-cuda.so; do strip --strip-unneeded -o "$p/build/Release/$f" "build/Release/$f"; done
    mods="node_modules/node-gyp-build node_modules/@huggingface"
    while [ $# -gt 0 ]; do
      case "$1" in
        tests)
          cp -r tsconfig.json vitest.config.ts lib "$p/" && cp -r test/backends test/gpu test/helpers "$p/test/"
          mods=node_modules
          ;;
        peer)
          [ -f "${2:-}/llama-bench" ] || { echo "peer: no llama-bench in ${2:-}" >&2; exit 2; }
          tar -C "$2" -c . | xz -T1 --x86 --lzma2=preset=9e > "$c/peer.tar.xz"
          shift
          ;;
        *) echo "unknown part $1" >&2; exit 2 ;;
      esac
      shift
    done
    # node_modules may be a link to another checkout's.
    tar -C "$(dirname "$(readlink -f node_modules)")" -c --exclude='node_modules/typescript' --exclude='node_modules/*node-llama-cpp' --exclude='node_modules/@types' \
      --exclude='node_modules/ipull' --exclude='node_modules/simple-git' --exclude='node_modules/prebuildify' --exclude='node_modules/.cache' \
      --exclude='node_modules/cmake-js' --exclude='node_modules/node-addon-api' --exclude='node_modules/tar' --exclude='node_modules/yargs*' \
      $mods | xz -T2 -9 > "$c/node_modules.tar.xz"
    tar -C "$p" -c . | xz -T1 --x86 --lzma2=preset=9e > "$c/src.tar.xz"
    cp "$0" "$c/vulkan-speed-check.sh"
    rm -rf "$p"
    du -cb "$c"/* | tail -1
    ;;
  run)
    shift
    c=$(cd "$(dirname "$0")" && pwd) out=${OUT:-/tmp/vs-out} w=/tmp/vsw
    mkdir -p /tmp/dc-bin $w "$out"
    xz -dc "$c/node.xz" > /tmp/dc-bin/node && chmod +x /tmp/dc-bin/node
    for f in "$c"/*.deb; do dpkg -x "$f" /; done
    ldconfig
    tar -xJf "$c/src.tar.xz" -C $w && (cd $w && xz -dc "$c/node_modules.tar.xz" | tar -x)
    peer=""
    if [ -f "$c/peer.tar.xz" ]; then peer=/tmp/vs-peer && mkdir -p $peer && tar -xJf "$c/peer.tar.xz" -C $peer; fi
    export PATH=/tmp/dc-bin:$PATH VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json QINFER_VULKAN_VALIDATION=0
    cd $w
    q="node dist/cli/main.js"
    status=0
    nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem --format=csv,noheader
    $q probe > "$out/probe.txt" 2>&1; grep -A3 '^Backend' "$out/probe.txt"
    for t in q4_0 q8_0; do [ -f /tmp/tinyllama-$t.gguf ] || node scripts/gen-random-gguf.mjs /tmp/tinyllama-$t.gguf $t tinyllama > /dev/null & done
    wait
    # One bench line: qinfer (backend, env) or llama-bench; appended to bench.jsonl as JSON.
    bench() {
      local name=$1 model=$2 backend=$3 args=$4
      shift 4
      if [ "$backend" = llama.cpp ]; then
        LD_LIBRARY_PATH=$peer timeout 120 $peer/llama-bench -m "$model" -ngl 99 $args -o json > "/tmp/b-$name.json" 2> "/tmp/b-$name.err" ||
          { status=1; tail -3 "/tmp/b-$name.err"; return; }
        node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
          const s = (k) => r.find((x) => (k ? x.n_prompt > 0 : x.n_gen > 0));
          const pp = s(true), tg = s(false), line = { run: process.argv[2], pp: pp && { tokens: pp.n_prompt, tps: pp.avg_ts }, tg: tg && { tokens: tg.n_gen, tps: tg.avg_ts }, raw: r };
          console.log(`${process.argv[2]}: pp${pp?.n_prompt} ${pp?.avg_ts.toFixed(0)} t/s, tg${tg?.n_gen} ${tg?.avg_ts.toFixed(1)} t/s`);
          require("fs").appendFileSync(process.argv[3], JSON.stringify(line) + "\n")' "/tmp/b-$name.json" "$name" "$out/bench.jsonl"
        return
      fi
      env "$@" timeout 120 $q bench "$model" --backend "$backend" --json $args > "/tmp/b-$name.json" 2> "/tmp/b-$name.err" ||
        { status=1; tail -3 "/tmp/b-$name.err"; return; }
      node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
        console.log(`${process.argv[2]}: pp${r.pp.tokens} ${r.pp.tps.median.toFixed(0)} t/s (${r.pp.tps.min.toFixed(0)}-${r.pp.tps.max.toFixed(0)}), tg${r.tg.tokens} ${r.tg.tps.median.toFixed(1)} t/s (${r.tg.tps.min.toFixed(1)}-${r.tg.tps.max.toFixed(1)})`);
        require("fs").appendFileSync(process.argv[3], JSON.stringify({ run: process.argv[2], ...r }) + "\n")' "/tmp/b-$name.json" "$name" "$out/bench.jsonl"
    }
    for stage in "$@"; do
      echo "=== $stage ($(date -u +%T))"
      case "$stage" in
        tests)
          # The Vulkan tests only (-t): the CUDA ones have their own device checks.
          timeout 300 node node_modules/vitest/vitest.mjs run test/backends test/gpu -t vulkan 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/tests.log"
          st=${PIPESTATUS[0]}; [ "$st" = 0 ] || status=$st
          echo "tests exit $st"
          grep -E "worst|near-tie|skipping|FAIL|×|Tests |Test Files|AssertionError|Error:" "$out/tests.log" | tail -30
          ;;
        check)
          node scripts/vulkan-device-check.mjs ops 2>&1 | tee "$out/check.log" || status=1
          for t in q4_0 q8_0; do [ -f /tmp/small-$t.gguf ] || node scripts/gen-random-gguf.mjs /tmp/small-$t.gguf $t small > /dev/null; done
          node scripts/gpu-smoke.mjs vulkan /tmp/small-q4_0.gguf /tmp/small-q8_0.gguf test/fixtures/models/tiny-qwen2.gguf \
            test/fixtures/models/tiny-llama.gguf 2>&1 | tee -a "$out/check.log" || status=1
          for t in q4_0 q8_0; do
            node scripts/vulkan-device-check.mjs logits /tmp/small-$t.gguf /tmp/fused-$t.bin &&
              QINFER_VULKAN_FUSE=0 node scripts/vulkan-device-check.mjs logits /tmp/small-$t.gguf /tmp/unfused-$t.bin &&
              node scripts/vulkan-device-check.mjs compare /tmp/fused-$t.bin /tmp/unfused-$t.bin 2>&1 | tee -a "$out/check.log" || status=1
          done
          ;;
        bench | bench8b)
          shape=tinyllama types="q4_0 q8_0" args=""
          if [ "$stage" = bench8b ]; then
            shape=llama3-8b types=q4_0
            [ -f /tmp/llama3-8b-q4_0.gguf ] || node scripts/gen-random-gguf.mjs /tmp/llama3-8b-q4_0.gguf q4_0 llama3-8b > /dev/null
          fi
          for t in $types; do
            m=/tmp/$shape-$t.gguf
            bench "$shape-$t-vulkan" "$m" vulkan "$args"
            if [ "$shape-$t" = tinyllama-q4_0 ]; then
              bench "$shape-$t-vulkan-nofuse" "$m" vulkan "$args" QINFER_VULKAN_FUSE=0
              bench "$shape-$t-vulkan-nocoopmat" "$m" vulkan "$args" QINFER_VULKAN_COOPMAT=0
            fi
            bench "$shape-$t-cuda" "$m" cuda "$args"
            [ -n "$peer" ] && bench "$shape-$t-llama.cpp-vulkan" "$m" llama.cpp "-p 512 -n 128 -r 3"
          done
          ;;
        timing)
          QINFER_VULKAN_TIMING=1 $q bench /tmp/tinyllama-q4_0.gguf --backend vulkan --reps 1 2>&1 | tee "$out/timing.txt" | head -24
          ;;
        *) echo "unknown stage $stage"; status=2 ;;
      esac
    done
    exit "$status"
    ;;
  *)
    echo "usage: $0 pack CARRY [tests] [LLAMA_BENCH_DIR] | run [tests] [bench] [bench8b] [timing]" >&2
    exit 2
    ;;
esac
