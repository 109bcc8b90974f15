// A project's reports tab: every report with its author, last change and revision count.
import { api } from '../api.js';
import { emptyState, fmtAgo, fmtTime, h } from '../dom.js';

export async function reportsTab(ctx, body, project) {
  const enc = encodeURIComponent(project);
  ctx.main.dataset.page = 'project-reports';
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: project, href: `/projects/${enc}` }, { label: 'Reports' });
  const reports = await api.get(`/projects/${enc}/reports`);
  const newBtn = h('a', { class: 'btn primary', href: `/projects/${enc}/reports/new`, 'data-nav': true, 'data-role': 'new-report' }, '+ New report');
  body.append(h('div', { class: 'toolbar' },
    h('p', { class: 'muted small report-hint' }, 'Markdown write-ups with live charts and tables from this project. ',
      'Select runs in the Runs tab and press Report to start one about them.'),
    h('div', { class: 'toolbar-right' }, newBtn)));
  if (!reports.length) {
    body.append(emptyState('No reports yet',
      'A report is Markdown with live blocks: ```labtrack-chart, ```labtrack-runs, ```labtrack-compare ...',
      'Share it as one HTML file that opens anywhere.'));
    return;
  }
  body.append(h('div', { class: 'table-wrap' }, h('table', { class: 'runs-table', 'data-role': 'reports-table' },
    h('thead', null, h('tr', null, h('th', null, 'Title'), h('th', null, 'Author'), h('th', null, 'Last change'),
      h('th', null, 'Created'), h('th', null, 'Revisions'))),
    h('tbody', null, reports.map((r) => h('tr', { 'data-report': r.id },
      h('td', null, h('a', { class: 'run-link', href: `/reports/${encodeURIComponent(r.id)}`, 'data-nav': true }, r.title)),
      h('td', null, r.author || ''),
      h('td', { title: fmtTime(r.updated_at) }, fmtAgo(r.updated_at), r.updated_by && r.updated_by !== r.author ? ` by ${r.updated_by}` : ''),
      h('td', null, fmtTime(r.created_at)),
      h('td', null, String(r.revision))))))));
}
