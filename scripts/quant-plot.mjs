#!/usr/bin/env node
// Draws mean KL divergence against bits per weight (log KL axis) from scripts/quant-eval.mjs results as an SVG,
// one colour per method, optional extra points (e.g. llama.cpp's) from a second results file.
// Usage: node scripts/quant-plot.mjs <results.json> [more.json ...] -o <plot.svg>
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { output: { type: 'string', short: 'o', default: 'quant-kl.svg' } } });
const points = positionals.flatMap((f) => JSON.parse(readFileSync(f, 'utf8')).results);
const W = 720;
const H = 440;
const M = { l: 70, r: 170, t: 30, b: 50 };
const xs = points.map((p) => p.bitsPerWeight);
const ys = points.map((p) => Math.log10(Math.max(p.kld, 1e-6)));
const [x0, x1] = [Math.floor(Math.min(...xs)), Math.ceil(Math.max(...xs))];
const [y0, y1] = [Math.floor(Math.min(...ys)), Math.ceil(Math.max(...ys))];
const px = (x) => M.l + ((x - x0) / (x1 - x0 || 1)) * (W - M.l - M.r);
const py = (y) => H - M.b - ((y - y0) / (y1 - y0 || 1)) * (H - M.t - M.b);
const colours = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f'];
const methods = [...new Set(points.map((p) => p.method))];
const out = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
out.push(`<rect width="${W}" height="${H}" fill="white"/>`);
for (let x = x0; x <= x1; x++) {
  out.push(`<line x1="${px(x)}" y1="${M.t}" x2="${px(x)}" y2="${H - M.b}" stroke="#eee"/><text x="${px(x)}" y="${H - M.b + 18}" text-anchor="middle">${x}</text>`);
}
for (let y = y0; y <= y1; y++) {
  out.push(`<line x1="${M.l}" y1="${py(y)}" x2="${W - M.r}" y2="${py(y)}" stroke="#eee"/><text x="${M.l - 8}" y="${py(y) + 4}" text-anchor="end">1e${y}</text>`);
}
out.push(`<text x="${(M.l + W - M.r) / 2}" y="${H - 12}" text-anchor="middle">bits per weight (all tensors)</text>`);
out.push(`<text transform="translate(18 ${(M.t + H - M.b) / 2}) rotate(-90)" text-anchor="middle">mean KL divergence vs the unquantized model</text>`);
methods.forEach((m, i) => {
  const c = colours[i % colours.length];
  for (const p of points.filter((q) => q.method === m)) {
    const cx = px(p.bitsPerWeight);
    const cy = py(Math.log10(Math.max(p.kld, 1e-6)));
    out.push(`<circle cx="${cx.toFixed(1)}" cy="${cy.toFixed(1)}" r="4.5" fill="${c}"><title>${m} ${p.format}: ${p.bitsPerWeight.toFixed(2)} bpw, KL ${p.kld.toFixed(4)}</title></circle>`);
  }
  out.push(`<circle cx="${W - M.r + 20}" cy="${M.t + 10 + 20 * i}" r="4.5" fill="${c}"/><text x="${W - M.r + 30}" y="${M.t + 14 + 20 * i}">${m}</text>`);
});
out.push('</svg>');
writeFileSync(values.output, out.join('\n'));
console.log(`${values.output}: ${points.length} points, ${methods.length} methods`);
