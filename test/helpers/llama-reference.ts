// A plain float64 Llama forward pass over a GGUF file (quantized weights decoded by qinfer's dequantizers,
// which test/quant checks against gguf-py): the yardstick for the native graph in tests.
import { readFileSync } from 'node:fs';

import { native } from '../../lib/binding.js';
import { type GgufFile, readGguf } from '../../lib/gguf.js';
import { type LlamaHparams, llamaHparams } from '../../lib/model-spec.js';

function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * YaRN's correction range [low, high] in pair indices, in float64 from the YaRN paper's definition: pair d turns
 * L / (2 pi base^(2d / nRot)) times over the original context L, which is `beta` times at
 * d = nRot ln(L / (2 pi beta)) / (2 ln base); rounded outwards and clamped as ggml (and transformers) do.
 */
export function yarnCorrDims(hp: LlamaHparams): [number, number] {
  const dim = (beta: number) => (hp.nRot * Math.log(hp.ropeYarnOrigCtx / (2 * Math.PI * beta))) / (2 * Math.log(hp.ropeTheta));
  return [Math.max(0, Math.floor(dim(hp.ropeYarnBetaFast))), Math.min(hp.nRot - 1, Math.ceil(dim(hp.ropeYarnBetaSlow)))];
}

/**
 * The angle of rotated pair i at position pos: the trained angle e = pos theta^(-2i/nRot) / factor, scaled by
 * ropeFreqScale, and with YaRN blended back toward e by a ramp that is 1 below the correction range and 0 above it.
 */
export function ropeAngle(hp: LlamaHparams, pos: number, i: number, freqFactor = 1): number {
  const extrap = (pos * hp.ropeTheta ** ((-2 * i) / hp.nRot)) / freqFactor;
  const interp = hp.ropeFreqScale * extrap;
  if (hp.ropeExtFactor === 0) return interp;
  const [low, high] = yarnCorrDims(hp);
  const ramp = (1 - Math.min(1, Math.max(0, (i - low) / Math.max(0.001, high - low)))) * hp.ropeExtFactor;
  return interp * (1 - ramp) + extrap * ramp;
}

/** Rounds a matrix product's input as an implementation does before multiplying weights of type `weightType`. */
export type InputRounding = (x: Float64Array, weightType: number) => Float64Array;

export class ReferenceLlama {
  private readonly types = new WeakMap<Float64Array, number>();

  private constructor(
    readonly hp: LlamaHparams,
    private readonly file: GgufFile,
    private readonly bytes: Buffer,
  ) {}

  static async load(path: string): Promise<ReferenceLlama> {
    const file = await readGguf(path);
    return new ReferenceLlama(llamaHparams(file), file, readFileSync(path));
  }

  private tensor(name: string): Float64Array | undefined {
    const t = this.file.tensors.find((x) => x.name === name);
    if (!t) return undefined;
    const n = t.shape.reduce((a, b) => a * b, 1);
    const out = new Float64Array(n);
    if (t.type === 0) for (let i = 0; i < n; i++) out[i] = this.bytes.readFloatLE(t.offset + 4 * i);
    else if (t.type === 1) for (let i = 0; i < n; i++) out[i] = half(this.bytes.readUInt16LE(t.offset + 2 * i));
    else out.set(native().dequantizeRows(t.type, this.bytes.subarray(t.offset, t.offset + t.bytes), n));
    this.types.set(out, t.type);
    return out;
  }

  private need(name: string): Float64Array {
    const t = this.tensor(name);
    if (!t) throw new Error(`reference: no ${name}`);
    return t;
  }

  /** Logits (rows of nVocab) of every position of one sequence; `round` models an implementation's product inputs. */
  logits(tokens: readonly number[], round?: InputRounding): Float64Array[] {
    const hp = this.hp;
    const d = hp.nEmbd, hd = hp.headDim, group = hp.nHead / hp.nHeadKv;
    const matvec = (w: Float64Array, input: Float64Array, rows: number) => {
      const x = round ? round(input, this.types.get(w)!) : input;
      const cols = x.length, y = new Float64Array(rows);
      for (let r = 0; r < rows; r++) {
        let s = 0;
        for (let c = 0; c < cols; c++) s += w[r * cols + c]! * x[c]!;
        y[r] = s;
      }
      return y;
    };
    const norm = (x: Float64Array, g: Float64Array) => {
      let ss = 0;
      for (const v of x) ss += v * v;
      const k = 1 / Math.sqrt(ss / x.length + hp.rmsEps);
      return x.map((v, i) => v * k * g[i]!);
    };
    const freqFactors = this.tensor('rope_freqs.weight');
    const rope = (v: Float64Array, heads: number, pos: number) => {
      for (let i = 0; i < hp.nRot / 2; i++) {
        const angle = ropeAngle(hp, pos, i, freqFactors ? freqFactors[i]! : 1);
        const c = Math.cos(angle) * hp.ropeAttnFactor, s = Math.sin(angle) * hp.ropeAttnFactor;
        for (let h = 0; h < heads; h++) {
          const a = h * hd + (hp.ropeNeox ? i : 2 * i), b = h * hd + (hp.ropeNeox ? i + hp.nRot / 2 : 2 * i + 1);
          const x0 = v[a]!, x1 = v[b]!;
          v[a] = x0 * c - x1 * s;
          v[b] = x0 * s + x1 * c;
        }
      }
    };
    const addBias = (x: Float64Array, b: Float64Array | undefined) => b && x.forEach((v, i) => (x[i] = v + b[i]!));
    const embd = this.need('token_embd.weight');
    const out = this.tensor('output.weight') ?? embd;
    const layers = Array.from({ length: hp.nLayer }, (_, i) => {
      const p = `blk.${i}.`;
      const g = (n: string) => this.need(p + n);
      return {
        an: g('attn_norm.weight'), wq: g('attn_q.weight'), wk: g('attn_k.weight'), wv: g('attn_v.weight'), wo: g('attn_output.weight'),
        bq: this.tensor(p + 'attn_q.bias'), bk: this.tensor(p + 'attn_k.bias'), bv: this.tensor(p + 'attn_v.bias'),
        fn: g('ffn_norm.weight'), wg: g('ffn_gate.weight'), wu: g('ffn_up.weight'), wd: g('ffn_down.weight'),
        keys: [] as Float64Array[], values: [] as Float64Array[],
      };
    });
    const outNorm = this.need('output_norm.weight');
    const result: Float64Array[] = [];
    tokens.forEach((tok, pos) => {
      let x = embd.slice(tok * d, (tok + 1) * d);
      for (const l of layers) {
        const h = norm(x, l.an);
        const q = matvec(l.wq, h, hp.nHead * hd), k = matvec(l.wk, h, hp.nHeadKv * hd), v = matvec(l.wv, h, hp.nHeadKv * hd);
        addBias(q, l.bq);
        addBias(k, l.bk);
        addBias(v, l.bv);
        rope(q, hp.nHead, pos);
        rope(k, hp.nHeadKv, pos);
        l.keys.push(k);
        l.values.push(v);
        const att = new Float64Array(hp.nHead * hd);
        for (let hh = 0; hh < hp.nHead; hh++) {
          const g = Math.floor(hh / group);
          const scores = l.keys.map((kk) => {
            let s = 0;
            for (let i = 0; i < hd; i++) s += q[hh * hd + i]! * kk[g * hd + i]!;
            return s / Math.sqrt(hd);
          });
          const mx = Math.max(...scores);
          const e = scores.map((s) => Math.exp(s - mx));
          const sum = e.reduce((a, b) => a + b, 0);
          l.values.forEach((vv, j) => {
            for (let i = 0; i < hd; i++) att[hh * hd + i] = att[hh * hd + i]! + (e[j]! / sum) * vv[g * hd + i]!;
          });
        }
        const o = matvec(l.wo, att, d);
        x = x.map((xv, i) => xv + o[i]!);
        const h2 = norm(x, l.fn);
        const gate = matvec(l.wg, h2, hp.nFf), up = matvec(l.wu, h2, hp.nFf);
        const act = gate.map((gv, i) => (gv / (1 + Math.exp(-gv))) * up[i]!);
        const down = matvec(l.wd, act, d);
        x = x.map((xv, i) => xv + down[i]!);
      }
      result.push(matvec(out, norm(x, outNorm), hp.nVocab));
    });
    return result;
  }
}
