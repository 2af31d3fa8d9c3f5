import { type RunData, type SeriesPoint, scaleBlockNames, scaleSeries, stepRecords } from '@bmp/runlog';
import { destroyCharts, renderChart } from '../chart';
import { colorAt } from '../colors';
import { el, hashQuery } from '../dom';
import { alignSeries } from '../series';
import { state } from '../state';
import { emptyState } from './common';

type Field = 'm' | 'mW' | 'mZ';
const FIELDS: { id: Field; title: string }[] = [
  { id: 'm', title: 'm: backward factor on the block output (Algorithm 2)' },
  { id: 'mW', title: 'm_{b,W} (eq. 24)' },
  { id: 'mZ', title: 'm_{b,z} (eq. 24)' },
];

/** One block's scalar from the step records (the epoch records' are in @bmp/runlog's scaleSeries). */
export function scaleStepSeries(run: RunData, block: string, field: Field): SeriesPoint[] {
  const out: SeriesPoint[] = [];
  for (const r of stepRecords(run.records)) {
    const s = r.scales?.find((b) => b.name === block);
    if (s) out.push({ x: r.step, y: s[field] });
  }
  return out;
}

const settings = { axis: 'epoch' as 'epoch' | 'step', logY: true };

/** Per-block m, mW, mZ of a scale-amended run over training. */
export function scalesPage(root: HTMLElement): void {
  root.append(el('h2', {}, 'Backward factors per block'));
  const empty = emptyState();
  if (empty) {
    root.append(empty);
    return;
  }
  const candidates = state.runs.filter((r) => scaleBlockNames(r).length > 0);
  if (candidates.length === 0) {
    root.append(
      el(
        'div',
        { class: 'empty', 'data-testid': 'empty-state' },
        'No run logged block scales (only scale-amended SGD runs do).',
      ),
    );
    return;
  }
  const wanted = hashQuery().get('run');
  const run = candidates.find((r) => r.name === wanted) ?? candidates[0];
  const pick = el('select', { 'data-testid': 'scale-run' });
  for (const r of candidates) {
    const o = el('option', { value: r.name }, r.name);
    o.selected = r === run;
    pick.append(o);
  }
  pick.addEventListener('change', () => {
    location.hash = `#/scales?run=${encodeURIComponent(pick.value)}`;
  });
  const axis = el(
    'select',
    {},
    el('option', { value: 'epoch' }, 'epoch'),
    el('option', { value: 'step' }, 'step'),
  );
  axis.value = settings.axis;
  const log = el('input', { type: 'checkbox' });
  log.checked = settings.logY;
  const charts = el('div', { class: 'charts' });
  const blocks = scaleBlockNames(run);
  const draw = () => {
    destroyCharts();
    charts.replaceChildren();
    for (const f of FIELDS) {
      const pts = blocks.map((b) =>
        settings.axis === 'epoch'
          ? scaleSeries(run, b, f.id, 'epoch').map((p) => ({ x: p.x + 1, y: p.y }))
          : scaleStepSeries(run, b, f.id),
      );
      renderChart(charts, {
        id: `scale-${f.id}`,
        title: f.title,
        xLabel: settings.axis,
        yLabel: f.id,
        logY: settings.logY,
        data: alignSeries(settings.logY ? pts.map((p) => p.filter((q) => q.y > 0)) : pts),
        series: blocks.map((b, i) => ({ label: b, color: colorAt(i) })),
      });
    }
  };
  axis.addEventListener('change', () => {
    settings.axis = axis.value as 'epoch' | 'step';
    draw();
  });
  log.addEventListener('change', () => {
    settings.logY = log.checked;
    draw();
  });
  root.append(
    el(
      'div',
      { class: 'controls' },
      el('label', {}, 'run ', pick),
      el('label', {}, 'x axis ', axis),
      el('label', {}, log, ' log scale'),
    ),
    el(
      'p',
      { class: 'note' },
      'Logged by scale-amended SGD at each step record and epoch: m_{b,W} = n_out / ||W||_F^2, m_{b,z} = n_out / n_in ' +
        '(dense; conv: m_{b,W} = P_out * C_out / ||W||_F^2, m_{b,z} = (C_out * P_out) / (C_in * P_in), P the input and ' +
        'output positions), m the product of the m_{b,z} above the block. One line per block, forward order.',
    ),
    charts,
  );
  draw();
}
