// Live report blocks, drawn from the JSON the server rendered: charts, runs tables, compare,
// parallel coordinates, sweeps and artifacts. The report pages use it, and exported files
// inline it (with dom.js and plot.js), so it never calls the API: everything is in `blocks`.
import { clear, fmtBytes, fmtDuration, fmtTime, fmtValue, h, stateBadge, tagChips } from '../dom.js';
import { axis, BASE_LAYOUT, colourMap, drawLines, loadPlotly, plain, PLOT_CONFIG } from '../plot.js';

const FIELD_LABELS = {
  name: 'Name', state: 'State', created_at: 'Created', duration: 'Duration', tags: 'Tags',
  group: 'Group', job_type: 'Job type', host: 'Host', owner: 'User', sweep_id: 'Sweep',
  step: 'Step', exit_code: 'Exit code', favorite: 'Favourite', notes: 'Notes', id: 'ID',
};

// A run's name: a link to its page inside the app, plain text in an exported file.
function runName(run, opts) {
  if (!opts.links) return h('span', { class: 'lt-run', title: run.id }, run.name);
  return h('a', { class: 'lt-run', href: `/runs/${encodeURIComponent(run.id)}`, 'data-nav': true, title: run.id }, run.name);
}

function swatch(colour) {
  return h('span', { class: 'swatch', style: { background: colour } }, '');
}

function runLegend(runs, colours, opts) {
  return h('div', { class: 'lt-legend' }, runs.map((r) => h('span', { class: 'lt-legend-item' },
    swatch(colours[r.id]), runName(r, opts))));
}

function figure(slot, block, ...children) {
  clear(slot).append(h('figure', { class: 'lt-figure' },
    block.title ? h('figcaption', { class: 'lt-caption' }, block.title) : null, children));
}

function errorBox(slot, block, message) {
  slot.classList.add('lt-error-slot');
  clear(slot).append(h('div', { class: 'lt-error', role: 'alert', 'data-role': 'block-error' },
    h('strong', null, `labtrack-${block.kind || '?'}`),
    block.line ? h('span', { class: 'muted' }, ` (line ${block.line})`) : null,
    h('span', null, ': ', message)));
}

function cell(value, col, run, opts) {
  if (col === 'name') return runName(run, opts);
  if (col === 'state') return stateBadge(value);
  if (col === 'created_at') return fmtTime(value);
  if (col === 'duration') return fmtDuration(value);
  if (col === 'tags') return tagChips(value);
  return fmtValue(value);
}

function columnHead(col) {
  for (const kind of ['config', 'summary']) {
    if (col.startsWith(kind + '.')) {
      return h('th', { title: col }, h('span', { class: `th-kind kind-${kind}` }, kind), ' ', col.slice(kind.length + 1));
    }
  }
  return h('th', null, FIELD_LABELS[col] || col);
}

// -- blocks -------------------------------------------------------------------------------
async function chartBlock(slot, block, opts) {
  const runIds = block.runs.map((r) => r.id);
  const colours = colourMap(runIds);
  const names = Object.fromEntries(block.runs.map((r) => [r.id, r]));
  const grid = h('div', { class: `lt-charts${block.metrics.length > 1 ? ' multi' : ''}` });
  const drawn = new Set(block.lines.map((l) => l.run_id));
  figure(slot, block, runLegend(block.runs.filter((r) => drawn.has(r.id)), colours, opts), grid);
  const draws = block.metrics.map((metric) => {
    const lines = block.lines.filter((l) => l.key === metric);
    const plot = h('div', { class: 'plot lt-plot', 'data-key': metric });
    const sampled = lines.some((l) => l.sampled);
    grid.append(h('div', { class: 'lt-chart' }, h('div', { class: 'lt-chart-head' },
      h('h4', { title: metric }, metric), sampled ? h('span', { class: 'chart-note' }, 'downsampled') : null),
    lines.length ? plot : h('div', { class: 'plot-empty' }, 'No points for this x axis')));
    if (!lines.length) return null;
    return drawLines(plot, lines, names, colours, { x: block.x, xKey: block.x_key,
      smoothing: block.smoothing, log: block.log_y, logX: block.log_x, height: 250 });
  });
  await Promise.all(draws);
}

function runsBlock(slot, block, opts) {
  const table = h('table', { class: 'data-table lt-table', 'data-role': 'block-runs' },
    h('thead', null, h('tr', null, block.columns.map(columnHead))),
    h('tbody', null, block.runs.map((run) => h('tr', { 'data-run': run.id },
      block.columns.map((col, i) => {
        const v = run.values[i];
        return h('td', { class: typeof v === 'number' && col !== 'created_at' && col !== 'duration' ? 'num' : '' },
          cell(v, col, run, opts));
      })))));
  figure(slot, block, h('div', { class: 'scroll-x' }, table),
    h('div', { class: 'lt-foot muted small' }, `${block.runs.length} run${block.runs.length === 1 ? '' : 's'}`));
}

function compareBlock(slot, block, opts) {
  const colours = colourMap(block.runs.map((r) => r.id));
  const head = h('tr', null, h('th', null, ''), block.runs.map((r) => h('th', null, swatch(colours[r.id]), runName(r, opts))));
  const section = (label) => h('tr', { class: 'lt-section' }, h('th', { colspan: String(block.runs.length + 1) }, label));
  const rows = [];
  rows.push(section(`Config · ${block.config_differing} of ${block.config_keys} keys differ`));
  for (const c of block.config) {
    rows.push(h('tr', { class: c.differs ? 'differs' : '', 'data-key': c.key }, h('th', null, c.key),
      c.values.map((v) => h('td', { class: typeof v === 'number' ? 'num' : '' }, v === null ? h('span', { class: 'muted' }, '—') : fmtValue(v)))));
  }
  if (block.summary.length) rows.push(section('Summary · ★ best'));
  for (const s of block.summary) {
    rows.push(h('tr', { 'data-key': s.key }, h('th', null, s.key, h('span', { class: 'goal' }, s.goal === 'min' ? ' ↓' : ' ↑')),
      s.values.map((v, i) => {
        const best = s.best.includes(i);
        return h('td', { class: `num${best ? ' best' : ''}` }, v === null ? h('span', { class: 'muted' }, '—') : fmtValue(v), best ? ' ★' : '');
      })));
  }
  figure(slot, block, h('div', { class: 'scroll-x' }, h('table', { class: 'compare-table lt-compare', 'data-role': 'block-compare' },
    h('thead', null, head), h('tbody', null, rows))));
}

async function parcoordsBlock(slot, block) {
  const plot = h('div', { class: 'plot tall lt-plot', 'data-role': 'block-parcoords' });
  figure(slot, block, h('div', { class: 'lt-chart-head' }, h('h4', null, `Parallel coordinates · ${block.metric}`),
    h('span', { class: 'chart-note' }, `${block.runs.length} runs`)), plot);
  const Plotly = await loadPlotly();
  const dims = block.dimensions.map((d) => Object.assign({ label: plain(d.label),
    values: d.values.map((v) => (v === null ? NaN : v)) }, d.ticktext ? { tickvals: d.tickvals, ticktext: d.ticktext } : {}));
  const colour = block.dimensions[block.dimensions.length - 1].values;
  try {
    await Plotly.react(plot, [{ type: 'parcoords', dimensions: dims,
      line: { color: colour.map((v) => (v === null ? NaN : v)), colorscale: 'Viridis', showscale: true } }],
    Object.assign({}, BASE_LAYOUT, { height: 340, margin: { l: 60, r: 110, t: 48, b: 24 } }), PLOT_CONFIG);
  } catch (err) {
    plot.textContent = `Parallel coordinates need WebGL: ${err.message}`;
  }
}

async function sweepBlock(slot, block, opts) {
  const s = block.sweep;
  const metric = s.metric ? `${s.metric.name} (${s.metric.goal})` : 'no metric';
  const best = s.best ? h('span', null, 'best ', h('strong', null, fmtValue(s.best.value)), ' by ',
    runName({ id: s.best.run_id, name: s.best.name }, opts)) : h('span', { class: 'muted' }, 'no finished run yet');
  const stats = h('div', { class: 'lt-stats' },
    h('span', { class: 'lt-title' }, s.name || s.id), h('span', { class: 'badge' }, s.method), stateBadge(s.state),
    h('span', null, `${s.run_count}${s.planned ? ' / ' + s.planned : ''} runs`), h('span', null, metric), best);
  const progress = h('div', { class: 'plot lt-plot', 'data-role': 'sweep-progress' });
  const importance = h('div', { class: 'plot lt-plot', 'data-role': 'sweep-importance' });
  const top = block.top.length ? h('table', { class: 'data-table lt-table' },
    h('thead', null, h('tr', null, h('th', null, '#'), h('th', null, 'Run'), h('th', { class: 'num' }, s.metric ? s.metric.name : 'value'),
      h('th', null, 'Parameters'))),
    h('tbody', null, block.top.map((r) => h('tr', null, h('td', null, String(r.number)),
      h('td', null, runName({ id: r.run_id, name: r.name }, opts)), h('td', { class: 'num' }, fmtValue(r.value)),
      h('td', { class: 'mono small' }, Object.entries(r.params).map(([k, v]) => `${k}=${fmtValue(v)}`).join('  ')))))) : null;
  figure(slot, block, stats, h('div', { class: 'lt-charts multi' },
    h('div', { class: 'lt-chart' }, h('div', { class: 'lt-chart-head' }, h('h4', null, 'Best so far')), progress),
    h('div', { class: 'lt-chart' }, h('div', { class: 'lt-chart-head' }, h('h4', null, 'Parameter importance')), importance)), top);
  const Plotly = await loadPlotly();
  const b = block.best_so_far;
  if (b.number.length) {
    await Plotly.react(progress, [
      { x: b.number, y: b.value, type: 'scatter', mode: 'markers', name: 'run', marker: { color: '#98a2b3', size: 7 },
        hovertemplate: 'run %{x}: %{y:.5g}<extra></extra>' },
      { x: b.number, y: b.best, type: 'scatter', mode: 'lines', name: 'best', line: { color: '#4f46e5', width: 2, shape: 'hv' },
        hovertemplate: 'best after %{x}: %{y:.5g}<extra></extra>' }],
    Object.assign({}, BASE_LAYOUT, { height: 240, xaxis: axis({ title: { text: 'Run' } }),
      yaxis: axis({ title: { text: plain(b.metric || '') } }) }), PLOT_CONFIG);
  } else progress.replaceWith(h('div', { class: 'plot-empty' }, 'No results yet'));
  const imp = block.importance.filter((r) => r.importance !== null);
  if (imp.length) {
    const rows = imp.slice().sort((a, c) => a.importance - c.importance);
    await Plotly.react(importance, [{ type: 'bar', orientation: 'h', x: rows.map((r) => r.importance),
      y: rows.map((r) => plain(r.param)), marker: { color: '#4f46e5' }, hovertemplate: '%{y}: %{x:.3f}<extra></extra>' }],
    Object.assign({}, BASE_LAYOUT, { height: 240, margin: { l: 110, r: 16, t: 8, b: 40 },
      xaxis: axis({ title: { text: 'Importance' } }), yaxis: axis({}) }), PLOT_CONFIG);
  } else importance.replaceWith(h('div', { class: 'plot-empty' }, 'Importance needs more finished runs'));
}

function artifactBlock(slot, block, opts) {
  const v = block.version;
  const meta = Object.entries(v.metadata || {}).slice(0, 12);
  const runList = (runs) => (runs.length ? runs.map((r) => h('span', { class: 'lt-chip' }, runName(r, opts)))
    : h('span', { class: 'muted' }, 'none'));
  figure(slot, block,
    h('div', { class: 'lt-stats' }, h('span', { class: 'lt-title mono' }, `${v.project}/${v.name}:v${v.version}`),
      h('span', { class: 'badge' }, v.type), h('span', null, fmtBytes(v.size)),
      h('span', null, `${v.file_count} file${v.file_count === 1 ? '' : 's'}`),
      h('span', { class: 'muted' }, `${block.versions} version${block.versions === 1 ? '' : 's'}`),
      (v.aliases || []).map((a) => h('span', { class: 'tag' }, a)), h('span', { class: 'muted' }, fmtTime(v.created_at))),
    v.description ? h('p', { class: 'lt-desc' }, v.description) : null,
    meta.length ? h('dl', { class: 'kv lt-kv' }, meta.map(([k, val]) => [h('dt', null, k), h('dd', null, fmtValue(val))])) : null,
    block.lineage ? h('div', { class: 'lt-lineage' },
      h('div', null, h('span', { class: 'muted' }, 'Logged by '), runList(block.lineage.logged)),
      h('div', null, h('span', { class: 'muted' }, 'Used by '), runList(block.lineage.used))) : null,
    block.files.length ? h('table', { class: 'data-table lt-table', 'data-role': 'block-files' },
      h('thead', null, h('tr', null, h('th', null, 'File'), h('th', { class: 'num' }, 'Size'))),
      h('tbody', null, block.files.map((f) => h('tr', null, h('td', { class: 'mono' }, f.path, f.ref ? h('span', { class: 'muted' }, ` → ${f.ref}`) : null),
        h('td', { class: 'num' }, fmtBytes(f.size)))))) : null,
    block.files.length < v.file_count ? h('div', { class: 'lt-foot muted small' }, `${block.files.length} of ${v.file_count} files`) : null);
}

const BUILDERS = {
  chart: chartBlock, runs: runsBlock, compare: compareBlock, parcoords: parcoordsBlock,
  sweep: sweepBlock, artifact: artifactBlock,
};

// Fill every placeholder under `root` with its block; resolves once all are drawn.
// opts: { links } (links to run pages: only inside the app)
export async function drawReportBlocks(root, blocks, opts = {}) {
  root.dataset.ready = '';
  const pending = [];
  for (const slot of root.querySelectorAll('.lt-block[data-block]')) {
    const block = blocks[Number(slot.dataset.block)];
    if (!block) continue;
    slot.dataset.kind = block.kind;
    if (block.type === 'error') { errorBox(slot, block, block.error); continue; }
    const build = BUILDERS[block.type];
    if (!build) { errorBox(slot, block, `this page cannot draw '${block.type}' blocks`); continue; }
    pending.push(Promise.resolve().then(() => build(slot, block, opts))
      .catch((err) => errorBox(slot, block, `could not draw: ${err && err.message ? err.message : err}`)));
  }
  await Promise.all(pending);
  root.dataset.ready = '1';
}

// Put a rendered report ({html, blocks}) into `container` and draw its blocks.
export function drawReport(container, rendered, opts = {}) {
  // the html comes from the server: Markdown whose raw HTML was sanitised by nh3
  const doc = new DOMParser().parseFromString(rendered.html, 'text/html');
  // a redraw (the editor's preview) frees the old charts' listeners first
  if (window.Plotly) for (const el of container.querySelectorAll('.js-plotly-plot')) window.Plotly.purge(el);
  clear(container).append(...doc.body.childNodes);
  return drawReportBlocks(container, rendered.blocks, opts);
}

// Plotly charts of a block stay the size they were drawn at; redraw them to fit (print).
export function resizeReportPlots(root) {
  if (!window.Plotly) return;
  for (const el of root.querySelectorAll('.js-plotly-plot')) window.Plotly.Plots.resize(el);
}
