// Audit events for people: what happened, who did it, and the details worth reading. Shared by the admins' audit
// log and the requester's "Who accessed my data".
import { h } from './dom.js';

const ACTIONS = {
  'auth.login.succeeded': 'Signed in',
  'auth.login.failed': 'Sign-in failed',
  'auth.lockout': 'Sign-in locked for a while after failures',
  'auth.mfa.failed': 'Second factor failed',
  'auth.password_reset': 'Password reset',
  'api_key.created': 'API key created',
  'api_key.rotated': 'API key rotated',
  'api_key.revoked': 'API key revoked',
  'member.invited': 'Member invited',
  'member.joined': 'Member joined',
  'member.role_changed': 'Member changed',
  'member.disabled': 'Member disabled',
  'token_family.revoked': 'Session ended after a reused refresh token',
  'organization.created': 'Organization created',
  'requester.verified': 'Email address confirmed',
  'request.opened': 'Request opened with consent',
  'request.assigned': 'Request assigned',
  'request.declined': 'Request declined',
  'consent.withdrawn': 'Consent withdrawn',
  'delivery.created': 'Delivery prepared',
  'delivery.item.added': 'File added to a delivery',
  'delivery.released': 'Delivery sent',
  'delivery.item.downloaded': 'File downloaded',
  'delivery.purged': 'Delivery deleted after 32 days',
  'mfa.factor.enrolled': 'Second factor added',
  'mfa.factor.removed': 'Second factor removed',
  'mfa.factor.used': 'Second factor used',
  'mfa.recovery_code_used': 'Recovery code used',
  'mfa.recovery_codes.created': 'Recovery codes created',
  'mfa.factors.reset': 'Second factors reset',
  'eid.identity.verified': 'Identity confirmed with eID',
  'identity.viewed': 'Your verified identity was seen',
};

export function actionText(action) {
  return ACTIONS[action] || action;
}

/** The actor: a name from `names` (id → text) when known, else its type and id. */
export function actorText(actor, names = new Map()) {
  if (!actor) return '—';
  if (actor.type === 'system') return 'Connectid';
  const name = actor.id ? names.get(actor.id) : null;
  if (name) return name;
  const kind = actor.type === 'service' ? 'Service (API key)' : 'Person';
  return actor.id ? `${kind} ${actor.id}` : `${kind}, unknown`;
}

/** The target: a name from `names` (id → text) when known, else its type and id. */
export function targetText(target, names = new Map()) {
  if (!target) return '—';
  return names.get(target.id) || `${target.type} ${target.id}`;
}

const ISO_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

/**
 * The details as "name: value" lines; `names` turns known ids into names and times read as local times. Nested
 * values (a signed receipt) are left to the caller, which offers them as their own view. `options.withoutIds`
 * leaves out the fields that only hold ids (a person reading their own history has no use for them).
 */
export function detailsText(details, names = new Map(), options = {}) {
  if (!details) return '—';
  const lines = Object.entries(details)
    .filter(([, value]) => value === null || typeof value !== 'object')
    .filter(([name]) => name !== 'receipt')
    .filter(([name]) => !(options.withoutIds && /Id$/.test(name)))
    .map(([name, value]) => `${name}: ${readable(value, names)}`);
  return lines.length ? h('span', { class: 'details' }, lines.join('\n')) : '—';
}

function readable(value, names) {
  if (typeof value !== 'string') return String(value);
  if (names.has(value)) return names.get(value);
  if (ISO_TIME.test(value)) return new Date(value).toLocaleString();
  return value;
}
