import type { BackendPreference } from '@bmp/backends';
import { destroyCharts, renderChart, viewerHook } from '../chart';
import { el, fmt } from '../dom';
import { chooseBackend } from '../lab/backend';
import { computeLab, type LabSettings, settingsProblem } from '../lab/compute';
import { spectrumChartSpec, spectrumPlot } from '../spectrum-density';

const settings: LabSettings & { backend: BackendPreference } = {
  nIn: 64,
  nOut: 128,
  batch: 256,
  init: 'gaussian',
  scale: 1,
  batchNorm: false,
  skip: 'none',
  seed: 1,
  backend: 'auto',
};

/** The state the end-to-end tests read. */
export interface LabHook {
  status: 'idle' | 'running' | 'done' | 'error';
  backend?: string;
  backendReason?: string;
  tried?: { name: string; error?: string }[];
  dim?: number;
  eigenvalueCount?: number;
  condition?: number;
  error?: string;
  runs: number;
}

function numberInput(key: 'nIn' | 'nOut' | 'batch' | 'scale' | 'seed', step = '1'): HTMLInputElement {
  const i = el('input', {
    type: 'number',
    step,
    min: key === 'scale' ? '0.01' : '1',
    value: String(settings[key]),
    name: key,
  });
  i.addEventListener('change', () => {
    settings[key] = Number(i.value);
  });
  return i;
}

function selectInput<K extends 'init' | 'skip' | 'backend'>(
  key: K,
  options: [LabSettings[K & keyof LabSettings] | string, string][],
) {
  const s = el('select', { name: key });
  for (const [v, label] of options) {
    const o = el('option', { value: String(v) }, label);
    o.selected = settings[key] === v;
    s.append(o);
  }
  s.addEventListener('change', () => {
    (settings as unknown as Record<string, unknown>)[key] = s.value;
  });
  return s;
}

/** Hessian lab: one block's local Hessian H_z computed in the browser with tfjs, its spectrum against the MP law. */
export function labPage(root: HTMLElement): void {
  const hook: LabHook = { status: 'idle', runs: 0 };
  viewerHook().lab = hook;
  const bn = el('input', { type: 'checkbox', name: 'batchNorm' });
  bn.checked = settings.batchNorm;
  bn.addEventListener('change', () => {
    settings.batchNorm = bn.checked;
  });
  const form = el(
    'form',
    { class: 'lab-form', 'data-testid': 'lab-form' },
    el('label', {}, 'n_{b-1} (inputs) ', numberInput('nIn')),
    el('label', {}, 'n_b (outputs) ', numberInput('nOut')),
    el(
      'label',
      {},
      'initialisation ',
      selectInput('init', [
        ['gaussian', 'Gaussian'],
        ['orthogonal', 'orthogonal'],
      ]),
    ),
    el('label', {}, 'weight scale ', numberInput('scale', '0.05')),
    el('label', {}, bn, ' batch normalisation'),
    el('label', {}, 'BN batch size ', numberInput('batch')),
    el(
      'label',
      {},
      'skip connection ',
      selectInput('skip', [
        ['none', 'none'],
        ['identity', 'identity'],
        ['orthogonal', 'orthogonal'],
        ['non-orthogonal', 'non-orthogonal'],
      ]),
    ),
    el('label', {}, 'seed ', numberInput('seed')),
    el(
      'label',
      {},
      'tfjs backend ',
      selectInput('backend', [
        ['auto', 'auto (webgpu > webgl > wasm > cpu)'],
        ['webgpu', 'webgpu'],
        ['webgl', 'webgl'],
        ['wasm', 'wasm'],
        ['cpu', 'cpu'],
      ]),
    ),
    el('button', { type: 'submit', 'data-testid': 'lab-run' }, 'compute'),
  );
  const backendLine = el('p', { 'data-testid': 'lab-backend' }, 'backend: not chosen yet');
  const out = el('div', { 'data-testid': 'lab-result' });
  root.append(
    el('h2', {}, 'Hessian lab'),
    el(
      'p',
      { class: 'note' },
      'One block z_b = W z_{b-1} (optionally followed by BN without affine parameters, optionally with a skip ' +
        'connection z_b = S z_{b-1} + phi(z_{b-1})). The local Hessian with respect to z_{b-1} (eq. 8; eq. 17 with BN; ' +
        'the Gauss-Newton part of eq. 13 with a skip) is built with TensorFlow.js on the backend shown, its ' +
        'eigenvalues computed in float64, and compared with the Marchenko-Pastur law (eq. 10-11, eq. 19). Section 3 in ' +
        'numbers: orthogonal W gives eigenvalues scale^2 and 0; BN makes the spectrum independent of the weight scale; ' +
        'with a small residual branch (weight scale 0.1, the assumption of section 3.2) an identity or orthogonal skip ' +
        'gives a condition number near 1, a non-orthogonal one a much larger one.',
    ),
    form,
    backendLine,
    out,
  );
  const run = async () => {
    const problem = settingsProblem(settings);
    if (problem) {
      out.replaceChildren(el('p', { class: 'error' }, problem));
      hook.status = 'error';
      hook.error = problem;
      return;
    }
    hook.status = 'running';
    out.replaceChildren(el('p', {}, 'computing...'));
    try {
      const chosen = await chooseBackend(settings.backend);
      hook.backend = chosen.tfjsBackend;
      hook.backendReason = chosen.reason;
      hook.tried = chosen.tried;
      backendLine.replaceChildren(
        'backend: ',
        el('strong', { 'data-testid': 'backend-name' }, chosen.tfjsBackend),
        ` (${chosen.reason})`,
        ...chosen.tried
          .filter((t) => t.error)
          .map((t) => el('div', { class: 'note' }, `${t.name}: ${t.error}`)),
      );
      const r = await computeLab(settings);
      destroyCharts();
      const charts = el('div', { class: 'charts' });
      const law = r.law ? { c: r.law.c, sigma2: r.law.sigma2 } : null;
      out.replaceChildren(
        el(
          'table',
          { 'data-testid': 'lab-numbers' },
          el(
            'tbody',
            {},
            el('tr', {}, el('th', {}, 'matrix'), el('td', {}, `${r.matrix}, ${r.dim} x ${r.dim}`)),
            el('tr', {}, el('th', {}, 'computed on'), el('td', {}, r.backend)),
            el(
              'tr',
              {},
              el('th', {}, 'condition number C'),
              el('td', { 'data-testid': 'lab-condition' }, fmt(r.condition)),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'rank (non-zero singular values)'),
              el('td', {}, `${r.rank} (tolerance ${fmt(r.rankTolerance)})`),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'eigenvalues'),
              el('td', {}, `[${fmt(r.eigenvalues[0])}, ${fmt(r.eigenvalues[r.dim - 1])}]`),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'Marchenko-Pastur'),
              el(
                'td',
                {},
                r.law
                  ? `c = ${fmt(r.law.c)}, sigma2 = ${fmt(r.law.sigma2)}, support [${fmt(r.law.lower)}, ${fmt(r.law.upper)}], atom at 0: ${fmt(r.law.atomAtZero)}; ${r.lawNote}`
                  : r.lawNote,
              ),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'KS distance to the law'),
              el('td', {}, r.ksDistance === null ? '-' : fmt(r.ksDistance)),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'time'),
              el('td', {}, `${fmt(r.tensorMs)} ms on ${r.backend}, ${fmt(r.eigenMs)} ms eigensolver`),
            ),
            el(
              'tr',
              {},
              el('th', {}, 'tfjs tensors before / after'),
              el('td', {}, `${r.tensorsBefore} / ${r.tensorsAfter}`),
            ),
          ),
        ),
        charts,
      );
      // The same density curve as the spectra page (every eigenvalue, log axis past two decades).
      const plot = spectrumPlot({ exact: r.eigenvalues, zeroTolerance: r.rankTolerance, law })!;
      renderChart(charts, spectrumChartSpec('lab-spectrum', `spectrum of ${r.matrix}`, plot));
      charts.append(el('p', { class: 'note', 'data-testid': 'lab-spectrum-note' }, plot.note));
      hook.status = 'done';
      hook.dim = r.dim;
      hook.eigenvalueCount = r.eigenvalues.length;
      hook.condition = r.condition;
      hook.error = undefined;
      hook.runs++;
    } catch (e) {
      hook.status = 'error';
      hook.error = (e as Error).message;
      out.replaceChildren(el('p', { class: 'error' }, (e as Error).message));
    }
  };
  // One computation at a time; changes made meanwhile give one more run with the latest settings.
  let busy = false;
  let again = false;
  const schedule = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    do {
      again = false;
      await run();
    } while (again);
    busy = false;
  };
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    void schedule();
  });
  form.addEventListener('change', () => void schedule());
  void schedule();
}
