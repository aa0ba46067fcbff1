#!/usr/bin/env bash
# Whole-model decode speed of CUDA module variants in one run on the GPU machine: `qinfer bench` (512-token prompt,
# 128 generated, median of 3 after a warm-up) of each model with each variant, in alternating rounds, one JSON line
# per run into $OUT/decode-ab.jsonl and a table at the end. A variant is NAME=MODULE[,ENV=VALUE...]: the module file
# is copied over build/Release/qinfer-cuda.so for its runs (the original is put back at the end).
#   bash scripts/cuda-decode-ab.sh ROUNDS "MODEL..." VARIANT...
# e.g. bash scripts/cuda-decode-ab.sh 2 "/tmp/tinyllama-q4_0.gguf /tmp/tinyllama-q8_0.gguf" main=/tmp/cuda-main.so \
#        new=build/Release/qinfer-cuda.so new-nofuse=build/Release/qinfer-cuda.so,QINFER_CUDA_FUSE=0
set -uo pipefail
rounds=$1 models=$2
shift 2
out=${OUT:-/tmp/decode-ab}
mkdir -p "$out"
mod=build/Release/qinfer-cuda.so
cp "$mod" /tmp/decode-ab-original.so
for v in "$@"; do cp "$(echo "${v#*=}" | cut -d, -f1)" "/tmp/decode-ab-${v%%=*}.so" || exit 2; done
status=0
for r in $(seq "$rounds"); do
  for m in $models; do
    for v in "$@"; do
      name=${v%%=*} spec=${v#*=}
      IFS=, read -r -a parts <<< "$spec"
      cp "/tmp/decode-ab-$name.so" "$mod"
      env "${parts[@]:1}" timeout 300 node dist/cli/main.js bench "$m" --backend cuda --json > /tmp/decode-ab.json 2> /tmp/decode-ab.err ||
        { status=1; echo "$name $m failed:"; tail -3 /tmp/decode-ab.err; continue; }
      node -e 'const r = JSON.parse(require("fs").readFileSync("/tmp/decode-ab.json", "utf8"));
        const [name, model, round, file] = process.argv.slice(1);
        console.log(`round ${round} ${model} ${name}: pp${r.pp.tokens} ${r.pp.tps.median.toFixed(0)} t/s, tg${r.tg.tokens} ${r.tg.tps.median.toFixed(1)} t/s (${r.tg.tps.min.toFixed(1)}-${r.tg.tps.max.toFixed(1)})`);
        require("fs").appendFileSync(file, JSON.stringify({ variant: name, model, round: Number(round), pp: r.pp.tps.median, tg: r.tg.tps.median, tgMin: r.tg.tps.min, tgMax: r.tg.tps.max }) + "\n")' \
        "$name" "$(basename "$m")" "$r" "$out/decode-ab.jsonl"
    done
  done
done
cp /tmp/decode-ab-original.so "$mod"
exit $status
