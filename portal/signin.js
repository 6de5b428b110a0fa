// Signing in: password, then a second factor (or forced enrollment); the step-up dialog reuses the factor choice.
import * as client from './api.js';
import { errorBox, field, h, page, say, showError, submitting } from './dom.js';
import { eidErrorText, eidHandOff, linkEid } from './eid.js';
import { finishSignIn } from './session.js';
import { authenticate, register, supported as passkeysSupported } from './webauthn.js';

const stepUpDialog = document.getElementById('step-up');
const stepUpBody = document.getElementById('step-up-body');

export const SCOPE_LABELS = { requester: 'Requester — my data', operator: 'Operator' };

export function signInPage() {
  const error = errorBox();
  const email = field('Email', { type: 'email', name: 'username', autocomplete: 'username', required: true });
  const password = field('Password', { type: 'password', name: 'password', autocomplete: 'current-password', required: true });
  const scopeSlot = h('div');
  let scopeSelect = null;
  const submit = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    {
      onsubmit: submitting(error, async () => {
        const credentials = { username: email.input.value.trim(), password: password.input.value };
        if (scopeSelect) credentials.scope = scopeSelect.value;
        await passwordStep(credentials, (scopes) => {
          scopeSelect = h('select', { name: 'scope' }, scopes.map((scope) => h('option', { value: scope }, SCOPE_LABELS[scope] || `Organization ${scope.slice(4)}`)));
          scopeSlot.replaceChildren(h('label', {}, h('span', {}, 'Sign in as'), scopeSelect));
          error.textContent = 'This account has several roles: choose one, then sign in.';
          scopeSelect.focus();
        });
      }),
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

export async function passwordStep(credentials, chooseScope) {
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

export const FACTOR_NAMES = {
  totp: 'Authenticator app code',
  webauthn: 'Passkey',
  email: 'Email me a code',
  sms: 'Text me a code',
  recovery: 'Recovery code',
  eid: 'Continue with',
};

/** Renders the factors of an mfa_required (or step-up) answer into `container`; resolves with the tokens. */
export function chooseFactor(container, challenge) {
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
          onsubmit: submitting(error, async () => {
            await grant(factor, { code: code.input.value.trim() });
          }),
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

/**
 * Forced enrollment (an account without a factor): an authenticator app, a passkey or an eID, with the enrollment
 * token; then the password step again, which now asks for that factor. After an eID, that means the provider once
 * more: the enrollment token proves no factor, so the sign-in answers the eID like every other.
 */
export function enrollmentPage(enrollmentToken, credentials) {
  const error = errorBox();
  const slot = h('div');
  const signIn = () => passwordStep(credentials, () => undefined);
  let linking = null;
  const stopLinking = () => {
    if (linking) linking.stop();
    linking = null;
  };
  const totpButton = h('button', { type: 'button', onclick: () => (stopLinking(), enrollTotp(enrollmentToken, slot, error, signIn)) }, 'Set up an authenticator app');
  const passkeyButton = passkeysSupported()
    ? h('button', { type: 'button', class: 'secondary', onclick: () => (stopLinking(), enrollPasskey(enrollmentToken, 'Passkey', error, signIn)) }, 'Set up a passkey')
    : null;
  const choices = h('div', { class: 'factors', role: 'group', 'aria-label': 'Factors to set up' }, totpButton, passkeyButton);

  async function enrollEid(provider) {
    error.textContent = '';
    stopLinking();
    const current = linkEid(provider, enrollmentToken, slot, () => slot.isConnected);
    linking = current;
    let linked;
    try {
      linked = await current.promise;
    } catch (failure) {
      // Cancelled or failed at the provider (the API discarded the factor): say so, unless another choice took over.
      if (linking !== current || !slot.isConnected) return;
      linking = null;
      slot.replaceChildren();
      return showError(error, failure);
    }
    if (!linked || !slot.isConnected) return;
    linking = null;
    slot.replaceChildren();
    say(`${provider.label} linked. Confirm with it once more to sign in.`);
    try {
      await signIn();
    } catch (failure) {
      showError(error, failure);
    }
  }

  page(
    'Set up a second factor',
    h('p', {}, 'Your account has no second factor yet. Every sign-in needs one: set it up now, then you are signed in.'),
    choices,
    slot,
    error,
  );
  client
    .api('GET', '/v1/auth/eid/providers')
    .then((providers) => {
      for (const provider of providers.items || []) {
        choices.append(h('button', { type: 'button', class: 'secondary', onclick: () => enrollEid(provider) }, `Link ${provider.label}`));
      }
    })
    .catch(() => undefined);
}

export async function enrollTotp(token, slot, error, done) {
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
        onsubmit: submitting(error, async () => {
          const path = `/v1/me/factors/${encodeURIComponent(created.id)}/verify`;
          const body = { code: code.input.value.trim() };
          if (token) await client.withToken(token, 'POST', path, body);
          else await client.api('POST', path, { body });
          say('Authenticator app added.');
          await done();
        }),
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

export async function enrollPasskey(token, label, error, done) {
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

export async function stepUp() {
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
    // The factor buttons first, so the dialog opens with focus on the first factor rather than on Cancel.
    const chosen = chooseFactor(container, challenge);
    stepUpDialog.showModal();
    chosen.then((tokens) => {
      client.setTokens(tokens);
      close();
      resolve();
    });
  });
}
