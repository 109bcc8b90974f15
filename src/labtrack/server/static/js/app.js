// The UI's router: one shell, pages drawn by modules, links handled with the History API.
import { clear, h } from './dom.js';
import { projectsPage } from './pages/projects.js';
import { projectPage } from './pages/project.js';
import { runPage } from './pages/run.js';
import { comparePage } from './pages/compare.js';
import { notFoundPage } from './pages/notfound.js';
import { artifactPage } from './pages/artifact.js';
import { sweepPage } from './pages/sweep.js';
import { reportPage } from './pages/report.js';
import { reportEditorPage } from './pages/report_editor.js';
import { preloadPlotly } from './plot.js';

const ROUTES = [
  [/^\/$/, (m, ctx) => projectsPage(ctx)],
  [/^\/projects\/([^/]+)\/?$/, (m, ctx) => projectPage(ctx, decodeURIComponent(m[1]), 'runs')],
  [/^\/projects\/([^/]+)\/charts\/?$/, (m, ctx) => projectPage(ctx, decodeURIComponent(m[1]), 'charts')],
  [/^\/runs\/([^/]+)\/?$/, (m, ctx) => runPage(ctx, decodeURIComponent(m[1]))],
  [/^\/compare\/?$/, (m, ctx) => comparePage(ctx)],
  [/^\/projects\/([^/]+)\/(artifacts|sweeps)\/?$/, (m, ctx) => projectPage(ctx, decodeURIComponent(m[1]), m[2])],
  [/^\/projects\/([^/]+)\/artifacts\/([^/]+)\/?$/, (m, ctx) => artifactPage(ctx, decodeURIComponent(m[1]), decodeURIComponent(m[2]))],
  [/^\/sweeps\/([^/]+)\/?$/, (m, ctx) => sweepPage(ctx, decodeURIComponent(m[1]))],
  [/^\/projects\/([^/]+)\/reports\/?$/, (m, ctx) => projectPage(ctx, decodeURIComponent(m[1]), 'reports')],
  [/^\/projects\/([^/]+)\/reports\/new\/?$/, (m, ctx) => reportEditorPage(ctx, { project: decodeURIComponent(m[1]) })],
  [/^\/reports\/([^/]+)\/?$/, (m, ctx) => reportPage(ctx, decodeURIComponent(m[1]))],
  [/^\/reports\/([^/]+)\/edit\/?$/, (m, ctx) => reportEditorPage(ctx, { id: decodeURIComponent(m[1]) })],
];

let cleanup = null;
let firstLoad = true;

export function setCrumbs(...items) {
  const nav = clear(document.getElementById('crumbs'));
  items.filter(Boolean).forEach((item, i) => {
    if (i) nav.append(h('span', { class: 'crumb-sep', 'aria-hidden': 'true' }, '/'));
    nav.append(item.href ? h('a', { href: item.href, 'data-nav': true }, item.label)
      : h('span', { class: 'crumb-current' }, item.label));
  });
}

export function navigate(url, replace = false) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  render();
}

async function render() {
  if (cleanup) { try { cleanup(); } catch (e) { /* a page's cleanup must not stop navigation */ } }
  cleanup = null;
  const main = clear(document.getElementById('main'));
  main.removeAttribute('data-page');
  const ctx = { main, query: new URLSearchParams(location.search), navigate, setCrumbs,
    onCleanup: (fn) => { const prev = cleanup; cleanup = () => { if (prev) prev(); fn(); }; } };
  const status = document.documentElement.dataset.status;
  if (firstLoad && status === '404') {
    firstLoad = false;
    notFoundPage(ctx);
    return;
  }
  firstLoad = false;
  // pages with charts start downloading plotly.js now; it runs once their first data is asked for
  if (/^\/(runs\/|compare|sweeps\/|reports\/|projects\/[^/]+\/(charts|reports\/new))/.test(location.pathname)) preloadPlotly();
  for (const [re, page] of ROUTES) {
    const m = location.pathname.match(re);
    if (m) {
      try {
        await page(m, ctx);
      } catch (err) {
        if (err && err.status === 404) notFoundPage(ctx, err.message);
        else {
          clear(main).append(h('div', { class: 'error-box' }, h('h2', null, 'Something went wrong'),
            h('p', null, String(err && err.message ? err.message : err))));
        }
      }
      return;
    }
  }
  notFoundPage(ctx);
}

document.addEventListener('click', (e) => {
  const a = e.target.closest('a[data-nav]');
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
  window.scrollTo(0, 0);
});
window.addEventListener('popstate', render);
render();
