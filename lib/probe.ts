// probe(): the CPU from cpuid in-process; each GPU module opened in a child process, so a crashing driver cannot take the caller down.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';

import { AUTO_ORDER, type BackendName, buildReason, modulePath } from './backend.js';
import { addonPath, type NativeBackendProbe, native } from './binding.js';

export interface CpuProbe {
  vendor: string;
  model: string;
  /** Logical cores (hardware threads). */
  cores: number;
  physicalCores: number;
  cacheBytes: { l1d: number; l2: number; l3: number };
  memoryBytes: number;
  /** The best kernel level this CPU supports. */
  isa: 'generic' | 'avx2' | 'avx512' | 'avx512vnni';
  features: Record<string, boolean>;
}

export interface DeviceProbe {
  index: number;
  name: string;
  memoryBytes: number;
  freeMemoryBytes: number;
  [detail: string]: unknown;
}

export interface BackendProbe {
  name: BackendName;
  available: boolean;
  reason?: string;
  devices: DeviceProbe[];
  [detail: string]: unknown;
}

export interface ProbeResult {
  cpu: CpuProbe;
  backends: BackendProbe[];
  selected: BackendName;
}

const CHILD_TIMEOUT_MS = 30_000;
const PROBE_MARKER = '\n@@qinfer-probe@@';

function parseObject(json: string | undefined): Record<string, unknown> {
  if (!json) return {};
  try {
    const v: unknown = JSON.parse(json);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function toBackendProbe(raw: NativeBackendProbe): BackendProbe {
  const out: BackendProbe = { name: raw.name as BackendName, available: raw.available, ...parseObject(raw.infoJson), devices: [] };
  if (raw.reason !== undefined) out.reason = raw.reason;
  out.devices = raw.devices.map((d) => ({
    index: d.index,
    name: d.name,
    memoryBytes: d.memoryBytes,
    freeMemoryBytes: d.freeMemoryBytes,
    ...parseObject(d.detailsJson),
  }));
  return out;
}

function unavailable(name: BackendName, reason: string): BackendProbe {
  return { name, available: false, reason, devices: [] };
}

function probeModuleInChild(name: Exclude<BackendName, 'cpu'>): Promise<BackendProbe> {
  const path = modulePath(name);
  if (!existsSync(path)) return Promise.resolve(unavailable(name, buildReason(name) ?? `qinfer-${name} module not found at ${path}`));
  // Drivers and layers sometimes print to stdout: the answer follows the last marker.
  const script =
    'const b = require(process.argv[1]);' +
    `process.stdout.write(${JSON.stringify(PROBE_MARKER)} + JSON.stringify(b.probeBackend(process.argv[2], process.argv[3])));`;
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['-e', script, addonPath(), name, path],
      { timeout: CHILD_TIMEOUT_MS, maxBuffer: 16 << 20 },
      (err, stdout, stderr) => {
        if (err) {
          const e = err as NodeJS.ErrnoException & { signal?: string; killed?: boolean };
          const how = e.killed ? `did not answer within ${CHILD_TIMEOUT_MS / 1000} s` : e.signal ? `crashed (${e.signal})` : `failed (${stderr.trim().split('\n').pop() ?? e.message})`;
          resolve(unavailable(name, `the ${name} driver ${how} while qinfer probed it`));
          return;
        }
        try {
          const at = stdout.lastIndexOf(PROBE_MARKER);
          if (at < 0) throw new Error('no probe answer');
          resolve(toBackendProbe(JSON.parse(stdout.slice(at + PROBE_MARKER.length)) as NativeBackendProbe));
        } catch {
          resolve(unavailable(name, `the ${name} probe printed unreadable output`));
        }
      },
    );
  });
}

function probeCpu(): CpuProbe {
  const c = native().cpuInfo();
  return {
    vendor: c.vendor,
    model: c.model,
    cores: c.logicalCores,
    physicalCores: c.physicalCores,
    cacheBytes: { l1d: c.l1dBytes, l2: c.l2Bytes, l3: c.l3Bytes },
    memoryBytes: c.memoryBytes,
    isa: c.isaSupported,
    features: c.features,
  };
}

/**
 * auto skips a Vulkan backend whose devices are all CPUs (lavapipe, SwiftShader): the CPU backend
 * runs the same work faster. Asking for `vulkan` by name still uses them.
 */
function autoSelectable(b: BackendProbe | undefined): boolean {
  if (!b?.available) return false;
  return b.name !== 'vulkan' || b.devices.some((d) => d.deviceType !== 'cpu');
}

let cachedProbe: Promise<ProbeResult> | undefined;

/**
 * Describes this machine and every backend; cached for the process unless `refresh` is set.
 * Never throws for a missing or broken driver: those become `available: false` with a reason.
 */
export function probe(options: { refresh?: boolean } = {}): Promise<ProbeResult> {
  if (!cachedProbe || options.refresh) cachedProbe = runProbe();
  return cachedProbe;
}

async function runProbe(): Promise<ProbeResult> {
  const cpu = probeCpu();
  const [cuda, vulkan] = await Promise.all([probeModuleInChild('cuda'), probeModuleInChild('vulkan')]);
  const cpuBackend = toBackendProbe(native().probeBackend('cpu'));
  const backends = [cpuBackend, cuda, vulkan];
  const selected = AUTO_ORDER.find((n) => autoSelectable(backends.find((b) => b.name === n))) ?? 'cpu';
  return { cpu, backends, selected };
}
