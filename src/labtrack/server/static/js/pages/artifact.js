// One artifact: its versions with aliases, and for the chosen version its metadata, files
// (with previews of small text, CSV and images) and its lineage graph (runs -> versions
// -> runs), drawn as SVG with DOM calls; click a node to go there.
import { api } from '../api.js';
import { clear, emptyState, flatten, fmtAgo, fmtBytes, fmtNum, fmtTime, fmtValue, h, svgIcon } from '../dom.js';
import { aliasChips, artifactHref, typeBadge } from './artifacts.js';

const NS = 'http://www.w3.org/2000/svg';
const NODE_W = 184;
const NODE_H = 46;
const COL_GAP = 76;
const ROW_GAP = 14;
const PAD = 16;

function svg(tag, attrs, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) el.setAttribute(k, String(v));
  for (const c of children) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

function clip(text, n) {
  const s = String(text ?? '');
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}

// Columns from the root: a "logged" edge run -> version and a "used" edge version -> run
// both go one column to the right.
export function layoutGraph(graph) {
  const column = new Map([[graph.root, 0]]);
  const out = new Map();
  const into = new Map();
  for (const e of graph.edges) {
    if (!out.has(e.source)) out.set(e.source, []);
    if (!into.has(e.target)) into.set(e.target, []);
    out.get(e.source).push(e.target);
    into.get(e.target).push(e.source);
  }
  const queue = [graph.root];
  while (queue.length) {
    const id = queue.shift();
    const c = column.get(id);
    for (const t of out.get(id) || []) if (!column.has(t)) { column.set(t, c + 1); queue.push(t); }
    for (const s of into.get(id) || []) if (!column.has(s)) { column.set(s, c - 1); queue.push(s); }
  }
  const byCol = new Map();
  for (const n of graph.nodes) {
    const c = column.has(n.id) ? column.get(n.id) : 0;
    if (!byCol.has(c)) byCol.set(c, []);
    byCol.get(c).push(n);
  }
  const cols = [...byCol.keys()].sort((a, b) => a - b);
  const tallest = Math.max(...cols.map((c) => byCol.get(c).length));
  const height = PAD * 2 + tallest * NODE_H + (tallest - 1) * ROW_GAP;
  const pos = new Map();
  cols.forEach((c, i) => {
    const list = byCol.get(c).sort((a, b) => String(a.label).localeCompare(String(b.label)));
    const used = list.length * NODE_H + (list.length - 1) * ROW_GAP;
    list.forEach((n, j) => pos.set(n.id, { x: PAD + i * (NODE_W + COL_GAP), y: (height - used) / 2 + j * (NODE_H + ROW_GAP) }));
  });
  return { pos, width: PAD * 2 + cols.length * NODE_W + (cols.length - 1) * COL_GAP, height };
}

export function lineageSvg(graph, onOpen) {
  const { pos, width, height } = layoutGraph(graph);
  // as wide as the card at most: a long chain is drawn smaller rather than cut off
  const root = svg('svg', { class: 'lineage', width: '100%', viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': 'Lineage graph', 'data-role': 'lineage-graph', style: `max-width:${width}px` });
  root.append(svg('defs', null, svg('marker', { id: 'lineage-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
    markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'lineage-arrowhead' }))));
  for (const e of graph.edges) {
    const a = pos.get(e.source);
    const b = pos.get(e.target);
    if (!a || !b) continue;
    const forward = b.x > a.x;
    const x1 = forward ? a.x + NODE_W : a.x;
    const x2 = forward ? b.x : b.x + NODE_W;
    const y1 = a.y + NODE_H / 2;
    const y2 = b.y + NODE_H / 2;
    const bend = Math.max(30, Math.abs(x2 - x1) / 2) * (forward ? 1 : -1);
    root.append(svg('path', { class: `lineage-edge edge-${e.kind}`, d: `M${x1},${y1} C${x1 + bend},${y1} ${x2 - bend},${y2} ${x2},${y2}`,
      'marker-end': 'url(#lineage-arrow)' }, svg('title', null, e.kind === 'logged' ? 'logged' : 'used')));
  }
  for (const n of graph.nodes) {
    const p = pos.get(n.id);
    if (!p) continue;
    const isRun = n.kind === 'run';
    const sub = isRun ? [n.job_type, n.state].filter(Boolean).join(' · ') || 'run'
      : [n.type, ...(n.aliases || []).slice(0, 2)].join(' · ');
    const g = svg('g', { class: `lineage-node node-${isRun ? 'run' : 'artifact'}${n.id === graph.root ? ' root' : ''}`,
      transform: `translate(${p.x},${p.y})`, tabindex: 0, role: 'link', 'data-node': n.id },
    svg('title', null, isRun ? `run ${n.label} (${n.run_id})` : `${n.project}/${n.label}`),
    svg('rect', { width: NODE_W, height: NODE_H, rx: 8, ry: 8 }),
    svg('rect', { class: 'node-bar', width: 4, height: NODE_H - 16, x: 8, y: 8, rx: 2 }),
    svg('text', { x: 20, y: 19, class: 'node-label' }, clip(n.label, 23)),
    svg('text', { x: 20, y: 35, class: 'node-sub' }, clip(sub, 28)));
    const open = () => onOpen(n);
    g.addEventListener('click', open);
    g.addEventListener('keydown', (ev) => { if (ev.key === 'Enter') open(); });
    root.append(g);
  }
  return root;
}

function previewNode(p) {
  if (p.kind === 'text') {
    return h('pre', { class: 'code preview-text', 'data-role': 'preview-text' }, p.text + (p.truncated ? '\n…' : ''));
  }
  if (p.kind === 'csv') {
    const [header, ...rows] = p.rows;
    return h('div', { class: 'media-table-scroll' }, h('table', { class: 'data-table', 'data-role': 'preview-csv' },
      h('thead', null, h('tr', null, (header || []).map((c) => h('th', null, c)))),
      h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c)))))),
    p.truncated ? h('p', { class: 'muted small pad' }, 'First rows only.') : null);
  }
  if (p.kind === 'image' && /^image\/(png|jpeg|gif|webp|bmp)$/.test(p.mime)) {
    // the bytes come as base64: a data: URL of an image type never runs script (SVG is not shown)
    return h('div', { class: 'preview-image' }, h('img', { src: `data:${p.mime};base64,${p.data_base64}`, alt: p.path, 'data-role': 'preview-image' }));
  }
  if (p.kind === 'reference') return h('p', { class: 'muted' }, 'A reference, not stored: ', h('code', null, p.ref));
  return h('p', { class: 'muted' }, p.truncated ? 'Too large to preview: download it.' : 'No preview for this kind of file: download it.');
}

export async function artifactPage(ctx, project, name) {
  const base = `/projects/${encodeURIComponent(project)}/artifacts/${encodeURIComponent(name)}`;
  const detail = await api.get(base);
  ctx.main.dataset.page = 'artifact';
  document.title = `${name} · ${project} · labtrack`;
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: project, href: `/projects/${encodeURIComponent(project)}` },
    { label: 'Artifacts', href: `/projects/${encodeURIComponent(project)}/artifacts` }, { label: name });
  const versions = detail.versions;
  const pick = (sel) => {
    if (!sel) return versions.find((v) => v.aliases.includes('latest')) || versions[0];
    const m = /^v?(\d+)$/.exec(sel);
    return versions.find((v) => (m ? v.version === Number(m[1]) : v.aliases.includes(sel))) || null;
  };
  let current = pick(ctx.query.get('version'));
  if (!current) {
    ctx.main.append(emptyState('No such version', `${name} has no version or alias “${ctx.query.get('version')}”.`,
      h('a', { href: base, 'data-nav': true }, 'Show the latest version')));
    return;
  }
  const listEl = h('div', { class: 'version-list', role: 'listbox', 'aria-label': 'Versions', 'data-role': 'versions' });
  const detailEl = h('div', { class: 'col', 'data-role': 'version-detail' });
  ctx.main.append(h('div', { class: 'page-head' }, h('div', null,
    h('div', { class: 'title-line' }, h('h1', { 'data-role': 'artifact-name' }, name), typeBadge(detail.type)),
    h('p', { class: 'muted' }, `${project} · ${versions.length} version${versions.length === 1 ? '' : 's'}`,
      Object.keys(detail.aliases).length ? ` · ${Object.keys(detail.aliases).length} aliases` : ''))),
  h('div', { class: 'artifact-layout' }, h('aside', { class: 'card flush version-card' },
    h('h2', { class: 'card-title pad-title' }, 'Versions'), listEl), detailEl));

  const drawList = () => {
    clear(listEl).append(...versions.map((v) => h('button', {
      class: `version-item${v.id === current.id ? ' active' : ''}`, type: 'button', role: 'option',
      'aria-selected': String(v.id === current.id), 'data-version': String(v.version), onclick: () => select(v),
    }, h('span', { class: 'version-top' }, h('span', { class: 'mono version-num' }, `v${v.version}`), aliasChips(v.aliases)),
    h('span', { class: 'muted small' }, `${fmtNum(v.file_count)} file${v.file_count === 1 ? '' : 's'} · ${fmtBytes(v.size)} · ${fmtAgo(v.created_at)}`))));
  };

  let seq = 0;
  async function select(v) {
    current = v;
    const url = new URL(location.href);
    url.searchParams.set('version', `v${v.version}`);
    history.replaceState(null, '', url.pathname + url.search);
    drawList();
    await drawDetail(++seq);
  }

  async function drawDetail(mine) {
    const v = current;
    const vbase = `${base}/versions/${v.version}`;
    const info = h('dl', { class: 'kv' }, [
      ['Version', h('span', { class: 'mono' }, `${name}:v${v.version}`)],
      ['Aliases', v.aliases.length ? aliasChips(v.aliases) : null],
      ['Created', `${fmtTime(v.created_at)} (${fmtAgo(v.created_at)})`],
      ['Logged by', v.created_by ? h('a', { href: `/runs/${encodeURIComponent(v.created_by)}`, 'data-nav': true, 'data-role': 'logged-by' }, v.created_by) : null],
      ['Files', fmtNum(v.file_count)], ['Size', fmtBytes(v.size)],
      ['Digest', h('code', { class: 'wrap', 'data-role': 'digest' }, v.digest)],
      ['Description', v.description],
    ].filter(([, val]) => val !== null && val !== undefined && val !== '').map(([k, val]) => [h('dt', null, k), h('dd', null, val)]));
    const meta = flatten(v.metadata || {});
    const metaKeys = Object.keys(meta);
    const metaCard = h('section', { class: 'card' }, h('h2', { class: 'card-title' }, 'Metadata'), metaKeys.length
      ? h('table', { class: 'kv-table', 'data-role': 'metadata' }, h('tbody', null, metaKeys.map((k) => h('tr', null,
        h('th', null, k), h('td', { class: typeof meta[k] === 'number' ? 'num' : null }, fmtValue(meta[k]))))))
      : h('p', { class: 'muted small' }, 'No metadata.'));
    const filesBody = h('div', null, h('p', { class: 'muted small pad' }, 'Loading…'));
    const previewEl = h('div', { class: 'preview', 'data-role': 'preview', hidden: true });
    const lineageEl = h('div', { class: 'lineage-wrap' }, h('p', { class: 'muted small' }, 'Loading…'));
    clear(detailEl).append(
      h('div', { class: 'two-col tight' }, h('section', { class: 'card' }, h('h2', { class: 'card-title' }, 'Version'), info), metaCard),
      h('section', { class: 'card flush' }, h('h2', { class: 'card-title pad-title' }, 'Files'), filesBody, previewEl),
      h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Lineage'),
        h('span', { class: 'muted small' }, 'runs → the versions they logged (solid) → the runs that used them (dashed); click to open')), lineageEl));

    const [files, graph] = await Promise.all([api.get(`${vbase}/files`), api.get(`${vbase}/lineage`)]);
    if (mine !== seq) return;
    const creator = graph.nodes.find((n) => n.kind === 'run' && n.run_id === v.created_by);
    const loggedBy = detailEl.querySelector('[data-role=logged-by]');
    if (creator && loggedBy) loggedBy.textContent = creator.label;  // the run's name, not its id
    const showPreview = async (f, row) => {
      for (const r of filesBody.querySelectorAll('tr.selected')) r.classList.remove('selected');
      row.classList.add('selected');
      previewEl.hidden = false;
      clear(previewEl).append(h('div', { class: 'preview-head' }, h('span', { class: 'mono' }, f.path),
        h('button', { class: 'btn small ghost', type: 'button', onclick: () => { previewEl.hidden = true; row.classList.remove('selected'); } }, svgIcon('close'))),
      h('p', { class: 'muted small' }, 'Loading…'));
      try {
        const p = await api.get(`${vbase}/preview`, { path: f.path });
        previewEl.lastChild.replaceWith(previewNode(p));
      } catch (err) { previewEl.lastChild.textContent = err.message; }
    };
    clear(filesBody).append(files.length ? h('table', { class: 'data-table', 'data-role': 'files' },
      h('thead', null, h('tr', null, h('th', null, 'Path'), h('th', { class: 'num' }, 'Size'), h('th', null, ''))),
      h('tbody', null, files.map((f) => {
        const href = `${vbase}/files/${f.path.split('/').map(encodeURIComponent).join('/')}`;
        const row = h('tr', { 'data-path': f.path });
        row.append(h('td', { class: 'mono' }, f.path, f.ref ? h('span', { class: 'muted small' }, ' → ', f.ref) : null),
          h('td', { class: 'num' }, fmtBytes(f.size)),
          h('td', { class: 'right nowrap' },
            h('button', { class: 'btn small', type: 'button', 'data-role': 'preview-btn', onclick: () => showPreview(f, row) }, 'Preview'), ' ',
            f.ref ? null : h('a', { class: 'btn small', href: `/api/v1${href}`, download: f.path.split('/').pop() }, svgIcon('download'), 'Download')));
        return row;
      }))) : h('p', { class: 'muted small pad' }, 'No files.'));
    clear(lineageEl).append(graph.edges.length ? lineageSvg(graph, (n) => {
      if (n.kind === 'run') ctx.navigate(`/runs/${encodeURIComponent(n.run_id)}`);
      else if (n.project === project && n.name === name) select(versions.find((x) => x.version === n.version) || current);
      else ctx.navigate(artifactHref(n.project, n.name, n.version));
    }) : h('p', { class: 'muted small' }, 'No run logged or used this version (it was added outside a run).'));
  }

  drawList();
  await drawDetail(++seq);
}
