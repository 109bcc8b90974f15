// The report editor: Markdown on the left, the live preview on the right (debounced),
// snippets for each block type, save as a new revision (Ctrl/Cmd+S).
import { api } from '../api.js';
import { debounce, h, toast } from '../dom.js';
import { loadPlotly } from '../plot.js';
import { drawReport } from './report_blocks.js';

const PREVIEW_MS = 500;

const SNIPPETS = {
  chart: "```labtrack-chart\nruns: 'state == \"finished\"'   # a filter, or a list of run ids\nmetrics: [loss]\nx: step\nsmoothing: 0.6\nlog_y: false\n```\n",
  runs: '```labtrack-runs\ncolumns: [name, state, config.lr, summary.acc]\nsort: -summary.acc\nlimit: 10\n```\n',
  compare: '```labtrack-compare\nruns: [RUN_ID_1, RUN_ID_2]\n```\n',
  parcoords: "```labtrack-parcoords\nruns: 'state == \"finished\"'\nmetric: acc\n```\n",
  sweep: '```labtrack-sweep\nsweep: SWEEP_ID\n```\n',
  artifact: '```labtrack-artifact\nartifact: NAME:latest\n```\n',
  math: '$$\n\\mathrm{acc} = \\frac{\\text{correct}}{\\text{total}}\n$$\n',
};

const BLANK = '## Question\n\nWhat did we want to find out?\n\n## Results\n\n' + SNIPPETS.runs + '\n## Conclusion\n\n';

function insertAtCursor(area, text) {
  const start = area.selectionStart;
  const before = area.value.slice(0, start);
  const lead = before && !before.endsWith('\n\n') ? (before.endsWith('\n') ? '\n' : '\n\n') : '';
  area.setRangeText(lead + text, start, area.selectionEnd, 'end');
  area.dispatchEvent(new Event('input'));
  area.focus();
}

// opts: { id } to edit a report, or { project } for a new one (?runs=a,b&from=compare pre-fills)
export async function reportEditorPage(ctx, opts) {
  ctx.main.dataset.page = 'report-editor';
  ctx.main.classList.add('wide');
  ctx.onCleanup(() => ctx.main.classList.remove('wide'));
  loadPlotly().catch(() => {});
  let report = null;
  let project = opts.project;
  let title = '';
  let body = BLANK;
  if (opts.id) {
    report = await api.get(`/reports/${encodeURIComponent(opts.id)}`);
    project = report.project;
    title = report.title;
    body = report.body;
  } else {
    const runs = (ctx.query.get('runs') || '').split(',').map((s) => s.trim()).filter(Boolean);
    if (runs.length) {
      const start = await api.post(`/projects/${encodeURIComponent(project)}/reports/starter`,
        { runs, source: ctx.query.get('from') === 'compare' ? 'compare' : 'runs' });
      title = start.title;
      body = start.body;
    } else {
      await api.get(`/projects/${encodeURIComponent(project)}`); // 404 for an unknown project
    }
  }
  const penc = encodeURIComponent(project);
  document.title = `${report ? 'Edit ' + report.title : 'New report'} · labtrack`;
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: project, href: `/projects/${penc}` },
    { label: 'Reports', href: `/projects/${penc}/reports` },
    report ? { label: report.title, href: `/reports/${encodeURIComponent(report.id)}` } : null,
    { label: report ? 'Edit' : 'New' });

  const titleInput = h('input', { class: 'input report-title-input', type: 'text', value: title, maxlength: '300',
    placeholder: 'Report title', 'aria-label': 'Title', 'data-role': 'report-title-input' });
  const area = h('textarea', { class: 'input report-source', spellcheck: 'false', 'aria-label': 'Markdown',
    'data-role': 'report-source' });
  area.value = body;
  const insert = h('select', { class: 'select', 'aria-label': 'Insert a block', 'data-role': 'insert-block' },
    h('option', { value: '' }, 'Insert block…'),
    Object.keys(SNIPPETS).map((k) => h('option', { value: k }, k === 'math' ? 'math ($$)' : `labtrack-${k}`)));
  insert.addEventListener('change', () => {
    if (insert.value) insertAtCursor(area, SNIPPETS[insert.value]);
    insert.value = '';
  });
  const status = h('span', { class: 'muted small', 'data-role': 'preview-status' }, '');
  const saveBtn = h('button', { class: 'btn primary', type: 'button', 'data-role': 'save-report' }, report ? 'Save' : 'Create report');
  const cancel = h('a', { class: 'btn ghost', href: report ? `/reports/${encodeURIComponent(report.id)}` : `/projects/${penc}/reports`, 'data-nav': true }, 'Cancel');
  const preview = h('article', { class: 'report-body report-preview', 'data-role': 'report-preview' });
  ctx.main.append(
    h('div', { class: 'editor-head' }, titleInput, h('div', { class: 'toolbar-right' }, status, insert, cancel, saveBtn)),
    h('div', { class: 'editor-panes' },
      h('div', { class: 'editor-pane' }, h('div', { class: 'pane-label' }, 'Markdown'), area,
        h('p', { class: 'muted small editor-help' }, 'Live blocks: fenced code with labtrack-chart, -runs, -compare, -parcoords, -sweep or -artifact and YAML inside. Math: $x^2$ and $$…$$.')),
      h('div', { class: 'editor-pane' }, h('div', { class: 'pane-label' }, 'Preview'), preview)));

  let ticket = 0;
  let dirty = false;
  async function refresh() {
    const mine = ++ticket;
    status.textContent = 'Rendering…';
    try {
      const rendered = await api.post(`/projects/${penc}/reports/preview`, { body: area.value });
      if (mine !== ticket) return;
      const scroll = preview.scrollTop;
      await drawReport(preview, rendered, { links: true });
      preview.scrollTop = scroll;
      if (mine === ticket) status.textContent = 'Preview up to date';
    } catch (err) {
      if (mine === ticket) status.textContent = `Preview failed: ${err.message}`;
    }
  }
  const later = debounce(refresh, PREVIEW_MS);
  area.addEventListener('input', () => { dirty = true; status.textContent = 'Editing…'; later(); });
  titleInput.addEventListener('input', () => { dirty = true; });

  async function save() {
    const t = titleInput.value.trim();
    if (!t) { toast('Give the report a title.', 'error'); titleInput.focus(); return; }
    saveBtn.disabled = true;
    try {
      const saved = report
        ? await api.put(`/reports/${encodeURIComponent(report.id)}`, { title: t, body: area.value, base_revision: report.revision })
        : await api.post(`/projects/${penc}/reports`, { title: t, body: area.value });
      dirty = false;
      toast(report && saved.revision === report.revision ? 'No changes to save' : `Saved revision ${saved.revision}`, 'ok');
      ctx.navigate(`/reports/${encodeURIComponent(saved.id)}`);
    } catch (err) {
      toast(err.message, 'error');
    } finally {
      saveBtn.disabled = false;
    }
  }
  saveBtn.addEventListener('click', save);
  const onKey = (e) => {
    if ((e.ctrlKey || e.metaKey) && e.key === 's') { e.preventDefault(); save(); }
  };
  const onLeave = (e) => { if (dirty) { e.preventDefault(); e.returnValue = ''; } };
  document.addEventListener('keydown', onKey);
  window.addEventListener('beforeunload', onLeave);
  ctx.onCleanup(() => {
    ticket++;
    document.removeEventListener('keydown', onKey);
    window.removeEventListener('beforeunload', onLeave);
  });
  if (!report && !titleInput.value) titleInput.focus();
  await refresh();
}
