#!/usr/bin/env bash
# Every GPU check of whole models in one device call: backend and model tests (CUDA and Vulkan against the CPU),
# compute-sanitizer memcheck on model runs, gcide-llama-25m against its reference, and qinfer bench on
# TinyLlama-shaped random Q4_0/Q8_0 files generated there. Logs and bench JSON go to $OUT.
#
# Here (this machine builds: same x86-64, nvcc and glslc present), from the worktree to check:
#   npm run compile && bash scripts/gpu-model-check.sh pack /work/main [--lean]   # fills /work/main/.gg-carry (git-ignored)
#   bash scripts/gpu-model-check.sh pack-gcide /work/main                 # optional, alone in a second call (size)
# On the device (run with carry [".gg-carry"], or [".gg-gcide"] for the gcide stage on the still-warm machine):
#   tar -xJOf .gg-carry/src.tar.xz scripts/gpu-model-check.sh > /tmp/check.sh &&
#     bash /tmp/check.sh run [tests | smoke] [memcheck] [bench] [bench8b] [profile] [gcide]
set -uo pipefail

case "${1:-}" in
  pack)
    dst="${2:?checkout the device tool sends}/.gg-carry"
    src=$(pwd)
    grep -qx '/.gg-carry/' "$2/.git/info/exclude" || echo '/.gg-carry/' >> "$2/.git/info/exclude"
    rm -rf "$dst" && mkdir -p "$dst"
    dc="$2/.device-carry"  # the Vulkan loader debs from ../shared/scripts/device-carry.sh
    # The upload holds 64 MiB with the checkout: node compressed hard, only the packages vitest and dist need.
    [ -s /tmp/gg-node.xz ] || xz -T2 -9e -c "$(command -v node)" > /tmp/gg-node.xz
    cp /tmp/gg-node.xz "$dst/node.xz"
    cp "$dc"/lib*.deb "$dst/"
    # --lean: no vitest (the smoke stage checks models with node alone) when the checkout leaves too little room.
    if [ "${3:-}" = --lean ]; then
      tar -C "$src" -c node_modules/@huggingface node_modules/node-gyp-build | xz -T2 -6 > "$dst/node_modules.tar.xz"
    else
    tar -C "$src" -c --exclude='node_modules/typescript' --exclude='node_modules/*node-llama-cpp' --exclude='node_modules/@types' \
      --exclude='node_modules/ipull' --exclude='node_modules/simple-git' --exclude='node_modules/prebuildify' --exclude='node_modules/.cache' \
      --exclude='node_modules/cmake-js' --exclude='node_modules/node-addon-api' --exclude='node_modules/tar' --exclude='node_modules/yargs*' \
      node_modules | xz -T2 -6 > "$dst/node_modules.tar.xz"
    fi
    tar -C "$src" -c package.json tsconfig.json vitest.config.ts lib test/backends test/gpu test/helpers test/fixtures/models dist scripts \
      build/Release | xz -T2 -6 > "$dst/src.tar.xz"
    du -sh "$dst"/* | sort -h | tail -4
    ;;
  pack-gcide)
    dst="${2:?checkout the device tool sends}/.gg-gcide"
    grep -qx '/.gg-gcide/' "$2/.git/info/exclude" || echo '/.gg-gcide/' >> "$2/.git/info/exclude"
    fx=../shared/fixtures/models/gcide-llama-25m
    rm -rf "$dst" && mkdir -p "$dst"
    # bf16 is the checkpoint's own type: the same weights as an f32 conversion, in half the bytes.
    node dist/cli/main.js convert "$fx" -o /tmp/gcide-bf16.gguf --type bf16 >/dev/null
    xz -T2 -6 -c /tmp/gcide-bf16.gguf > "$dst/gcide-bf16.gguf.xz"
    cp "$fx/reference.json" "$fx/ref_logits.f32" "$dst/"
    du -sh "$dst"/*
    ;;
  run)
    shift
    repo=$(pwd)
    out=${OUT:-/tmp/gg-out}
    mkdir -p "$out"
    w=/tmp/gg
    if [ -d "$repo/.gg-carry" ]; then
      c="$repo/.gg-carry"
      mkdir -p /tmp/dc-bin
      xz -dc "$c/node.xz" > /tmp/dc-bin/node && chmod +x /tmp/dc-bin/node
      for f in "$c"/*.deb; do dpkg -x "$f" /; done
      ldconfig
      rm -rf "$w" && mkdir -p "$w"
      tar -xJf "$c/src.tar.xz" -C "$w"
      (cd "$w" && xz -dc "$c/node_modules.tar.xz" | tar -x)
    fi
    [ -x /tmp/dc-bin/node ] && [ -d "$w" ] || { echo "no unpacked checkout at $w: run with .gg-carry first"; exit 3; }
    export PATH="/tmp/dc-bin:/usr/local/cuda/bin:$PATH" VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
    cd "$w"
    q="node dist/cli/main.js"
    status=0
    nvidia-smi --query-gpu=name,memory.used,memory.total,clocks.sm,clocks.max.sm --format=csv > "$out/gpu.txt" 2>&1
    for stage in "$@"; do
      echo "=== $stage ($(date -u +%T))"
      case "$stage" in
        tests)
          $q probe > "$out/probe.txt" 2>&1; grep -A3 '^Backend' "$out/probe.txt"
          node node_modules/vitest/vitest.mjs run test/backends test/gpu 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/tests.log"
          st=${PIPESTATUS[0]}; [ "$st" = 0 ] || status=$st
          grep -E "worst|near-tie|skipping|✓|×|FAIL|Tests " "$out/tests.log" | grep -v "^ *✓ .*ms$" | tail -30
          ;;
        smoke)
          for t in q4_0 q8_0; do [ -f "/tmp/small-$t.gguf" ] || node scripts/gen-random-gguf.mjs "/tmp/small-$t.gguf" "$t" small > /dev/null; done
          for b in cuda vulkan; do
            node scripts/gpu-smoke.mjs "$b" /tmp/small-q4_0.gguf /tmp/small-q8_0.gguf test/fixtures/models/tiny-qwen2.gguf test/fixtures/models/tiny-llama.gguf || status=1
          done
          ;;
        memcheck)
          node scripts/gen-random-gguf.mjs /tmp/small-q4_0.gguf q4_0 small > /dev/null
          i=0
          for cmd in "run test/fixtures/models/tiny-llama.gguf -p abc -n 12 --backend cuda" "bench /tmp/small-q4_0.gguf --pp 40 --tg 8 --reps 1 --backend cuda"; do
            i=$((i + 1))
            compute-sanitizer --tool memcheck --error-exitcode 9 $q $cmd > "$out/memcheck-$i.log" 2>&1
            st=$?; [ "$st" = 0 ] || status=$st
            echo "memcheck qinfer $cmd: exit $st; $(grep -E 'ERROR SUMMARY' "$out/memcheck-$i.log" | tail -1)"
          done
          ;;
        bench | bench8b)
          shape=tinyllama; [ "$stage" = bench8b ] && shape=llama3-8b
          types="q4_0 q8_0"; [ "$stage" = bench8b ] && types=q4_0
          # The 8B shape's prompts are slow until the batched kernels are: fewer, shorter runs.
          args=""; [ "$stage" = bench8b ] && args="--pp 128 --tg 64 --reps 2"
          for t in $types; do
            m=/tmp/$shape-$t.gguf
            [ -f "$m" ] || node scripts/gen-random-gguf.mjs "$m" "$t" "$shape"
            # Each backend with its per-step reuse (CUDA graphs, kept Vulkan command buffers) on, then off.
            for run in "cuda QINFER_CUDA_GRAPHS=1" "cuda QINFER_CUDA_GRAPHS=0" "vulkan QINFER_VULKAN_REUSE=1" "vulkan QINFER_VULKAN_REUSE=0"; do
              b=${run%% *} flag=${run#* } name="$shape-$t-$b-${run##*=}"
              env QINFER_VULKAN_VALIDATION=0 "$flag" timeout 240 $q bench "$m" --backend "$b" --json $args > "/tmp/bench-$name.json" 2> "/tmp/bench-$name.err" ||
                { status=1; tail -3 "/tmp/bench-$name.err"; continue; }
              node -e 'const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
                console.log(`${process.argv[2]}: pp${r.pp.tokens} ${r.pp.tps.median.toFixed(0)} t/s (${r.pp.tps.min.toFixed(0)}-${r.pp.tps.max.toFixed(0)}), tg${r.tg.tokens} ${r.tg.tps.median.toFixed(1)} t/s (${r.tg.tps.min.toFixed(1)}-${r.tg.tps.max.toFixed(1)})`);
                require("fs").appendFileSync(process.argv[3], JSON.stringify({ run: process.argv[2], ...r }) + "\n")' \
                "/tmp/bench-$name.json" "$shape $t $b $flag" "$out/bench.jsonl"
            done
          done
          ;;
        profile)
          # Every kernel of two decode steps timed by Nsight Compute (plain launches: ncu serializes them anyway).
          m=/tmp/tinyllama-q4_0.gguf
          [ -f "$m" ] || node scripts/gen-random-gguf.mjs "$m" q4_0 tinyllama
          QINFER_CUDA_GRAPHS=0 timeout 300 ncu --clock-control none --metrics gpu__time_duration.sum --csv --launch-skip 4000 --launch-count 756 \
            $q bench "$m" --backend cuda --pp 8 --tg 40 --reps 1 > "$out/ncu.csv" 2> /tmp/ncu.err || { status=1; tail -5 /tmp/ncu.err; }
          node scripts/ncu-summary.mjs "$out/ncu.csv"
          ;;
        gcide)
          g="$repo/.gg-gcide"
          [ -d "$g" ] || { echo "gcide: $g not carried"; status=1; continue; }
          xz -dc "$g/gcide-bf16.gguf.xz" > /tmp/gcide-bf16.gguf
          for b in cuda vulkan; do node scripts/gpu-gcide-check.mjs /tmp/gcide-bf16.gguf "$g" "$b" 2>&1 | tee -a "$out/gcide.log" | tail -1 || status=1; done
          ;;
        *) echo "unknown stage $stage"; status=2 ;;
      esac
    done
    exit "$status"
    ;;
  *)
    echo "usage: $0 pack CHECKOUT | pack-gcide CHECKOUT | run STAGES..." >&2
    exit 2
    ;;
esac
