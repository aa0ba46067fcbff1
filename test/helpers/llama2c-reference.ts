// A scalar float64 forward pass of a llama2.c checkpoint (llama2.c's run.c, step by step): the reference for converted models.
import { readFileSync } from 'node:fs';

interface Weights {
  dim: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  vocab: number;
  headSize: number;
  emb: Float32Array;
  rmsAtt: Float32Array;
  wq: Float32Array;
  wk: Float32Array;
  wv: Float32Array;
  wo: Float32Array;
  rmsFfn: Float32Array;
  w1: Float32Array;
  w2: Float32Array;
  w3: Float32Array;
  rmsFinal: Float32Array;
  wcls: Float32Array;
}

/** x rounded to the nearest IEEE half-precision value (ties to even), as an F16 GGUF stores it. */
export function roundToF16(x: number): number {
  const a = Math.abs(x);
  if (a === 0 || !Number.isFinite(a)) return x;
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  const spacing = 2 ** (Math.max(e, -14) - 10);
  const v = x / spacing;
  let r = Math.round(v);
  if (Math.abs(v % 1) === 0.5 && r % 2 !== 0) r -= 1;
  return r * spacing;
}

/** Loads the checkpoint; with `f16`, the weight matrices are rounded to half precision (norms stay f32), as an F16 conversion. */
export function loadLlama2c(path: string, f16 = false): Weights {
  const buf = readFileSync(path);
  const h = Array.from({ length: 7 }, (_, i) => buf.readInt32LE(i * 4));
  const [dim, hidden, layers, heads, kvHeads, rawVocab, seqLen] = h as [number, number, number, number, number, number, number];
  const vocab = Math.abs(rawVocab);
  const headSize = dim / heads;
  const kvDim = kvHeads * headSize;
  const all = new Float32Array(buf.buffer.slice(buf.byteOffset + 28, buf.byteOffset + buf.length)); // a copy: rounding may modify it
  let o = 0;
  const take = (n: number) => all.subarray(o, (o += n));
  const w = {
    emb: take(vocab * dim),
    rmsAtt: take(layers * dim),
    wq: take(layers * dim * dim),
    wk: take(layers * kvDim * dim),
    wv: take(layers * kvDim * dim),
    wo: take(layers * dim * dim),
    rmsFfn: take(layers * dim),
    w1: take(layers * hidden * dim),
    w2: take(layers * dim * hidden),
    w3: take(layers * hidden * dim),
    rmsFinal: take(dim),
  };
  take(seqLen * headSize); // freq_cis_real, freq_cis_imag
  const wcls = rawVocab > 0 ? w.emb : take(vocab * dim);
  if (f16) for (const m of new Set([w.emb, w.wq, w.wk, w.wv, w.wo, w.w1, w.w2, w.w3, wcls])) m.set(m.map(roundToF16));
  return { dim, hidden, layers, heads, kvHeads, vocab, headSize, ...w, wcls };
}

/** out[i] = sum_j w[offset + i*n + j] * x[j] for i < d. */
function matmul(w: Float32Array, offset: number, x: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let s = 0;
    const row = offset + i * n;
    for (let j = 0; j < n; j++) s += w[row + j]! * x[j]!;
    out[i] = s;
  }
  return out;
}

function rmsnorm(x: Float64Array, w: Float32Array, offset: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const scale = 1 / Math.sqrt(ss / x.length + 1e-5);
  return x.map((v, i) => v * scale * w[offset + i]!);
}

/** Logits of every position of `tokens` (rows of `vocab` values). */
export function llama2cLogits(w: Weights, tokens: number[]): Float64Array[] {
  const { dim, hidden, headSize, heads, kvHeads } = w;
  const kvDim = kvHeads * headSize;
  const keys: Float64Array[][] = Array.from({ length: w.layers }, () => []);
  const values: Float64Array[][] = Array.from({ length: w.layers }, () => []);
  const out: Float64Array[] = [];
  tokens.forEach((token, pos) => {
    let x = Float64Array.from(w.emb.subarray(token * dim, (token + 1) * dim));
    for (let l = 0; l < w.layers; l++) {
      const xb = rmsnorm(x, w.rmsAtt, l * dim);
      const q = matmul(w.wq, l * dim * dim, xb, dim, dim);
      const k = matmul(w.wk, l * kvDim * dim, xb, dim, kvDim);
      const v = matmul(w.wv, l * kvDim * dim, xb, dim, kvDim);
      // RoPE on adjacent pairs, as llama2.c does.
      for (let i = 0; i < dim; i += 2) {
        const freq = 1 / 10000 ** ((i % headSize) / headSize);
        const c = Math.cos(pos * freq);
        const s = Math.sin(pos * freq);
        for (const vec of i < kvDim ? [q, k] : [q]) {
          const [a, b] = [vec[i]!, vec[i + 1]!];
          vec[i] = a * c - b * s;
          vec[i + 1] = a * s + b * c;
        }
      }
      keys[l]!.push(k);
      values[l]!.push(v);
      const att = new Float64Array(dim);
      for (let hd = 0; hd < heads; hd++) {
        const kvh = Math.floor(hd / (heads / kvHeads));
        const scores = keys[l]!.map((kt) => {
          let s = 0;
          for (let i = 0; i < headSize; i++) s += q[hd * headSize + i]! * kt[kvh * headSize + i]!;
          return s / Math.sqrt(headSize);
        });
        const max = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - max));
        const sum = e.reduce((a, b) => a + b, 0);
        values[l]!.forEach((vt, t) => {
          for (let i = 0; i < headSize; i++) att[hd * headSize + i]! += (e[t]! / sum) * vt[kvh * headSize + i]!;
        });
      }
      const o = matmul(w.wo, l * dim * dim, att, dim, dim);
      x = x.map((v2, i) => v2 + o[i]!);
      const xf = rmsnorm(x, w.rmsFfn, l * dim);
      const h1 = matmul(w.w1, l * hidden * dim, xf, dim, hidden);
      const h3 = matmul(w.w3, l * hidden * dim, xf, dim, hidden);
      const hh = h1.map((a, i) => (a / (1 + Math.exp(-a))) * h3[i]!);
      const down = matmul(w.w2, l * dim * hidden, hh, hidden, dim);
      x = x.map((v2, i) => v2 + down[i]!);
    }
    out.push(matmul(w.wcls, 0, rmsnorm(x, w.rmsFinal, 0), dim, w.vocab));
  });
  return out;
}
