// Pages reached from mail links, and sign-up.
import * as client from './api.js';
import { errorBox, field, go, h, page, say, submitting } from './dom.js';

export function tokenForm(title, intro, fields, buttonText, action) {
  const error = errorBox();
  const submit = h('button', { type: 'submit' }, buttonText);
  const form = h(
    'form',
    {
      onsubmit: submitting(error, action),
    },
    fields.map((one) => one.label),
    submit,
    error,
  );
  page(title, h('p', {}, intro), form);
}

export function signUpPage() {
  const name = field('Full name', { name: 'name', autocomplete: 'name', required: true });
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  const password = field('Password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Create your account', 'Get the data organizations hold about you.', [name, email, password], 'Create account', async () => {
    await client.publicPost('/v1/requesters', { name: name.input.value.trim(), email: email.input.value.trim(), password: password.input.value });
    page('Check your mail', h('p', {}, 'We sent you a link to confirm your email address. Open it, then sign in.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  });
}

export async function verifyEmailPage(token) {
  page('Confirming your email…');
  try {
    await client.publicPost('/v1/auth/verify-email', { token });
    page('Email confirmed', h('p', {}, 'Your email address is confirmed.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  } catch (failure) {
    page('Email not confirmed', h('p', { class: 'error', role: 'alert' }, failure.message), h('a', { href: '#/sign-in' }, 'Sign in'));
  }
}

export function acceptInvitePage(token) {
  const password = field('Choose a password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Accept your invitation', 'Choose a password for your Connectid account.', [password], 'Accept invitation', async () => {
    await client.publicPost('/v1/auth/accept-invite', { token, password: password.input.value });
    say('Invitation accepted: sign in now.');
    go('sign-in');
  });
}

export function resetPasswordPage(token) {
  const password = field('New password', { type: 'password', name: 'password', autocomplete: 'new-password', required: true, minlength: 12 }, 'At least 12 characters.');
  tokenForm('Choose a new password', 'Your second factors stay as they are.', [password], 'Set password', async () => {
    await client.publicPost('/v1/auth/password-reset/confirm', { token, password: password.input.value });
    say('Password changed: sign in now.');
    go('sign-in');
  });
}

export function forgotPasswordPage() {
  const email = field('Email', { type: 'email', name: 'email', autocomplete: 'email', required: true });
  tokenForm('Forgot your password?', 'We mail you a link to choose a new one.', [email], 'Send reset link', async () => {
    await client.publicPost('/v1/auth/password-reset', { email: email.input.value.trim() });
    page('Check your mail', h('p', {}, 'If the address has an account, a reset link is on its way.'), h('a', { href: '#/sign-in' }, 'Sign in'));
  });
}
