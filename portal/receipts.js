// Signed receipts (consent and deletion): what they say, in words, and the signed JWS itself to keep or verify.
import { h, nextId, when } from './dom.js';

/**
 * A receipt section: a heading, `summary` lines, the claims, and the JWS with where to verify it. `receipt` is
 * {receipt (JWS), payload, jwksUri} as the API answers it.
 */
export function receiptSection(title, summary, receipt) {
  const headingId = nextId('receipt');
  const heading = h('h2', { id: headingId, tabindex: '-1' }, title);
  const section = h(
    'section',
    { class: 'receipt', 'aria-labelledby': headingId },
    heading,
    summary.length ? h('ul', {}, summary.map((line) => h('li', {}, line))) : null,
    h('details', {}, h('summary', {}, 'All claims'), h('pre', { tabindex: '0' }, JSON.stringify(receipt.payload, null, 2))),
    h(
      'details',
      {},
      h('summary', {}, 'Signed receipt (JWS)'),
      h('p', {}, 'Keep this text: anyone can check the signature with the public keys at ', h('code', {}, receipt.jwksUri || '/.well-known/jwks.json'), '.'),
      h('pre', { tabindex: '0', 'data-testid': 'receipt-jws' }, receipt.receipt),
    ),
  );
  return { section, focus: () => heading.focus() };
}

/** Words for the claims of a deletion receipt; every claim is still under "All claims". */
export function deletionSummary(payload) {
  if (!payload) return [];
  return [
    `Files destroyed: ${payload.items ?? '—'}`,
    `Delivered ${when(payload.releasedAt)}, available until ${when(payload.expiresAt)}`,
    `Keys destroyed ${when(payload.destroyedAt)}; record closed ${when(payload.purgedAt)}`,
    payload.method ? `How: ${payload.method}` : null,
  ].filter(Boolean);
}

/** Words for the claims of a consent receipt. */
export function consentSummary(payload) {
  if (!payload) return [];
  const controller = (payload.piiControllers || [])[0];
  const purpose = ((payload.services || [])[0]?.purposes || [])[0];
  return [
    controller ? `Organization: ${controller.piiController}` : null,
    purpose ? `Purpose: ${purpose.purpose}` : null,
    purpose ? `Data: ${(purpose.piiCategory || []).join(', ')}` : null,
    payload.consentTimestamp ? `Consent given ${when(new Date(payload.consentTimestamp * 1000).toISOString())}` : null,
    `Status: ${payload.status}${payload.withdrawnAt ? ` (withdrawn ${when(payload.withdrawnAt)})` : ''}${payload.declinedAt ? ` (declined ${when(payload.declinedAt)})` : ''}`,
    payload.validUntil ? `Valid until ${when(payload.validUntil)}` : null,
  ].filter(Boolean);
}

export function consentReceipt(receipt) {
  return receiptSection('Consent receipt', consentSummary(receipt.payload), receipt);
}

export function deletionReceipt(receipt) {
  return receiptSection('Deletion receipt', deletionSummary(receipt.payload), receipt);
}
