#!/usr/bin/env bash
# CUDA speed and correctness in one device call. `run` (decode): the matrix-vector benchmark (Q4_0/Q8_0 rows, fused-kernel
# checks, copy bandwidth in the same run), whole-model generation of a baseline CUDA module against this build in
# alternating rounds (TinyLlama shape Q4_0/Q8_0, Llama-3-8B shape Q4_0), graph replay device time, test/backends and
# test/gpu, and compute-sanitizer memcheck on a decode. `prefill`: the batched-product table (1-512 tokens against
# cuBLAS f16, this build's wgmma kernels and, with QINFER_CUDA_WGMMA=0, its mma.sync ones), the SASS check that the
# wgmma kernels are there, pp512/tg128 of the baseline against this build with and without wgmma (two rounds), Nsight
# Compute's per-kernel time of one 512-token prefill (TinyLlama and 8B shapes), the tests (with and without wgmma) and
# memcheck on a prefill. Logs and JSON go to $OUT.
#
# Here, in a checkout built with `QINFER_CUDA_ARCHS=90 npm run compile` (CARRY: a git-ignored folder of the checkout
# the device tool sends; BASELINE: another build's qinfer-cuda.so of the same backend ABI):
#   bash scripts/cuda-speed-check.sh pack CARRY BASELINE
# On the device (run with carry [CARRY relative to that checkout]):
#   bash CARRY/cuda-speed-check.sh run|prefill
set -uo pipefail

case "${1:-}" in
  pack)
    c=${2:?carry folder} base=${3:?baseline qinfer-cuda.so}
    mkdir -p "$c" && p=$(mktemp -d)
    [ -s /tmp/cuda-speed-node.xz ] || { strip -o "$p/node" "$(command -v node)" && xz -T2 -9e -c "$p/node" > /tmp/cuda-speed-node.xz; }
    cp /tmp/cuda-speed-node.xz "$c/node.xz"
    tar -c --exclude='node_modules/typescript' --exclude='node_modules/*node-llama-cpp' --exclude='node_modules/@types' \
      --exclude='node_modules/ipull' --exclude='node_modules/simple-git' --exclude='node_modules/prebuildify' --exclude='node_modules/.cache' \
      --exclude='node_modules/cmake-js' --exclude='node_modules/node-addon-api' --exclude='node_modules/tar' --exclude='node_modules/yargs*' \
      -C "$(dirname "$(readlink -f node_modules)")" node_modules | xz -T2 -6 > "$c/node_modules.tar.xz"  # node_modules may be a link (a worktree's)
    nvcc -O3 -gencode arch=compute_90a,code=sm_90a -DQINFER_CUDA_HAS_WGMMA -std=c++17 -Inative -Inative/include scripts/cuda-matvec-bench.cu \
      native/backends/cuda/cuda-matmul*.cu native/backends/cuda/cuda-matvec-q8.cu -ldl -o "$p/cs-bench" || exit 1
    cp -r package.json tsconfig.json vitest.config.ts lib dist scripts "$p/" && mkdir -p "$p/test/fixtures" "$p/build/Release"
    cp -r test/backends test/gpu test/helpers "$p/test/" && cp -r test/fixtures/models "$p/test/fixtures/"
    cp build/Release/qinfer-cuda.so build/Release/qinfer-modules.json build/Release/qinfer.node "$p/build/Release/"
    cp "$base" "$p/cuda-main.so"
    strip --strip-unneeded "$p/build/Release/qinfer-cuda.so" "$p/cuda-main.so" "$p/cs-bench" "$p/build/Release/qinfer.node"
    tar -C "$p" -c . | xz -T2 -9e > "$c/src.tar.xz"
    cp "$0" "$c/cuda-speed-check.sh"
    rm -rf "$p"
    du -cb "$c"/* | tail -1
    ;;
  run | prefill)
    mode=$1 c=$(cd "$(dirname "$0")" && pwd) out=${OUT:-/tmp/cs-out} w=/tmp/csw
    mkdir -p /tmp/dc-bin $w "$out"
    xz -dc "$c/node.xz" > /tmp/dc-bin/node && chmod +x /tmp/dc-bin/node
    tar -xJf "$c/src.tar.xz" -C $w && (cd $w && xz -dc "$c/node_modules.tar.xz" | tar -x)
    export PATH=/tmp/dc-bin:/usr/local/cuda/bin:$PATH
    cd $w
    nvidia-smi --query-gpu=name,clocks.sm,clocks.max.sm,clocks.mem --format=csv,noheader
    if [ "$mode" = prefill ]; then
      status=0
      for t in q4_0 q8_0; do node scripts/gen-random-gguf.mjs /tmp/tinyllama-$t.gguf $t tinyllama > /dev/null & done
      node scripts/gen-random-gguf.mjs /tmp/small-q4_0.gguf q4_0 small > /dev/null &
      node scripts/gen-random-gguf.mjs /tmp/llama3-8b-q4_0.gguf q4_0 llama3-8b > /dev/null &
      echo "HGMMA instructions in the benchmark's kernels: $(cuobjdump --dump-sass cs-bench | grep -c HGMMA)"
      echo "=== batched products $(date -u +%T)"
      timeout 90 ./cs-bench /tmp/batched.json batched > "$out/batched.txt" 2>&1 || { status=1; tail -3 "$out/batched.txt"; }
      QINFER_CUDA_WGMMA=0 timeout 90 ./cs-bench /tmp/batched-mma.json batched > "$out/batched-mma.txt" 2>&1
      grep -E "copy|match|wrong|failed" "$out/batched.txt"
      # tokens, then: x cuBLAS of wgmma | of mma.sync, error vs cuBLAS (wgmma), for the two big shapes
      paste -d'|' <(grep -E "^\| q" "$out/batched.txt") <(grep -E "^\| q" "$out/batched-mma.txt") |
        awk -F'|' '$3 ~ /14336/ {printf "%s %s %4s  us %7s  xcuBLAS %5s | mma %5s  err %s\n", $2, $3, $4, $5, $9, $20, $10}'
      wait
      echo "=== pp512/tg128 A/B $(date -u +%T)"
      OUT=/tmp/ab bash scripts/cuda-decode-ab.sh 2 "/tmp/tinyllama-q4_0.gguf /tmp/tinyllama-q8_0.gguf /tmp/llama3-8b-q4_0.gguf" main=cuda-main.so \
        new=build/Release/qinfer-cuda.so new-mma=build/Release/qinfer-cuda.so,QINFER_CUDA_WGMMA=0 2>&1 | tee "$out/ab.txt" | grep round
      for m in tinyllama:22 llama3-8b:32; do
        echo "=== prefill profile ${m%%:*} $(date -u +%T)"
        timeout 120 ncu --clock-control none --metrics gpu__time_duration.sum --csv node --input-type=module -e "
          import { loadModel } from './dist/index.js';
          const m = await loadModel(process.argv[1], { backend: 'cuda', contextSize: 512, batchSize: 512, sequences: 1 });
          await m.evaluate(Array.from({ length: 512 }, (_, i) => (i * 104729 + 13) % 32000));
          m.close();" "/tmp/${m%%:*}-q4_0.gguf" > "$out/ncu-${m%%:*}.csv" 2> /tmp/ncu.err || tail -3 /tmp/ncu.err
        node scripts/ncu-summary.mjs "$out/ncu-${m%%:*}.csv" "${m##*:}" | sed 's/decode steps/prefills/; s/per step/per prefill/; s#us/step#us#' | head -9
      done
      for v in wgmma mma; do
        echo "=== tests ($v) $(date -u +%T)"
        QINFER_CUDA_WGMMA=$([ $v = mma ] && echo 0 || echo 1) timeout 150 node node_modules/vitest/vitest.mjs run test/backends test/gpu 2>&1 |
          sed 's/\x1b\[[0-9;]*m//g' > "$out/tests-$v.log"
        tests=${PIPESTATUS[0]}
        echo "tests exit $tests"
        [ "$tests" = 0 ] || status=1
        grep -E "worst|FAIL|×|Tests |Test Files|AssertionError|Error:" "$out/tests-$v.log" | tail -14
      done
      echo "=== memcheck $(date -u +%T)"
      timeout 100 compute-sanitizer --tool memcheck --error-exitcode 9 node dist/cli/main.js bench /tmp/small-q4_0.gguf --pp 100 --tg 8 --reps 1 \
        --backend cuda > "$out/memcheck.log" 2>&1 || status=1
      echo "memcheck: $(grep -E 'ERROR SUMMARY' "$out/memcheck.log" | tail -1)"
      exit "$status"
    fi
    for t in q4_0 q8_0; do node scripts/gen-random-gguf.mjs /tmp/tinyllama-$t.gguf $t tinyllama > /dev/null & done
    node scripts/gen-random-gguf.mjs /tmp/small-q4_0.gguf q4_0 small > /dev/null &
    echo "=== matvec $(date -u +%T)"
    ./cs-bench "$out/matvec.json" decode 2>&1 | tee "$out/matvec.txt" | grep -E "copy|match|q4_0|q8_0|wrong"
    node scripts/gen-random-gguf.mjs /tmp/llama3-8b-q4_0.gguf q4_0 llama3-8b > /dev/null &
    wait
    echo "=== decode A/B $(date -u +%T)"
    bash scripts/cuda-decode-ab.sh 2 "/tmp/tinyllama-q4_0.gguf /tmp/tinyllama-q8_0.gguf" main=cuda-main.so new=build/Release/qinfer-cuda.so 2>&1 | tee "$out/ab.txt"
    OUT=$out/8b bash scripts/cuda-decode-ab.sh 1 /tmp/llama3-8b-q4_0.gguf main=cuda-main.so new=build/Release/qinfer-cuda.so 2>&1 | tee "$out/ab8b.txt"
    for t in q4_0 q8_0; do
      QINFER_CUDA_TIMING=1 node dist/cli/main.js bench /tmp/tinyllama-$t.gguf --backend cuda --pp 16 --tg 128 --reps 3 2>&1 | grep -E "generation|graph"
    done
    echo "=== tests $(date -u +%T)"
    timeout 240 node node_modules/vitest/vitest.mjs run test/backends test/gpu 2>&1 | sed 's/\x1b\[[0-9;]*m//g' > "$out/tests.log"
    status=${PIPESTATUS[0]}
    echo "tests exit $status"
    grep -E "worst|FAIL|×|Tests |Test Files|AssertionError|Error:" "$out/tests.log" | tail -30
    echo "=== memcheck $(date -u +%T)"
    timeout 120 compute-sanitizer --tool memcheck --error-exitcode 9 node dist/cli/main.js bench /tmp/small-q4_0.gguf --pp 100 --tg 8 --reps 1 \
      --backend cuda > "$out/memcheck.log" 2>&1 || status=1
    echo "memcheck: $(grep -E 'ERROR SUMMARY' "$out/memcheck.log" | tail -1)"
    exit "$status"
    ;;
  *)
    echo "usage: $0 pack CARRY BASELINE_SO | run | prefill" >&2
    exit 2
    ;;
esac
