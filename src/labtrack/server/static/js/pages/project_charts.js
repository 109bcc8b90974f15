// The project's charts tab: every metric of the selected runs, overlaid, live.
import { api } from '../api.js';
import { append, clear, emptyState, h } from '../dom.js';
import { chartControls, chartGrid, colourMap, legend } from '../plot.js';
import { orderParam } from './runs_table.js';

const FALLBACK_RUNS = 10;
const POLL_MS = 1500;

export async function chartsTab(ctx, body, state, prefetch) {
  const enc = encodeURIComponent(state.project);
  let runIds = state.selection.slice();
  let note = null;
  if (!runIds.length) {
    const page = await api.get(`/projects/${enc}/runs`, { filter: state.filter, order: orderParam(state.order), limit: FALLBACK_RUNS });
    runIds = page.runs.map((r) => r.id);
    note = `No runs selected: showing the first ${runIds.length} runs of the table. Select runs in the Runs tab to choose.`;
  }
  if (!runIds.length) {
    body.append(emptyState('No runs to chart', 'Runs appear here once they log metrics.'));
    return;
  }
  const ready = prefetch && prefetch.ids.join(',') === runIds.join(',');
  const [live, keys] = await Promise.all([
    ready ? prefetch.live : api.get('/live', { runs: runIds.join(',') }),
    ready ? prefetch.keys : api.post('/metrics/keys', { runs: runIds })]);
  const runs = {};
  for (const r of live) runs[r.id] = r;
  runIds = runIds.filter((id) => runs[id]);
  const colours = colourMap(runIds);
  let metricKeys = keys.filter((k) => !k.system).map((k) => k.key);
  let systemKeys = keys.filter((k) => k.system).map((k) => k.key);

  const search = h('input', { class: 'input', type: 'search', placeholder: 'Search metrics', 'aria-label': 'Search metrics' });
  const showSystem = h('input', { type: 'checkbox' });
  const gridEl = h('div', { class: 'chart-grid', 'data-role': 'chart-grid' });
  let grid = null;
  const build = () => {
    if (grid) grid.destroy();
    clear(gridEl);
    const q = search.value.toLowerCase();
    const wanted = [...metricKeys, ...(showSystem.checked ? systemKeys : [])].filter((k) => !q || k.toLowerCase().includes(q));
    if (!wanted.length) {
      gridEl.append(emptyState(metricKeys.length ? 'No metric matches' : 'These runs have no metrics yet'));
      grid = null;
      return;
    }
    grid = chartGrid(gridEl, runIds, wanted, runs, colours, state.charts);
  };
  const controls = chartControls(metricKeys, state.charts, (opts) => {
    state.charts = opts;
    state.save();
    if (grid) grid.update(opts);
  });
  search.addEventListener('input', build);
  showSystem.addEventListener('change', build);
  append(body, [
    note ? h('p', { class: 'note' }, note) : null,
    h('div', { class: 'toolbar' }, controls, h('div', { class: 'toolbar-right' }, search,
      systemKeys.length ? h('label', { class: 'control check' }, showSystem, h('span', null, 'System metrics')) : null)),
    legend(runIds, runs, colours), gridEl]);
  build();

  // live: while any run is running, redraw the charts every POLL_MS
  let timer = null;
  let destroyed = false;
  const poll = async () => {
    try {
      const states = await api.get('/live', { runs: runIds.join(',') });
      const active = states.some((r) => r.state === 'running');
      const wasActive = runIds.some((id) => runs[id]?.state === 'running');
      for (const r of states) runs[r.id] = Object.assign(runs[r.id] || {}, r);
      if (active || wasActive) {
        // live runs may start logging new metrics: add their charts
        const fresh = await api.post('/metrics/keys', { runs: runIds });
        const freshMetric = fresh.filter((k) => !k.system).map((k) => k.key);
        const freshSystem = fresh.filter((k) => k.system).map((k) => k.key);
        if (freshMetric.join('\n') !== metricKeys.join('\n') || freshSystem.join('\n') !== systemKeys.join('\n')) {
          metricKeys = freshMetric;
          systemKeys = freshSystem;
          build();
        } else if (grid) await grid.refresh();
      }
    } catch (e) { /* retry on the next tick */ }
    if (!destroyed) timer = setTimeout(poll, POLL_MS);
  };
  timer = setTimeout(poll, POLL_MS);
  ctx.onCleanup(() => { destroyed = true; clearTimeout(timer); if (grid) grid.destroy(); });
}
