// npm install hook: use a prebuild or an existing build if it loads, else build with cmake-js, else node-gyp (CPU only).
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const root = new URL('..', import.meta.url).pathname;

function loads() {
  const r = spawnSync(process.execPath, ['-e', `require('node-gyp-build')(${JSON.stringify(root)})`], { cwd: root });
  return r.status === 0;
}

function run(cmd, args) {
  console.error(`qinfer: ${cmd} ${args.join(' ')}`);
  return spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status === 0;
}

const fromSource = process.env.QINFER_BUILD_FROM_SOURCE === '1' || process.env.npm_config_build_from_source === 'true';
if (!fromSource && loads()) process.exit(0);

const cmakeJs = require.resolve('cmake-js/bin/cmake-js');
if (run(process.execPath, [cmakeJs, 'compile'])) process.exit(0);
console.error('qinfer: cmake-js build failed; falling back to node-gyp (CPU backend only, no GPU modules)');
// npm tells install scripts where its bundled node-gyp lives.
const gyp = process.env.npm_config_node_gyp;
if (gyp && run(process.execPath, [gyp, 'rebuild'])) process.exit(0);
console.error('qinfer: no build succeeded; install cmake and a C++17 compiler, then run `npm rebuild qinfer`');
process.exit(1);
