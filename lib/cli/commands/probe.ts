// qinfer probe [--json]: the hardware and backends, as a table or one JSON object.
import { parseArgs } from 'node:util';

import { type BackendProbe, type DeviceProbe, type ProbeResult, probe } from '../../probe.js';

const GiB = 1024 ** 3;
const gib = (b: number) => `${(b / GiB).toFixed(1)} GiB`;

/** One line of the fields that matter most per backend; --json has them all. */
function deviceDetails(backend: string, d: DeviceProbe): string {
  const free = d.freeMemoryBytes !== d.memoryBytes ? `${gib(d.freeMemoryBytes)} free` : '';
  if (backend === 'cuda') {
    return [free, `compute ${String(d.computeCapability)}`, `${String(d.multiprocessors)} SMs`, `PCI ${String(d.pciBusId)}`]
      .filter(Boolean)
      .join(', ');
  }
  if (backend === 'vulkan') {
    const features = ['float16', 'int8Arithmetic', 'storage8bit', 'storage16bit', 'integerDotProduct', 'cooperativeMatrix'].filter((f) => d[f] === true);
    return [free, String(d.deviceType), `subgroup ${String(d.subgroupSize)}`, `driver ${String(d.driverInfo || d.driverVersion)}`, features.join(' ')]
      .filter(Boolean)
      .join(', ');
  }
  return '';
}

function backendVersion(b: BackendProbe): string {
  if (b.name === 'cuda') return `driver CUDA ${String(b.driverVersion)}, runtime ${String(b.runtimeVersion)}, built for ${String(b.architectures)}`;
  if (b.name === 'vulkan') return `loader ${String(b.loaderVersion)}${b.validation === true ? ', validation layer on' : ''}`;
  return '';
}

export function formatProbe(p: ProbeResult): string {
  const lines: string[] = [];
  const c = p.cpu;
  const flags = Object.entries(c.features)
    .filter(([, on]) => on)
    .map(([f]) => f);
  lines.push(`CPU      ${c.model || c.vendor}`);
  lines.push(`         ${c.cores} logical / ${c.physicalCores} physical cores, ${gib(c.memoryBytes)} RAM, kernels: ${c.isa}`);
  lines.push(`         caches L1d ${c.cacheBytes.l1d >> 10} KiB, L2 ${c.cacheBytes.l2 >> 10} KiB, L3 ${c.cacheBytes.l3 >> 20} MiB`);
  lines.push(`         flags ${flags.join(' ') || '(none)'}`);
  lines.push('');
  lines.push('Backend  Available  Device / reason');
  for (const b of p.backends) {
    const mark = b.name === p.selected ? '*' : ' ';
    if (!b.available) {
      lines.push(`${(b.name + mark).padEnd(9)}no         ${b.reason ?? ''}`);
      continue;
    }
    const devs = b.devices.length ? b.devices : [{ name: '(no device)', memoryBytes: 0, freeMemoryBytes: 0, index: 0 }];
    devs.forEach((d, i) => {
      const head = i === 0 ? `${(b.name + mark).padEnd(9)}yes        ` : ' '.repeat(20);
      lines.push(`${head}${d.index}: ${d.name}, ${gib(d.memoryBytes)}`);
      const details = deviceDetails(b.name, d);
      if (details) lines.push(`${' '.repeat(23)}${details}`);
    });
    const version = backendVersion(b);
    if (version) lines.push(`${' '.repeat(20)}${version}`);
  }
  lines.push('');
  lines.push(`Selected backend (auto): ${p.selected}`);
  return lines.join('\n');
}

export default async function probeCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('qinfer probe [--json]\n\nDescribes the CPU (cpuid), CUDA and Vulkan devices, and which backends can run.');
    return 0;
  }
  const p = await probe();
  console.log(values.json ? JSON.stringify(p, null, 2) : formatProbe(p));
  return 0;
}
