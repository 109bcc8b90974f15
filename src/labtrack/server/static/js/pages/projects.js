// The projects page: every project with run counts and last activity.
import { api } from '../api.js';
import { emptyState, fmtAgo, fmtNum, fmtTime, h } from '../dom.js';

export async function projectsPage(ctx) {
  document.title = 'Projects · labtrack';
  ctx.setCrumbs({ label: 'Projects' });
  ctx.main.dataset.page = 'projects';
  const projects = await api.get('/projects');
  const head = h('div', { class: 'page-head' },
    h('div', null, h('h1', null, 'Projects'),
      h('p', { class: 'muted' }, `${projects.length} project${projects.length === 1 ? '' : 's'} in this store`)));
  ctx.main.append(head);
  if (!projects.length) {
    ctx.main.append(emptyState('No projects yet',
      'Log a run and it appears here:',
      h('code', { class: 'code-line' }, 'import labtrack; run = labtrack.init(project="demo"); run.log({"loss": 0.1})'),
      'or try the demo: labtrack demo'));
    return;
  }
  const grid = h('div', { class: 'project-grid' });
  for (const p of projects) {
    grid.append(h('a', { class: 'project-card', href: `/projects/${encodeURIComponent(p.name)}`, 'data-nav': true },
      h('div', { class: 'project-name' }, p.name),
      h('div', { class: 'project-stats' },
        h('span', null, h('strong', null, fmtNum(p.run_count)), p.run_count === 1 ? ' run' : ' runs'),
        p.running ? h('span', { class: 'badge state-running' }, h('span', { class: 'pulse' }), `${p.running} running`) : null),
      h('div', { class: 'project-meta muted', title: fmtTime(p.last_activity) }, `Last activity ${fmtAgo(p.last_activity)}`)));
  }
  ctx.main.append(grid);
  const timer = setInterval(async () => {
    // keep running counts fresh; a new project appears without reload
    try {
      const fresh = await api.get('/projects');
      if (JSON.stringify(fresh.map((p) => [p.name, p.run_count, p.running])) !==
          JSON.stringify(projects.map((p) => [p.name, p.run_count, p.running]))) {
        ctx.navigate(location.pathname + location.search, true);
      }
    } catch (e) { /* the next tick retries */ }
  }, 5000);
  ctx.onCleanup(() => clearInterval(timer));
}
