// Organization admins: API keys.
import * as client from './api.js';
import { errorBox, field, h, nextId, page, pagedTable, pageQuery, say, showError, submitting, when } from './dom.js';
import { me } from './session.js';

export async function keysPage() {
  const organizationId = me.organizationId;
  const base = `/v1/organizations/${encodeURIComponent(organizationId)}/api-keys`;
  const error = errorBox();
  const secretSlot = h('div');
  const tableSlot = h('div', {}, h('p', {}, 'Loading keys…'));
  const name = field('Key name', { name: 'name', required: true, maxlength: 100 });
  const grace = field('Grace period when rotating (seconds)', { type: 'number', name: 'graceSeconds', min: 0, max: 86400, value: '0' }, 'The old key keeps working this long (at most 24 hours).');
  const createButton = h('button', { type: 'submit' }, 'Create API key');
  const createForm = h(
    'form',
    {
      class: 'inline',
      onsubmit: submitting(error, async () => {
        const key = await client.api('POST', base, { body: { name: name.input.value.trim() } });
        name.input.value = '';
        showSecret(key, `API key "${key.name}" created`);
        await load();
      }),
    },
    name.label,
    createButton,
  );
  page('API keys', secretSlot, error, h('h2', {}, 'Create a key'), createForm, h('h2', {}, 'Keys'), grace.label, tableSlot);

  function showSecret(key, title) {
    const headingId = nextId('secret');
    const heading = h('h2', { id: headingId, tabindex: '-1' }, title);
    const copied = h('span', { role: 'status' });
    const panel = h(
      'section',
      { class: 'secret', 'aria-labelledby': headingId },
      heading,
      h('p', {}, h('strong', {}, 'Copy this key now. It is shown only once: Connectid keeps only a hash and cannot show it again.')),
      h('p', {}, 'Client ID: ', h('code', {}, key.id)),
      h('p', {}, 'Secret (client_secret):'),
      h('code', { 'data-testid': 'new-secret' }, key.key),
      h(
        'div',
        { class: 'factors' },
        h(
          'button',
          {
            type: 'button',
            onclick: async () => {
              try {
                await navigator.clipboard.writeText(key.key);
                copied.textContent = 'Copied to the clipboard.';
              } catch {
                copied.textContent = 'Could not copy: select the key and copy it yourself.';
              }
            },
          },
          'Copy key',
        ),
        h(
          'button',
          {
            type: 'button',
            class: 'secondary',
            onclick: () => {
              secretSlot.replaceChildren();
              focusRow(key.id);
            },
          },
          'I have stored the key',
        ),
        copied,
      ),
    );
    secretSlot.replaceChildren(panel);
    heading.focus();
  }

  async function rotate(key) {
    const graceSeconds = Number.parseInt(grace.input.value || '0', 10) || 0;
    if (!window.confirm(`Rotate "${key.name}"? The old key stops working ${graceSeconds ? `in ${graceSeconds} seconds` : 'at once'}.`)) return;
    error.textContent = '';
    try {
      const fresh = await client.api('POST', `${base}/${encodeURIComponent(key.id)}/rotate`, { body: { graceSeconds } });
      showSecret(fresh, `API key "${fresh.name}" rotated`);
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function revoke(key) {
    if (!window.confirm(`Revoke "${key.name}"? It stops working at once; this cannot be undone.`)) return;
    error.textContent = '';
    try {
      await client.api('DELETE', `${base}/${encodeURIComponent(key.id)}`);
      say(`API key "${key.name}" revoked.`);
      await load();
      focusRow(key.id);
    } catch (failure) {
      showError(error, failure);
    }
  }

  /**
   * After the panel or the row that had focus is gone, focus goes to the key's row (or the page, if that row is not
   * shown), not to the page body: keyboard and screen-reader users stay where they were.
   */
  function focusRow(keyId) {
    const row = Array.from(tableSlot.querySelectorAll('tbody tr')).find((one) => one.dataset.keyId === keyId);
    if (!row) return document.getElementById('main').focus();
    row.setAttribute('tabindex', '-1');
    row.focus();
  }

  // Creators' emails: read once per visit of the page, not again after each create, rotate or revoke.
  let creators = null;
  async function load() {
    creators ??= client.memberEmails(organizationId);
    const emails = await creators;
    await pagedTable(
      tableSlot,
      [
        ['Name', (key) => key.name],
        ['Prefix', (key) => h('code', {}, key.prefix)],
        ['Creator', (key) => emails.get(key.createdBy) || key.createdBy],
        ['Created', (key) => when(key.createdAt)],
        ['Last used', (key) => (key.lastUsedAt ? when(key.lastUsedAt) : 'never')],
        ['Status', (key) => (key.status === 'expiring' ? `expiring ${when(key.expiresAt)}` : key.status)],
        ['Actions', actions],
      ],
      (cursor) => client.api('GET', pageQuery(base, cursor)),
      { empty: 'No API keys yet.', noun: 'keys', caption: 'API keys of your organization; secrets are never shown here', rowAttributes: (key) => ({ 'data-key-id': key.id }) },
    );
  }

  function actions(key) {
    if (key.status !== 'active' && key.status !== 'expiring') return '—';
    return h(
      'div',
      { class: 'actions' },
      h('button', { type: 'button', class: 'secondary', onclick: () => rotate(key) }, 'Rotate key'),
      h('button', { type: 'button', class: 'danger', onclick: () => revoke(key) }, 'Revoke key'),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
