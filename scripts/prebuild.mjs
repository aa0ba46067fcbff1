// Makes prebuilds/<platform>-<arch>/ with prebuildify (cmake-js backend), then copies the GPU modules beside the addon.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const r = spawnSync('npx', ['prebuildify', '--napi', '--strip', '--backend', 'cmake-js'], { cwd: root, stdio: 'inherit' });
if (r.status !== 0) process.exit(r.status ?? 1);
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const built = join(root, 'build', 'Release');
for (const f of readdirSync(built)) {
  if (/^qinfer-(cuda|vulkan)\.so$/.test(f) || f === 'qinfer-modules.json') copyFileSync(join(built, f), join(out, f));
}
if (!existsSync(join(out, 'qinfer-modules.json'))) console.error('prebuild: no qinfer-modules.json; GPU modules are not shipped');
