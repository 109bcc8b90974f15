// Charts: plotly.js loaded on first use, stable run colours, EMA smoothing, line charts.
import { api } from './api.js';
import { h } from './dom.js';

let plotlyPromise = null;

// Download plotly.js (4.6 MB) without running it yet: running it takes the main thread
// for a while, so that waits until a chart's data has been requested. (The HTML of a page
// opened on a chart address already asks for it; this is for pages reached by a link.)
export function preloadPlotly() {
  if (window.Plotly || document.querySelector('link[data-plotly]')) return;
  document.head.append(h('link', { rel: 'preload', as: 'script', href: '/vendor/plotly.min.js', 'data-plotly': true }));
}

export function loadPlotly() {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = '/vendor/plotly.min.js';
      s.onload = () => resolve(window.Plotly);
      s.onerror = () => { plotlyPromise = null; reject(new Error('could not load plotly.js')); };
      document.head.append(s);
    });
  }
  return plotlyPromise;
}

export const PALETTE = [
  '#4f46e5', '#e11d48', '#059669', '#d97706', '#0891b2', '#7c3aed', '#db2777', '#65a30d',
  '#2563eb', '#ea580c', '#0d9488', '#9333ea', '#ca8a04', '#dc2626', '#16a34a', '#0284c7',
  '#c026d3', '#57534e', '#4338ca', '#be123c',
];

// Colours follow a run's position in the selection, so a run has one colour on every chart.
export function colourMap(runIds) {
  const map = {};
  runIds.forEach((id, i) => { map[id] = PALETTE[i % PALETTE.length]; });
  return map;
}

// Plotly reads a few HTML-like tags in text; make user strings plain text for it.
export function plain(s) {
  return String(s ?? '').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Exponential moving average, debiased like TensorBoard's; gaps (null) stay gaps.
export function ema(values, weight) {
  if (!weight) return values;
  const out = new Array(values.length);
  let last = 0;
  let debias = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || !Number.isFinite(v)) { out[i] = null; continue; }
    last = last * weight + (1 - weight) * v;
    debias = debias * weight + (1 - weight);
    out[i] = last / debias;
  }
  return out;
}

const X_TITLES = { step: 'Step', default: 'Step', wall: 'Time', relative: 'Relative time (s)' };

export const BASE_LAYOUT = {
  // room for the last x tick label: with less, automargin widens the margin and plotly
  // draws the whole chart a second time
  margin: { l: 56, r: 24, t: 8, b: 40 },
  paper_bgcolor: 'rgba(0,0,0,0)',
  plot_bgcolor: 'rgba(0,0,0,0)',
  font: { family: 'Inter, system-ui, -apple-system, Segoe UI, Roboto, sans-serif', size: 11, color: '#475467' },
  hoverlabel: { font: { size: 12 } },
  showlegend: false,
};

export const PLOT_CONFIG = {
  displaylogo: false, responsive: true,
  modeBarButtonsToRemove: ['lasso2d', 'select2d', 'autoScale2d', 'toggleSpikelines'],
};

export function axis(extra) {
  return Object.assign({ gridcolor: '#eef0f3', zerolinecolor: '#d0d5dd', linecolor: '#d0d5dd',
    automargin: true }, extra);
}

// Traces of one metric's lines; with smoothing the raw line stays behind, faint.
export function lineTraces(lines, runs, colours, smoothing) {
  const traces = [];
  for (const line of lines) {
    const colour = colours[line.run_id] || '#667085';
    const name = plain(runs[line.run_id]?.name || line.run_id);
    const hover = `<b>${name}</b><br>%{x}<br>${plain(line.key)}: %{y:.5g}<extra></extra>`;
    if (smoothing > 0) {
      traces.push({ x: line.x, y: line.y, type: 'scatter', mode: 'lines', name, hoverinfo: 'skip',
        line: { color: colour, width: 1 }, opacity: 0.22 });
      traces.push({ x: line.x, y: ema(line.y, smoothing), type: 'scatter', mode: 'lines', name,
        line: { color: colour, width: 2 }, hovertemplate: hover, connectgaps: false });
    } else {
      traces.push({ x: line.x, y: line.y, type: 'scatter', mode: 'lines', name,
        line: { color: colour, width: 1.6 }, hovertemplate: hover,
        connectgaps: false, meta: line.run_id });
    }
  }
  return traces;
}

export async function drawLines(el, lines, runs, colours, opts) {
  const Plotly = await loadPlotly();
  const xMode = opts.x || 'default';
  const xKey = xMode === 'metric' ? opts.xKey : (lines.find((l) => l.x_key)?.x_key || null);
  const layout = Object.assign({}, BASE_LAYOUT, {
    height: opts.height || 260,
    hovermode: 'closest',
    xaxis: axis({ title: { text: plain(xKey || X_TITLES[xMode] || 'Step'), standoff: 6 },
      type: xMode === 'wall' ? 'date' : (opts.logX ? 'log' : 'linear') }),
    yaxis: axis({ type: opts.log ? 'log' : 'linear', exponentformat: 'power' }),
    uirevision: opts.revision || 'keep',
  });
  await Plotly.react(el, lineTraces(lines, runs, colours, opts.smoothing || 0), layout, PLOT_CONFIG);
  el.dataset.points = String(lines.reduce((n, l) => n + l.y.length, 0));
  el.dataset.lines = String(lines.length);
}

function fromBase64(text) {
  const bin = atob(text);
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return new Float64Array(bytes.buffer);
}

// Chart lines come as base64 float64 (fast to make and to read); NaN stays NaN (a gap).
export async function fetchChart(runIds, keys, x, xKey, maxPoints = 2000) {
  const data = await api.post('/charts', { runs: runIds, keys, x, x_key: xKey || null,
    max_points: maxPoints, encoding: 'base64' });
  for (const line of data.lines) {
    line.x = fromBase64(line.x);
    line.y = fromBase64(line.y);
  }
  return data;
}

// A grid of metric charts for some runs, drawn lazily as they scroll into view.
// opts: { x, xKey, smoothing, log }; returns { refresh(running), update(opts), destroy() }.
export function chartGrid(container, runIds, keys, runs, colours, opts) {
  const cards = new Map();
  let current = Object.assign({}, opts);
  const observer = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      if (entry.isIntersecting) {
        const card = cards.get(entry.target.dataset.key);
        if (card && !card.drawn) load(card);
      }
    }
  }, { rootMargin: '300px' });

  async function load(card, force) {
    if (card.loading && !force) return;
    card.loading = true;
    try {
      // two points (a bucket's min and max) per pixel column of the plot area draw the
      // same picture as more
      const { l, r } = BASE_LAYOUT.margin;
      const width = (card.plot.clientWidth || 600) - l - r;
      const budget = Math.max(400, Math.min(2000, Math.round(2 * width)));
      const pending = fetchChart(runIds, [card.key], current.x, current.xKey, budget);
      loadPlotly().catch(() => {}); // runs while the server prepares the lines
      const data = await pending;
      card.data = data;
      Object.assign(runs, data.runs);
      await draw(card);
      card.drawn = true;
    } catch (err) {
      card.plot.textContent = `Could not load this chart: ${err.message}`;
    } finally {
      card.loading = false;
    }
  }

  async function draw(card) {
    if (!card.data) return;
    card.empty.hidden = card.data.lines.length > 0;
    const sampled = card.data.lines.some((l) => l.sampled);
    card.note.textContent = sampled ? 'downsampled' : '';
    await drawLines(card.plot, card.data.lines, runs, colours, current);
  }

  for (const key of keys) {
    const plot = h('div', { class: 'plot', 'data-key': key });
    const empty = h('div', { class: 'plot-empty', hidden: true }, 'No points for this x axis');
    const note = h('span', { class: 'chart-note' });
    const el = h('section', { class: 'chart-card', 'data-key': key },
      h('header', null, h('h3', { title: key }, key), note), empty, plot);
    container.append(el);
    const card = { key, el, plot, empty, note, drawn: false, data: null };
    cards.set(key, card);
    observer.observe(el);
  }
  // cards already on screen ask for their lines now, not at the observer's first report
  // (a frame later): the sooner the request leaves, the sooner plotly.js can start running
  for (const card of cards.values()) {
    if (!card.el.isConnected) break;
    const box = card.el.getBoundingClientRect();
    if (box.top > window.innerHeight + 300) break;
    load(card);
  }

  return {
    async refresh() {
      await Promise.all([...cards.values()].filter((c) => c.drawn).map((c) => load(c, true)));
    },
    async update(newOpts) {
      const refetch = newOpts.x !== current.x || newOpts.xKey !== current.xKey;
      current = Object.assign({}, current, newOpts);
      for (const card of cards.values()) {
        if (!card.drawn) continue;
        if (refetch) await load(card, true); else await draw(card);
      }
    },
    destroy() {
      observer.disconnect();
      if (window.Plotly) for (const card of cards.values()) window.Plotly.purge(card.plot);
    },
    cards,
  };
}

// Controls above a chart grid: x axis, smoothing, log scale. onChange(opts).
export function chartControls(xKeys, opts, onChange) {
  const xSel = h('select', { class: 'select', 'aria-label': 'X axis', 'data-control': 'x' },
    h('option', { value: 'default' }, 'Step (or step metric)'),
    h('option', { value: 'step' }, 'Step'),
    h('option', { value: 'wall' }, 'Wall time'),
    h('option', { value: 'relative' }, 'Relative time'),
    xKeys.length ? h('optgroup', { label: 'Metric' },
      xKeys.map((k) => h('option', { value: 'metric:' + k }, k))) : null);
  xSel.value = opts.x === 'metric' ? 'metric:' + opts.xKey : (opts.x || 'default');
  const smoothVal = h('span', { class: 'mono small' }, (opts.smoothing || 0).toFixed(2));
  const smooth = h('input', { type: 'range', min: '0', max: '0.99', step: '0.01',
    value: String(opts.smoothing || 0), 'aria-label': 'Smoothing', 'data-control': 'smoothing' });
  const log = h('input', { type: 'checkbox', checked: !!opts.log, 'data-control': 'log' });
  const emit = () => {
    const v = xSel.value;
    onChange({ x: v.startsWith('metric:') ? 'metric' : v, xKey: v.startsWith('metric:') ? v.slice(7) : null,
      smoothing: Number(smooth.value), log: log.checked });
  };
  xSel.addEventListener('change', emit);
  smooth.addEventListener('input', () => { smoothVal.textContent = Number(smooth.value).toFixed(2); emit(); });
  log.addEventListener('change', emit);
  return h('div', { class: 'chart-controls' },
    h('label', { class: 'control' }, h('span', null, 'X axis'), xSel),
    h('label', { class: 'control' }, h('span', null, 'Smoothing'), smooth, smoothVal),
    h('label', { class: 'control check' }, log, h('span', null, 'Log scale')));
}

export function legend(runIds, runs, colours) {
  return h('div', { class: 'legend' }, runIds.map((id) => h('a', {
    class: 'legend-item', href: `/runs/${encodeURIComponent(id)}`, 'data-nav': true,
  }, h('span', { class: 'swatch', style: { background: colours[id] } }, ''), runs[id]?.name || id)));
}
