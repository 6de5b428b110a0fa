// Small DOM helpers shared by every page: element building, labelled fields, errors, the status line, tables.
const main = document.getElementById('main');
const statusBox = document.getElementById('status');

let idCounter = 0;

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function nextId(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled input: the label wraps its text and the control, so the control's accessible name is the label. */
export function field(text, attributes = {}, hint) {
  const input = h('input', { type: 'text', ...attributes });
  const label = h('label', {}, h('span', {}, text), input, hint ? h('span', { class: 'muted' }, hint) : null);
  return { label, input };
}

export function errorBox() {
  return h('p', { class: 'error', role: 'alert' });
}

export function showError(box, error) {
  box.textContent = error && error.message ? error.message : String(error);
}

export function say(message) {
  statusBox.textContent = message;
}

export function page(title, ...content) {
  document.title = `${title} · Connectid`;
  main.replaceChildren(h('h1', {}, title), ...content);
  main.focus();
}

export function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

export function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

/** Navigates to a route; the router re-renders on hashchange (also when the route is the one shown). */
export function go(route) {
  if (location.hash === `#/${route}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = `#/${route}`;
}
