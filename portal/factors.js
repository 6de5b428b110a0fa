// Everyone: my second factors.
import * as client from './api.js';
import { dataTable, errorBox, field, h, page, say, showError, when } from './dom.js';
import { linkEid } from './eid.js';
import { enrollPasskey, enrollTotp } from './signin.js';
import { supported as passkeysSupported } from './webauthn.js';

const TYPE_NAMES = { totp: 'Authenticator app', webauthn: 'Passkey', email: 'Email code', sms: 'Text message code', eid: 'eID' };

export async function factorsPage() {
  const error = errorBox();
  const slot = h('div');
  const enrollSlot = h('div');
  const codesSlot = h('div');
  const eidSlot = h('div');
  const passkeyName = field('Passkey name', { name: 'label', required: true, maxlength: 100, value: 'Passkey' });
  const addPasskey = h(
    'form',
    {
      class: 'inline',
      onsubmit: (event) => {
        event.preventDefault();
        stopLinking();
        enrollPasskey(null, passkeyName.input.value.trim(), error, load);
      },
    },
    passkeyName.label,
    h('button', { type: 'submit', disabled: !passkeysSupported() }, 'Add passkey'),
  );
  page(
    'My factors',
    error,
    slot,
    h('h2', {}, 'Add a factor'),
    addPasskey,
    h('div', { class: 'factors' }, h('button', { type: 'button', class: 'secondary', onclick: () => (stopLinking(), enrollTotp(null, enrollSlot, error, load)) }, 'Add authenticator app'), h('button', { type: 'button', class: 'secondary', onclick: createCodes }, 'Create recovery codes')),
    eidSlot,
    enrollSlot,
    codesSlot,
  );
  let eidWaiting = null;
  client
    .api('GET', '/v1/auth/eid/providers')
    .then((providers) => {
      const items = providers.items || [];
      if (items.length === 0) return;
      eidSlot.replaceChildren(
        h('div', { class: 'factors', role: 'group', 'aria-label': 'eID' }, items.map((provider) => h('button', { type: 'button', class: 'secondary', onclick: () => enrollEid(provider) }, `Link ${provider.label}`))),
      );
    })
    .catch((failure) => showError(error, failure));

  /** Stops waiting for an eID link (its pending factor is then removed): another factor was chosen. */
  function stopLinking() {
    if (eidWaiting) eidWaiting.stop();
    eidWaiting = null;
  }

  /**
   * Creates the eID factor, hands off to the provider in a popup, and confirms it once the popup reports back. A
   * link cancelled or failed at the provider leaves no factor behind (the API discards it), nor one this page stops
   * waiting for (linkEid removes it).
   */
  async function enrollEid(provider) {
    error.textContent = '';
    stopLinking();
    const linking = linkEid(provider, null, enrollSlot, () => enrollSlot.isConnected);
    eidWaiting = linking;
    // Superseded by another factor (or this page left): that one owns the slot now.
    const current = () => eidWaiting === linking && enrollSlot.isConnected;
    try {
      const linked = await linking.promise;
      if (linked) say(`${provider.label} linked.`);
      if (!current()) return;
      eidWaiting = null;
      enrollSlot.replaceChildren();
      if (linked) await load();
    } catch (failure) {
      if (!current()) return;
      eidWaiting = null;
      enrollSlot.replaceChildren();
      showError(error, failure);
      await load().catch(() => undefined);
    }
  }

  async function createCodes() {
    error.textContent = '';
    try {
      const answer = await client.api('POST', '/v1/me/recovery-codes');
      codesSlot.replaceChildren(
        h('section', { class: 'secret' }, h('h2', {}, 'Your recovery codes'), h('p', {}, h('strong', {}, 'Store them now: they are shown only once, and replace any older codes.')), h('pre', { tabindex: '0' }, answer.codes.join('\n'))),
      );
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function remove(factor) {
    if (!window.confirm(`Remove "${factor.label}"?`)) return;
    error.textContent = '';
    try {
      await client.api('DELETE', `/v1/me/factors/${encodeURIComponent(factor.id)}`);
      say(`Removed ${factor.label}.`);
      await load();
      // The table was drawn anew: focus goes to the next factor's Remove button, or to "Add a factor".
      const next = slot.querySelector('tbody button') || document.querySelector('#main h2');
      if (next) next.focus();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    enrollSlot.replaceChildren();
    const list = await client.api('GET', '/v1/me/factors');
    slot.replaceChildren(
      dataTable(
        [
          ['Factor', (factor) => factor.label],
          ['Type', (factor) => TYPE_NAMES[factor.type] || factor.type],
          ['Status', (factor) => factor.status],
          ['Last used', (factor) => (factor.lastUsedAt ? when(factor.lastUsedAt) : 'never')],
          ['Actions', (factor) => h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${factor.label}`, onclick: () => remove(factor) }, 'Remove')],
        ],
        list.items,
      ),
      h('p', {}, `Recovery codes left: ${list.recoveryCodesRemaining}`),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}
