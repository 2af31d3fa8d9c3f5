import type { SeriesAxis, SeriesPoint } from '@bmp/runlog';
import { type ChartSeries, type ChartSpec, destroyCharts, renderChart, updateChartInPlace } from '../chart';
import { colorAt, withAlpha } from '../colors';
import { el } from '../dom';
import {
  AXIS_LABELS,
  alignSeries,
  CURVE_METRICS,
  positiveOnly,
  runCurve,
  seedBands,
  smoothPoints,
} from '../series';
import { state } from '../state';
import { emptyState, problemsPanel } from './common';

/** Settings of the curves page; kept across page changes. */
export const curveSettings = { axis: 'epoch' as SeriesAxis, smoothing: 0, logY: false, seeds: false };

/** One chart's spec from the settings (exported for tests of what is drawn). */
export function curveChartSpec(metric: (typeof CURVE_METRICS)[number]): ChartSpec {
  const s = curveSettings;
  const runs = state.runs.filter((r) => state.selected.has(r.name));
  const prep = (pts: SeriesPoint[]) => {
    const sm = smoothPoints(pts, s.smoothing);
    return s.logY ? positiveOnly(sm) : sm;
  };
  if (s.seeds) {
    const bands = seedBands(runs, metric.id);
    const series: ChartSeries[] = [];
    const pts: SeriesPoint[][] = [];
    const specBands: NonNullable<ChartSpec['bands']> = [];
    bands.forEach((b, i) => {
      const color = colorAt(i);
      const base = series.length;
      series.push({ label: `${b.name} mean (${b.runs.length} seeds)`, color, width: 2 });
      series.push({ label: `${b.name} mean - std`, color: withAlpha(color, 0.4), width: 1, dash: [4, 4] });
      series.push({ label: `${b.name} mean + std`, color: withAlpha(color, 0.4), width: 1, dash: [4, 4] });
      pts.push(prep(b.mean), prep(b.lower), prep(b.upper));
      specBands.push({ upper: base + 2, lower: base + 1, fill: withAlpha(color, 0.15) });
    });
    return {
      id: `curve-${metric.id}`,
      title: `${metric.title} (mean ± std across seeds)`,
      xLabel: AXIS_LABELS.epoch,
      yLabel: metric.title,
      logY: s.logY,
      data: alignSeries(pts),
      series,
      bands: specBands,
    };
  }
  const series: ChartSeries[] = runs.map((r) => ({ label: r.name, color: state.colors.get(r.name) }));
  return {
    id: `curve-${metric.id}`,
    title: metric.title,
    xLabel: AXIS_LABELS[s.axis],
    yLabel: metric.title,
    logY: s.logY,
    data: alignSeries(runs.map((r) => prep(runCurve(r, metric.id, s.axis)))),
    series,
  };
}

/** The parts of the shown curves page a live update rewrites (null when it is not shown). */
let mounted: { note: HTMLElement; problems: HTMLElement } | null = null;

const shownNote = () =>
  `${state.selected.size} run(s) shown (tick runs on the runs page). Smoothing: TensorBoard's debiased exponential moving average. ` +
  'Log scale leaves out values <= 0. Hover a chart for the values; drag to zoom, double-click to reset.';

/**
 * A live update of the shown curves page without redrawing it: each chart gets its new data in place
 * (zoom, hidden series, the controls and their focus stay). False when that is not possible (another
 * page, runs added to or removed from the charts): then the page is drawn anew.
 */
export function updateCurvesInPlace(): boolean {
  if (!mounted?.note.isConnected) return false;
  const specs = CURVE_METRICS.map((m) => curveChartSpec(m));
  // A chart that cannot be updated (its series changed) has the whole page drawn anew.
  if (!specs.every((spec) => updateChartInPlace(spec))) return false;
  mounted.note.textContent = shownNote();
  const problems = problemsPanel(state.selected);
  mounted.problems.replaceChildren(...(problems ? [problems] : []));
  return true;
}

export function curvesPage(root: HTMLElement): void {
  mounted = null;
  root.append(el('h2', {}, 'Curves'));
  const empty = emptyState();
  if (empty) {
    root.append(empty);
    return;
  }
  const s = curveSettings;
  const axis = el('select', { 'data-testid': 'axis' });
  for (const a of ['epoch', 'step', 'relativeTime'] as SeriesAxis[]) {
    const o = el('option', { value: a }, AXIS_LABELS[a]);
    o.selected = s.axis === a;
    axis.append(o);
  }
  const slider = el('input', {
    type: 'range',
    min: '0',
    max: '0.99',
    step: '0.01',
    value: String(s.smoothing),
    'data-testid': 'smoothing',
  });
  const sliderValue = el('span', {}, s.smoothing.toFixed(2));
  const log = el('input', { type: 'checkbox', 'data-testid': 'log-scale' });
  log.checked = s.logY;
  const seeds = el('input', { type: 'checkbox', 'data-testid': 'seed-mean' });
  seeds.checked = s.seeds;
  const charts = el('div', { class: 'charts' });
  const note = el('p', { class: 'note' }, shownNote());
  const draw = () => {
    // The page's uPlot instances are replaced: destroy the old ones first.
    destroyCharts();
    charts.replaceChildren();
    for (const m of CURVE_METRICS) renderChart(charts, curveChartSpec(m));
  };
  axis.addEventListener('change', () => {
    s.axis = axis.value as SeriesAxis;
    draw();
  });
  slider.addEventListener('input', () => {
    s.smoothing = Number(slider.value);
    sliderValue.textContent = s.smoothing.toFixed(2);
    draw();
  });
  log.addEventListener('change', () => {
    s.logY = log.checked;
    draw();
  });
  seeds.addEventListener('change', () => {
    s.seeds = seeds.checked;
    axis.disabled = s.seeds;
    draw();
  });
  axis.disabled = s.seeds;
  root.append(
    el(
      'div',
      { class: 'controls' },
      el('label', {}, 'x axis ', axis),
      el('label', {}, 'smoothing ', slider, ' ', sliderValue),
      el('label', {}, log, ' log scale'),
      el('label', {}, seeds, ' mean and spread across seeds (per comparison and optimizer; x = epoch)'),
    ),
    note,
    charts,
  );
  const problems = problemsPanel(state.selected);
  const problemsBox = el('div', {}, problems);
  root.append(problemsBox);
  mounted = { note, problems: problemsBox };
  draw();
}
