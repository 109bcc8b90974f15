// Sweeps: a project's sweeps (the project page's Sweeps tab) and one sweep's page: progress
// and best run, parallel coordinates of the parameters to the metric, the metric per run
// with the best so far, parameter importance and correlation, and the sweep's runs.
import { api } from '../api.js';
import { emptyState, fmtAgo, fmtNum, fmtTime, fmtValue, h, quote, stateBadge } from '../dom.js';
import { axis, BASE_LAYOUT, loadPlotly, plain, PLOT_CONFIG } from '../plot.js';
import { dataTable } from './media.js';

const MAX_AXES = 12;

export function sweepTitle(s) {
  return s.name || `Sweep ${s.id}`;
}

function progressText(s) {
  return s.planned ? `${fmtNum(s.run_count)} of ${fmtNum(s.planned)} runs` : `${fmtNum(s.run_count)} run${s.run_count === 1 ? '' : 's'}`;
}

function metricText(m) {
  return m ? `${m.goal === 'maximize' ? 'max' : 'min'} ${m.name}` : 'no metric';
}

function stateChips(byState) {
  return h('span', { class: 'tags' }, Object.entries(byState || {}).map(([st, n]) =>
    h('span', { class: `badge small-badge state-${st.replace(/[^a-z_]/g, '')}` }, `${n} ${st.replace('_', ' ')}`)));
}

// The project page's Sweeps tab.
export async function sweepsTab(ctx, body, project) {
  const sweeps = await api.get(`/projects/${encodeURIComponent(project)}/sweeps`);
  const root = h('div', { 'data-role': 'sweeps' });
  body.append(root);
  if (!sweeps.length) {
    root.append(emptyState('No sweeps in this project', 'Start one and its runs, best result and parameter importance show here:',
      h('code', { class: 'code-line' }, `labtrack sweep create sweep.yaml --project ${project}`)));
    return;
  }
  root.append(h('div', { class: 'card flush' }, h('table', { class: 'data-table', 'data-role': 'sweep-list' },
    h('thead', null, h('tr', null, ['Sweep', 'State', 'Method', 'Metric', 'Progress', 'Best', 'Created'].map((c) =>
      h('th', { class: c === 'Best' ? 'num' : null }, c)))),
    h('tbody', null, sweeps.map((s) => h('tr', { 'data-sweep': s.id },
      h('td', null, h('a', { class: 'run-link', href: `/sweeps/${encodeURIComponent(s.id)}`, 'data-nav': true }, sweepTitle(s)),
        h('div', { class: 'muted small mono' }, s.id)),
      h('td', null, stateBadge(s.state)), h('td', null, s.method),
      h('td', { class: 'mono small' }, metricText(s.metric)),
      h('td', null, h('div', null, progressText(s)), stateChips(s.runs_by_state)),
      h('td', { class: 'num' }, s.best ? fmtNum(s.best.value) : '', s.best ? h('div', { class: 'small' },
        h('a', { href: `/runs/${encodeURIComponent(s.best.run_id)}`, 'data-nav': true }, s.best.name)) : null),
      h('td', { title: fmtTime(s.created_at) }, fmtAgo(s.created_at))))))));
}

function card(title, role, ...content) {
  return h('section', { class: 'card', 'data-role': role }, h('h2', { class: 'card-title' }, title), content);
}

function stat(label, value, extra) {
  return h('div', { class: 'stat' }, h('div', { class: 'stat-label' }, label), h('div', { class: 'stat-value' }, value), extra || null);
}

function parcoordsTrace(runs, params, metric) {
  const done = runs.filter((r) => r.value !== null && r.value !== undefined);
  const dimension = (label, values) => {
    if (values.every((v) => v === undefined || v === null || typeof v === 'number')) {
      const nums = values.filter((v) => typeof v === 'number');
      const lo = Math.min(...nums);
      const hi = Math.max(...nums);
      if (nums.length && lo > 0 && hi / lo >= 100) {  // e.g. a learning rate: decades apart, drawn on a log axis
        const ticks = [];
        for (let k = Math.ceil(Math.log10(lo)); k <= Math.floor(Math.log10(hi)); k++) ticks.push(k);
        return { label: plain(`${label} (log)`), values: values.map((v) => (typeof v === 'number' ? Math.log10(v) : NaN)),
          tickvals: ticks, ticktext: ticks.map((k) => `1e${k}`) };
      }
      return { label: plain(label), values: values.map((v) => (typeof v === 'number' ? v : NaN)) };
    }
    const cats = [...new Set(values.map((v) => fmtValue(v)))].sort();
    return { label: plain(label), values: values.map((v) => cats.indexOf(fmtValue(v))),
      tickvals: cats.map((_, i) => i), ticktext: cats.map(plain) };
  };
  const dims = params.slice(0, MAX_AXES).map((p) => dimension(p, done.map((r) => r.params[p])));
  dims.push(dimension(metric, done.map((r) => r.value)));
  return { type: 'parcoords', dimensions: dims,
    line: { color: done.map((r) => r.value), colorscale: 'Viridis', showscale: true, colorbar: { thickness: 10 } } };
}

export async function sweepPage(ctx, sweepId) {
  const data = await api.get(`/sweeps/${encodeURIComponent(sweepId)}`);
  const { sweep, runs, importance } = data;
  const best = data.best_so_far;
  ctx.main.dataset.page = 'sweep';
  const title = sweepTitle(sweep);
  document.title = `${title} · labtrack`;
  const penc = encodeURIComponent(sweep.project);
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: sweep.project, href: `/projects/${penc}` },
    { label: 'Sweeps', href: `/projects/${penc}/sweeps` }, { label: title });
  const metric = sweep.metric;
  const metricName = metric ? metric.name : 'metric';
  const params = [...new Set(runs.flatMap((r) => Object.keys(r.params || {})))].sort();
  const ranked = importance.map((i) => i.param);
  const axes = [...ranked, ...params.filter((p) => !ranked.includes(p))];
  const tableHref = `/projects/${penc}?filter=${encodeURIComponent(`sweep == ${quote(sweep.id)}`)}`;

  ctx.main.append(h('div', { class: 'page-head' }, h('div', null,
    h('div', { class: 'title-line' }, h('h1', { 'data-role': 'sweep-name' }, title), stateBadge(sweep.state)),
    h('p', { class: 'muted' }, h('span', { class: 'mono' }, sweep.id), ` · ${sweep.method} search · ${metricText(metric)}`,
      ` · created ${fmtTime(sweep.created_at)}`),
    sweep.description ? h('p', { class: 'sweep-desc' }, sweep.description) : null),
  h('div', { class: 'head-actions' }, h('a', { class: 'btn', href: tableHref, 'data-nav': true, 'data-role': 'open-runs' }, 'Open in runs table'))));

  const bestRun = sweep.best;
  ctx.main.append(h('div', { class: 'stat-row' },
    stat('Progress', progressText(sweep), stateChips(sweep.runs_by_state)),
    stat(metric ? `Best ${metric.name}` : 'Best', bestRun ? h('span', { class: 'mono', 'data-role': 'best-value' }, fmtNum(bestRun.value)) : '—',
      bestRun ? h('div', { class: 'small' }, h('a', { href: `/runs/${encodeURIComponent(bestRun.run_id)}`, 'data-nav': true }, bestRun.name),
        h('span', { class: 'muted' }, ` · run #${bestRun.number}`)) : null),
    stat('Best parameters', bestRun ? h('div', { class: 'param-list' }, Object.entries(bestRun.params).map(([k, v]) =>
      h('span', { class: 'tag' }, `${k} = ${fmtValue(v)}`))) : '—')));

  if (!runs.length) {
    ctx.main.append(emptyState('No runs yet', 'Start an agent and its runs appear here:', h('code', { class: 'code-line' }, `labtrack agent ${sweep.id}`)));
    return;
  }
  const parEl = h('div', { class: 'plot tall', 'data-role': 'parcoords' });
  const bestEl = h('div', { class: 'plot', 'data-role': 'best-so-far' });
  const impEl = h('div', { class: 'plot', 'data-role': 'importance' });
  ctx.main.append(
    card(`Parameters → ${metricName}`, 'parcoords-card', parEl),
    h('div', { class: 'two-col' },
      card(`${metricName} per run`, 'best-card', bestEl),
      card('Parameter importance and correlation', 'importance-card', impEl)));

  const columns = ['#', 'Run', 'State', ...axes, metricName];
  const ids = new WeakMap();
  const rows = runs.map((r) => {
    const row = [r.number, r.name, r.state, ...axes.map((p) => r.params[p] ?? null), r.value];
    ids.set(row, r.run_id);
    return row;
  });
  const table = dataTable(columns, rows, { role: 'sweep-runs',
    link: (row, j) => (j === 1 ? `/runs/${encodeURIComponent(ids.get(row))}` : null) });
  ctx.main.append(h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Runs'),
    h('a', { class: 'btn small', href: tableHref, 'data-nav': true }, 'Open in runs table')), table),
  h('details', { class: 'card details' }, h('summary', null, 'Sweep config'),
    h('pre', { class: 'code', 'data-role': 'sweep-config' }, JSON.stringify(sweep.config, null, 2))));

  const Plotly = await loadPlotly();
  const layout = (extra) => Object.assign({}, BASE_LAYOUT, extra);
  const done = runs.filter((r) => r.value !== null && r.value !== undefined);
  if (done.length && axes.length) {
    try {
      await Plotly.react(parEl, [parcoordsTrace(runs, axes, metricName)],
        layout({ height: 360, margin: { l: 70, r: 90, t: 56, b: 24 } }), PLOT_CONFIG);
    } catch (err) { parEl.textContent = `Parallel coordinates need WebGL: ${err.message}`; }
  } else parEl.append(h('p', { class: 'plot-empty' }, `No run has reported ${metricName} yet.`));

  const names = new Map(runs.map((r) => [r.run_id, r.name]));
  await Plotly.react(bestEl, [
    { type: 'scatter', mode: 'markers', name: plain(metricName), x: best.number, y: best.value,
      text: best.run_id.map((id) => plain(names.get(id) || id)), marker: { color: '#4f46e5', size: 8, opacity: 0.75 },
      hovertemplate: '<b>%{text}</b><br>run #%{x}<br>%{y:.5g}<extra></extra>' },
    { type: 'scatter', mode: 'lines', name: 'best so far', x: best.number, y: best.best, line: { shape: 'hv', color: '#059669', width: 2 },
      hovertemplate: 'best so far: %{y:.5g}<extra></extra>' },
  ], layout({ height: 300, hovermode: 'closest', showlegend: true, legend: { orientation: 'h', y: 1.12, x: 0 },
    xaxis: axis({ title: { text: 'run #' } }), yaxis: axis({ title: { text: plain(metricName) } }) }), PLOT_CONFIG);

  if (importance.length) {
    const ys = importance.map((i) => plain(i.param)).reverse();
    const imp = importance.map((i) => i.importance).reverse();
    const cor = importance.map((i) => i.correlation).reverse();
    await Plotly.react(impEl, [
      { type: 'bar', orientation: 'h', y: ys, x: imp, name: 'importance', marker: { color: '#4f46e5' },
        hovertemplate: '%{y}: importance %{x:.3f}<extra></extra>' },
      { type: 'bar', orientation: 'h', y: ys, x: cor, name: 'correlation', xaxis: 'x2',
        marker: { color: cor.map((c) => (c === null ? '#d0d5dd' : c < 0 ? '#e11d48' : '#059669')) },
        hovertemplate: '%{y}: correlation %{x:.3f}<extra></extra>' },
    ], layout({ height: Math.max(220, 60 + 32 * ys.length), margin: { l: 110, r: 16, t: 30, b: 36 },
      xaxis: axis({ domain: [0, 0.47], title: { text: 'importance' }, rangemode: 'tozero' }),
      xaxis2: axis({ domain: [0.53, 1], title: { text: 'correlation' }, range: [-1, 1], anchor: 'y' }),
      yaxis: axis({ automargin: true }) }), PLOT_CONFIG);
    if (importance.every((i) => i.importance === null)) {
      impEl.after(h('p', { class: 'muted small' }, 'Importance needs at least 3 finished runs with the metric.'));
    }
  } else impEl.append(h('p', { class: 'plot-empty' }, 'No parameter varies across runs with the metric yet.'));
  ctx.onCleanup(() => { for (const el of [parEl, bestEl, impEl]) Plotly.purge(el); });
}
