// Lists native sources for binding.gyp (gyp cannot glob): `generic`, `avx2`, `avx512`, `avx512vnni`, `avx512bf16`, `amx` or `napi`.
import { readdirSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));

const kind = process.argv[2];
const dirs = kind === 'napi' ? ['native/napi'] : ['native/core', 'native/quant', 'native/backends/cpu'];
const files = dirs
  .flatMap((d) => walk(join(root, d)))
  .filter((f) => f.endsWith('.cc'))
  .filter((f) => {
    const isa = /-(avx2|avx512|avx512vnni|avx512bf16|amx)\.cc$/.exec(f)?.[1];
    return kind === 'generic' || kind === 'napi' ? !isa : isa === kind;
  });
console.log(files.map((f) => relative(root, f)).join(' '));
