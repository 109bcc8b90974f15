// The "not found" page, with a way back.
import { h, svgIcon } from '../dom.js';

export function notFoundPage(ctx, message) {
  document.title = 'Not found · labtrack';
  ctx.setCrumbs({ label: 'Not found' });
  ctx.main.dataset.page = 'notfound';
  ctx.main.append(h('div', { class: 'notfound' },
    h('div', { class: 'notfound-code' }, '404'),
    h('h1', null, 'Nothing here'),
    h('p', { class: 'muted' }, message || `There is no page at ${location.pathname}.`),
    h('p', { class: 'muted' }, 'The run or project may have been deleted, or the address mistyped.'),
    h('div', { class: 'notfound-actions' },
      h('a', { class: 'btn primary', href: '/', 'data-nav': true }, svgIcon('back'), 'All projects'),
      history.length > 1 ? h('button', { class: 'btn', type: 'button', onclick: () => history.back() }, 'Go back') : null)));
}
