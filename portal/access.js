// Requesters: who accessed my data (their own audit chain).
import * as client from './api.js';
import { cell, errorBox, h, page, showError } from './dom.js';

export async function accessPage() {
  const error = errorBox();
  const slot = h('div');
  page('Who accessed my data', h('p', {}, 'Every time someone read or changed your data, newest first.'), slot, error);
  try {
    const list = await client.api('GET', '/v1/me/audit?limit=100');
    const items = list.items || [];
    if (items.length === 0) {
      slot.replaceChildren(h('p', {}, 'No one has accessed your data.'));
      return;
    }
    const columns = [...new Set(items.flatMap((item) => Object.keys(item).filter((key) => typeof item[key] !== 'object' || item[key] === null)))];
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column)))),
        h('tbody', {}, items.map((item) => h('tr', {}, columns.map((column) => cell(column, item[column] === null || item[column] === undefined ? '—' : String(item[column])))))),
      ),
    );
  } catch (failure) {
    showError(error, failure);
  }
}
