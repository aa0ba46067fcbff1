// Lists native sources for binding.gyp (gyp cannot glob): `generic`, `avx2`, `avx512` or `napi`.
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
    if (kind === 'avx2') return f.endsWith('-avx2.cc');
    if (kind === 'avx512') return f.endsWith('-avx512.cc');
    return !/-avx(2|512)\.cc$/.test(f);
  });
console.log(files.map((f) => relative(root, f)).join(' '));
