// Requesters: the inbox, a delivery, downloads and receipts.
import * as client from './api.js';
import { bytes, cell, errorBox, h, nextId, page, say, showError, when } from './dom.js';

const main = document.getElementById('main');

export async function inboxPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading your deliveries…'));
  page('Inbox', slot, error);
  try {
    const list = await client.api('GET', '/v1/deliveries?limit=100');
    if (list.items.length === 0) {
      slot.replaceChildren(h('p', {}, 'Nothing has been delivered to you yet.'));
      return;
    }
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Delivery', 'Status', 'Delivered', 'Days left'].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          list.items.map((delivery) =>
            h(
              'tr',
              {},
              cell('Delivery', h('a', { href: `#/deliveries/${delivery.id}` }, delivery.title)),
              cell('Status', delivery.expired ? 'expired' : delivery.status),
              cell('Delivered', when(delivery.releasedAt)),
              cell('Days left', delivery.daysLeft === null ? '—' : String(delivery.daysLeft)),
            ),
          ),
        ),
      ),
    );
  } catch (failure) {
    showError(error, failure);
  }
}

export async function download(delivery, item, progress, error) {
  error.textContent = '';
  progress.hidden = false;
  progress.value = 0;
  progress.max = Math.max(item.size, 1);
  try {
    const response = await client.api('GET', `/v1/deliveries/${encodeURIComponent(delivery.id)}/items/${encodeURIComponent(item.id)}`, { raw: true });
    const reader = response.body.getReader();
    const chunks = [];
    let received = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      received += value.length;
      progress.value = received;
    }
    const url = URL.createObjectURL(new Blob(chunks, { type: item.contentType || 'application/octet-stream' }));
    const link = h('a', { href: url, download: item.name, hidden: true }, item.name);
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
    say(`Downloaded ${item.name}.`);
  } catch (failure) {
    showError(error, failure);
  }
}

export async function deliveryPage(id) {
  const error = errorBox();
  const slot = h('div');
  const receiptSlot = h('div');
  page('Delivery', slot, receiptSlot, error);
  try {
    const delivery = await client.api('GET', `/v1/deliveries/${encodeURIComponent(id)}`);
    main.querySelector('h1').textContent = delivery.title;
    document.title = `${delivery.title} · Connectid`;
    const rows = delivery.items.map((item) => {
      const nameId = nextId('item');
      const progress = h('progress', { max: Math.max(item.size, 1), value: 0, hidden: true, 'aria-label': `Download progress of ${item.name}` });
      const rowError = errorBox();
      return h(
        'tr',
        {},
        cell('File', h('span', { id: nameId }, item.name)),
        cell('Size', bytes(item.size)),
        cell('Type', item.contentType),
        cell(
          'Download',
          h('button', { type: 'button', 'aria-describedby': nameId, onclick: () => download(delivery, item, progress, rowError) }, 'Download'),
          progress,
          rowError,
        ),
      );
    });
    slot.replaceChildren(
      h(
        'p',
        {},
        delivery.expired
          ? 'This delivery has expired and its files were deleted.'
          : `Available until ${when(delivery.expiresAt)} (${delivery.daysLeft} days left). After that the files are deleted.`,
      ),
      rows.length
        ? h(
            'table',
            {},
            h('thead', {}, h('tr', {}, ['File', 'Size', 'Type', 'Download'].map((title) => h('th', { scope: 'col' }, title)))),
            h('tbody', {}, rows),
          )
        : h('p', {}, 'No files.'),
      h(
        'button',
        {
          type: 'button',
          class: 'secondary',
          onclick: async () => {
            try {
              const receipt = await client.api('GET', `/v1/requests/${encodeURIComponent(delivery.requestId)}/consent`);
              receiptSlot.replaceChildren(h('h2', {}, 'Consent receipt'), h('pre', { tabindex: '0' }, JSON.stringify(receipt, null, 2)));
            } catch (failure) {
              showError(error, failure);
            }
          },
        },
        'Show consent receipt',
      ),
    );
  } catch (failure) {
    showError(error, failure);
  }
}
