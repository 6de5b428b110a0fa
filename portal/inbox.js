// Requesters: the inbox, a delivery, downloads and receipts.
import * as client from './api.js';
import { bytes, dataTable, errorBox, h, page, pagedTable, pageQuery, say, showError, when } from './dom.js';
import { consentReceipt, deletionReceipt } from './receipts.js';

const main = document.getElementById('main');

/** What a requester reads as the state of a delivery. */
function stateText(delivery) {
  if (delivery.status === 'purged') return 'deleted';
  return delivery.expired ? 'expired' : 'available';
}

export async function inboxPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading your deliveries…'));
  page('Inbox', h('p', {}, 'Each delivery can be downloaded for 32 days; then its files are destroyed and you get a signed deletion receipt.'), slot, error);
  try {
    await pagedTable(
      slot,
      [
        ['Delivery', (delivery) => h('a', { href: `#/deliveries/${delivery.id}` }, delivery.title)],
        ['From', (delivery) => delivery.organizationName],
        ['Status', stateText],
        ['Delivered', (delivery) => when(delivery.releasedAt)],
        ['Days left', (delivery) => (delivery.expired ? '0' : String(delivery.daysLeft))],
      ],
      (cursor) => client.api('GET', pageQuery('/v1/deliveries', cursor)),
      { empty: 'Nothing has been delivered to you yet.', noun: 'deliveries' },
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
    const files = dataTable(
      [
        ['File', (item) => h('span', { id: `name-${item.id}` }, item.name)],
        ['Size', (item) => bytes(item.size)],
        ['Type', (item) => item.contentType],
        ['Download', (item) => downloadControl(delivery, item)],
      ],
      delivery.items,
    );
    const receipts = h(
      'div',
      { class: 'factors' },
      h('button', { type: 'button', class: 'secondary', onclick: () => showReceipt('consent') }, 'Show consent receipt'),
      delivery.status === 'purged' ? h('button', { type: 'button', class: 'secondary', onclick: () => showReceipt('deletion') }, 'Show deletion receipt') : null,
    );
    slot.replaceChildren(...[h('p', {}, availability(delivery)), delivery.items.length ? files : null, h('h2', {}, 'Receipts'), receipts].filter(Boolean));

    async function showReceipt(kind) {
      error.textContent = '';
      try {
        const shown =
          kind === 'consent'
            ? consentReceipt(await client.api('GET', `/v1/requests/${encodeURIComponent(delivery.requestId)}/consent`))
            : deletionReceipt(await client.api('GET', `/v1/deliveries/${encodeURIComponent(delivery.id)}/deletion-receipt`));
        receiptSlot.replaceChildren(shown.section);
        shown.focus();
      } catch (failure) {
        showError(error, failure);
      }
    }
  } catch (failure) {
    showError(error, failure);
  }
}

function availability(delivery) {
  if (delivery.status === 'purged') return 'This delivery was deleted 32 days after it was sent: its files and their keys are destroyed. The deletion receipt below proves it.';
  if (delivery.expired) return 'This delivery has expired: its files can no longer be downloaded and are being destroyed.';
  return `Available until ${when(delivery.expiresAt)} (${delivery.daysLeft} days left). After that the files are destroyed.`;
}

function downloadControl(delivery, item) {
  const progress = h('progress', { max: Math.max(item.size, 1), value: 0, hidden: true, 'aria-label': `Download progress of ${item.name}` });
  const rowError = errorBox();
  return h(
    'div',
    {},
    h('button', { type: 'button', 'aria-describedby': `name-${item.id}`, onclick: () => download(delivery, item, progress, rowError) }, 'Download'),
    progress,
    rowError,
  );
}
