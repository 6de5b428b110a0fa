// eID hand-off: the provider's pages open in a popup; the result page tells the waiting portal tab how it went.
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
