// A report: its rendered body with live blocks, export, and the revision history with restore.
import { api } from '../api.js';
import { clear, fmtAgo, fmtTime, h, modal, svgIcon, toast } from '../dom.js';
import { loadPlotly } from '../plot.js';
import { drawReport } from './report_blocks.js';

function metaLine(report) {
  const who = report.updated_by || report.author;
  return [who ? `${who} · ` : '', `updated ${fmtAgo(report.updated_at)}`, ` · revision ${report.revision}`].join('');
}

export async function reportPage(ctx, reportId) {
  const enc = encodeURIComponent(reportId);
  ctx.main.dataset.page = 'report';
  loadPlotly().catch(() => {}); // compiles while the server renders the blocks
  const [report, rendered] = await Promise.all([api.get(`/reports/${enc}`), api.get(`/reports/${enc}/rendered`)]);
  const penc = encodeURIComponent(report.project);
  document.title = `${report.title} · labtrack`;
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: report.project, href: `/projects/${penc}` },
    { label: 'Reports', href: `/projects/${penc}/reports` }, { label: report.title });

  const historyBtn = h('button', { class: 'btn', type: 'button', 'data-role': 'history', 'aria-expanded': 'false' }, 'History');
  const deleteBtn = h('button', { class: 'btn ghost icon-only', type: 'button', title: 'Delete this report', 'data-role': 'delete-report' }, svgIcon('trash'));
  ctx.main.append(h('div', { class: 'page-head report-head' },
    h('div', null, h('h1', { class: 'report-title', 'data-role': 'report-title' }, report.title),
      h('p', { class: 'muted report-meta', title: fmtTime(report.updated_at) }, metaLine(report))),
    h('div', { class: 'head-actions' },
      h('a', { class: 'btn primary', href: `/reports/${enc}/edit`, 'data-nav': true, 'data-role': 'edit-report' }, svgIcon('edit'), 'Edit'),
      historyBtn,
      h('a', { class: 'btn', href: `/api/v1/reports/${enc}/export.html`, download: '', 'data-role': 'export-html',
        title: 'One HTML file with the charts and data inside: opens without a server' }, svgIcon('download'), 'HTML'),
      deleteBtn)));

  const banner = h('div', { class: 'note report-banner', hidden: true, 'data-role': 'revision-banner' });
  const article = h('article', { class: 'report-body', 'data-role': 'report-body' });
  const history = h('aside', { class: 'card report-history', hidden: true, 'data-role': 'history-panel' });
  ctx.main.append(h('div', { class: 'report-layout' }, h('div', { class: 'report-main' }, banner, article), history));
  await drawReport(article, rendered, { links: true });

  let revisions = [];
  async function showCurrent() {
    banner.hidden = true;
    await drawReport(article, rendered, { links: true });
    markViewing(report.revision);
  }

  function markViewing(number) {
    for (const row of history.querySelectorAll('[data-revision]')) {
      row.classList.toggle('viewing', Number(row.dataset.revision) === number);
    }
  }

  async function viewRevision(rev) {
    if (rev.number === report.revision) { await showCurrent(); return; }
    const full = await api.get(`/reports/${enc}/revisions/${rev.number}`);
    const old = await api.post(`/projects/${penc}/reports/preview`, { body: full.body });
    clear(banner).append(h('span', null, `Viewing revision ${rev.number} of ${report.revision} (${fmtTime(rev.created_at)}`,
      rev.title !== report.title ? `, titled “${rev.title}”` : '', ').'),
    h('span', { class: 'banner-actions' },
      h('button', { class: 'btn small primary', type: 'button', 'data-role': 'restore-revision', onclick: () => restore(rev) }, 'Restore this revision'),
      h('button', { class: 'btn small', type: 'button', onclick: showCurrent }, 'Back to current')));
    banner.hidden = false;
    await drawReport(article, old, { links: true });
    markViewing(rev.number);
  }

  async function restore(rev) {
    const choice = await modal({ title: 'Restore revision', body: h('p', null,
      `Make revision ${rev.number} the current text? The current text stays in the history as revision ${report.revision}.`),
    actions: [{ label: 'Cancel', value: null }, { label: 'Restore', value: 'restore', kind: 'primary' }] });
    if (choice !== 'restore') return;
    try {
      await api.post(`/reports/${enc}/revisions/${rev.number}/restore`);
      toast(`Restored revision ${rev.number}`, 'ok');
      ctx.navigate(`/reports/${enc}`, true);
    } catch (err) { toast(err.message, 'error'); }
  }

  async function loadHistory() {
    revisions = await api.get(`/reports/${enc}/revisions`);
    clear(history).append(h('h2', { class: 'card-title' }, 'History'),
      h('ol', { class: 'revisions', 'data-role': 'revisions' }, revisions.map((rev) => h('li', {
        class: `revision${rev.number === report.revision ? ' current viewing' : ''}`, 'data-revision': String(rev.number) },
      h('button', { class: 'revision-open', type: 'button', onclick: () => viewRevision(rev).catch((e) => toast(e.message, 'error')) },
        h('span', { class: 'revision-num' }, `#${rev.number}`),
        h('span', { class: 'revision-when', title: fmtTime(rev.created_at) }, fmtAgo(rev.created_at)),
        h('span', { class: 'revision-who muted' }, rev.author || ''),
        rev.message ? h('span', { class: 'revision-msg muted small' }, rev.message) : null),
      rev.number === report.revision ? h('span', { class: 'badge state-finished' }, 'current')
        : h('button', { class: 'btn small ghost', type: 'button', 'data-role': 'restore', title: `Restore revision ${rev.number}`, onclick: () => restore(rev) }, 'Restore')))));
  }

  historyBtn.addEventListener('click', async () => {
    const open = history.hidden;
    history.hidden = !open;
    historyBtn.setAttribute('aria-expanded', String(open));
    if (open) await loadHistory().catch((err) => toast(err.message, 'error'));
  });
  deleteBtn.addEventListener('click', async () => {
    const choice = await modal({ title: 'Delete report', body: h('p', null, `Delete “${report.title}” and all ${report.revision} of its revisions?`),
      actions: [{ label: 'Cancel', value: null }, { label: 'Delete', value: 'delete', kind: 'danger' }] });
    if (choice !== 'delete') return;
    await api.del(`/reports/${enc}`);
    toast('Report deleted', 'ok');
    ctx.navigate(`/projects/${penc}/reports`);
  });
  if (ctx.query.get('history') === '1') historyBtn.click();
  ctx.onCleanup(() => {
    if (window.Plotly) for (const el of article.querySelectorAll('.js-plotly-plot')) window.Plotly.purge(el);
  });
}
