// Artifacts in lists: a project's artifacts by type (the project page's Artifacts tab) and
// what one run logged and used (the run page's Artifacts tab).
import { api } from '../api.js';
import { emptyState, fmtAgo, fmtBytes, fmtNum, fmtTime, h } from '../dom.js';

export function artifactHref(project, name, version) {
  const base = `/projects/${encodeURIComponent(project)}/artifacts/${encodeURIComponent(name)}`;
  return version === undefined || version === null ? base : `${base}?version=v${version}`;
}

export function aliasChips(aliases) {
  return h('span', { class: 'tags' }, (aliases || []).map((a) =>
    h('span', { class: `tag alias${a === 'latest' ? ' latest' : ''}` }, a)));
}

export function typeBadge(type) {
  return h('span', { class: 'badge type-badge', title: 'Artifact type' }, type);
}

function head(...names) {
  return h('thead', null, h('tr', null, names.map((n) => (Array.isArray(n)
    ? h('th', { class: n[1] }, n[0]) : h('th', null, n)))));
}

// The project page's Artifacts tab.
export async function artifactsTab(ctx, body, project) {
  const types = await api.get(`/projects/${encodeURIComponent(project)}/artifacts`);
  const root = h('div', { 'data-role': 'artifacts' });
  body.append(root);
  if (!types.length) {
    root.append(emptyState('No artifacts in this project',
      'Datasets, models and other files logged with run.log_artifact() appear here, by type.',
      h('code', { class: 'code-line' }, 'art = labtrack.Artifact("data", type="dataset"); art.add_dir("data/"); run.log_artifact(art)')));
    return;
  }
  const total = types.reduce((n, t) => n + t.artifacts.length, 0);
  const filter = h('input', { class: 'input', type: 'search', placeholder: 'Filter artifacts by name', 'data-role': 'artifact-filter',
    'aria-label': 'Filter artifacts' });
  const sections = types.map((t) => {
    const rows = t.artifacts.map((a) => h('tr', { 'data-name': a.name },
      h('td', null, h('a', { class: 'run-link', href: artifactHref(project, a.name), 'data-nav': true }, a.name),
        a.description ? h('div', { class: 'muted small clip' }, a.description) : null),
      h('td', { class: 'num' }, fmtNum(a.versions)),
      h('td', null, h('a', { class: 'mono', href: artifactHref(project, a.name, a.newest), 'data-nav': true }, `v${a.newest}`)),
      h('td', { class: 'num' }, fmtBytes(a.size)),
      h('td', { title: fmtTime(a.updated_at) }, fmtAgo(a.updated_at))));
    const section = h('section', { class: 'section', 'data-type': t.type },
      h('h2', { class: 'section-title' }, typeBadge(t.type), ' ', h('span', { class: 'count' }, String(t.artifacts.length))),
      h('div', { class: 'card flush' }, h('table', { class: 'data-table', 'data-role': 'artifact-list' },
        head('Name', ['Versions', 'num'], 'Newest', ['Size', 'num'], 'Updated'), h('tbody', null, rows))));
    return { section, rows };
  });
  filter.addEventListener('input', () => {
    const q = filter.value.trim().toLowerCase();
    for (const { section, rows } of sections) {
      let shown = 0;
      for (const r of rows) { r.hidden = !!q && !r.dataset.name.toLowerCase().includes(q); if (!r.hidden) shown++; }
      section.hidden = shown === 0;
    }
  });
  root.append(h('div', { class: 'toolbar' }, filter,
    h('span', { class: 'muted toolbar-note' }, `${fmtNum(total)} artifact${total === 1 ? '' : 's'} of ${types.length} type${types.length === 1 ? '' : 's'}`)),
  ...sections.map((s) => s.section));
}

function versionTable(versions, role, emptyText) {
  if (!versions.length) return h('p', { class: 'muted small pad' }, emptyText);
  return h('table', { class: 'data-table', 'data-role': role },
    head('Artifact', 'Type', 'Aliases', ['Files', 'num'], ['Size', 'num'], 'Created'),
    h('tbody', null, versions.map((v) => h('tr', null,
      h('td', null, h('a', { class: 'run-link', href: artifactHref(v.project, v.name, v.version), 'data-nav': true },
        v.name, h('span', { class: 'muted' }, `:v${v.version}`)),
      v.project ? h('div', { class: 'muted small' }, v.project) : null),
      h('td', null, typeBadge(v.type)), h('td', null, aliasChips(v.aliases)),
      h('td', { class: 'num' }, fmtNum(v.file_count)), h('td', { class: 'num' }, fmtBytes(v.size)),
      h('td', { title: fmtTime(v.created_at) }, fmtAgo(v.created_at))))));
}

// The run page's Artifacts tab: `arts` from GET /runs/{id}/artifacts.
export function runArtifactsTab(body, arts) {
  body.append(h('div', { class: 'two-col', 'data-role': 'run-artifacts' },
    h('section', { class: 'card flush' }, h('h2', { class: 'card-title pad-title' }, 'Used by this run'),
      versionTable(arts.used, 'artifacts-used', 'This run used no artifacts.')),
    h('section', { class: 'card flush' }, h('h2', { class: 'card-title pad-title' }, 'Logged by this run'),
      versionTable(arts.logged, 'artifacts-logged', 'This run logged no artifacts.'))));
}
