// DOM building and formatting helpers.
// Every user string goes in through textContent or an attribute: never innerHTML.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') el.className = value;
      else if (key === 'style' && typeof value === 'object') Object.assign(el.style, value);
      else if (key.startsWith('on') && typeof value === 'function') {
        el.addEventListener(key.slice(2).toLowerCase(), value);
      } else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key in el && typeof value !== 'string') el[key] = value;
      else el.setAttribute(key, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function svgIcon(name) {
  // small inline icons built with DOM APIs (no markup strings)
  const paths = {
    star: 'M12 3l2.8 5.7 6.2.9-4.5 4.4 1 6.2L12 17.3 6.5 20.2l1-6.2L3 9.6l6.2-.9z',
    edit: 'M4 20h4L19 9l-4-4L4 16v4z',
    trash: 'M5 7h14M10 7V4h4v3M7 7l1 13h8l1-13',
    chart: 'M4 19h16M6 16l4-5 3 3 5-7',
    compare: 'M8 4v16M16 4v16M4 8h8M12 16h8',
    close: 'M6 6l12 12M18 6L6 18',
    columns: 'M4 5h16v14H4zM10 5v14M15 5v14',
    download: 'M12 4v11m0 0l-4-4m4 4l4-4M5 20h14',
    back: 'M15 6l-6 6 6 6',
  };
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('class', 'icon icon-' + name);
  svg.setAttribute('aria-hidden', 'true');
  const path = document.createElementNS(ns, 'path');
  path.setAttribute('d', paths[name] || '');
  svg.append(path);
  return svg;
}

export function fmtNum(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'boolean') return String(v);
  if (typeof v === 'string') return v;
  if (typeof v !== 'number') return JSON.stringify(v);
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return Math.abs(v) >= 1e9 ? Number(v.toExponential(3)).toExponential() : v.toLocaleString('en-US');
  const a = Math.abs(v);
  if (a !== 0 && (a >= 1e6 || a < 1e-3)) return Number(v.toExponential(3)).toExponential();
  return String(Number(v.toPrecision(5)));
}

export function fmtValue(v) {
  if (v === null || v === undefined) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return fmtNum(v);
}

export function fmtTime(ts) {
  if (!ts) return '';
  const d = new Date(ts * 1000);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

export function fmtAgo(ts) {
  if (!ts) return '';
  const s = Math.max(0, Date.now() / 1000 - ts);
  if (s < 60) return 'just now';
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  if (s < 86400 * 30) return `${Math.floor(s / 86400)} d ago`;
  return fmtTime(ts).slice(0, 10);
}

export function fmtDuration(sec) {
  if (sec === null || sec === undefined) return '';
  if (sec < 9.95) return `${Math.max(0, sec).toFixed(1)}s`;  // short runs: 0.4s, not 0s
  sec = Math.round(sec);
  if (sec < 60) return `${sec}s`;
  if (sec < 3600) return `${Math.floor(sec / 60)}m ${String(sec % 60).padStart(2, '0')}s`;
  if (sec < 86400) return `${Math.floor(sec / 3600)}h ${String(Math.floor((sec % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(sec / 86400)}d ${Math.floor((sec % 86400) / 3600)}h`;
}

export function fmtBytes(n) {
  if (n === null || n === undefined) return '';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i ? n.toFixed(1) : n} ${units[i]}`;
}

export function stateBadge(state) {
  const s = String(state || 'unknown');
  return h('span', { class: `badge state-${s.replace(/[^a-z_]/g, '')}`, title: s },
    s === 'running' ? h('span', { class: 'pulse' }) : null, s.replace('_', ' '));
}

export function tagChips(tags) {
  return h('span', { class: 'tags' }, (tags || []).map((t) => h('span', { class: 'tag' }, t)));
}

export function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

export function flatten(obj, prefix = '', out = {}) {
  if (obj && typeof obj === 'object' && !Array.isArray(obj) && Object.keys(obj).length) {
    for (const [k, v] of Object.entries(obj)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = obj;
  }
  return out;
}

// A filter-language string literal
export function quote(s) {
  return '"' + String(s).replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';
}

// A filter-language field path: config.a.b, quoting parts that are not plain names
export function fieldPath(root, dotted) {
  const parts = dotted.split('.').map((p) => (/^[A-Za-z_][A-Za-z0-9_/-]*$/.test(p) ? p : quote(p)));
  if (root === 'summary') {
    return /^[A-Za-z_][A-Za-z0-9_/-]*$/.test(dotted) ? `summary.${dotted}` : `summary.${quote(dotted)}`;
  }
  return [root, ...parts].join('.');
}

export function modal({ title, body, actions }) {
  return new Promise((resolve) => {
    const close = (value) => { overlay.remove(); document.removeEventListener('keydown', onKey); resolve(value); };
    const onKey = (e) => { if (e.key === 'Escape') close(null); };
    const buttons = actions.map((a) => h('button', {
      class: `btn ${a.kind || ''}`, type: 'button', 'data-action': a.value,
      onclick: () => close(a.value),
    }, a.label));
    const box = h('div', { class: 'modal', role: 'dialog', 'aria-modal': 'true' },
      h('h2', null, title), h('div', { class: 'modal-body' }, body),
      h('div', { class: 'modal-actions' }, buttons));
    const overlay = h('div', { class: 'overlay', onclick: (e) => { if (e.target === overlay) close(null); } }, box);
    document.body.append(overlay);
    document.addEventListener('keydown', onKey);
    const focus = box.querySelector('input, textarea') || buttons[buttons.length - 1];
    if (focus) focus.focus();
  });
}

export function toast(message, kind = 'info') {
  let host = document.getElementById('toasts');
  if (!host) { host = h('div', { id: 'toasts', class: 'toasts' }); document.body.append(host); }
  const el = h('div', { class: `toast toast-${kind}` }, message);
  host.append(el);
  setTimeout(() => el.remove(), 4000);
}

export function emptyState(title, ...lines) {
  return h('div', { class: 'empty' }, h('div', { class: 'empty-title' }, title),
    lines.map((l) => h('p', null, l)));
}

export function tabs(items, active, onSelect) {
  return h('div', { class: 'tabs', role: 'tablist' }, items.map(([id, label]) =>
    h('button', { class: `tab${id === active ? ' active' : ''}`, role: 'tab', type: 'button',
      'data-tab': id, 'aria-selected': String(id === active), onclick: () => onSelect(id) }, label)));
}
