// eID hand-off: the provider's pages open in a popup; the result page tells the waiting portal tab how it went.
import * as client from './api.js';
import { h, page } from './dom.js';
import { homeRoute, me } from './session.js';

/** The eID result page (in the provider's popup) tells the waiting portal tab on this channel how it went. */
export const EID_CHANNEL = 'connectid-eid';
export const EID_WINDOW = 'connectid-eid';
export const EID_POLL_MS = 2000;

/**
 * Opens an eID authorization URL in a popup (noopener: the provider's pages get no handle on the portal) and waits:
 * every message on the channel, and as a fallback a poll every 2 s, runs `check`, which answers a result to finish
 * with, or undefined while the provider has not answered yet; waiting stops once `alive()` is false. Answers
 * {promise, link, stop}; `link` opens the same URL should the browser have blocked the popup.
 */
export function eidHandOff(authorizationUrl, check, alive) {
  window.open(authorizationUrl, EID_WINDOW, 'popup,noopener,width=520,height=720');
  const channel = typeof BroadcastChannel === 'function' ? new BroadcastChannel(EID_CHANNEL) : null;
  let timer = null;
  let finished = false;
  let checking = false;
  let settle = () => undefined;
  const promise = new Promise((resolve, reject) => {
    settle = (failure, value) => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      if (channel) channel.close();
      if (failure) reject(failure);
      else resolve(value);
    };
  });
  const run = async () => {
    if (finished || checking) return;
    // The person left the page (or closed the step-up dialog): stop waiting.
    if (!alive()) return settle(null, undefined);
    checking = true;
    clearTimeout(timer);
    try {
      const value = await check();
      if (value !== undefined) settle(null, value);
    } catch (failure) {
      settle(failure);
    } finally {
      checking = false;
      if (!finished) timer = setTimeout(run, EID_POLL_MS);
    }
  };
  if (channel) channel.addEventListener('message', run);
  timer = setTimeout(run, EID_POLL_MS);
  const link = h('a', { href: authorizationUrl, target: EID_WINDOW, rel: 'noopener' }, 'open the eID page');
  return { promise, link, stop: () => settle(null, undefined) };
}

/**
 * Links an eID as a factor: creates it (with the enrollment `token`, or the session when null), hands off to the
 * provider and waits for the factor's verify. Answers {promise, stop}: the promise resolves true once the eID is
 * linked, false when the waiting stopped (`stop()`: another factor was chosen, or `alive()` turned false: the person
 * left), and rejects with a readable error when the link was cancelled or failed — the API then discarded the pending
 * factor itself. A link the portal stops waiting for is removed here (best effort, never a step-up prompt: the API
 * also discards it once the provider can no longer answer it).
 */
export function linkEid(provider, token, slot, alive) {
  const call = (method, path, body) => (token ? client.withToken(token, method, path, body) : client.api(method, path, body === undefined ? {} : { body }));
  const quietly = (method, path, body) => client.withToken(token || client.accessToken(), method, path, body);
  let stopped = false;
  let handOff = null;
  const promise = (async () => {
    const created = await call('POST', '/v1/me/factors', { type: 'eid', provider: provider.id, label: provider.label });
    const path = `/v1/me/factors/${encodeURIComponent(created.id)}`;
    if (!stopped) {
      const verify = async () => {
        try {
          return await call('POST', `${path}/verify`, {});
        } catch (failure) {
          const code = (failure instanceof client.ApiError && failure.body && failure.body.code) || '';
          if (code === 'eid_pending') return undefined;
          if (/^eid_/.test(code)) throw new Error(eidErrorText(code, 'enroll'));
          throw failure;
        }
      };
      handOff = eidHandOff(created.authorizationUrl, verify, () => !stopped && alive());
      slot.replaceChildren(h('p', { role: 'status' }, `Continue in the ${provider.label} window that opened. If none opened, `, handOff.link, '.'));
      if (await handOff.promise) return true;
    }
    // No longer waiting: unless the provider answered just now, the pending factor goes.
    try {
      await quietly('POST', `${path}/verify`, {});
      return alive();
    } catch (failure) {
      if (failure instanceof client.ApiError && failure.body && failure.body.code === 'eid_pending') await quietly('DELETE', path).catch(() => undefined);
      return false;
    }
  })();
  return {
    promise,
    stop: () => {
      stopped = true;
      if (handOff) handOff.stop();
    },
  };
}

export function eidErrorText(code, flow) {
  if (code === 'eid_cancelled') return flow === 'enroll' ? 'The eID link was cancelled at the provider. Try again, or choose another factor.' : 'The eID sign-in was cancelled at the provider. Choose a factor to try again.';
  if (code === 'eid_subject_in_use') return 'This eID is already linked to another account.';
  return 'The eID provider could not confirm it is you. Choose a factor to try again.';
}

/**
 * Where the API's eID callback sends the browser back, normally in the popup the portal opened: tells the waiting
 * portal tab on the channel, then closes itself. Should the browser keep it open, it shows the outcome.
 */
export function eidResultPage() {
  const parameters = new URLSearchParams(location.hash.split('?')[1] || '');
  const status = parameters.get('status');
  const flow = parameters.get('flow');
  const texts = {
    ok: flow === 'enroll' ? 'Your eID is linked to your account.' : 'Your eID confirmed it is you.',
    cancelled: 'The eID sign-in was cancelled.',
    failed: `The eID provider could not confirm it is you${parameters.get('error') ? ` (${parameters.get('error')})` : ''}.`,
  };
  page(
    status === 'ok' ? 'eID done' : 'eID not completed',
    h('p', { role: status === 'ok' ? 'status' : 'alert', class: status === 'ok' ? null : 'error' }, texts[status] || 'Unknown eID result.'),
    h('p', {}, 'You can close this window: the portal window you started from continues.'),
    h('a', { href: me ? `#/${homeRoute()}` : '#/sign-in' }, me ? 'Continue' : 'Sign in'),
  );
  if (typeof BroadcastChannel === 'function') {
    const channel = new BroadcastChannel(EID_CHANNEL);
    channel.postMessage({ status, flow, error: parameters.get('error') });
    channel.close();
  }
  // Closes only a window a script opened (the popup); in a tab of its own, the page above stays.
  window.close();
}
