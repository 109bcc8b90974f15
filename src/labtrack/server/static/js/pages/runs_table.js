// The runs table: server-side paging, sorting and filtering, column chooser, group-by,
// saved views, selection for charts and compare, live states.
import { api, ApiError } from '../api.js';
import {
  append, clear, debounce, fieldPath, fmtDuration, fmtNum, fmtTime, fmtValue, h, modal, quote,
  stateBadge, svgIcon, tagChips, toast,
} from '../dom.js';

const FIELD_LABELS = {
  name: 'Name', state: 'State', created_at: 'Created', duration: 'Duration', tags: 'Tags',
  group: 'Group', job_type: 'Job type', host: 'Host', owner: 'User', sweep_id: 'Sweep',
  step: 'Step', exit_code: 'Exit code', favorite: 'Favourite', notes: 'Notes', id: 'ID',
};
const GROUP_FIELDS = ['group', 'job_type', 'state', 'host'];
const POLL_MS = 2000;

function columnLabel(col) {
  if (col.startsWith('config.')) return [col.slice(7), 'config'];
  if (col.startsWith('summary.')) return [col.slice(8), 'summary'];
  return [FIELD_LABELS[col] || col, null];
}

// The API's sort parameter: a column name in the filter language (odd keys quoted).
export function orderParam(order) {
  if (!order) return null;
  const desc = order.startsWith('-');
  const col = desc ? order.slice(1) : order;
  let field = col;
  if (col.startsWith('config.')) field = fieldPath('config', col.slice(7));
  else if (col.startsWith('summary.')) field = fieldPath('summary', col.slice(8));
  return (desc ? '-' : '') + field;
}

function cellContent(run, col) {
  switch (col) {
    case 'name':
      return h('a', { class: 'run-link', href: `/runs/${encodeURIComponent(run.id)}`, 'data-nav': true }, run.name);
    case 'state': return stateBadge(run.state);
    case 'created_at': return h('span', { title: new Date(run.created_at * 1000).toString() }, fmtTime(run.created_at));
    case 'duration': return fmtDuration(run.duration);
    case 'tags': return tagChips(run.tags);
    case 'favorite': return run.favorite ? '★' : '';
    case 'id': return h('span', { class: 'mono' }, run.id);
    default:
      if (col.startsWith('config.') || col.startsWith('summary.')) {
        const v = run.values[col];
        return h('span', { class: typeof v === 'number' ? 'num' : '', title: fmtValue(v) }, fmtValue(v));
      }
      return fmtValue(run[col]);
  }
}

export async function runsTab(ctx, body, state) {
  const enc = encodeURIComponent(state.project);
  let page = null;
  let views = [];
  let timer = null;
  let destroyed = false;

  // -- filter -------------------------------------------------------------------------
  const filterInput = h('input', {
    class: 'filter-input', type: 'search', spellcheck: false, autocomplete: 'off',
    placeholder: 'Filter: config.lr < 0.01 and "baseline" in tags and summary.acc > 0.9',
    value: state.filter, 'aria-label': 'Filter runs', 'data-role': 'filter',
  });
  const filterError = h('div', { class: 'filter-error', hidden: true, role: 'alert', 'data-role': 'filter-error' });
  const applyFilter = () => {
    if (filterInput.value === state.filter) return;
    state.filter = filterInput.value;
    state.offset = 0;
    state.viewId = null;
    state.save();
    const url = new URL(location.href);
    if (state.filter) url.searchParams.set('filter', state.filter); else url.searchParams.delete('filter');
    history.replaceState(null, '', url.pathname + url.search);
    load();
  };
  filterInput.addEventListener('input', debounce(applyFilter, 400));
  filterInput.addEventListener('keydown', (e) => { if (e.key === 'Enter') applyFilter(); });

  function showFilterError(err) {
    clear(filterError);
    if (!err) { filterError.hidden = true; filterInput.classList.remove('invalid'); return; }
    filterInput.classList.add('invalid');
    filterError.hidden = false;
    const b = err.body || {};
    filterError.append(h('div', { class: 'filter-error-msg' }, err.message));
    if (typeof b.position === 'number' && b.expression) {
      const expr = b.expression;
      const pos = Math.min(b.position, expr.length);
      filterError.append(h('div', { class: 'filter-error-expr mono' },
        expr.slice(0, pos), h('mark', null, expr.slice(pos, pos + 1) || ' '), expr.slice(pos + 1)),
      h('div', { class: 'muted small' }, `at position ${pos}`));
    }
  }

  // -- toolbar ------------------------------------------------------------------------
  const columnsBtn = h('button', { class: 'btn', type: 'button', 'data-role': 'columns' }, svgIcon('columns'), 'Columns');
  const groupSel = h('select', { class: 'select', 'aria-label': 'Group by', 'data-role': 'group-by' },
    h('option', { value: '' }, 'No grouping'),
    h('optgroup', { label: 'Run' }, GROUP_FIELDS.map((f) => h('option', { value: f }, FIELD_LABELS[f]))),
    state.available.config.length ? h('optgroup', { label: 'Config' },
      state.available.config.map((k) => h('option', { value: 'config.' + k }, k))) : null);
  groupSel.value = state.groupBy || '';
  groupSel.addEventListener('change', () => { state.groupBy = groupSel.value || null; state.save(); load(); });
  const viewSel = h('select', { class: 'select', 'aria-label': 'Saved views', 'data-role': 'views' });
  const saveViewBtn = h('button', { class: 'btn', type: 'button', 'data-role': 'save-view' }, 'Save view');
  const deleteViewBtn = h('button', { class: 'btn ghost icon-only', type: 'button', title: 'Delete this view', hidden: true }, svgIcon('trash'));
  const toolbar = h('div', { class: 'toolbar' },
    h('div', { class: 'filter-wrap' }, filterInput, filterError),
    h('div', { class: 'toolbar-right' }, columnsBtn,
      h('label', { class: 'control' }, h('span', null, 'Group'), groupSel),
      h('label', { class: 'control' }, h('span', null, 'View'), viewSel), saveViewBtn, deleteViewBtn));

  const selCount = h('span', { class: 'sel-count' });
  const chartBtn = h('a', { class: 'btn', href: `/projects/${enc}/charts`, 'data-nav': true, 'data-role': 'chart-selected' }, svgIcon('chart'), 'Chart');
  const compareBtn = h('button', { class: 'btn', type: 'button', 'data-role': 'compare-selected' }, svgIcon('compare'), 'Compare');
  const clearBtn = h('button', { class: 'btn ghost', type: 'button' }, 'Clear');
  const reportBtn = h('button', { class: 'btn', type: 'button', 'data-role': 'report-selected', title: 'Start a report about the selected runs' }, svgIcon('edit'), 'Report');
  const selBar = h('div', { class: 'selbar' }, selCount, chartBtn, compareBtn, reportBtn, clearBtn);
  const pageInfo = h('span', { class: 'page-info', 'data-role': 'page-info' });
  const prevBtn = h('button', { class: 'btn ghost', type: 'button', 'aria-label': 'Previous page' }, '‹ Prev');
  const nextBtn = h('button', { class: 'btn ghost', type: 'button', 'aria-label': 'Next page' }, 'Next ›');
  const sizeSel = h('select', { class: 'select small', 'aria-label': 'Rows per page' },
    [25, 50, 100, 200].map((n) => h('option', { value: String(n) }, `${n} / page`)));
  sizeSel.value = String(state.limit);
  const pager = h('div', { class: 'pager' }, pageInfo, prevBtn, nextBtn, sizeSel);
  const tableWrap = h('div', { class: 'table-wrap' });
  body.append(toolbar, h('div', { class: 'table-bar' }, selBar, pager), tableWrap);

  prevBtn.addEventListener('click', () => { state.offset = Math.max(0, state.offset - state.limit); load(); });
  nextBtn.addEventListener('click', () => { state.offset += state.limit; load(); });
  sizeSel.addEventListener('change', () => { state.limit = Number(sizeSel.value); state.offset = 0; state.save(); load(); });
  clearBtn.addEventListener('click', () => { state.selection = []; state.save(); renderTable(); });
  reportBtn.addEventListener('click', () => {
    if (state.selection.length) ctx.navigate(`/projects/${enc}/reports/new?runs=` + state.selection.map(encodeURIComponent).join(','));
  });
  compareBtn.addEventListener('click', () => {
    if (state.selection.length < 2) { toast('Select at least two runs to compare.'); return; }
    ctx.navigate('/compare?runs=' + state.selection.map(encodeURIComponent).join(','));
  });
  columnsBtn.addEventListener('click', (e) => { e.stopPropagation(); toggleChooser(); });

  // -- column chooser -----------------------------------------------------------------
  let chooser = null;
  function toggleChooser() {
    if (chooser) { chooser.remove(); chooser = null; return; }
    const search = h('input', { class: 'input', type: 'search', placeholder: 'Search columns', 'aria-label': 'Search columns' });
    const list = h('div', { class: 'chooser-list' });
    const section = (title, items) => {
      if (!items.length) return null;
      return h('div', { class: 'chooser-section' }, h('div', { class: 'chooser-title' }, title),
        items.map(([col, label]) => h('label', { class: 'chooser-item', 'data-col': col },
          h('input', { type: 'checkbox', checked: state.columns.includes(col), onchange: (e) => {
            if (e.target.checked) state.columns.push(col);
            else state.columns = state.columns.filter((c) => c !== col);
            state.save();
            load();
          } }), h('span', null, label))));
    };
    const fill = () => {
      const q = search.value.toLowerCase();
      const match = (label) => !q || label.toLowerCase().includes(q);
      append(clear(list), [
        section('Run', state.available.fields.map((f) => [f, FIELD_LABELS[f] || f]).filter(([, l]) => match(l))),
        section('Config', state.available.config.filter(match).map((k) => ['config.' + k, k])),
        section('Summary', state.available.summary.filter(match).map((k) => ['summary.' + k, k]))]);
    };
    search.addEventListener('input', fill);
    fill();
    chooser = h('div', { class: 'popover', 'data-role': 'column-chooser', onclick: (e) => e.stopPropagation() }, search, list);
    columnsBtn.parentElement.style.position = 'relative';
    columnsBtn.parentElement.append(chooser);
    search.focus();
  }
  const closeChooser = () => { if (chooser) { chooser.remove(); chooser = null; } };
  const escChooser = (e) => { if (e.key === 'Escape') closeChooser(); };
  document.addEventListener('click', closeChooser);
  document.addEventListener('keydown', escChooser);

  // -- saved views ----------------------------------------------------------------------
  async function loadViews() {
    views = await api.get(`/projects/${enc}/views`);
    append(clear(viewSel), [h('option', { value: '' }, state.viewId ? '(modified)' : 'Current'),
      views.map((v) => h('option', { value: String(v.id) }, v.name))]);
    viewSel.value = state.viewId && views.some((v) => v.id === state.viewId) ? String(state.viewId) : '';
    deleteViewBtn.hidden = !viewSel.value;
  }
  viewSel.addEventListener('change', () => {
    const view = views.find((v) => String(v.id) === viewSel.value);
    if (!view) return;
    state.applySpec(view.spec);
    state.viewId = view.id;
    state.save();
    filterInput.value = state.filter;
    groupSel.value = state.groupBy || '';
    deleteViewBtn.hidden = false;
    load();
  });
  saveViewBtn.addEventListener('click', async () => {
    const input = h('input', { class: 'input', type: 'text', placeholder: 'e.g. best adam runs', maxlength: '200' });
    const choice = await modal({ title: 'Save view', body: h('div', null,
      h('p', { class: 'muted' }, 'Saves the columns, filter, sort, grouping and chart settings.'), input),
    actions: [{ label: 'Cancel', value: null }, { label: 'Save', value: 'save', kind: 'primary' }] });
    if (choice !== 'save' || !input.value.trim()) return;
    try {
      const view = await api.post(`/projects/${enc}/views`, { name: input.value.trim(), spec: state.spec() });
      state.viewId = view.id;
      state.save();
      await loadViews();
      toast(`Saved view “${view.name}”`, 'ok');
    } catch (err) { toast(err.message, 'error'); }
  });
  deleteViewBtn.addEventListener('click', async () => {
    const view = views.find((v) => String(v.id) === viewSel.value);
    if (!view) return;
    const choice = await modal({ title: 'Delete view', body: h('p', null, `Delete the saved view “${view.name}”?`),
      actions: [{ label: 'Cancel', value: null }, { label: 'Delete', value: 'delete', kind: 'danger' }] });
    if (choice !== 'delete') return;
    await api.del(`/views/${view.id}`);
    state.viewId = null;
    state.save();
    await loadViews();
  });

  // -- table ----------------------------------------------------------------------------
  function sortFor(col) {
    if (state.order === col) return 'asc';
    if (state.order === '-' + col) return 'desc';
    return null;
  }

  function onSort(col) {
    const now = sortFor(col);
    state.order = now === null ? col : (now === 'asc' ? '-' + col : null);
    state.offset = 0;
    state.save();
    load();
  }

  function renderTable() {
    if (!page) return;
    const selected = new Set(state.selection);
    selCount.textContent = selected.size ? `${selected.size} selected` : 'Select runs to chart or compare';
    chartBtn.classList.toggle('disabled', !selected.size);
    compareBtn.disabled = selected.size < 2;
    reportBtn.disabled = !selected.size;
    clearBtn.hidden = !selected.size;
    const start = page.total ? page.offset + 1 : 0;
    pageInfo.textContent = `${fmtNum(start)}–${fmtNum(page.offset + page.runs.length)} of ${fmtNum(page.total)}`;
    prevBtn.disabled = page.offset === 0;
    nextBtn.disabled = page.offset + page.runs.length >= page.total;

    const allOnPage = page.runs.length > 0 && page.runs.every((r) => selected.has(r.id));
    const headAll = h('input', { type: 'checkbox', checked: allOnPage, 'aria-label': 'Select all on this page',
      onchange: (e) => { page.runs.forEach((r) => state.toggle(r.id, e.target.checked)); renderTable(); } });
    const head = h('tr', null, h('th', { class: 'col-check' }, headAll), h('th', { class: 'col-star' }, ''),
      state.columns.map((col) => {
        const [label, kind] = columnLabel(col);
        const dir = sortFor(col);
        return h('th', { class: `sortable${dir ? ' sorted' : ''}`, 'data-col': col, title: `Sort by ${col}`,
          'aria-sort': dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : 'none',
          onclick: () => onSort(col) },
        h('span', { class: 'th-inner' }, kind ? h('span', { class: `th-kind kind-${kind}` }, kind) : null,
          h('span', { class: 'th-label' }, label),
          h('span', { class: 'sort-arrow' }, dir === 'asc' ? '▲' : dir === 'desc' ? '▼' : '')));
      }));
    const rows = page.runs.map((run) => h('tr', { class: selected.has(run.id) ? 'selected' : '', 'data-run': run.id },
      h('td', { class: 'col-check' }, h('input', { type: 'checkbox', checked: selected.has(run.id), 'aria-label': `Select ${run.name}`,
        onchange: (e) => { state.toggle(run.id, e.target.checked); renderTable(); } })),
      h('td', { class: 'col-star' }, h('button', { class: `star${run.favorite ? ' on' : ''}`, type: 'button',
        title: run.favorite ? 'Unmark favourite' : 'Mark favourite', 'aria-pressed': String(run.favorite),
        onclick: async () => {
          try { await api.patch(`/runs/${encodeURIComponent(run.id)}`, { favorite: !run.favorite }); run.favorite = !run.favorite; renderTable(); } catch (err) { toast(err.message, 'error'); }
        } }, svgIcon('star'))),
      state.columns.map((col) => h('td', { 'data-col': col, class: `col-${col.split('.')[0]}` }, cellContent(run, col)))));
    const table = h('table', { class: 'runs-table', 'data-role': 'runs-table' }, h('thead', null, head), h('tbody', null, rows));
    clear(tableWrap).append(table);
    if (!page.runs.length) {
      tableWrap.append(h('div', { class: 'table-empty' }, state.filter ? 'No runs match this filter.' : 'No runs yet.'));
    }
  }

  async function renderGroups() {
    const metrics = state.columns.filter((c) => c.startsWith('summary.')).slice(0, 4);
    let data;
    try {
      data = await api.get(`/projects/${enc}/groups`, { by: state.groupBy, metrics: metrics.join(','), filter: state.filter });
      showFilterError(null);
    } catch (err) {
      if (err instanceof ApiError && err.body.type === 'FilterError') { showFilterError(err); return; }
      throw err;
    }
    pageInfo.textContent = `${data.groups.length} group${data.groups.length === 1 ? '' : 's'}`;
    prevBtn.disabled = nextBtn.disabled = true;
    const [byLabel] = columnLabel(state.groupBy);
    const head = h('tr', null, h('th', null, byLabel), h('th', { class: 'num' }, 'Runs'),
      metrics.map((m) => ['mean', 'min', 'max'].map((s) => h('th', { class: 'num' }, `${columnLabel(m)[0]} ${s}`))), h('th', null, ''));
    const rows = data.groups.map((g) => h('tr', { 'data-group': fmtValue(g.value) },
      h('td', null, h('strong', null, g.value === null ? '(none)' : fmtValue(g.value))),
      h('td', { class: 'num' }, fmtNum(g.count)),
      metrics.map((m) => ['mean', 'min', 'max'].map((s) => h('td', { class: 'num' }, fmtNum(g.metrics[m]?.[s])))),
      h('td', null, h('button', { class: 'btn ghost small', type: 'button', onclick: () => {
        const field = state.groupBy.startsWith('config.') ? fieldPath('config', state.groupBy.slice(7)) : state.groupBy;
        const value = g.value === null ? 'null' : typeof g.value === 'string' ? quote(g.value) : String(g.value);
        const clause = `${field} == ${value}`;
        state.filter = state.filter ? `(${state.filter}) and ${clause}` : clause;
        state.groupBy = null;
        groupSel.value = '';
        filterInput.value = state.filter;
        state.save();
        load();
      } }, 'Show runs'))));
    clear(tableWrap).append(h('table', { class: 'runs-table groups-table', 'data-role': 'groups-table' },
      h('thead', null, head), h('tbody', null, rows)));
    if (!metrics.length) tableWrap.append(h('p', { class: 'muted small pad' }, 'Add summary columns to see their mean, min and max per group.'));
  }

  let loading = 0;
  async function load(silent) {
    const ticket = ++loading;
    if (!silent) tableWrap.classList.add('busy');
    try {
      if (state.groupBy) { await renderGroups(); return; }
      const data = await api.get(`/projects/${enc}/runs`, {
        filter: state.filter, order: orderParam(state.order), limit: state.limit, offset: state.offset,
        columns: state.columns.filter((c) => c.startsWith('config.') || c.startsWith('summary.')).join(','),
      });
      if (ticket !== loading || destroyed) return;
      if (data.offset > 0 && data.offset >= data.total) { state.offset = 0; return load(); }
      page = data;
      showFilterError(null);
      renderTable();
    } catch (err) {
      if (ticket !== loading) return;
      if (err instanceof ApiError && err.body.type === 'FilterError') {
        showFilterError(err);
        return;
      }
      if (!silent) toast(err.message, 'error');
    } finally {
      if (ticket === loading) tableWrap.classList.remove('busy');
      schedule();
    }
  }

  function schedule() {
    clearTimeout(timer);
    if (destroyed) return;
    const live = page && page.runs.some((r) => r.state === 'running');
    timer = setTimeout(() => load(true), live ? POLL_MS : POLL_MS * 3);
  }

  ctx.onCleanup(() => { destroyed = true; clearTimeout(timer); document.removeEventListener('click', closeChooser); document.removeEventListener('keydown', escChooser); });
  await Promise.all([load(), loadViews()]);
}
