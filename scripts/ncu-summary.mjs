#!/usr/bin/env node
// Sums Nsight Compute's per-kernel gpu__time_duration (CSV) by kernel, per decode step (steps = attention launches / layers).
//   node scripts/ncu-summary.mjs ncu.csv [layers=22]
import { readFileSync } from 'node:fs';

const [file, layersArg = '22'] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('"'));
const split = (l) => l.slice(1, -1).split('","');
const header = split(lines[0]);
const col = (name) => header.indexOf(name);
const [kName, kUnit, kValue] = [col('Kernel Name'), col('Metric Unit'), col('Metric Value')];
const scale = { ns: 1e-3, nsecond: 1e-3, us: 1, usecond: 1, ms: 1e3, msecond: 1e3 };
const sums = new Map();
let attention = 0, total = 0;
for (const l of lines.slice(1)) {
  const f = split(l);
  // Kernel names come as `void unnamed>::name<unnamed>::Type, 1>(args)` or with qinfer::cuda:: prefixes.
  const name = f[kName].replace(/qinfer::cuda::|\(anonymous namespace\)::|unnamed>::/g, '').replace(/^void /, '').replace(/\(.*$/, '');
  const us = Number(f[kValue].replace(/,/g, '')) * (scale[f[kUnit]] ?? NaN);
  const e = sums.get(name) ?? { us: 0, n: 0 };
  e.us += us;
  e.n++;
  sums.set(name, e);
  total += us;
  if (name.includes('attention_kernel')) attention++;
}
const steps = attention / Number(layersArg) || 1;
console.log(`ncu: ${lines.length - 1} kernels, ${steps} decode steps, ${(total / steps).toFixed(0)} us of kernel time per step`);
for (const [name, e] of [...sums].sort((a, b) => b[1].us - a[1].us).slice(0, 12)) {
  console.log(`  ${(e.us / steps).toFixed(1).padStart(8)} us/step  ${String(e.n / steps).padStart(4)} launches  ${(e.us / e.n).toFixed(2).padStart(7)} us each  ${name.slice(0, 90)}`);
}
