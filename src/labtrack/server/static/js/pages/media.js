// The run page's Media tab: images (with boxes), galleries, tables, histograms over steps,
// plots (plotly figures), HTML in a sandboxed frame, audio and video, each under its key,
// with a step slider where a key was logged at several steps.
import { api } from '../api.js';
import { append, clear, emptyState, fmtBytes, fmtNum, fmtValue, h, svgIcon } from '../dom.js';
import { axis, BASE_LAYOUT, loadPlotly, plain, PLOT_CONFIG } from '../plot.js';

const SECTIONS = [
  ['images', 'Images', ['image', 'list']],
  ['charts', 'Charts', ['plot', 'histogram']],
  ['tables', 'Tables', ['table']],
  ['html', 'HTML', ['html']],
  ['av', 'Audio & video', ['audio', 'video']],
];
const TABLE_ROWS_SHOWN = 500;
const KIND_LABELS = { html: 'HTML', list: 'gallery', plot: 'chart' };
// light to dark: plotly's own 'Blues' runs dark to light, which reads backwards for counts
const COUNTS_SCALE = [[0, '#f5f7ff'], [0.35, '#a5b4fc'], [1, '#3730a3']];
const PARALLEL = 4;
// markup plotly reads in hover/text templates that our own figures use; everything else
// a figure holds is escaped, so a user string is only ever text
const TEMPLATE_KEYS = new Set(['hovertemplate', 'texttemplate']);
const TEMPLATE_TAGS = /&lt;(\/?(?:br|b|i|sub|sup|extra))&gt;/g;

export const blobUrl = (digest) => `/api/v1/blobs/${encodeURIComponent(digest)}`;
export const viewUrl = (rec) => `/api/v1/media/${encodeURIComponent(rec.digest)}.${encodeURIComponent(rec.ext || 'bin')}`;

// A plotly figure from a record, with every string made plain text for plotly.
export function safeFigure(value, key) {
  if (typeof value === 'string') {
    const s = plain(value);
    return TEMPLATE_KEYS.has(key) ? s.replace(TEMPLATE_TAGS, '<$1>') : s;
  }
  if (Array.isArray(value)) return value.map((v) => safeFigure(v, key));
  if (value && typeof value === 'object') {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = safeFigure(v, k);
    return out;
  }
  return value;
}

function downloadLink(rec, name) {
  const file = `${name}.${rec.ext || 'bin'}`.replace(/[/\\]/g, '_');
  return h('a', { class: 'btn small ghost', href: blobUrl(rec.digest), download: file, title: `Download ${file}`,
    'data-role': 'media-download' }, svgIcon('download'), rec.size ? fmtBytes(rec.size) : 'Download');
}

function caption(text) {
  return text ? h('figcaption', { class: 'media-caption' }, text) : null;
}

// -- images ---------------------------------------------------------------------------
function boxLayer(rec) {
  const groups = rec.boxes && typeof rec.boxes === 'object' ? Object.values(rec.boxes) : [];
  if (!groups.length) return null;
  const layer = h('div', { class: 'box-layer', 'aria-hidden': 'true' });
  for (const group of groups) {
    const labels = group.class_labels || {};
    for (const box of group.box_data || []) {
      const p = box.position || {};
      const pixel = box.domain === 'pixel';
      const sx = pixel ? 1 / (rec.width || 1) : 1;
      const sy = pixel ? 1 / (rec.height || 1) : 1;
      let x0; let y0; let x1; let y1;
      if ('minX' in p) { x0 = p.minX * sx; x1 = p.maxX * sx; y0 = p.minY * sy; y1 = p.maxY * sy; } else {
        const [mx, my] = p.middle || [0, 0];
        x0 = (mx - p.width / 2) * sx; x1 = (mx + p.width / 2) * sx;
        y0 = (my - p.height / 2) * sy; y1 = (my + p.height / 2) * sy;
      }
      if (![x0, x1, y0, y1].every(Number.isFinite)) continue;
      const label = box.box_caption || labels[String(box.class_id)] || String(box.class_id);
      layer.append(h('div', { class: 'box', style: { left: `${x0 * 100}%`, top: `${y0 * 100}%`,
        width: `${(x1 - x0) * 100}%`, height: `${(y1 - y0) * 100}%` } }, h('span', { class: 'box-label' }, label)));
    }
  }
  return layer;
}

// tiny images (24 px) are drawn bigger, with their pixels kept sharp
function upscale(img, rec) {
  const size = Math.max(rec.width || 0, rec.height || 0);
  if (!size || size >= 96) return;
  const scale = Math.floor(192 / size);
  img.classList.add('pixelated');
  img.style.width = `${rec.width * scale}px`;
}

function imageFigure(rec, name) {
  const img = h('img', { src: viewUrl(rec), alt: rec.caption || name, decoding: 'async' });
  upscale(img, rec);
  return h('figure', { class: 'media-figure' },
    h('div', { class: 'media-frame' }, h('div', { class: 'media-img-wrap' }, img, boxLayer(rec))),
    caption(rec.caption),
    h('div', { class: 'media-foot' }, h('span', { class: 'muted small' }, rec.width && rec.height ? `${rec.width}×${rec.height}` : ''),
      downloadLink(rec, name)));
}

// -- tables -----------------------------------------------------------------------------
function cellNode(v) {
  if (v && typeof v === 'object' && !Array.isArray(v) && v._type === 'image' && v.digest) {
    return h('img', { class: 'cell-img', src: viewUrl(v), alt: v.caption || '' });
  }
  if (v && typeof v === 'object' && !Array.isArray(v) && v._type) return h('span', { class: 'muted' }, `[${v._type}]`);
  return fmtValue(v);
}

function cellText(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return v._type ? (v.caption || v._type) : JSON.stringify(v);
  return String(v);
}

function compare(a, b) {
  if (a === b) return 0;
  if (a === null || a === undefined) return 1;
  if (b === null || b === undefined) return -1;
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  return cellText(a).localeCompare(cellText(b), undefined, { numeric: true });
}

// A table of rows (arrays) with sortable columns and a filter box; `link(row, j)` may give
// a cell an address to open.
export function dataTable(columns, rows, { role = 'media-table', link = null } = {}) {
  let sortCol = null;
  let desc = false;
  const filter = h('input', { class: 'input', type: 'search', placeholder: 'Filter rows', 'aria-label': 'Filter rows',
    'data-role': 'table-filter' });
  const count = h('span', { class: 'muted small' });
  const thead = h('thead');
  const tbody = h('tbody');
  const numeric = columns.map((_, j) => rows.length > 0 && rows.every((r) => r[j] === null || typeof r[j] === 'number'));
  const draw = () => {
    const q = filter.value.trim().toLowerCase();
    let shown = q ? rows.filter((r) => r.some((v) => cellText(v).toLowerCase().includes(q))) : rows.slice();
    if (sortCol !== null) {
      shown.sort((a, b) => compare(a[sortCol], b[sortCol]));
      if (desc) shown.reverse();
    }
    count.textContent = `${fmtNum(shown.length)} of ${fmtNum(rows.length)} row${rows.length === 1 ? '' : 's'}` +
      (shown.length > TABLE_ROWS_SHOWN ? ` · first ${TABLE_ROWS_SHOWN} shown` : '');
    shown = shown.slice(0, TABLE_ROWS_SHOWN);
    clear(thead).append(h('tr', null, columns.map((c, j) => h('th', {
      class: `sortable${numeric[j] ? ' num' : ''}${sortCol === j ? ' sorted' : ''}`, 'data-col': String(j),
      title: 'Sort', 'aria-sort': sortCol === j ? (desc ? 'descending' : 'ascending') : 'none',
      onclick: () => { if (sortCol === j) desc = !desc; else { sortCol = j; desc = false; } draw(); },
    }, c, h('span', { class: 'sort-arrow' }, sortCol === j ? (desc ? '▼' : '▲') : '')))));
    append(clear(tbody), shown.map((r) => h('tr', null, columns.map((_, j) =>
      h('td', { class: numeric[j] ? 'num' : null }, link && link(r, j)
        ? h('a', { href: link(r, j), 'data-nav': true }, cellNode(r[j])) : cellNode(r[j]))))));
  };
  filter.addEventListener('input', draw);
  draw();
  return h('div', { class: 'media-table', 'data-role': role },
    h('div', { class: 'media-table-bar' }, filter, count),
    h('div', { class: 'media-table-scroll' }, h('table', { class: 'data-table' }, thead, tbody)));
}

async function tableNode(rec) {
  let rows = rec.data;
  if (!rows && rec.data_blob) rows = JSON.parse(await api.text(`/blobs/${encodeURIComponent(rec.data_blob.digest)}`));
  return dataTable(rec.columns || [], rows || []);
}

// -- plots ------------------------------------------------------------------------------
const plots = new Set();

// plotly sizes a chart by its container: draw once the element is in the page
function attached(el) {
  return new Promise((resolve) => {
    const started = performance.now();
    const check = () => {
      if (el.isConnected || performance.now() - started > 30000) resolve(el.isConnected);
      else requestAnimationFrame(check);
    };
    check();
  });
}

async function drawFigure(el, figure, height = 340) {
  const Plotly = await loadPlotly();
  if (!(await attached(el))) return;
  const fig = safeFigure(figure || {});
  for (const t of fig.data || []) {
    if (t.type === 'heatmap' && t.colorscale === 'Blues' && t.reversescale === undefined) t.colorscale = COUNTS_SCALE;
  }
  const named = (fig.data || []).filter((t) => t.name && t.showlegend !== false).length;
  const legend = named > 1 || (fig.layout || {}).showlegend;
  const layout = Object.assign({}, fig.layout || {}, {
    paper_bgcolor: BASE_LAYOUT.paper_bgcolor, plot_bgcolor: BASE_LAYOUT.plot_bgcolor, font: BASE_LAYOUT.font,
    height, autosize: true, title: undefined,
    margin: Object.assign({ l: 56, r: 16, t: 16, b: 48 }, (fig.layout || {}).margin || {}, { t: legend ? 36 : 16 }),
    // a legend above the chart leaves the plot (and a right-hand axis) its width
    legend: Object.assign({}, (fig.layout || {}).legend || {}, { orientation: 'h', x: 0, xanchor: 'left', y: 1.02, yanchor: 'bottom' }),
  });
  for (const k of new Set(['xaxis', 'yaxis', ...Object.keys(layout).filter((k) => /^[xy]axis\d+$/.test(k))])) {
    layout[k] = axis(Object.assign({}, layout[k] || {}));  // automargin: room for a right-hand axis too
  }
  await Plotly.react(el, fig.data || [], layout, PLOT_CONFIG);
  plots.add(el);
}

function figureNode(el, figure, height, title) {
  drawFigure(el, figure, height).catch((err) => { el.textContent = `Could not draw this chart: ${err.message}`; });
  return title ? h('div', null, h('div', { class: 'plot-title' }, title), el) : el;
}

function histogramNode(data) {
  const el = h('div', { class: 'plot', 'data-role': 'histogram-heatmap' });
  const hm = data.heatmap;
  if (!hm) return h('p', { class: 'muted small' }, 'No histogram data.');
  const centres = hm.edges.slice(0, -1).map((e, i) => (e + hm.edges[i + 1]) / 2);
  let figure;
  if (hm.steps.length === 1) {
    figure = { data: [{ type: 'bar', x: centres, y: hm.z.map((row) => row[0]), marker: { color: '#4f46e5' },
      hovertemplate: '%{x:.4g}: %{y}<extra></extra>' }], layout: { bargap: 0.02, xaxis: { title: { text: 'value' } } } };
  } else {
    figure = { data: [{ type: 'heatmap', x: hm.steps, y: centres, z: hm.z, colorscale: COUNTS_SCALE,
      hovertemplate: 'step %{x}<br>value %{y:.4g}<br>count %{z}<extra></extra>', colorbar: { thickness: 10 } }],
    layout: { xaxis: { title: { text: 'step' } }, yaxis: { title: { text: 'value' } } } };
  }
  return figureNode(el, figure, 340);
}

function plotNode(rec) {
  const el = h('div', { class: 'plot', 'data-role': 'media-plot', 'data-kind': rec.kind || 'plot' });
  const layoutTitle = ((rec.figure || {}).layout || {}).title;
  const title = (layoutTitle && typeof layoutTitle === 'object' ? layoutTitle.text : layoutTitle) || rec.title;
  return figureNode(el, rec.figure, 340, title ? String(title) : null);
}

// -- html, audio, video --------------------------------------------------------------------
async function htmlNode(rec, name) {
  // no allow-scripts, no allow-same-origin: the document is inert and has no access to ours
  const frame = h('iframe', { class: 'media-html', sandbox: '', referrerpolicy: 'no-referrer', title: name });
  frame.srcdoc = await api.text(`/blobs/${encodeURIComponent(rec.digest)}`);
  return h('figure', { class: 'media-figure wide' }, frame,
    h('div', { class: 'media-foot' }, h('span', { class: 'muted small' }, 'Scripts do not run here.'), downloadLink(rec, name)));
}

function audioNode(rec, name) {
  const info = [rec.duration ? `${Number(rec.duration).toFixed(2)} s` : null, rec.sample_rate ? `${fmtNum(rec.sample_rate)} Hz` : null]
    .filter(Boolean).join(' · ');
  return h('figure', { class: 'media-figure wide' }, h('audio', { controls: true, preload: 'metadata', src: viewUrl(rec) }),
    caption(rec.caption), h('div', { class: 'media-foot' }, h('span', { class: 'muted small' }, info), downloadLink(rec, name)));
}

function videoNode(rec, name) {
  const media = rec.ext === 'gif' ? h('img', { src: viewUrl(rec), alt: rec.caption || name })
    : h('video', { controls: true, preload: 'metadata', src: viewUrl(rec) });
  if (rec.ext === 'gif') upscale(media, rec);
  const info = [rec.frames ? `${rec.frames} frames` : null, rec.fps ? `${rec.fps} fps` : null].filter(Boolean).join(' · ');
  return h('figure', { class: 'media-figure' }, h('div', { class: 'media-frame' }, media), caption(rec.caption),
    h('div', { class: 'media-foot' }, h('span', { class: 'muted small' }, info), downloadLink(rec, name)));
}

// -- one record of any kind ---------------------------------------------------------------
export async function recordNode(rec, name) {
  switch (rec && rec._type) {
    case 'image': return imageFigure(rec, name);
    case 'table': return tableNode(rec);
    case 'plot': return plotNode(rec);
    case 'html': return htmlNode(rec, name);
    case 'audio': return audioNode(rec, name);
    case 'video': return videoNode(rec, name);
    case 'histogram': {
      const edges = rec.bins || [];
      return histogramNode({ heatmap: { steps: [0], edges, z: (rec.values || []).map((v) => [v]) } });
    }
    case 'list': {
      const items = Array.isArray(rec.items) ? rec.items : [];
      const nodes = await Promise.all(items.map((item, i) => recordNode(item, `${name}_${i}`)));
      return h('div', { class: 'gallery', 'data-role': 'gallery' }, nodes.length ? nodes : h('p', { class: 'muted small' }, 'Empty list.'));
    }
    default:
      return h('pre', { class: 'code small-code' }, JSON.stringify(rec, null, 2));
  }
}

// A key logged at several steps: a slider picks the step, the last one first.
function stepper(items, render) {
  const holder = h('div', { class: 'media-content' });
  let seq = 0;
  const show = async (i) => {
    const mine = ++seq;
    const item = items[i];
    try {
      const node = await render(item);
      if (mine !== seq) return;
      for (const el of holder.querySelectorAll('.js-plotly-plot')) { if (window.Plotly) window.Plotly.purge(el); plots.delete(el); }
      clear(holder).append(node);
    } catch (err) {
      if (mine === seq) clear(holder).append(h('p', { class: 'muted small' }, `Could not show this: ${err.message}`));
    }
  };
  if (items.length < 2) { show(0); return holder; }
  const label = h('span', { class: 'step-label mono' });
  const slider = h('input', { type: 'range', min: '0', max: String(items.length - 1), step: '1',
    value: String(items.length - 1), 'aria-label': 'Step', 'data-role': 'step-slider' });
  const update = () => {
    const i = Number(slider.value);
    label.textContent = `step ${items[i].step}`;
    show(i);
  };
  slider.addEventListener('input', update);
  update();
  return h('div', null, h('div', { class: 'step-bar' }, slider, label,
    h('span', { class: 'muted small' }, `${items.length} steps`)), holder);
}

async function keyBody(runId, info) {
  const data = await api.get(`/runs/${encodeURIComponent(runId)}/media/${info.key.split('/').map(encodeURIComponent).join('/')}`);
  if (data.kind === 'histogram') return histogramNode(data);
  const base = info.key.replace(/[^A-Za-z0-9_.-]+/g, '_');
  return stepper(data.items, (item) => recordNode(item.record, `${base}_${item.step}`));
}

function keyCard(runId, info, queue) {
  const body = h('div', { class: 'media-body' }, h('div', { class: 'muted small media-loading' }, 'Loading…'));
  const card = h('section', { class: `media-card kind-${info.kind.replace(/[^a-z_]/g, '')}`, 'data-key': info.key,
    'data-kind': info.kind },
  h('header', { class: 'media-head' }, h('h3', { title: info.key }, info.key),
    h('span', { class: 'media-kind' }, KIND_LABELS[info.kind] || info.kind.replace('_', ' '),
      info.count > 1 ? ` · ${info.count} steps` : ` · step ${info.last_step}`)), body);
  queue.push(async () => {
    try { clear(body).append(await keyBody(runId, info)); } catch (err) {
      clear(body).append(h('p', { class: 'muted small' }, `Could not load ${info.key}: ${err.message}`));
    }
  });
  return card;
}

async function drain(queue) {
  const workers = Array.from({ length: PARALLEL }, async () => {
    while (queue.length) await queue.shift()();
  });
  await Promise.all(workers);
}

function fill(root, runId, keys) {
  for (const el of plots) if (root.contains(el) && window.Plotly) { window.Plotly.purge(el); plots.delete(el); }
  clear(root);
  if (!keys.length) {
    root.append(emptyState('No media', 'Images, tables, plots, HTML, audio and video logged with run.log() appear here.'));
    return;
  }
  const queue = [];
  const placed = new Set();
  for (const [id, title, kinds] of [...SECTIONS, ['other', 'Other', null]]) {
    const mine = keys.filter((k) => !placed.has(k.key) && (!kinds || kinds.includes(k.kind)));
    mine.forEach((k) => placed.add(k.key));
    if (!mine.length) continue;
    root.append(h('section', { class: 'media-section', 'data-section': id },
      h('h2', { class: 'section-title' }, title, h('span', { class: 'count' }, String(mine.length))),
      h('div', { class: `media-grid media-grid-${id}` }, mine.map((k) => keyCard(runId, k, queue)))));
  }
  if (keys.some((k) => ['plot', 'histogram'].includes(k.kind))) loadPlotly().catch(() => {});
  drain(queue);
}

// The Media tab of a run, drawn into `container` from `keys` (GET /runs/{id}/media).
// Returns { refresh(), destroy() }: refresh redraws when the run logged new media.
export function mediaTab(container, runId, keys) {
  const root = h('div', { class: 'media-tab', 'data-role': 'media' });
  container.append(root);
  const signature = (list) => JSON.stringify(list.map((k) => [k.key, k.count, k.last_step]));
  let seen = signature(keys);
  fill(root, runId, keys);
  return {
    async refresh() {
      const fresh = await api.get(`/runs/${encodeURIComponent(runId)}/media`);
      if (signature(fresh) !== seen) { seen = signature(fresh); fill(root, runId, fresh); }
    },
    destroy() {
      if (window.Plotly) for (const el of plots) window.Plotly.purge(el);
      plots.clear();
    },
  };
}
