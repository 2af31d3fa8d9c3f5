/** How many runs `compare` trains at once when --jobs is not given. */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { BackendChoice } from '../config';
import { setupBackend } from '../environment';
import { readComparePlan } from '../runlog';

/**
 * Two processes on 2+ cores for CPU backends (each with half the cores for the native kernels); one job
 * per GPU, since two trainings on one GPU only compete for it (and for its memory). 'auto' is resolved
 * here to tell which it will be.
 */
export async function defaultJobs(backend: BackendChoice, runs: number): Promise<number> {
  const cpuJobs = Math.min(2, availableParallelism(), runs);
  if (cpuJobs <= 1 || backend === 'webgpu' || backend === 'node-gpu') return 1;
  if (backend !== 'auto') return cpuJobs;
  const { device } = await setupBackend('auto');
  return device.kind === 'cpu' ? cpuJobs : 1;
}

/** The backend a resumed comparison will use: the one asked for now, else the one it was planned with. */
export async function resumedBackend(dir: string, asked: BackendChoice | undefined): Promise<BackendChoice> {
  if (asked != null) return asked;
  try {
    const plan = await readComparePlan(join(dir, 'compare.json'));
    return (plan.runs[0]?.settings.backend as BackendChoice | undefined) ?? 'auto';
  } catch {
    return 'auto'; // resumeCompare reports a missing or broken compare.json itself
  }
}
