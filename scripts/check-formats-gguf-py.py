#!/usr/bin/env python3
"""Writes test/fixtures/quant/gguf-py-vectors.json: what llama.cpp's own Python `gguf` package makes of
seeded inputs, for test/quant/gguf-py-vectors.test.ts to compare with qinfer without Python.

Per format: `input` floats and gguf-py's quantized `bytes` (the formats gguf-py can quantize, whose
round-to-nearest qinfer must reproduce byte for byte), and `random` blocks (random bits with valid fp16
scales) with gguf-py's dequantized `values` (every format: qinfer must decode the same numbers).

Run: PYTHONPATH=/path/to/llama.cpp/gguf-py python3 scripts/check-formats-gguf-py.py [seed]
"""
import base64
import json
import os
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import quants
from gguf.constants import GGML_QUANT_SIZES

SEED = int(sys.argv[1]) if len(sys.argv) > 1 else 20261124
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'quant', 'gguf-py-vectors.json')

# Byte offsets of the fp16 scale fields in each block: random bits there could be NaN or infinity.
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
    T.IQ4_NL: [0], T.IQ4_XS: [0],
}
QUANTIZABLE = [T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1]


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a).tobytes()).decode()


def awkward_input(rng: np.random.Generator, n: int) -> np.ndarray:
    """Blocks of 32 with different characters: scales, a zero block, one spike, ties, tiny values."""
    x = rng.standard_normal(n).astype(np.float32)
    blocks = x.reshape(-1, 32)
    for i, blk in enumerate(blocks):
        kind = i % 8
        if kind == 1:
            blk *= np.float32(1e-3)
        elif kind == 2:
            blk[:] = 0
        elif kind == 3:
            blk[:] = 0
            blk[5] = -2.5
        elif kind == 4:
            blk[:] = np.round(blk * 4) / 4  # many exact ties after scaling
        elif kind == 5:
            blk *= np.float32(1e-6)  # scales in fp16's subnormal range
        elif kind == 6:
            blk += np.float32(3)  # all positive: the minimum formats keep an offset
        elif kind == 7:
            blk *= np.float32(300)
    return x


def float_specials() -> np.ndarray:
    bits = np.array([0x00000000, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x33000000, 0x33000001,
                     0x387FE000, 0x38800000, 0x477FE000, 0x477FEFFF, 0x477FF000, 0x3F801000, 0x3F803000,
                     0x3F808000, 0x3F818000, 0x00000001, 0x3F7FFFFF], dtype=np.uint32)
    return bits.view(np.float32)


def main() -> None:
    rng = np.random.default_rng(SEED)
    out = {'seed': SEED, 'formats': []}
    for qtype in QUANTIZABLE:
        n = 256
        x = awkward_input(rng, n)
        if qtype in (T.F16, T.BF16):
            x = np.concatenate([x, float_specials(), rng.standard_normal(14).astype(np.float32) * 1e-6])
        with np.errstate(over='ignore'):  # the specials include values past fp16's range
            q = quants.quantize(x.reshape(1, -1), qtype).reshape(-1).view(np.uint8)
        out['formats'].append({'name': qtype.name.lower(), 'type': int(qtype), 'input': b64(x), 'bytes': b64(q)})
    for qtype, halves in HALF_FIELDS.items():
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        nblocks = max(2, 256 // block_size)
        raw = rng.integers(0, 256, size=(nblocks, type_size), dtype=np.uint8)
        for off in halves:
            scale = (rng.uniform(-1, 1, nblocks) * 10.0 ** rng.integers(-4, 1, nblocks)).astype(np.float16)
            raw[:, off:off + 2] = scale.view(np.uint8).reshape(nblocks, 2)
        values = quants.dequantize(raw.reshape(1, -1), qtype).reshape(-1).astype(np.float32)
        entry = next((e for e in out['formats'] if e['type'] == int(qtype)), None)
        if entry is None:
            entry = {'name': qtype.name.lower(), 'type': int(qtype)}
            out['formats'].append(entry)
        entry['random'] = b64(raw)
        entry['values'] = b64(values)
    with open(OUT, 'w') as f:
        json.dump(out, f, separators=(',', ':'))
        f.write('\n')
    print(f'wrote {os.path.normpath(OUT)} ({os.path.getsize(OUT)} bytes, seed {SEED})')


if __name__ == '__main__':
    main()
