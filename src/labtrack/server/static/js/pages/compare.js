// Compare runs: config (differences highlighted), summaries (best marked), overlaid charts,
// parallel coordinates of config keys to a metric, and a scatter of a config key vs a metric.
import { api } from '../api.js';
import { append, clear, emptyState, flatten, fmtValue, h } from '../dom.js';
import {
  axis, BASE_LAYOUT, chartControls, chartGrid, colourMap, legend, loadPlotly, plain, PLOT_CONFIG,
} from '../plot.js';

const LOWER_IS_BETTER = /(loss|err|error|mse|mae|rmse|perplexity|ppl|wer|cer|time|duration|latency|regret)/i;

function goalFor(key, runs) {
  for (const run of runs) {
    const defs = run.metric_defs || {};
    const rule = defs[key];
    if (rule && rule.goal) return rule.goal.startsWith('min') ? 'min' : 'max';
  }
  return LOWER_IS_BETTER.test(key) ? 'min' : 'max';
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// a numeric axis range with room for the point labels
function padRange(values) {
  const nums = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
  if (!nums.length) return undefined;
  const lo = Math.min(...nums);
  const hi = Math.max(...nums);
  const pad = hi > lo ? (hi - lo) * 0.15 : Math.abs(lo) * 0.15 || 1;
  return [lo - pad, hi + pad];
}

export async function comparePage(ctx) {
  const ids = (ctx.query.get('runs') || '').split(',').map((s) => s.trim()).filter(Boolean);
  document.title = 'Compare · labtrack';
  ctx.main.dataset.page = 'compare';
  const runs = (await Promise.all(ids.map((id) => api.get(`/runs/${encodeURIComponent(id)}`).catch(() => null)))).filter(Boolean);
  const project = runs[0]?.project;
  ctx.setCrumbs({ label: 'Projects', href: '/' },
    project ? { label: project, href: `/projects/${encodeURIComponent(project)}` } : null,
    { label: 'Compare' });
  const head = h('div', { class: 'page-head' }, h('div', null, h('h1', null, `Compare ${runs.length} runs`),
    ids.length !== runs.length ? h('p', { class: 'muted' }, `${ids.length - runs.length} run(s) were not found.`) : null));
  ctx.main.append(head);
  if (runs.length < 2) {
    ctx.main.append(emptyState('Pick at least two runs',
      'Select runs with the checkboxes in a project\'s runs table, then press Compare.',
      h('a', { class: 'btn', href: project ? `/projects/${encodeURIComponent(project)}` : '/', 'data-nav': true }, 'Back to runs')));
    return;
  }
  head.append(h('a', { class: 'btn', 'data-nav': true, 'data-role': 'report-selected', title: 'Start a report about these runs',
    href: `/projects/${encodeURIComponent(project)}/reports/new?from=compare&runs=${runs.map((r) => encodeURIComponent(r.id)).join(',')}` }, 'Write report'));
  const runIds = runs.map((r) => r.id);
  const colours = colourMap(runIds);
  const names = Object.fromEntries(runs.map((r) => [r.id, { name: r.name, state: r.state }]));
  ctx.main.append(legend(runIds, names, colours));

  // -- config -----------------------------------------------------------------------------
  const configs = runs.map((r) => flatten(r.config));
  const configKeys = [...new Set(configs.flatMap((c) => Object.keys(c)))].sort();
  const differs = (k) => configs.some((c) => !same(c[k], configs[0][k]));
  const diffKeys = configKeys.filter(differs);
  const onlyDiff = h('input', { type: 'checkbox', 'data-role': 'only-diff' });
  const headerRow = () => h('tr', null, h('th', null, 'Key'), runs.map((r) => h('th', null,
    h('span', { class: 'swatch', style: { background: colours[r.id] } }, ''),
    h('a', { href: `/runs/${encodeURIComponent(r.id)}`, 'data-nav': true }, r.name))));
  const configBody = h('tbody');
  const fillConfig = () => {
    const keys = onlyDiff.checked ? diffKeys : configKeys;
    append(clear(configBody), keys.map((k) => h('tr', { class: differs(k) ? 'differs' : '', 'data-key': k },
      h('th', null, k), configs.map((c) => h('td', { class: typeof c[k] === 'number' ? 'num' : '' },
        c[k] === undefined ? h('span', { class: 'muted' }, '—') : fmtValue(c[k]))))));
    if (!keys.length) configBody.append(h('tr', null, h('td', { colspan: String(runs.length + 1), class: 'muted' }, 'No config keys.')));
  };
  onlyDiff.addEventListener('change', fillConfig);
  fillConfig();
  ctx.main.append(h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Config',
      h('span', { class: 'muted small' }, ` · ${diffKeys.length} of ${configKeys.length} keys differ`)),
    h('label', { class: 'control check' }, onlyDiff, h('span', null, 'Only differences'))),
    h('div', { class: 'scroll-x' }, h('table', { class: 'compare-table', 'data-role': 'compare-config' },
      h('thead', null, headerRow()), configBody))));

  // -- summary ----------------------------------------------------------------------------
  const summaryKeys = [...new Set(runs.flatMap((r) => Object.keys(r.summary || {})))]
    .filter((k) => !k.startsWith('_')).sort();
  const numericSummary = summaryKeys.filter((k) => runs.some((r) => typeof r.summary[k] === 'number'));
  ctx.main.append(h('section', { class: 'card' },
    h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Summary'),
      h('span', { class: 'muted small' }, '★ best (lower is better for loss/error-like metrics, else higher)')),
    h('div', { class: 'scroll-x' }, h('table', { class: 'compare-table', 'data-role': 'compare-summary' },
      h('thead', null, headerRow()),
      h('tbody', null, summaryKeys.map((k) => {
        const values = runs.map((r) => r.summary[k]);
        const nums = values.filter((v) => typeof v === 'number' && Number.isFinite(v));
        const goal = goalFor(k, runs);
        const spread = nums.length > 1 && Math.min(...nums) !== Math.max(...nums);
        const best = spread ? (goal === 'min' ? Math.min(...nums) : Math.max(...nums)) : null;
        return h('tr', { 'data-key': k }, h('th', null, k, h('span', { class: 'goal' }, goal === 'min' ? ' ↓' : ' ↑')),
          values.map((v) => h('td', { class: `num${v === best && best !== null ? ' best' : ''}` },
            v === undefined ? h('span', { class: 'muted' }, '—') : fmtValue(v), v === best && best !== null ? ' ★' : '')));
      }))))));

  // -- charts -----------------------------------------------------------------------------
  const keys = await api.post('/metrics/keys', { runs: runIds });
  const metricKeys = keys.filter((k) => !k.system).map((k) => k.key);
  const gridEl = h('div', { class: 'chart-grid', 'data-role': 'chart-grid' });
  const opts = { x: 'default', xKey: null, smoothing: 0, log: false };
  let grid = null;
  ctx.main.append(h('section', { class: 'section' }, h('h2', { class: 'section-title' }, 'Charts'),
    h('div', { class: 'toolbar' }, chartControls(metricKeys, opts, (o) => grid && grid.update(o))), gridEl));
  if (metricKeys.length) grid = chartGrid(gridEl, runIds, metricKeys, names, colours, opts);
  else gridEl.append(emptyState('No metrics logged by these runs'));
  ctx.onCleanup(() => { if (grid) grid.destroy(); });

  // -- parallel coordinates & scatter -------------------------------------------------------
  const scalarConfig = configKeys.filter((k) => configs.every((c) => c[k] === undefined || ['number', 'string', 'boolean'].includes(typeof c[k])));
  if (!numericSummary.length || !scalarConfig.length) return;
  const metricSel = h('select', { class: 'select', 'data-role': 'parcoords-metric', 'aria-label': 'Metric' },
    numericSummary.map((k) => h('option', { value: k }, k)));
  const parEl = h('div', { class: 'plot tall', 'data-role': 'parcoords' });
  const xSel = h('select', { class: 'select', 'aria-label': 'Config key', 'data-role': 'scatter-x' }, scalarConfig.map((k) => h('option', { value: k }, k)));
  const ySel = h('select', { class: 'select', 'aria-label': 'Metric', 'data-role': 'scatter-y' }, numericSummary.map((k) => h('option', { value: k }, k)));
  if (diffKeys.length) xSel.value = scalarConfig.find((k) => diffKeys.includes(k)) || scalarConfig[0];
  const scatterEl = h('div', { class: 'plot', 'data-role': 'scatter' });
  ctx.main.append(h('div', { class: 'two-col' },
    h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Parallel coordinates'),
      h('label', { class: 'control' }, h('span', null, 'Metric'), metricSel)), parEl),
    h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Scatter'),
      h('label', { class: 'control' }, h('span', null, 'X'), xSel), h('label', { class: 'control' }, h('span', null, 'Y'), ySel)), scatterEl)));

  const Plotly = await loadPlotly();
  const dimension = (label, values) => {
    if (values.every((v) => v === undefined || v === null || typeof v === 'number')) {
      return { label: plain(label), values: values.map((v) => (typeof v === 'number' ? v : NaN)) };
    }
    const cats = [...new Set(values.map((v) => fmtValue(v)))].sort();
    return { label: plain(label), values: values.map((v) => cats.indexOf(fmtValue(v))),
      tickvals: cats.map((_, i) => i), ticktext: cats };  // parcoords ticks are plain text
  };
  const drawPar = () => {
    const metric = metricSel.value;
    const keysForPar = (diffKeys.length ? scalarConfig.filter((k) => diffKeys.includes(k)) : scalarConfig).slice(0, 12);
    const values = runs.map((r) => r.summary[metric]);
    const dims = keysForPar.map((k) => dimension(k, configs.map((c) => c[k])));
    dims.push(dimension(metric, values));
    Plotly.react(parEl, [{ type: 'parcoords', dimensions: dims,
      line: { color: values.map((v) => (typeof v === 'number' ? v : null)), colorscale: 'Viridis', showscale: true } }],
    Object.assign({}, BASE_LAYOUT, { height: 340, margin: { l: 60, r: 110, t: 48, b: 24 } }), PLOT_CONFIG);
  };
  const drawScatter = () => {
    const xk = xSel.value;
    const yk = ySel.value;
    const xs = configs.map((c) => c[xk]);
    const categorical = xs.some((v) => v !== undefined && typeof v !== 'number');
    Plotly.react(scatterEl, [{ type: 'scatter', mode: 'markers+text',
      x: xs.map((v) => (categorical ? plain(fmtValue(v)) : v)), y: runs.map((r) => r.summary[yk]),
      text: runs.map((r) => plain(r.name)), textposition: 'top center', textfont: { size: 10 }, cliponaxis: false,
      marker: { size: 11, color: runIds.map((id) => colours[id]), line: { color: '#fff', width: 1 } },
      hovertemplate: '<b>%{text}</b><br>' + plain(xk) + ': %{x}<br>' + plain(yk) + ': %{y:.5g}<extra></extra>' }],
    Object.assign({}, BASE_LAYOUT, { height: 340, hovermode: 'closest',
      xaxis: axis({ title: { text: plain(xk) }, type: categorical ? 'category' : 'linear',
        range: categorical ? undefined : padRange(xs), autorange: categorical }),
      yaxis: axis({ title: { text: plain(yk) } }) }), PLOT_CONFIG);
  };
  metricSel.addEventListener('change', drawPar);
  xSel.addEventListener('change', drawScatter);
  ySel.addEventListener('change', drawScatter);
  try { drawPar(); } catch (err) { parEl.textContent = `Parallel coordinates need WebGL: ${err.message}`; }
  drawScatter();
  ctx.onCleanup(() => { Plotly.purge(parEl); Plotly.purge(scatterEl); });
}
