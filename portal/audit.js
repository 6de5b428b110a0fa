// Organization admins: the audit log, with filters and CSV export.
import * as client from './api.js';
import { errorBox, field, h, page, pagedTable, showError, when } from './dom.js';
import { actionText, actorText, detailsText, targetText } from './events.js';
import { me } from './session.js';

export async function auditPage() {
  const base = `/v1/organizations/${encodeURIComponent(me.organizationId)}/audit`;
  const error = errorBox();
  const slot = h('div');
  const action = field('Action', { name: 'action', placeholder: 'api_key.rotated' });
  const actor = field('Actor ID', { name: 'actorId' });
  const from = field('From', { type: 'date', name: 'from' });
  const to = field('Until (exclusive)', { type: 'date', name: 'to' });
  const query = (extra) => {
    const parameters = new URLSearchParams(extra);
    if (action.input.value.trim()) parameters.set('action', action.input.value.trim());
    if (actor.input.value.trim()) parameters.set('actorId', actor.input.value.trim());
    if (from.input.value) parameters.set('from', new Date(`${from.input.value}T00:00:00Z`).toISOString());
    if (to.input.value) parameters.set('to', new Date(`${to.input.value}T00:00:00Z`).toISOString());
    return `${base}?${parameters}`;
  };
  const progress = h('span', { role: 'status' });
  const filters = h(
    'form',
    {
      class: 'inline',
      onsubmit: (event) => {
        event.preventDefault();
        load();
      },
    },
    action.label,
    actor.label,
    from.label,
    to.label,
    h('button', { type: 'submit' }, 'Apply filters'),
    h('button', { type: 'button', class: 'secondary', onclick: exportCsv }, 'Export CSV'),
    progress,
  );
  page('Audit log', filters, error, slot);

  async function exportCsv() {
    error.textContent = '';
    progress.textContent = 'Preparing the CSV…';
    try {
      const response = await client.api('GET', query({ format: 'csv' }), { raw: true });
      const url = URL.createObjectURL(await response.blob());
      const link = h('a', { href: url, download: 'audit.csv', hidden: true }, 'audit.csv');
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      progress.textContent = 'CSV downloaded.';
    } catch (failure) {
      progress.textContent = '';
      showError(error, failure);
    }
  }

  /** Ids in events become member emails and key names where this admin can list them; read once per visit. */
  let names = null;
  async function eventNames() {
    const [emails, keys] = await Promise.all([
      client.memberEmails(me.organizationId),
      client.allItems(`/v1/organizations/${encodeURIComponent(me.organizationId)}/api-keys`).catch(() => []),
    ]);
    return new Map([...emails, ...keys.map((key) => [key.id, `API key "${key.name}"`])]);
  }

  async function load() {
    error.textContent = '';
    // The old rows go at once: a table still showing the previous filter's events would mislead.
    slot.replaceChildren(h('p', {}, 'Loading events…'));
    try {
      names ??= eventNames();
      const known = await names;
      await pagedTable(
        slot,
        [
          ['When', (item) => when(item.occurredAt)],
          ['What', (item) => h('span', { title: item.action }, actionText(item.action))],
          ['Who', (item) => actorText(item.actor, known)],
          ['Target', (item) => targetText(item.target, known)],
          ['Details', (item) => detailsText(item.details, known)],
        ],
        (cursor) => client.api('GET', query(cursor ? { limit: '50', cursor } : { limit: '50' })),
        { empty: 'No events match.', noun: 'events', caption: 'Newest first; narrow the filters or export the CSV for all of them' },
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  await load();
}
