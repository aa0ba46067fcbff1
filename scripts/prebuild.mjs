// Makes prebuilds/<platform>-<arch>/: the addon with prebuildify (node-gyp), then the GPU modules
// built by cmake-js copied beside it with the manifest that explains any module it could not build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run('npx', ['prebuildify', '--napi', '--strip']);
run('npx', ['cmake-js', 'compile']);
const out = join(root, 'prebuilds', `${process.platform}-${process.arch}`);
const built = join(root, 'build', 'Release');
for (const f of readdirSync(built)) {
  if (/^qinfer-(cuda|vulkan)\.so$/.test(f) || f === 'qinfer-modules.json') copyFileSync(join(built, f), join(out, f));
}
if (!existsSync(join(out, 'qinfer-modules.json'))) console.error('prebuild: no qinfer-modules.json; GPU modules are not shipped');
