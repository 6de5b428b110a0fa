// Connectid portal: a hash router over the public API. No framework, no inline script; tokens only in memory.
import * as client from './api.js';
import { authenticate, register, supported as passkeysSupported } from './webauthn.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const statusBox = document.getElementById('status');
const stepUpDialog = document.getElementById('step-up');
const stepUpBody = document.getElementById('step-up-body');

let me = null;
let afterSignIn = null;
let idCounter = 0;

// ---------- small DOM helpers ----------

function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else if (name === 'class') element.className = value;
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

function nextId(prefix) {
  idCounter += 1;
  return `${prefix}-${idCounter}`;
}

/** A labelled input: the label wraps its text and the control, so the control's accessible name is the label. */
function field(text, attributes = {}, hint) {
  const input = h('input', { type: 'text', ...attributes });
  const label = h('label', {}, h('span', {}, text), input, hint ? h('span', { class: 'muted' }, hint) : null);
  return { label, input };
}

function errorBox() {
  return h('p', { class: 'error', role: 'alert' });
}

function showError(box, error) {
  box.textContent = error && error.message ? error.message : String(error);
}

function say(message) {
  statusBox.textContent = message;
}

function page(title, ...content) {
  document.title = `${title} · Connectid`;
  main.replaceChildren(h('h1', {}, title), ...content);
  main.focus();
}

function when(iso) {
  if (!iso) return '—';
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? String(iso) : date.toLocaleString();
}

function bytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

function cell(label, ...content) {
  return h('td', { 'data-label': label }, ...content);
}

function go(route) {
  if (location.hash === `#/${route}`) render();
  else location.hash = `#/${route}`;
}

// ---------- signing in ----------

function homeRoute() {
  if (!me) return 'sign-in';
  if (me.role === 'requester') return 'inbox';
  if (me.role === 'org_admin') return 'keys';
  if (me.role === 'org_member') return 'requests';
  return 'factors';
}

async function finishSignIn(tokens) {
  client.setTokens(tokens);
  me = await client.api('GET', '/v1/me');
  say(`Signed in as ${me.email}.`);
  const target = afterSignIn;
  afterSignIn = null;
  go(target || homeRoute());
}

const SCOPE_LABELS = { requester: 'Requester — my data', operator: 'Operator' };

function signInPage() {
  const error = errorBox();
  const email = field('Email', { type: 'email', name: 'username', autocomplete: 'username', required: true });
  const password = field('Password', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const scopeSlot = h('div');
  let scopeSelect = null;
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        submit.disabled = true;
        try {
          const credentials = { username: email.input.value.trim(), password: password.input.value };
          if (scopeSelect) credentials.scope = scopeSelect.value;
          await passwordStep(credentials, (scopes) => {
            scopeSelect = h('select', { name: 'scope' }, scopes.map((scope) => h('option', { value: scope }, SCOPE_LABELS[scope] || `Organization ${scope.slice(4)}`)));
            scopeSlot.replaceChildren(h('label', {}, h('span', {}, 'Sign in as'), scopeSelect));
            error.textContent = 'This account has several roles: choose one, then sign in.';
            scopeSelect.focus();
          });
        } catch (failure) {
          showError(error, failure);
        } finally {
          submit.disabled = false;
        }
      },
    },
    email.label,
    password.label,
    scopeSlot,
    submit,
    error,
  );
  page(
    'Sign in',
    form,
    h('p', {}, h('a', { href: '#/sign-up' }, 'Create an account to get your data'), ' · ', h('a', { href: '#/forgot-password' }, 'Forgot your password?')),
  );
  email.input.focus();
}

async function passwordStep(credentials, chooseScope) {
  const answer = await client.tokenRequest({ grant_type: 'password', ...credentials });
  const body = answer.body || {};
  if (answer.status === 200) return finishSignIn(body);
  if (answer.status === 400 && body.error === 'invalid_scope' && Array.isArray(body.scopes)) return chooseScope(body.scopes);
  if (answer.status === 403 && body.error === 'mfa_enrollment_required') return enrollmentPage(body.enrollment_token, credentials);
  if (answer.status === 403 && body.error === 'mfa_required') {
    const container = h('div');
    page('Second factor', h('p', {}, 'Choose how to confirm it is you.'), container);
    const tokens = await chooseFactor(container, body);
    return finishSignIn(tokens);
  }
  throw new client.ApiError(answer.status, body);
}

const FACTOR_NAMES = {
  totp: 'Authenticator app code',
  webauthn: 'Passkey',
  email: 'Email me a code',
  sms: 'Text me a code',
  recovery: 'Recovery code',
  eid: 'Continue with',
};

/** The eID result page (in the provider's popup) tells the waiting portal tab on this channel how it went. */
const EID_CHANNEL = 'connectid-eid';
const EID_WINDOW = 'connectid-eid';
const EID_POLL_MS = 2000;

/**
 * Opens an eID authorization URL in a popup (noopener: the provider's pages get no handle on the portal) and waits:
 * every message on the channel, and as a fallback a poll every 2 s, runs `check`, which answers a result to finish
 * with, or undefined while the provider has not answered yet; waiting stops once `alive()` is false. Answers
 * {promise, link, stop}; `link` opens the same URL should the browser have blocked the popup.
 */
function eidHandOff(authorizationUrl, check, alive) {
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

function eidErrorText(code, flow) {
  if (code === 'eid_cancelled') return flow === 'enroll' ? 'The eID link was cancelled at the provider. Try again, or choose another factor.' : 'The eID sign-in was cancelled at the provider. Choose a factor to try again.';
  if (code === 'eid_subject_in_use') return 'This eID is already linked to another account.';
  return 'The eID provider could not confirm it is you. Choose a factor to try again.';
}

/** Renders the factors of an mfa_required (or step-up) answer into `container`; resolves with the tokens. */
function chooseFactor(container, challenge) {
  return new Promise((resolve) => {
    const error = errorBox();
    const answerSlot = h('div');
    const offered = (challenge.factors || []).filter((factor) => FACTOR_NAMES[factor.type]);
    let waiting = null;
    const buttons = offered.map((factor) =>
      h(
        'button',
        { type: 'button', class: 'secondary', onclick: () => start(factor) },
        factor.type === 'recovery' ? FACTOR_NAMES.recovery : factor.type === 'eid' ? `Continue with ${factor.label}` : `${FACTOR_NAMES[factor.type]}: ${factor.label}`,
      ),
    );
    container.replaceChildren(h('div', { class: 'factors', role: 'group', 'aria-label': 'Second factors' }, buttons), answerSlot, error);

    async function grant(factor, answer) {
      const result = await client.mfaGrant(challenge.mfa_token, factor.id, answer);
      if (result.status === 200) return resolve(result.body);
      throw new client.ApiError(result.status, result.body);
    }

    function codeForm(factor, prompt) {
      const code = field(factor.type === 'recovery' ? 'Recovery code' : 'Code', {
        name: 'code',
        autocomplete: 'one-time-code',
        inputmode: factor.type === 'recovery' ? 'text' : 'numeric',
        required: true,
      });
      const submit = h('button', { type: 'submit' }, 'Verify');
      const form = h(
        'form',
        {
          onsubmit: async (event) => {
            event.preventDefault();
            error.textContent = '';
            submit.disabled = true;
            try {
              await grant(factor, { code: code.input.value.trim() });
            } catch (failure) {
              showError(error, failure);
            } finally {
              submit.disabled = false;
            }
          },
        },
        h('p', {}, prompt),
        code.label,
        submit,
      );
      answerSlot.replaceChildren(form);
      code.input.focus();
    }

    /** The MFA grant without an answer: tokens once the provider's answer is in, undefined while it is pending. */
    async function eidGrant(factor) {
      const result = await client.mfaGrant(challenge.mfa_token, factor.id, {});
      if (result.status === 200) return result.body;
      const body = result.body || {};
      if (body.error === 'authorization_pending') return undefined;
      if (body.error === 'invalid_grant' && /^eid_/.test(body.error_description || '')) throw new Error(eidErrorText(body.error_description, 'login'));
      throw new client.ApiError(result.status, body);
    }

    async function eid(factor, started) {
      const alive = () => container.isConnected && !container.closest('dialog:not([open])');
      const handOff = eidHandOff(started.authorization_url, () => eidGrant(factor), alive);
      waiting = handOff;
      answerSlot.replaceChildren(
        h('p', { role: 'status' }, `Continue in the ${factor.label} window that opened. If none opened, `, handOff.link, '.'),
      );
      try {
        const tokens = await handOff.promise;
        if (tokens) resolve(tokens);
      } catch (failure) {
        answerSlot.replaceChildren();
        showError(error, failure);
      } finally {
        if (waiting === handOff) waiting = null;
      }
    }

    async function start(factor) {
      error.textContent = '';
      if (waiting) waiting.stop();
      try {
        if (factor.type === 'totp') return codeForm(factor, `Enter the 6-digit code from ${factor.label}.`);
        if (factor.type === 'recovery') return codeForm(factor, 'Enter one of your recovery codes. Each works once.');
        const started = await client.startChallenge(challenge.mfa_token, factor.id);
        if (factor.type === 'eid') return await eid(factor, started);
        if (factor.type === 'webauthn') {
          if (!passkeysSupported()) throw new Error('This browser cannot use passkeys.');
          answerSlot.replaceChildren(h('p', {}, 'Follow your browser to use your passkey…'));
          const credential = await authenticate(started.options);
          return await grant(factor, { credential: JSON.stringify(credential) });
        }
        return codeForm(factor, factor.type === 'email' ? 'We sent a 6-digit code to your email address.' : 'We sent a 6-digit code by text message.');
      } catch (failure) {
        showError(error, failure);
      }
    }
  });
}

function enrollmentPage(enrollmentToken, credentials) {
  const error = errorBox();
  const slot = h('div');
  const totpButton = h('button', { type: 'button', onclick: () => enrollTotp(enrollmentToken, slot, error, () => passwordStep(credentials, () => undefined)) }, 'Set up an authenticator app');
  const passkeyButton = passkeysSupported()
    ? h('button', { type: 'button', class: 'secondary', onclick: () => enrollPasskey(enrollmentToken, 'Passkey', error, () => passwordStep(credentials, () => undefined)) }, 'Set up a passkey')
    : null;
  page(
    'Set up a second factor',
    h('p', {}, 'Your account has no second factor yet. Every sign-in needs one: set it up now, then you are signed in.'),
    h('div', { class: 'factors' }, totpButton, passkeyButton),
    slot,
    error,
  );
}

async function enrollTotp(token, slot, error, done) {
  error.textContent = '';
  try {
    const created = token
      ? await client.withToken(token, 'POST', '/v1/me/factors', { type: 'totp', label: 'Authenticator app' })
      : await client.api('POST', '/v1/me/factors', { body: { type: 'totp', label: 'Authenticator app' } });
    const secret = new URL(created.otpauthUri).searchParams.get('secret');
    const code = field('Code from the app', { name: 'code', autocomplete: 'one-time-code', inputmode: 'numeric', required: true });
    const form = h(
      'form',
      {
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          try {
            const path = `/v1/me/factors/${encodeURIComponent(created.id)}/verify`;
            const body = { code: code.input.value.trim() };
            if (token) await client.withToken(token, 'POST', path, body);
            else await client.api('POST', path, { body });
            say('Authenticator app added.');
            await done();
          } catch (failure) {
            showError(error, failure);
          }
        },
      },
      h('p', {}, 'Scan the QR code with your authenticator app, or type the key, then enter the code it shows.'),
      h('img', { class: 'qr', src: created.qrCode, alt: 'QR code for your authenticator app' }),
      h('p', {}, 'Key: ', h('code', {}, secret)),
      code.label,
      h('button', { type: 'submit' }, 'Verify code'),
    );
    slot.replaceChildren(form);
    code.input.focus();
  } catch (failure) {
    showError(error, failure);
  }
}

async function enrollPasskey(token, label, error, done) {
  error.textContent = '';
  try {
    const body = { type: 'webauthn', label };
    const created = token ? await client.withToken(token, 'POST', '/v1/me/factors', body) : await client.api('POST', '/v1/me/factors', { body });
    const credential = await register(created.options);
    const path = `/v1/me/factors/${encodeURIComponent(created.id)}/verify`;
    if (token) await client.withToken(token, 'POST', path, { credential });
    else await client.api('POST', path, { body: { credential } });
    say(`Passkey "${label}" added.`);
    await done();
  } catch (failure) {
    showError(error, failure);
  }
}

async function stepUp() {
  const challenge = await client.startStepUp();
  const container = h('div');
  return new Promise((resolve, reject) => {
    const cancel = h('button', { type: 'button', class: 'secondary', onclick: () => close(new Error('Cancelled: the action needs a recent second factor.')) }, 'Cancel');
    stepUpBody.replaceChildren(container, cancel);
    const close = (failure) => {
      stepUpDialog.close();
      if (failure) reject(failure);
    };
    stepUpDialog.addEventListener('cancel', () => reject(new Error('Cancelled: the action needs a recent second factor.')), { once: true });
    stepUpDialog.showModal();
    chooseFactor(container, challenge).then((tokens) => {
      client.setTokens(tokens);
      close();
      resolve();
    });
  });
}

async function signOut() {
  await client.signOut();
  me = null;
  say('You are signed out.');
  go('sign-in');
}

// ---------- organization admins: API keys ----------

async function keysPage() {
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
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        createButton.disabled = true;
        try {
          const key = await client.api('POST', base, { body: { name: name.input.value.trim() } });
          name.input.value = '';
          showSecret(key, `API key "${key.name}" created`);
          await load();
        } catch (failure) {
          showError(error, failure);
        } finally {
          createButton.disabled = false;
        }
      },
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
        h('button', { type: 'button', class: 'secondary', onclick: () => secretSlot.replaceChildren() }, 'I have stored the key'),
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
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    const [keys, members] = await Promise.all([
      client.api('GET', `${base}?limit=100`),
      client.api('GET', `/v1/organizations/${encodeURIComponent(organizationId)}/members?limit=100`).catch(() => ({ items: [] })),
    ]);
    const emails = new Map(members.items.map((member) => [member.id, member.email]));
    if (keys.items.length === 0) {
      tableSlot.replaceChildren(h('p', {}, 'No API keys yet.'));
      return;
    }
    const rows = keys.items.map((key) => {
      const live = key.status === 'active' || key.status === 'expiring';
      return h(
        'tr',
        { 'data-key-id': key.id },
        cell('Name', key.name),
        cell('Prefix', h('code', {}, key.prefix)),
        cell('Creator', emails.get(key.createdBy) || key.createdBy),
        cell('Created', when(key.createdAt)),
        cell('Last used', key.lastUsedAt ? when(key.lastUsedAt) : 'never'),
        cell('Status', key.status === 'expiring' ? `expiring ${when(key.expiresAt)}` : key.status),
        cell(
          'Actions',
          live
            ? h(
                'div',
                { class: 'actions' },
                h('button', { type: 'button', class: 'secondary', onclick: () => rotate(key) }, 'Rotate key'),
                h('button', { type: 'button', class: 'danger', onclick: () => revoke(key) }, 'Revoke key'),
              )
            : '—',
        ),
      );
    });
    tableSlot.replaceChildren(
      h(
        'table',
        {},
        h('caption', { class: 'muted' }, 'API keys of your organization; secrets are never shown here'),
        h('thead', {}, h('tr', {}, ['Name', 'Prefix', 'Creator', 'Created', 'Last used', 'Status', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, rows),
      ),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}

// ---------- organization admins: members and audit log ----------

const ROLE_NAMES = { org_admin: 'Admin', org_member: 'Member' };

async function membersPage() {
  const base = `/v1/organizations/${encodeURIComponent(me.organizationId)}/members`;
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading members…'));
  const email = field('Email of the new member', { type: 'email', name: 'email', required: true });
  const role = h('select', { name: 'role' }, h('option', { value: 'org_member' }, 'Member'), h('option', { value: 'org_admin' }, 'Admin'));
  const invite = h(
    'form',
    {
      class: 'inline',
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          await client.api('POST', base, { body: { email: email.input.value.trim(), role: role.value } });
          say(`Invitation sent to ${email.input.value.trim()}.`);
          email.input.value = '';
          await load();
        } catch (failure) {
          showError(error, failure);
        }
      },
    },
    email.label,
    h('label', {}, h('span', {}, 'Role'), role),
    h('button', { type: 'submit' }, 'Invite member'),
  );
  page('Members', error, h('h2', {}, 'Invite'), invite, h('h2', {}, 'Members'), slot);

  async function change(member, body, done) {
    error.textContent = '';
    try {
      await client.api('PATCH', `${base}/${encodeURIComponent(member.id)}`, { body });
      say(done);
      await load();
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function resetFactors(member) {
    if (!window.confirm(`Reset the second factors of ${member.email}? They set up a new one at their next sign-in.`)) return;
    error.textContent = '';
    try {
      await client.api('POST', `${base}/${encodeURIComponent(member.id)}/reset-factors`);
      say(`Factors of ${member.email} reset.`);
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    const list = await client.api('GET', `${base}?limit=100`);
    const rows = list.items.map((member) => {
      const roleSelect = h(
        'select',
        {
          'aria-label': `Role of ${member.email}`,
          onchange: () => change(member, { role: roleSelect.value }, `${member.email} is now ${ROLE_NAMES[roleSelect.value]}.`),
        },
        Object.entries(ROLE_NAMES).map(([value, text]) => h('option', { value, selected: value === member.role }, text)),
      );
      const self = member.id === me.id;
      return h(
        'tr',
        {},
        cell('Member', member.name ? `${member.name} <${member.email}>` : member.email),
        cell('Role', self ? ROLE_NAMES[member.role] : roleSelect),
        cell('Status', member.status),
        cell('Joined', when(member.joinedAt)),
        cell(
          'Actions',
          self
            ? '—'
            : h(
                'div',
                { class: 'actions' },
                member.status === 'active'
                  ? h('button', { type: 'button', class: 'danger', 'aria-label': `Disable ${member.email}`, onclick: () => change(member, { disabled: true }, `${member.email} disabled.`) }, 'Disable')
                  : h('button', { type: 'button', class: 'secondary', 'aria-label': `Enable ${member.email}`, onclick: () => change(member, { disabled: false }, `${member.email} enabled.`) }, 'Enable'),
                h('button', { type: 'button', class: 'secondary', 'aria-label': `Reset factors of ${member.email}`, onclick: () => resetFactors(member) }, 'Reset factors'),
              ),
        ),
      );
    });
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Member', 'Role', 'Status', 'Joined', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, rows),
      ),
    );
  }

  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}

async function auditPage() {
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

  async function load() {
    error.textContent = '';
    try {
      const list = await client.api('GET', query({ limit: '100' }));
      const items = list.items || [];
      if (items.length === 0) {
        slot.replaceChildren(h('p', {}, 'No events match.'));
        return;
      }
      const columns = [...new Set(items.flatMap((item) => Object.keys(item).filter((key) => typeof item[key] !== 'object' || item[key] === null)))];
      slot.replaceChildren(
        h(
          'table',
          {},
          h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column)))),
          h('tbody', {}, items.map((item) => h('tr', {}, columns.map((column) => cell(column, item[column] === null || item[column] === undefined ? '—' : String(item[column])))))),
        ),
        list.nextCursor ? h('p', { class: 'muted' }, 'Showing the newest 100 events; narrow the filters or export the CSV for all.') : null,
      );
    } catch (failure) {
      showError(error, failure);
    }
  }

  await load();
}

// ---------- organizations: requests, assigning, delivering ----------

async function requestsPage() {
  const admin = me.role === 'org_admin';
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading requests…'));
  page(admin ? 'Requests' : 'Requests assigned to me', error, slot);
  try {
    const [list, members] = await Promise.all([
      client.api('GET', '/v1/requests?status=open&limit=100'),
      admin ? client.api('GET', `/v1/organizations/${encodeURIComponent(me.organizationId)}/members?limit=100`) : Promise.resolve({ items: [] }),
    ]);
    const emails = new Map(members.items.map((member) => [member.id, member.email]));
    const items = admin ? list.items : list.items.filter((request) => request.assignee && request.assignee.id === me.id);
    if (items.length === 0) {
      slot.replaceChildren(h('p', {}, admin ? 'No open requests.' : 'No open requests are assigned to you.'));
      return;
    }
    const rows = items.map((request) => {
      let action;
      if (admin) {
        const select = h(
          'select',
          { 'aria-label': `Assignee of the request "${request.purpose}"` },
          h('option', { value: '' }, '— choose —'),
          members.items.filter((member) => member.status === 'active').map((member) => h('option', { value: member.id, selected: request.assignee && request.assignee.id === member.id }, member.email)),
        );
        action = h(
          'div',
          { class: 'actions' },
          select,
          h(
            'button',
            {
              type: 'button',
              class: 'secondary',
              onclick: async () => {
                error.textContent = '';
                try {
                  if (!select.value) throw new Error('Choose a member to assign the request to.');
                  await client.api('POST', `/v1/requests/${encodeURIComponent(request.id)}/assign`, { body: { assigneeId: select.value } });
                  say(`Request assigned to ${emails.get(select.value) || select.value}.`);
                } catch (failure) {
                  showError(error, failure);
                }
              },
            },
            'Assign',
          ),
        );
      } else {
        action = h('a', { href: `#/requests/${request.id}/deliver` }, 'Prepare delivery');
      }
      return h(
        'tr',
        {},
        cell('Purpose', request.purpose),
        cell('Categories', request.categories.join(', ')),
        cell('Received', when(request.createdAt)),
        cell('Assigned to', request.assignee ? emails.get(request.assignee.id) || (request.assignee.id === me.id ? 'me' : request.assignee.type) : 'nobody'),
        cell(admin ? 'Assign' : 'Deliver', action),
      );
    });
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Purpose', 'Categories', 'Received', 'Assigned to', admin ? 'Assign' : 'Deliver'].map((title) => h('th', { scope: 'col' }, title)))),
        h('tbody', {}, rows),
      ),
    );
  } catch (failure) {
    showError(error, failure);
  }
}

/** PUT one file with XMLHttpRequest (fetch cannot report upload progress); refreshes the token once on a 401. */
function uploadFile(deliveryId, file, progress) {
  const send = () =>
    new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open('PUT', `/v1/deliveries/${encodeURIComponent(deliveryId)}/items/${encodeURIComponent(file.name)}`);
      request.setRequestHeader('Authorization', `Bearer ${client.accessToken()}`);
      request.setRequestHeader('Content-Type', file.type || 'application/octet-stream');
      request.upload.addEventListener('progress', (event) => {
        if (event.lengthComputable) progress.value = event.loaded;
      });
      request.addEventListener('load', () => resolve(request));
      request.addEventListener('error', () => reject(new Error(`Uploading ${file.name} failed: the connection broke.`)));
      request.send(file);
    });
  return send().then(async (request) => {
    let answer = request;
    if (answer.status === 401 && (await client.refresh())) answer = await send();
    if (answer.status >= 200 && answer.status < 300) {
      progress.value = progress.max;
      return;
    }
    let body = null;
    try {
      body = JSON.parse(answer.responseText);
    } catch {
      body = null;
    }
    throw new client.ApiError(answer.status, body);
  });
}

function deliverPage(requestId) {
  const error = errorBox();
  const slot = h('div');
  const title = field('Title of the delivery', { name: 'title', required: true, maxlength: 200, value: 'Your data' });
  const createButton = h('button', { type: 'submit' }, 'Create delivery');
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        createButton.disabled = true;
        try {
          const chosen = title.input.value.trim();
          const created = await client.api('POST', `/v1/requests/${encodeURIComponent(requestId)}/deliveries`, { body: { title: chosen } });
          form.remove();
          uploadStep({ id: created.id, title: created.title || chosen });
        } catch (failure) {
          showError(error, failure);
          createButton.disabled = false;
        }
      },
    },
    title.label,
    createButton,
  );
  page('Prepare a delivery', h('p', {}, 'Create a draft, add the files, then submit it: the requester can download it for 32 days.'), form, slot, error);

  function uploadStep(delivery) {
    const files = h('input', { type: 'file', multiple: true, name: 'files' });
    const list = h('ul');
    const submitButton = h('button', { type: 'button', disabled: true }, 'Submit delivery');
    const uploadButton = h('button', { type: 'submit', class: 'secondary' }, 'Upload files');
    const uploadForm = h(
      'form',
      {
        onsubmit: async (event) => {
          event.preventDefault();
          error.textContent = '';
          uploadButton.disabled = true;
          try {
            if (files.files.length === 0) throw new Error('Choose at least one file.');
            for (const file of files.files) {
              const progress = h('progress', { max: Math.max(file.size, 1), value: 0, 'aria-label': `Upload progress of ${file.name}` });
              const entry = h('li', {}, `${file.name} (${bytes(file.size)}) `, progress);
              list.append(entry);
              await uploadFile(delivery.id, file, progress);
              entry.append(' uploaded');
            }
            files.value = '';
            submitButton.disabled = false;
            say('Files uploaded.');
          } catch (failure) {
            showError(error, failure);
          } finally {
            uploadButton.disabled = false;
          }
        },
      },
      h('label', {}, h('span', {}, 'Files'), files),
      uploadButton,
    );
    submitButton.addEventListener('click', async () => {
      error.textContent = '';
      try {
        await client.api('POST', `/v1/deliveries/${encodeURIComponent(delivery.id)}/submit`);
        slot.replaceChildren(h('p', { role: 'status' }, `Delivery "${delivery.title}" submitted: the requester has been told.`), h('a', { href: '#/requests' }, 'Back to the requests'));
        say('Delivery submitted.');
      } catch (failure) {
        showError(error, failure);
      }
    });
    slot.replaceChildren(h('h2', {}, `Files of "${delivery.title}"`), uploadForm, list, submitButton);
    files.focus();
  }
}

// ---------- requesters: inbox, delivery, receipts ----------

async function inboxPage() {
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

async function download(delivery, item, progress, error) {
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

async function deliveryPage(id) {
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

const CATEGORIES = {
  contact: 'Contact details',
  identity: 'Identity',
  financial: 'Financial',
  employment: 'Employment',
  health: 'Health',
  other: 'Other',
};

async function organizationsPage() {
  const error = errorBox();
  const slot = h('div', {}, h('p', {}, 'Loading the directory…'));
  page('Organizations', h('p', {}, 'Ask an organization for the data it holds about you.'), slot, error);
  try {
    const list = await client.api('GET', '/v1/organizations?limit=100');
    slot.replaceChildren(
      list.items.length === 0
        ? h('p', {}, 'No organizations yet.')
        : h('ul', {}, list.items.map((organization) => h('li', {}, h('a', { href: `#/organizations/${organization.id}/request`, 'aria-label': `Ask ${organization.name} for my data` }, organization.name)))),
    );
  } catch (failure) {
    showError(error, failure);
  }
}

async function openRequestPage(organizationId) {
  const error = errorBox();
  const purpose = field('Purpose', { name: 'purpose', required: true, maxlength: 500 }, 'Why you want the data; it goes into your consent receipt.');
  const message = field('Message to the organization (optional)', { name: 'message', maxlength: 1000 });
  const boxes = Object.entries(CATEGORIES).map(([code, text]) => {
    const box = h('input', { type: 'checkbox', name: 'categories', value: code });
    return { box, label: h('label', { class: 'check' }, box, h('span', {}, text)) };
  });
  const consent = h('input', { type: 'checkbox', name: 'consent', required: true });
  const submit = h('button', { type: 'submit' }, 'Open request');
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        try {
          const categories = boxes.filter((one) => one.box.checked).map((one) => one.box.value);
          if (categories.length === 0) throw new Error('Choose at least one data category.');
          const body = { organizationId, purpose: purpose.input.value.trim(), categories };
          if (message.input.value.trim()) body.message = message.input.value.trim();
          await client.api('POST', '/v1/requests', { body });
          say('Request opened: the organization has your consent to deliver the data.');
          go('my-requests');
        } catch (failure) {
          showError(error, failure);
        }
      },
    },
    purpose.label,
    h('fieldset', {}, h('legend', {}, 'Data categories'), boxes.map((one) => one.label)),
    message.label,
    h('label', { class: 'check' }, consent, h('span', {}, 'I consent to this organization delivering this data to me through Connectid.')),
    submit,
    error,
  );
  page('Ask for my data', form);
  purpose.input.focus();
}

async function myRequestsPage() {
  const error = errorBox();
  const slot = h('div');
  const receiptSlot = h('div');
  page('My requests', slot, receiptSlot, error);
  async function load() {
    const list = await client.api('GET', '/v1/requests?limit=100');
    if (list.items.length === 0) {
      slot.replaceChildren(h('p', {}, 'You have not asked anyone for your data yet. ', h('a', { href: '#/organizations' }, 'Find an organization')));
      return;
    }
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Organization', 'Purpose', 'Status', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          list.items.map((request) =>
            h(
              'tr',
              {},
              cell('Organization', request.organizationName),
              cell('Purpose', request.purpose),
              cell('Status', request.status),
              cell(
                'Actions',
                h(
                  'div',
                  { class: 'actions' },
                  h(
                    'button',
                    {
                      type: 'button',
                      class: 'secondary',
                      'aria-label': `Consent receipt for ${request.organizationName}`,
                      onclick: async () => {
                        try {
                          const receipt = await client.api('GET', `/v1/requests/${encodeURIComponent(request.id)}/consent`);
                          receiptSlot.replaceChildren(h('h2', {}, 'Consent receipt'), h('pre', { tabindex: '0' }, JSON.stringify(receipt, null, 2)));
                        } catch (failure) {
                          showError(error, failure);
                        }
                      },
                    },
                    'Consent receipt',
                  ),
                  request.status === 'open'
                    ? h(
                        'button',
                        {
                          type: 'button',
                          class: 'danger',
                          'aria-label': `Withdraw consent from ${request.organizationName}`,
                          onclick: async () => {
                            if (!window.confirm(`Withdraw your consent from ${request.organizationName}? They can no longer deliver.`)) return;
                            try {
                              await client.api('POST', `/v1/requests/${encodeURIComponent(request.id)}/withdraw`);
                              say('Consent withdrawn.');
                              await load();
                            } catch (failure) {
                              showError(error, failure);
                            }
                          },
                        },
                        'Withdraw consent',
                      )
                    : null,
                ),
              ),
            ),
          ),
        ),
      ),
    );
  }
  try {
    await load();
  } catch (failure) {
    showError(error, failure);
  }
}

async function accessPage() {
  const error = errorBox();
  const slot = h('div');
  page('Who accessed my data', h('p', {}, 'Every time someone read or changed your data, newest first.'), slot, error);
  try {
    const list = await client.api('GET', '/v1/me/audit?limit=100');
    const items = list.items || [];
    if (items.length === 0) {
      slot.replaceChildren(h('p', {}, 'No one has accessed your data.'));
      return;
    }
    const columns = [...new Set(items.flatMap((item) => Object.keys(item).filter((key) => typeof item[key] !== 'object' || item[key] === null)))];
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, columns.map((column) => h('th', { scope: 'col' }, column)))),
        h('tbody', {}, items.map((item) => h('tr', {}, columns.map((column) => cell(column, item[column] === null || item[column] === undefined ? '—' : String(item[column])))))),
      ),
    );
  } catch (failure) {
    showError(error, failure);
  }
}

// ---------- everyone: factors ----------

async function factorsPage() {
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
    h('div', { class: 'factors' }, h('button', { type: 'button', class: 'secondary', onclick: () => enrollTotp(null, enrollSlot, error, load) }, 'Add authenticator app'), h('button', { type: 'button', class: 'secondary', onclick: createCodes }, 'Create recovery codes')),
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

  /** Creates the eID factor, hands off to the provider in a popup, and confirms it once the popup reports back. */
  async function enrollEid(provider) {
    error.textContent = '';
    if (eidWaiting) eidWaiting.stop();
    try {
      const created = await client.api('POST', '/v1/me/factors', { body: { type: 'eid', provider: provider.id, label: provider.label } });
      const verify = async () => {
        try {
          return await client.api('POST', `/v1/me/factors/${encodeURIComponent(created.id)}/verify`, { body: {} });
        } catch (failure) {
          if (failure instanceof client.ApiError && failure.body && failure.body.code === 'eid_pending') return undefined;
          if (failure instanceof client.ApiError && failure.body && /^eid_/.test(failure.body.code || '')) throw new Error(eidErrorText(failure.body.code, 'enroll'));
          throw failure;
        }
      };
      const handOff = eidHandOff(created.authorizationUrl, verify, () => enrollSlot.isConnected);
      eidWaiting = handOff;
      enrollSlot.replaceChildren(h('p', { role: 'status' }, `Continue in the ${provider.label} window that opened. If none opened, `, handOff.link, '.'));
      const verified = await handOff.promise;
      if (eidWaiting === handOff) eidWaiting = null;
      if (!verified) return;
      enrollSlot.replaceChildren();
      say(`${provider.label} linked.`);
      await load();
    } catch (failure) {
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
    } catch (failure) {
      showError(error, failure);
    }
  }

  async function load() {
    enrollSlot.replaceChildren();
    const list = await client.api('GET', '/v1/me/factors');
    slot.replaceChildren(
      h(
        'table',
        {},
        h('thead', {}, h('tr', {}, ['Factor', 'Type', 'Status', 'Last used', 'Actions'].map((title) => h('th', { scope: 'col' }, title)))),
        h(
          'tbody',
          {},
          list.items.map((factor) =>
            h(
              'tr',
              {},
              cell('Factor', factor.label),
              cell('Type', FACTOR_NAMES[factor.type] ? factor.type : factor.type),
              cell('Status', factor.status),
              cell('Last used', factor.lastUsedAt ? when(factor.lastUsedAt) : 'never'),
              cell('Actions', h('button', { type: 'button', class: 'danger', 'aria-label': `Remove ${factor.label}`, onclick: () => remove(factor) }, 'Remove')),
            ),
          ),
        ),
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

// ---------- pages reached from mail links, and sign-up ----------

function tokenForm(title, intro, fields, buttonText, action) {
  const error = errorBox();
  const submit = h('button', { type: 'submit' }, buttonText);
  const form = h(
    'form',
    {
      onsubmit: async (event) => {
        event.preventDefault();
        error.textContent = '';
        submit.disabled = true;
        try {
          await action();
        } catch (failure) {
          showError(error, failure);
        } finally {
          submit.disabled = false;
        }
      },
    },
    fields.map((one) => one.label),
    submit,
    error,
  );
  page(title, h('p', {}, intro), form);
}

function signUpPage() {
  const name = field('Full name', { name: 'name', autocomplete: 'name', required: true });
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = field('Password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Create your account', 'Get the data organizations hold about you.', [name, email, password], 'Create account', async () => {
    await client.publicPost('/v1/requesters', { name: name.input.value.trim(), email: email.input.value.trim(), password: password.input.value });
    page('Check your mail', h('p', {}, 'We sent you a link to confirm your email address. Open it, then sign in.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  });
}

async function verifyEmailPage(token) {
  page('Confirming your email…');
  try {
    await client.publicPost('/v1/auth/verify-email', { token });
    page('Email confirmed', h('p', {}, 'Your email address is confirmed.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  } catch (failure) {
    page('Email not confirmed', h('p', { class: 'error', role: 'alert' }, failure.message), h('a', { href: '#/sign-in' }, 'Sign in'));
  }
}

function acceptInvitePage(token) {
  const password = field('Choose a password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Accept your invitation', 'Choose a password for your Connectid account.', [password], 'Accept invitation', async () => {
    await client.publicPost('/v1/auth/accept-invite', { token, password: password.input.value });
    say('Invitation accepted: sign in now.');
    go('sign-in');
  });
}

function resetPasswordPage(token) {
  const password = field('New password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Choose a new password', 'Your second factors stay as they are.', [password], 'Set password', async () => {
    await client.publicPost('/v1/auth/password-reset/confirm', { token, password: password.input.value });
    say('Password changed: sign in now.');
    go('sign-in');
  });
}

function forgotPasswordPage() {
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  tokenForm('Forgot your password?', 'We mail you a link to choose a new one.', [email], 'Send reset link', async () => {
    await client.publicPost('/v1/auth/password-reset', { email: email.input.value.trim() });
    page('Check your mail', h('p', {}, 'If the address has an account, a reset link is on its way.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  });
}

/**
 * Where the API's eID callback sends the browser back, normally in the popup the portal opened: tells the waiting
 * portal tab on the channel, then closes itself. Should the browser keep it open, it shows the outcome.
 */
function eidResultPage() {
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

// ---------- router ----------

const ROUTES = [
  { pattern: /^sign-in$/, render: signInPage, public: true },
  { pattern: /^sign-up$/, render: signUpPage, public: true },
  { pattern: /^eid-result(\?.*)?$/, render: eidResultPage, public: true },
  { pattern: /^forgot-password$/, render: forgotPasswordPage, public: true },
  { pattern: /^verify-email\/([A-Za-z0-9_-]+)$/, render: verifyEmailPage, public: true },
  { pattern: /^accept-invite\/([A-Za-z0-9_-]+)$/, render: acceptInvitePage, public: true },
  { pattern: /^reset-password\/([A-Za-z0-9_-]+)$/, render: resetPasswordPage, public: true },
  { pattern: /^keys$/, render: keysPage, roles: ['org_admin'] },
  { pattern: /^members$/, render: membersPage, roles: ['org_admin'] },
  { pattern: /^audit$/, render: auditPage, roles: ['org_admin'] },
  { pattern: /^requests$/, render: requestsPage, roles: ['org_admin', 'org_member'] },
  { pattern: /^requests\/([A-Za-z0-9_-]+)\/deliver$/, render: deliverPage, roles: ['org_member', 'org_admin'] },
  { pattern: /^inbox$/, render: inboxPage, roles: ['requester'] },
  { pattern: /^deliveries\/([A-Za-z0-9_-]+)$/, render: deliveryPage, roles: ['requester'] },
  { pattern: /^access$/, render: accessPage, roles: ['requester'] },
  { pattern: /^organizations$/, render: organizationsPage, roles: ['requester'] },
  { pattern: /^organizations\/([A-Za-z0-9_-]+)\/request$/, render: openRequestPage, roles: ['requester'] },
  { pattern: /^my-requests$/, render: myRequestsPage, roles: ['requester'] },
  { pattern: /^factors$/, render: factorsPage },
];

function renderNav() {
  const links = [];
  const link = (route, text) => h('a', { href: `#/${route}`, 'aria-current': location.hash === `#/${route}` ? 'page' : null }, text);
  if (me) {
    if (me.role === 'org_admin') links.push(link('keys', 'API keys'), link('members', 'Members'), link('requests', 'Requests'), link('audit', 'Audit log'));
    if (me.role === 'org_member') links.push(link('requests', 'My requests'));
    if (me.role === 'requester') {
      links.push(link('inbox', 'Inbox'), link('my-requests', 'My requests'), link('organizations', 'Organizations'), link('access', 'Who accessed my data'));
    }
    links.push(link('factors', 'My factors'), h('span', { class: 'muted-light' }, me.email), h('button', { type: 'button', onclick: signOut }, 'Sign out'));
  } else {
    links.push(link('sign-in', 'Sign in'), link('sign-up', 'Create account'));
  }
  nav.replaceChildren(...links);
}

function render() {
  const path = location.hash.replace(/^#\/?/, '');
  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  if (!route) {
    go(me ? homeRoute() : 'sign-in');
    return;
  }
  if (!route.public && !me) {
    afterSignIn = path;
    go('sign-in');
    return;
  }
  if (route.roles && !route.roles.includes(me.role)) {
    go(homeRoute());
    return;
  }
  renderNav();
  const match = route.pattern.exec(path);
  Promise.resolve(route.render(...match.slice(1))).catch((failure) => {
    main.append(h('p', { class: 'error', role: 'alert' }, failure.message || String(failure)));
  });
}

client.onStepUp(stepUp);
window.addEventListener('hashchange', render);
render();
