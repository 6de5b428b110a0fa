// Requesters: who accessed my data — their own audit chain, in words, with the deletion receipts it holds.
import * as client from './api.js';
import { errorBox, h, page, pagedTable, pageQuery, showError, when } from './dom.js';
import { actionText, actorText, detailsText } from './events.js';
import { deletionReceipt } from './receipts.js';
import { me } from './session.js';

export async function accessPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading…'));
  const receiptSlot = h('div');
  page('Who accessed my data', h('p', {}, 'Everything that happened to your account and your data, newest first.'), slot, receiptSlot, error);
  try {
    // Requests and deliveries name the organization behind an event; people at organizations stay unnamed.
    const [requests, deliveries] = await Promise.all([client.allItems('/v1/requests'), client.allItems('/v1/deliveries')]);
    const organizationOfRequest = new Map(requests.map((request) => [request.id, request.organizationName]));
    const deliveryById = new Map(deliveries.map((delivery) => [delivery.id, delivery]));
    const organizationOf = (item) => {
      const requestId = item.target?.type === 'request' ? item.target.id : item.details?.requestId || deliveryById.get(item.target?.id)?.requestId;
      return organizationOfRequest.get(requestId) || null;
    };
    const who = (item) => {
      if (item.actor.type === 'user' && item.actor.id === me.id) return 'You';
      const organization = organizationOf(item);
      if (organization && item.actor.type === 'user') return `Someone at ${organization}`;
      if (organization && item.actor.type === 'service') return `${organization}'s systems`;
      if (organization) return `Connectid, for ${organization}`;
      return actorText(item.actor);
    };
    const about = (item) => {
      const delivery = deliveryById.get(item.target?.type === 'delivery' ? item.target.id : null);
      if (delivery) return `Delivery "${delivery.title}"`;
      const organization = organizationOf(item);
      return organization ? `Your request to ${organization}` : '—';
    };
    await pagedTable(
      slot,
      [
        ['When', (item) => when(item.occurredAt)],
        ['What', (item) => actionText(item.action)],
        ['Who', who],
        ['About', about],
        ['Details', (item) => (item.action === 'delivery.purged' && item.target?.type === 'delivery' ? receiptButton(item) : detailsText(item.details, new Map(), { withoutIds: true }))],
      ],
      (cursor) => client.api('GET', pageQuery('/v1/me/audit', cursor)),
      { empty: 'Nothing has happened to your data yet.', noun: 'events' },
    );
  } catch (failure) {
    showError(error, failure);
  }

  /** The receipt as the API keeps it now (re-signed after an emergency key rotation), not the audit entry's copy. */
  function receiptButton(item) {
    return h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        onclick: async () => {
          error.textContent = '';
          try {
            const shown = deletionReceipt(await client.api('GET', `/v1/deliveries/${encodeURIComponent(item.target.id)}/deletion-receipt`));
            receiptSlot.replaceChildren(shown.section);
            shown.focus();
          } catch (failure) {
            showError(error, failure);
          }
        },
      },
      'Show deletion receipt',
    );
  }
}
