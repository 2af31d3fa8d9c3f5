import * as tf from '@tensorflow/tfjs-core';
import {
  BACKEND_PACKAGES,
  type BackendLoader,
  type BackendName,
  installHint,
  TFJS_BACKEND_NAMES,
} from './backend-names';

export interface BackendAttempt {
  name: BackendName;
  /** Why it was not chosen (absent for the chosen one). */
  error?: string;
}

export function isModuleNotFound(error: unknown, pkg: string): boolean {
  const e = error as { code?: string; message?: string } | null;
  const message = String(e?.message ?? error);
  const notFound =
    e?.code === 'ERR_MODULE_NOT_FOUND' ||
    e?.code === 'MODULE_NOT_FOUND' ||
    /Cannot find (module|package)|Failed to resolve module|Failed to fetch dynamically imported module|Could not resolve/i.test(
      message,
    );
  return notFound && message.includes(pkg);
}

export function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An `Error` with the attempts recorded, thrown when no backend could be used. */
export class BackendUnavailableError extends Error {
  constructor(
    message: string,
    readonly tried: BackendAttempt[],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'BackendUnavailableError';
  }
}

/** Runs between loading a backend's package and initialising it; returns a clean-up, run afterwards. */
export type BeforeInit = (module: unknown) => Promise<(() => void) | undefined>;

export async function tryBackend(
  name: BackendName,
  loader: BackendLoader,
  beforeInit?: BeforeInit,
): Promise<string | null> {
  const pkg = BACKEND_PACKAGES[name];
  const tfjsName = TFJS_BACKEND_NAMES[name];
  let module: unknown;
  try {
    module = await loader(name);
  } catch (error) {
    if (isModuleNotFound(error, pkg)) return `${pkg} is not installed: ${installHint(name)}`;
    return `${pkg} is installed but failed to load (${describe(error)}); ${installHint(name)}`;
  }
  let ok: boolean;
  let cleanUp: (() => void) | undefined;
  try {
    // Before the registration check: webgpu in Node registers its backend here (on Dawn's adapter).
    cleanUp = await beforeInit?.(module);
    if (tf.findBackendFactory(tfjsName) == null) {
      return `${pkg} loaded but registered no '${tfjsName}' backend with this copy of @tensorflow/tfjs-core (two copies of tfjs-core installed?)`;
    }
    ok = await tf.setBackend(tfjsName);
    await tf.ready();
  } catch (error) {
    return `${pkg} loaded but the '${tfjsName}' backend failed to initialise (${describe(error)})`;
  } finally {
    cleanUp?.();
  }
  if (!ok || tf.getBackend() !== tfjsName) {
    return `${pkg} loaded but the '${tfjsName}' backend failed to initialise (see the warning tfjs printed)`;
  }
  return null;
}
