// The run page: overview, config, summary, metric and system charts, console output, files,
// and the edits (rename, tags, notes, favourite, delete).
import { api } from '../api.js';
import {
  append, clear, emptyState, flatten, fmtBytes, fmtDuration, fmtTime, fmtValue, h, modal, stateBadge,
  svgIcon, tabs, toast,
} from '../dom.js';
import { chartControls, chartGrid, colourMap } from '../plot.js';
import { runArtifactsTab } from './artifacts.js';
import { mediaTab } from './media.js';

const POLL_MS = 1500;
const CONSOLE_PREFIX = 'console/';

function kv(rows) {
  return h('dl', { class: 'kv' }, rows.filter(([, v]) => v !== null && v !== undefined && v !== '')
    .map(([k, v]) => [h('dt', null, k), h('dd', null, v)]));
}

function valueTable(obj, emptyText, role) {
  const flat = flatten(obj || {});
  const keys = Object.keys(flat);
  if (!keys.length) return h('p', { class: 'muted small' }, emptyText);
  return h('table', { class: 'kv-table', 'data-role': role }, h('tbody', null, keys.map((k) =>
    h('tr', null, h('th', null, k), h('td', { class: typeof flat[k] === 'number' ? 'num' : '' }, fmtValue(flat[k]))))));
}

function card(title, ...content) {
  return h('section', { class: 'card' }, title ? h('h2', { class: 'card-title' }, title) : null, content);
}

function diffView(text) {
  return h('pre', { class: 'code diff', 'data-role': 'diff' }, text.split('\n').map((line) => h('span', {
    class: line.startsWith('+') && !line.startsWith('+++') ? 'add'
      : line.startsWith('-') && !line.startsWith('---') ? 'del' : line.startsWith('@@') ? 'hunk' : '',
  }, line + '\n')));
}

export async function runPage(ctx, runId) {
  const enc = encodeURIComponent(runId);
  let run = await api.get(`/runs/${enc}`);
  const [series, files, mediaKeys, arts] = await Promise.all([api.get(`/runs/${enc}/series`), api.get(`/runs/${enc}/files`),
    api.get(`/runs/${enc}/media`), api.get(`/runs/${enc}/artifacts`).catch(() => ({ logged: [], used: [] }))]);
  ctx.main.dataset.page = 'run';
  const consoleFiles = files.filter((f) => f.path.startsWith(CONSOLE_PREFIX));
  let tab = new URLSearchParams(location.search).get('tab') || 'overview';
  let destroyed = false;
  let grid = null;
  let timer = null;

  const header = h('div', { class: 'page-head run-head' });
  const tabBar = h('div');
  const body = h('div', { class: 'tab-body' });
  ctx.main.append(header, tabBar, body);

  function renderHeader() {
    document.title = `${run.name} · labtrack`;
    ctx.setCrumbs({ label: 'Projects', href: '/' },
      { label: run.project, href: `/projects/${encodeURIComponent(run.project)}` }, { label: run.name });
    const star = h('button', { class: `star big${run.favorite ? ' on' : ''}`, type: 'button', 'data-role': 'favorite',
      title: run.favorite ? 'Unmark favourite' : 'Mark favourite', 'aria-pressed': String(run.favorite),
      onclick: () => edit({ favorite: !run.favorite }) }, svgIcon('star'));
    clear(header).append(
      h('div', { class: 'run-title' },
        h('div', { class: 'title-line' }, star, h('h1', { 'data-role': 'run-name' }, run.name), stateBadge(run.state),
          h('button', { class: 'btn ghost icon-only', type: 'button', title: 'Rename', 'data-role': 'rename', onclick: rename }, svgIcon('edit'))),
        h('p', { class: 'muted run-sub' },
          h('span', { class: 'mono' }, run.id), ' · ', h('a', { href: `/projects/${encodeURIComponent(run.project)}`, 'data-nav': true }, run.project),
          ' · created ', fmtTime(run.created_at), ' · ', fmtDuration(run.duration),
          run.state === 'running' ? ' so far' : '')),
      h('div', { class: 'head-actions' },
        h('a', { class: 'btn', href: `/compare?runs=${enc}`, 'data-nav': true, title: 'Open in compare (add runs there)' }, svgIcon('compare'), 'Compare'),
        h('button', { class: 'btn danger', type: 'button', 'data-role': 'delete', onclick: remove }, svgIcon('trash'), 'Delete')));
  }

  async function edit(fields) {
    try {
      run = await api.patch(`/runs/${enc}`, fields);
      renderHeader();
      if (tab === 'overview') renderTab();
    } catch (err) { toast(err.message, 'error'); }
  }

  async function rename() {
    const input = h('input', { class: 'input', type: 'text', value: run.name, maxlength: '300', 'data-role': 'rename-input' });
    const choice = await modal({ title: 'Rename run', body: input,
      actions: [{ label: 'Cancel', value: null }, { label: 'Rename', value: 'ok', kind: 'primary' }] });
    if (choice === 'ok' && input.value.trim() && input.value.trim() !== run.name) await edit({ name: input.value.trim() });
  }

  async function remove() {
    const choice = await modal({ title: 'Delete run', body: h('div', null,
      h('p', null, 'Delete ', h('strong', null, run.name), ' and everything logged for it?'),
      h('p', { class: 'muted small' }, 'Its metrics, files and run log are removed. This cannot be undone.')),
    actions: [{ label: 'Cancel', value: null }, { label: 'Delete run', value: 'delete', kind: 'danger' }] });
    if (choice !== 'delete') return;
    try {
      await api.del(`/runs/${enc}`);
      toast(`Deleted ${run.name}`, 'ok');
      ctx.navigate(`/projects/${encodeURIComponent(run.project)}`);
    } catch (err) { toast(err.message, 'error'); }
  }

  const chartOpts = { x: 'default', xKey: null, smoothing: 0, log: false };
  const systemOpts = { x: 'relative', xKey: null, smoothing: 0, log: false };
  let metricKeys = [];
  let systemKeys = [];
  let tabItems = [];
  function setSeries(list) {
    metricKeys = list.filter((s) => !s.key.startsWith('system/') && s.count).map((s) => s.key);
    systemKeys = list.filter((s) => s.key.startsWith('system/') && s.count).map((s) => s.key);
    tabItems = [['overview', 'Overview'], ['charts', `Charts (${metricKeys.length})`]];
    if (systemKeys.length) tabItems.push(['system', 'System']);
    if (mediaKeys.length) tabItems.push(['media', `Media (${mediaKeys.length})`]);
    if (arts.logged.length || arts.used.length) tabItems.push(['artifacts', `Artifacts (${arts.logged.length + arts.used.length})`]);
    if (consoleFiles.length) tabItems.push(['logs', 'Logs']);
    tabItems.push(['files', `Files (${files.length})`]);
    if (!tabItems.some(([id]) => id === tab)) tab = 'overview';
  }
  setSeries(series);

  function selectTab(id) {
    tab = id;
    const url = new URL(location.href);
    if (id === 'overview') url.searchParams.delete('tab'); else url.searchParams.set('tab', id);
    history.replaceState(null, '', url.pathname + url.search);
    renderTab();
  }

  function renderTab() {
    clear(tabBar).append(tabs(tabItems, tab, selectTab));
    if (grid) { grid.destroy(); grid = null; }
    clear(body);
    if (tab === 'overview') overview();
    else if (tab === 'charts') charts(metricKeys, chartOpts, 'This run has no metrics yet.');
    else if (tab === 'system') charts(systemKeys, systemOpts, 'No system metrics.');
    else if (tab === 'logs') logs();
    else if (tab === 'media') grid = mediaTab(body, run.id, mediaKeys);
    else if (tab === 'artifacts') runArtifactsTab(body, arts);
    else files_();
  }

  function overview() {
    const env = run.environment || {};
    const git = env.git || {};
    const cmd = env.command || {};
    const machine = env.machine || {};
    const argv = Array.isArray(cmd.orig_argv) ? cmd.orig_argv : (Array.isArray(cmd.argv) ? cmd.argv : null);
    const info = kv([
      ['State', stateBadge(run.state)],
      ['Created', fmtTime(run.created_at)],
      ['Duration', fmtDuration(run.duration)],
      ['Host', run.host || machine.hostname],
      ['User', run.owner],
      ['Group', run.group], ['Job type', run.job_type], ['Sweep', run.sweep_id],
      ['Exit code', run.exit_code === null ? null : String(run.exit_code)],
      ['Last step', String(run.step)],
      ['Command', argv ? h('code', { class: 'wrap', 'data-role': 'command' }, argv.join(' ')) : null],
      ['Working dir', cmd.cwd ? h('code', null, cmd.cwd) : null],
      ['Python', cmd.python ? `${cmd.implementation || 'Python'} ${cmd.python}` : null],
      ['Git commit', git.commit ? h('code', { 'data-role': 'git-commit' }, git.commit) : null],
      ['Branch', git.branch], ['Remote', git.remote],
      ['Working tree', git.available ? (git.dirty ? 'uncommitted changes' : 'clean') : null],
      ['OS', machine.os ? `${machine.os} ${machine.os_release || ''}` : null],
      ['CPU', machine.cpu_model || machine.cpu],
    ]);
    const tagInput = h('input', { class: 'input tag-input', type: 'text', placeholder: 'add tag, Enter', 'data-role': 'tag-input' });
    tagInput.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' && tagInput.value.trim()) edit({ tags: [...run.tags, tagInput.value.trim()] });
    });
    const tagsCard = card('Tags', h('div', { class: 'tag-editor', 'data-role': 'tags' },
      run.tags.map((t) => h('span', { class: 'tag removable' }, t, h('button', { type: 'button', class: 'tag-x',
        title: `Remove ${t}`, onclick: () => edit({ tags: run.tags.filter((x) => x !== t) }) }, '×'))), tagInput));
    const notesBody = h('div', { class: 'notes', 'data-role': 'notes' });
    const renderNotes = () => {
      clear(notesBody);
      if (run.notes_html) {
        // notes_html is rendered by the server with raw HTML disabled and sanitised (nh3)
        const doc = new DOMParser().parseFromString(run.notes_html, 'text/html');
        notesBody.append(...doc.body.childNodes);
      } else notesBody.append(h('p', { class: 'muted small' }, 'No notes. Markdown is supported.'));
    };
    renderNotes();
    const editNotes = h('button', { class: 'btn small', type: 'button', 'data-role': 'edit-notes', onclick: () => {
      const area = h('textarea', { class: 'input notes-area', rows: '8', 'data-role': 'notes-input' });
      area.value = run.notes || '';
      clear(notesBody).append(area, h('div', { class: 'row-actions' },
        h('button', { class: 'btn', type: 'button', onclick: renderNotes }, 'Cancel'),
        h('button', { class: 'btn primary', type: 'button', 'data-role': 'save-notes', onclick: () => edit({ notes: area.value }) }, 'Save')));
      area.focus();
    } }, svgIcon('edit'), 'Edit');
    const notesCard = h('section', { class: 'card' }, h('div', { class: 'card-head' }, h('h2', { class: 'card-title' }, 'Notes'), editNotes), notesBody);

    const left = h('div', { class: 'col' }, card('Run', info), tagsCard, notesCard);
    if (run.error) left.append(card('Error', h('pre', { class: 'code error-text' }, run.error)));
    const right = h('div', { class: 'col' }, card('Config', valueTable(run.config, 'No config.', 'config')),
      card('Summary', valueTable(run.summary, 'No summary metrics yet.', 'summary')));
    body.append(h('div', { class: 'two-col' }, left, right));

    const diffFile = git.diff_file || (files.find((f) => f.path === 'code/uncommitted.diff') || {}).path;
    if (diffFile) {
      const holder = h('div', null, h('p', { class: 'muted small' }, 'Loading…'));
      const details = h('details', { class: 'card details' }, h('summary', null, 'Uncommitted changes (git diff)'), holder);
      details.addEventListener('toggle', async () => {
        if (!details.open || holder.dataset.loaded) return;
        holder.dataset.loaded = '1';
        try { clear(holder).append(diffView(await api.text(`/runs/${enc}/files/${diffFile.split('/').map(encodeURIComponent).join('/')}?inline=1`))); } catch (err) { clear(holder).append(err.message); }
      });
      body.append(details);
    }
    const packages = env.packages && typeof env.packages === 'object' ? Object.entries(env.packages) : [];
    if (packages.length) {
      const filter = h('input', { class: 'input', type: 'search', placeholder: 'Filter packages' });
      const tbody = h('tbody');
      const fill = () => {
        const q = filter.value.toLowerCase();
        append(clear(tbody), packages.filter(([n]) => !q || n.toLowerCase().includes(q))
          .map(([n, v]) => h('tr', null, h('th', null, n), h('td', { class: 'mono' }, String(v)))));
      };
      filter.addEventListener('input', fill);
      fill();
      body.append(h('details', { class: 'card details' }, h('summary', null, `Python packages (${packages.length})`),
        filter, h('table', { class: 'kv-table' }, tbody)));
    }
  }

  async function charts(keys, opts, emptyText) {
    if (!keys.length) { body.append(emptyState(emptyText)); return; }
    const runs = { [run.id]: { name: run.name, state: run.state } };
    const colours = colourMap([run.id]);
    const gridEl = h('div', { class: 'chart-grid', 'data-role': 'chart-grid' });
    body.append(h('div', { class: 'toolbar' }, chartControls(metricKeys, opts, (o) => {
      Object.assign(opts, o);
      if (grid) grid.update(o);
    })), gridEl);
    grid = chartGrid(gridEl, [run.id], keys, runs, colours, opts);
  }

  async function logs() {
    const pick = consoleFiles.find((f) => f.path === 'console/output.log') || consoleFiles[0];
    const pre = h('pre', { class: 'code console', 'data-role': 'console' }, 'Loading…');
    body.append(h('div', { class: 'toolbar' }, h('span', { class: 'muted' }, pick.path, ' · ', fmtBytes(pick.size)),
      h('a', { class: 'btn small', href: `/api/v1/runs/${enc}/files/${pick.path.split('/').map(encodeURIComponent).join('/')}` }, svgIcon('download'), 'Download')), pre);
    try {
      pre.textContent = await api.text(`/runs/${enc}/files/${pick.path.split('/').map(encodeURIComponent).join('/')}?inline=1`);
    } catch (err) { pre.textContent = err.message; }
  }

  function files_() {
    if (!files.length) { body.append(emptyState('No files', 'Files saved with run.save() or logged media appear here.')); return; }
    body.append(h('div', { class: 'card flush' }, h('table', { class: 'data-table', 'data-role': 'files' },
      h('thead', null, h('tr', null, h('th', null, 'Name'), h('th', { class: 'num' }, 'Size'), h('th', null, 'Added'), h('th', null, ''))),
      h('tbody', null, files.map((f) => h('tr', null, h('td', { class: 'mono' }, f.path), h('td', { class: 'num' }, fmtBytes(f.size)),
        h('td', null, fmtTime(f.created_at)),
        h('td', { class: 'right' }, h('a', { class: 'btn small', href: `/api/v1/runs/${enc}/files/${f.path.split('/').map(encodeURIComponent).join('/')}`, download: true }, svgIcon('download'), 'Download'))))))));
  }

  renderHeader();
  renderTab();

  // live: while the run is running, refresh its state and charts
  const poll = async () => {
    if (destroyed) return;
    try {
      const [fresh] = await api.get('/live', { runs: run.id });
      if (fresh && (fresh.state !== run.state || fresh.state === 'running')) {
        const wasRunning = run.state === 'running';
        Object.assign(run, fresh);
        const badge = header.querySelector('.badge');
        if (badge) badge.replaceWith(stateBadge(run.state));
        // a live run may start logging new metrics: their charts appear too
        const fresher = await api.get(`/runs/${enc}/series`);
        const before = [...metricKeys, ...systemKeys].join('\n');
        setSeries(fresher);
        if ([...metricKeys, ...systemKeys].join('\n') === before) {
          if (grid) await grid.refresh();
        } else if (tab === 'charts' || tab === 'system') renderTab();
        else clear(tabBar).append(tabs(tabItems, tab, selectTab));
        if (wasRunning && run.state !== 'running') { run = await api.get(`/runs/${enc}`); renderHeader(); }
      }
    } catch (e) { /* retry next tick */ }
    if (!destroyed) timer = setTimeout(poll, POLL_MS);
  };
  if (run.state === 'running') timer = setTimeout(poll, POLL_MS);
  ctx.onCleanup(() => { destroyed = true; clearTimeout(timer); if (grid) grid.destroy(); });
}
