import type { AnalysisReport, Spectrum } from '@bmp/runlog';
import { destroyCharts, renderChart } from '../chart';
import { el, fmt, hashQuery } from '../dom';
import { histogramWithLaw } from '../histogram';
import { loadAnalysis } from '../source';
import { spectrumChartSpec, spectrumPlot } from '../spectrum-density';
import { state } from '../state';
import { emptyState } from './common';

type Axis = 'auto' | 'linear' | 'log10';

function spectrumChart(parent: HTMLElement, id: string, title: string, s: Spectrum, axis: Axis): void {
  const ev = s.eigenvalues;
  const exact = ev.eigenvalues && ev.eigenvalues.length === s.dimension ? ev.eigenvalues : undefined;
  const law = s.marchenkoPastur ?? null;
  const plot = spectrumPlot({
    exact,
    slq: ev.density,
    extremes:
      ev.method === 'lanczos' && ev.eigenvalues
        ? { values: ev.eigenvalues, converged: ev.convergedValues as boolean[] | undefined }
        : undefined,
    zeroTolerance: s.condition.rankTolerance,
    law,
    scale: axis,
  });
  if (!plot) {
    // Reports without stored eigenvalues: a histogram of the whole spectrum (count = dimension) only.
    const h = ev.histogram && ev.count === s.dimension ? ev.histogram : null;
    if (!h) {
      parent.append(el('p', { class: 'note' }, `${title}: no density or eigenvalues stored`));
      return;
    }
    renderChart(parent, {
      id,
      title,
      xLabel: 'eigenvalue',
      yLabel: 'density',
      data: histogramWithLaw(h, law).data,
      series: [
        {
          label: `exact, ${ev.count} eigenvalues (histogram)`,
          color: '#1f77b4',
          kind: 'step',
          fill: '#1f77b433',
        },
        ...(law
          ? [
              {
                label: `Marchenko-Pastur c=${fmt(law.c)} sigma2=${fmt(law.sigma2)}`,
                color: '#d62728',
                width: 2,
              },
            ]
          : []),
      ],
    });
    return;
  }
  renderChart(parent, spectrumChartSpec(id, title, plot));
  parent
    .querySelector(`[data-chart="${id}"]`)
    ?.append(el('p', { class: 'note', 'data-testid': 'spectrum-note' }, plot.note));
}

function reportView(report: AnalysisReport, runName: string, axis: Axis): HTMLElement {
  const box = el('div', {});
  const charts = el('div', { class: 'charts' });
  const condRows: HTMLElement[] = [];
  const eqRows: HTMLElement[] = [];
  report.blocks.forEach((b, bi) => {
    for (const [si, s] of b.spectra.entries()) {
      spectrumChart(
        charts,
        `spectrum-${bi}-${si}`,
        `${b.name}: ${s.matrix} (${b.kind}${b.batchNorm ? ' + BN' : ''})`,
        s,
        axis,
      );
      const mp = s.marchenkoPastur;
      condRows.push(
        el(
          'tr',
          {},
          el('td', {}, b.name),
          el('td', {}, s.matrix),
          el('td', {}, s.dimension),
          el('td', {}, fmt(s.eigenvalues.min)),
          el('td', {}, fmt(s.eigenvalues.max)),
          el('td', { 'data-testid': 'condition' }, fmt(s.condition.value)),
          el('td', {}, s.condition.rank),
          el('td', {}, mp ? `[${fmt(mp.lower)}, ${fmt(mp.upper)}]` : '-'),
          el('td', {}, mp?.ksDistance !== undefined ? fmt(mp.ksDistance) : '-'),
        ),
      );
    }
    if (b.eq24) {
      const e = b.eq24;
      eqRows.push(
        el(
          'tr',
          {},
          el('td', {}, b.name),
          el('td', {}, fmt(e.mW)),
          el('td', {}, fmt(e.exactW)),
          el('td', {}, fmt(e.ratioW ?? e.mW / e.exactW)),
          el('td', {}, fmt(e.mZ)),
          el('td', {}, fmt(e.exactZ)),
          el('td', {}, fmt(e.ratioZ ?? e.mZ / e.exactZ)),
          el('td', {}, e.traceMethod ?? '-'),
        ),
      );
    }
  });
  const table = (head: string[], rows: HTMLElement[], testid: string) =>
    el(
      'table',
      { 'data-testid': testid },
      el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))),
      el('tbody', {}, ...rows),
    );
  box.append(
    el(
      'p',
      { class: 'note' },
      `analysis.json of ${runName}, created ${report.createdAt}${report.backend ? ` on ${report.backend}` : ''}. ` +
        'Curves are spectral densities smoothed with a Gaussian kernel (width under each chart): "exact" from every ' +
        'eigenvalue, "SLQ" estimated by stochastic Lanczos quadrature (band: mean +- 2 standard errors across ' +
        'probes); dots at the bottom are Lanczos extreme Ritz values. Spectra spanning more than two decades use a ' +
        'log axis (density per decade) with the mass at 0 stated apart. The red curve is the Marchenko-Pastur ' +
        'density of eq. 11 (continuous part; its atom of mass 1 - c at 0 is in the note).',
    ),
    charts,
    el('h3', {}, 'Condition numbers C = sigma_max / sigma_min (non-zero singular values)'),
    table(
      ['block', 'matrix', 'dim', 'lambda min', 'lambda max', 'C', 'rank', 'MP support', 'KS distance'],
      condRows,
      'conditions',
    ),
  );
  if (eqRows.length > 0) {
    box.append(
      el('h3', {}, 'Eq. 24 scalars against trace / dimension of the exact local Hessians'),
      table(['block', 'm_W', 'exact W', 'ratio W', 'm_z', 'exact z', 'ratio z', 'trace'], eqRows, 'eq24'),
    );
  }
  box.append(
    el('h3', {}, "The paper's claims, as checked"),
    report.claims.length === 0
      ? el('p', {}, 'no claims checked in this report')
      : table(
          ['claim', 'measured', 'relation', 'bound', 'result', 'reference'],
          report.claims.map((c) =>
            el(
              'tr',
              {},
              el('td', { title: c.description ?? '' }, c.name),
              el('td', {}, fmt(c.measured)),
              el('td', {}, c.relation ?? ''),
              el('td', {}, fmt(c.bound)),
              el('td', { class: c.passed ? 'pass' : 'fail' }, c.passed ? 'holds' : 'fails'),
              el('td', {}, c.reference ?? ''),
            ),
          ),
          'claims',
        ),
  );
  return box;
}

/** Local-Hessian spectra of a run's analysis.json (written by bmp-train analyze). */
export function spectraPage(root: HTMLElement): void {
  root.append(el('h2', {}, 'Local-Hessian spectra'));
  const empty = emptyState();
  if (empty) {
    root.append(empty);
    return;
  }
  const candidates = state.runs.filter((r) => r.files.includes('analysis.json'));
  if (candidates.length === 0) {
    root.append(
      el(
        'div',
        { class: 'empty', 'data-testid': 'empty-state' },
        'No run has an analysis.json. Write one with bmp-train analyze <run-dir>, or try the Hessian lab.',
      ),
    );
    return;
  }
  const wanted = hashQuery().get('run');
  const run = candidates.find((r) => r.name === wanted) ?? candidates[0];
  const pick = el('select', {});
  for (const r of candidates) {
    const o = el('option', { value: r.name }, r.name);
    o.selected = r === run;
    pick.append(o);
  }
  const wantedAxis = hashQuery().get('axis');
  const axis: Axis = wantedAxis === 'linear' || wantedAxis === 'log10' ? wantedAxis : 'auto';
  const axisPick = el('select', { 'data-testid': 'axis' });
  for (const [value, label] of [
    ['auto', 'auto (log past two decades)'],
    ['linear', 'linear'],
    ['log10', 'log'],
  ] as const) {
    const o = el('option', { value }, label);
    o.selected = value === axis;
    axisPick.append(o);
  }
  const go = () => {
    location.hash = `#/spectra?run=${encodeURIComponent(pick.value)}${axisPick.value === 'auto' ? '' : `&axis=${axisPick.value}`}`;
  };
  pick.addEventListener('change', go);
  axisPick.addEventListener('change', go);
  const body = el('div', {}, 'loading analysis.json...');
  root.append(
    el(
      'div',
      { class: 'controls' },
      el('label', {}, 'run ', pick),
      el('label', {}, ' eigenvalue axis ', axisPick),
    ),
    body,
  );
  void loadAnalysis(state.source, run.name).then((r) => {
    destroyCharts();
    body.replaceChildren(
      r.ok
        ? reportView(r.report, run.name, axis)
        : el('p', { class: 'error', 'data-testid': 'analysis-error' }, r.error),
    );
  });
}
