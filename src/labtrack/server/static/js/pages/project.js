// A project: the runs table tab and the charts tab, sharing the selection and view state.
import { api } from '../api.js';
import { fmtNum, h } from '../dom.js';
import { runsTab } from './runs_table.js';
import { chartsTab } from './project_charts.js';
import { artifactsTab } from './artifacts.js';
import { sweepsTab } from './sweep.js';
import { reportsTab } from './reports.js';

const DEFAULT_FIELDS = ['name', 'state', 'created_at', 'duration', 'tags'];

function storageKey(kind, project) { return `labtrack.${kind}.${project}`; }

// metrics people look for first; then the rest in name order
const METRIC_HINT = /(acc|loss|err|score|f1|auc|bleu|rouge|reward|return|map|iou|ppl|perplex)/i;
const NOT_A_METRIC = /^(_|epoch$|step$|lr$|learning_rate$|global_step$)/;

function defaultColumns(columns) {
  const varying = columns.varying || [];
  const config = [...varying, ...columns.config.filter((k) => !varying.includes(k))]
    .slice(0, 4).map((k) => 'config.' + k);
  const metrics = columns.summary.filter((k) => !NOT_A_METRIC.test(k));
  const ranked = [...metrics.filter((k) => METRIC_HINT.test(k)), ...metrics.filter((k) => !METRIC_HINT.test(k))];
  return [...DEFAULT_FIELDS, ...config, ...ranked.slice(0, 4).map((k) => 'summary.' + k)];
}

// The state of a project's page, kept in localStorage (and in the URL for the filter).
export class ProjectState {
  constructor(project, columns) {
    this.project = project;
    this.available = columns;
    let saved = {};
    try { saved = JSON.parse(localStorage.getItem(storageKey('view', project)) || '{}'); } catch (e) { saved = {}; }
    this.columns = saved.columns || defaultColumns(columns);
    this.filter = saved.filter || '';
    this.order = saved.order || null;
    this.groupBy = saved.groupBy || null;
    this.limit = saved.limit || 50;
    this.offset = 0;
    this.charts = saved.charts || { x: 'default', xKey: null, smoothing: 0, log: false };
    this.viewId = saved.viewId || null;
    let sel = [];
    try { sel = JSON.parse(sessionStorage.getItem(storageKey('selection', project)) || '[]'); } catch (e) { sel = []; }
    this.selection = Array.isArray(sel) ? sel : [];
    const q = new URLSearchParams(location.search);
    if (q.has('filter')) this.filter = q.get('filter');
  }

  save() {
    if (!this.available.fields.length) {  // opened on the charts tab: keep the table's columns
      let saved = {};
      try { saved = JSON.parse(localStorage.getItem(storageKey('view', this.project)) || '{}'); } catch (e) { saved = {}; }
      this.columns = saved.columns || this.columns;
    }
    localStorage.setItem(storageKey('view', this.project), JSON.stringify({
      columns: this.columns, filter: this.filter, order: this.order, groupBy: this.groupBy,
      limit: this.limit, charts: this.charts, viewId: this.viewId,
    }));
    sessionStorage.setItem(storageKey('selection', this.project), JSON.stringify(this.selection));
  }

  spec() {
    return { columns: this.columns, filter: this.filter, order: this.order, group_by: this.groupBy,
      group_metrics: this.columns.filter((c) => c.startsWith('summary.')), charts: this.charts };
  }

  applySpec(spec) {
    this.columns = spec.columns && spec.columns.length ? spec.columns : defaultColumns(this.available);
    this.filter = spec.filter || '';
    this.order = spec.order || null;
    this.groupBy = spec.group_by || null;
    this.charts = Object.assign({ x: 'default', xKey: null, smoothing: 0, log: false }, spec.charts || {});
    this.offset = 0;
  }

  toggle(id, on) {
    const i = this.selection.indexOf(id);
    if (on && i < 0) this.selection.push(id);
    if (!on && i >= 0) this.selection.splice(i, 1);
    this.save();
  }
}

function prefetchCharts(project) {
  let ids = [];
  try { ids = JSON.parse(sessionStorage.getItem(storageKey('selection', project)) || '[]'); } catch (e) { ids = []; }
  if (!Array.isArray(ids) || !ids.length) return null;
  const live = api.get('/live', { runs: ids.join(',') });
  const keys = api.post('/metrics/keys', { runs: ids });
  live.catch(() => {});
  keys.catch(() => {});
  return { ids, live, keys };
}

export async function projectPage(ctx, project, tab) {
  const enc = encodeURIComponent(project);
  // the charts tab needs no column list, and asks for its runs' data at once
  const emptyColumns = { fields: [], config: [], summary: [] };
  const prefetch = tab === 'charts' ? prefetchCharts(project) : null;
  const [info, columns] = await Promise.all([api.get(`/projects/${enc}`),
    tab !== 'runs' ? emptyColumns : api.get(`/projects/${enc}/columns`)]);
  document.title = `${project} · labtrack`;
  ctx.setCrumbs({ label: 'Projects', href: '/' }, { label: project });
  ctx.main.dataset.page = `project-${tab}`;
  const state = new ProjectState(project, columns);

  const tabLink = (id, label, href) => h('a', {
    class: `tab${id === tab ? ' active' : ''}`, href, 'data-nav': true, 'data-tab': id,
    'aria-selected': String(id === tab), role: 'tab' }, label);
  ctx.main.append(h('div', { class: 'page-head' },
    h('div', null, h('h1', { class: 'project-title' }, project),
      h('p', { class: 'muted' }, `${fmtNum(info.run_count)} run${info.run_count === 1 ? '' : 's'}`,
        info.running ? ` · ${info.running} running` : '')),
  ), h('div', { class: 'tabs', role: 'tablist' },
    tabLink('runs', 'Runs', `/projects/${enc}`),
    tabLink('charts', 'Charts', `/projects/${enc}/charts`),
    tabLink('artifacts', 'Artifacts', `/projects/${enc}/artifacts`),
    tabLink('sweeps', 'Sweeps', `/projects/${enc}/sweeps`),
    tabLink('reports', 'Reports', `/projects/${enc}/reports`)));
  const body = h('div', { class: 'tab-body' });
  ctx.main.append(body);
  if (tab === 'charts') await chartsTab(ctx, body, state, prefetch);
  else if (tab === 'artifacts') await artifactsTab(ctx, body, project);
  else if (tab === 'sweeps') await sweepsTab(ctx, body, project);
  else if (tab === 'reports') await reportsTab(ctx, body, project);
  else await runsTab(ctx, body, state);
}
