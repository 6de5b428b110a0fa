// Small DOM helpers shared by every page: element building, labelled fields, errors, the status line, tables.
const main = document.getElementById('main');
const statusBox = document.getElementById('status');

let idCounter = 0;

// The skip link must not change the hash: that is the router's, and "#main" is no route (it led to the home page).
// It moves focus to the content instead, and the page stays where it is.
document.querySelector('a.skip')?.addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

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

/**
 * A form's submit handler: runs `action` with the form's submit buttons disabled meanwhile (no double submits) and
 * shows a failure in `error`, which it clears before each try.
 */
export function submitting(error, action) {
  return async (event) => {
    event.preventDefault();
    const buttons = Array.from(event.currentTarget.querySelectorAll('button[type="submit"]'));
    error.textContent = '';
    for (const button of buttons) button.disabled = true;
    try {
      await action();
    } catch (failure) {
      showError(error, failure);
    } finally {
      for (const button of buttons) button.disabled = false;
    }
  };
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

/**
 * A table of `rows`. `columns` are [title, (row) => content] pairs; each cell carries its column title as
 * data-label, which the phone layout shows beside the value. `options.caption` describes the table;
 * `options.rowAttributes(row)` adds attributes to a row.
 */
export function dataTable(columns, rows, options = {}) {
  return h(
    'table',
    {},
    options.caption ? h('caption', { class: 'muted' }, options.caption) : null,
    h('thead', {}, h('tr', {}, columns.map(([title]) => h('th', { scope: 'col' }, title)))),
    h('tbody', {}, rows.map((row) => tableRow(columns, row, options))),
  );
}

function tableRow(columns, row, options) {
  return h('tr', options.rowAttributes ? options.rowAttributes(row) : {}, columns.map(([title, content]) => cell(title, content(row))));
}

/**
 * A list the API answers page by page ({items, nextCursor}), shown in `slot` as a table. `fetchPage(cursor)` reads
 * one page (cursor null for the first). While there is more, a "Show more …" button appends the next page, says
 * how many are shown, and moves focus to the first new row, so keyboard and screen-reader users land on it.
 * `options.empty` is the text for an empty list; `options.noun` names the rows ("members"); `options.onPage(items)`
 * sees each page (to collect what other parts of the page need). Throws what the first fetchPage throws.
 */
export async function pagedTable(slot, columns, fetchPage, options) {
  const first = await fetchPage(null);
  if (options.onPage) options.onPage(first.items);
  if (first.items.length === 0) {
    slot.replaceChildren(h('p', {}, options.empty));
    return;
  }
  const table = dataTable(columns, first.items, options);
  const body = table.querySelector('tbody');
  const error = errorBox();
  const more = h('button', { type: 'button', class: 'secondary' }, `Show more ${options.noun}`);
  let cursor = first.nextCursor;
  let shown = first.items.length;
  more.hidden = !cursor;
  more.addEventListener('click', async () => {
    error.textContent = '';
    more.disabled = true;
    try {
      const next = await fetchPage(cursor);
      if (options.onPage) options.onPage(next.items);
      const rows = next.items.map((row) => tableRow(columns, row, options));
      body.append(...rows);
      shown += rows.length;
      cursor = next.nextCursor;
      more.hidden = !cursor;
      say(`${shown} ${options.noun} shown${cursor ? '' : ': that is all of them'}.`);
      if (rows[0]) {
        rows[0].setAttribute('tabindex', '-1');
        rows[0].focus();
      }
    } catch (failure) {
      showError(error, failure);
    } finally {
      more.disabled = false;
    }
  });
  slot.replaceChildren(table, more, error);
}

/** `path` with `limit` and, after the first page, `cursor` added to its query. */
export function pageQuery(path, cursor, limit = 50) {
  const url = new URL(path, location.origin);
  url.searchParams.set('limit', String(limit));
  if (cursor) url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

/** Navigates to a route; the router re-renders on hashchange (also when the route is the one shown). */
export function go(route) {
  if (location.hash === `#/${route}`) window.dispatchEvent(new HashChangeEvent('hashchange'));
  else location.hash = `#/${route}`;
}
