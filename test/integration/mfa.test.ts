/**
 * Every factor enrolled and used over HTTP (DESIGN §5.1): TOTP with codes computed here, email and SMS codes read
 * from the outboxes, WebAuthn with the software authenticator, and recovery codes; the enrollment-only token of an
 * account without a factor; and the rules around them (single use, expiry, the last factor stays).
 */
import { decodeJwt } from 'jose';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import type { OutboxSmsSender } from '../../lib/adapters/sms/outboxSmsSender';
import { SoftwareAuthenticator } from '../helpers/softwareAuthenticator';
import { startTestApp, type TestApp } from '../helpers/testApp';
import { api, enrollTotp, login, mailedToken, MFA_GRANT_TYPE, nextTotpCode, PASSWORD, tokenRequest, totpCodeAt, totpEnrollmentOf } from '../helpers/identity';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => app.close());

async function signUp(email: string): Promise<void> {
  expect((await api(app, 'POST', '/v1/requesters', { body: { email, password: PASSWORD, name: 'Test Person' } })).status).toBe(201);
  expect((await api(app, 'POST', '/v1/auth/verify-email', { body: { token: await mailedToken(app, email, 'verify-email') } })).status).toBe(204);
}

function passwordLogin(email: string) {
  return tokenRequest(app, { grant_type: 'password', username: email, password: PASSWORD });
}

async function enrollmentToken(email: string): Promise<string> {
  const answer = await passwordLogin(email);
  expect(answer.status).toBe(403);
  expect(answer.body.error).toBe('mfa_enrollment_required');
  return answer.body.enrollment_token as string;
}

async function mfaRequired(email: string): Promise<{ mfa_token: string; factors: { id: string; type: string; label: string }[] }> {
  const answer = await passwordLogin(email);
  expect(answer.status).toBe(403);
  expect(answer.body.error).toBe('mfa_required');
  return answer.body;
}

function grant(parameters: Record<string, string>) {
  return tokenRequest(app, { grant_type: MFA_GRANT_TYPE, ...parameters });
}

async function codeMailedTo(email: string): Promise<string> {
  const mails = await (app.services.mailer as OutboxMailer).list();
  const code = mails.filter((m) => m.to === email && /is your Connectid code/.test(m.subject)).map((m) => /\b(\d{6})\b/.exec(m.text)?.[1]).pop();
  if (!code) throw new Error(`no code mailed to ${email}`);
  return code;
}

async function textsTo(phone: string) {
  return (await (app.services.sms as OutboxSmsSender).list()).filter((m) => m.to === phone);
}

function otherCode(code: string): string {
  return String((Number(code) + 1) % 1_000_000).padStart(6, '0');
}

async function auditActions(userId: string): Promise<string[]> {
  const rows = await app.services.store.query<{ action: string }>({
    text: 'SELECT action FROM audit_events WHERE chain = @chain ORDER BY seq',
    params: { chain: { type: 'text', value: `requester:${userId}` } },
  });
  return rows.map((row) => row.action);
}

describe('the first sign-in of an account without a factor', () => {
  const email = 'first@example.org';
  beforeAll(async () => signUp(email));

  test('answers mfa_enrollment_required with a token that opens the factor routes and nothing else', async () => {
    const answer = await passwordLogin(email);
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: 'mfa_enrollment_required', token_type: 'Bearer', expires_in: 600 });
    expect(answer.body.access_token).toBeUndefined();
    expect(answer.body.refresh_token).toBeUndefined();
    const token = answer.body.enrollment_token as string;
    expect(decodeJwt(token)).toMatchObject({ scp: 'mfa_enrollment', amr: ['pwd'] });

    for (const [method, path] of [['GET', '/v1/me'], ['GET', '/v1/organizations'], ['POST', '/v1/me/recovery-codes']] as const) {
      const refused = await api(app, method, path, { token });
      expect({ path, status: refused.status, code: refused.body.code }).toEqual({ path, status: 403, code: 'mfa_enrollment_required' });
    }
    const factors = await api(app, 'GET', '/v1/me/factors', { token });
    expect(factors.status).toBe(200);
    expect(factors.body).toEqual({ items: [], nextCursor: null, recoveryCodesRemaining: 0 });
  });

  test('TOTP: enrolling returns the otpauth URI and a QR code; a code computed from the secret activates it', async () => {
    const token = await enrollmentToken(email);
    const created = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'totp', label: 'Phone app' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'totp', label: 'Phone app', status: 'pending', activatedAt: null, lastUsedAt: null });
    const uri = new URL(created.body.otpauthUri);
    expect(uri.protocol).toBe('otpauth:');
    expect(uri.host).toBe('totp');
    expect(decodeURIComponent(uri.pathname)).toBe(`/Connectid:${email}`);
    expect(Object.fromEntries(uri.searchParams)).toMatchObject({ issuer: 'Connectid', algorithm: 'SHA1', digits: '6', period: '30' });
    const secret = uri.searchParams.get('secret')!;
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    expect(created.body.qrCode).toMatch(/^data:image\/png;base64,/);
    const png = Buffer.from(created.body.qrCode.split(',')[1], 'base64');
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    const code = totpCodeAt(secret, app.clock.now().getTime());
    const wrong = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token, body: { code: otherCode(code) } });
    expect(wrong.status).toBe(400);
    expect(wrong.body.code).toBe('invalid_code');
    const verified = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token, body: { code } });
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({ id: created.body.id, status: 'active' });

    // The enrollment token set up the first factor; it cannot add or remove anything now.
    const second = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'email', label: 'Mail' } });
    expect(second.status).toBe(403);
    expect((await api(app, 'DELETE', `/v1/me/factors/${created.body.id}`, { token })).status).toBe(403);

    // The next password login asks for the factor; the code that verified it is spent, the next one works.
    const required = await mfaRequired(email);
    expect(required.factors).toEqual([{ id: created.body.id, type: 'totp', label: 'Phone app' }]);
    expect((await grant({ mfa_token: required.mfa_token, factor_id: created.body.id, code })).body.error).toBe('invalid_grant');
    const again = await mfaRequired(email);
    const next = totpCodeAt(secret, app.clock.now().getTime() + 30_000);
    const tokens = await grant({ mfa_token: again.mfa_token, factor_id: created.body.id, code: next });
    expect(tokens.status).toBe(200);
    expect(tokens.body.refresh_token).toMatch(/^rt_/);
    const claims = decodeJwt(tokens.body.access_token);
    expect(claims).toMatchObject({ amr: ['pwd', 'otp', 'mfa'], acr: 'urn:connectid:acr:mfa', auth_time: Math.floor(app.clock.now().getTime() / 1000) });
    expect(claims.scp).toBeUndefined();
    expect((await api(app, 'GET', '/v1/me', { token: tokens.body.access_token })).body.amr).toEqual(['pwd', 'otp', 'mfa']);

    // An mfa_token works once: a code the factor would accept is refused with the spent token, taken with a fresh one.
    app.clock.advance(30_000);
    const unused = totpCodeAt(secret, app.clock.now().getTime() + 30_000);
    expect((await grant({ mfa_token: again.mfa_token, factor_id: created.body.id, code: unused })).body.error).toBe('invalid_grant');
    expect((await grant({ mfa_token: (await mfaRequired(email)).mfa_token, factor_id: created.body.id, code: unused })).status).toBe(200);

    const userId = claims.sub!;
    expect(await auditActions(userId)).toEqual(expect.arrayContaining(['mfa.factor.enrolled', 'mfa.factor.used', 'auth.mfa.failed', 'auth.login.succeeded']));
  });
});

describe('TOTP rules', () => {
  const email = 'totp@example.org';
  let factorId: string;
  let secret: string;
  beforeAll(async () => {
    await signUp(email);
    ({ factorId, secret } = await enrollTotp(app, email, await enrollmentToken(email)));
  });

  test('a code is accepted only within one step of the clock, and only for a step later than the last one used', async () => {
    const now = app.clock.now().getTime();
    const tooOld = await mfaRequired(email);
    expect((await grant({ mfa_token: tooOld.mfa_token, factor_id: factorId, code: totpCodeAt(secret, now - 60_000) })).body.error).toBe('invalid_grant');
    const tooNew = await mfaRequired(email);
    expect((await grant({ mfa_token: tooNew.mfa_token, factor_id: factorId, code: totpCodeAt(secret, now + 60_000) })).body.error).toBe('invalid_grant');

    app.clock.advance(90_000);
    const fresh = await mfaRequired(email);
    const code = totpCodeAt(secret, app.clock.now().getTime());
    expect((await grant({ mfa_token: fresh.mfa_token, factor_id: factorId, code })).status).toBe(200);
    // The same code once more, and the one before it (inside the window but older than the one used): refused.
    for (const reused of [code, totpCodeAt(secret, app.clock.now().getTime() - 30_000)]) {
      const required = await mfaRequired(email);
      expect((await grant({ mfa_token: required.mfa_token, factor_id: factorId, code: reused })).body.error).toBe('invalid_grant');
    }
  });

  test('the mfa_token dies after five minutes', async () => {
    app.clock.advance(60_000);
    const required = await mfaRequired(email);
    app.clock.advance(5 * 60_000 + 1);
    const late = await grant({ mfa_token: required.mfa_token, factor_id: factorId, code: totpCodeAt(secret, app.clock.now().getTime()) });
    expect(late.status).toBe(400);
    expect(late.body.error).toBe('invalid_grant');
  });

  test('a grant names its parts: unknown factors and missing answers are refused', async () => {
    const required = await mfaRequired(email);
    expect((await grant({ mfa_token: required.mfa_token, factor_id: 'no-such-factor', code: '123456' })).body.error).toBe('invalid_grant');
    expect((await grant({ mfa_token: required.mfa_token, factor_id: factorId })).body.error).toBe('invalid_request');
    expect((await grant({ mfa_token: 'mfa_forged', factor_id: factorId, code: '123456' })).body.error).toBe('invalid_grant');
  });
});

describe('the mfa_token is dead after five wrong answers', () => {
  const email = 'guesser@example.org';
  test('even the right code is refused after them', async () => {
    await signUp(email);
    const { factorId, secret } = await enrollTotp(app, email, await enrollmentToken(email));
    app.clock.advance(30_000);
    const required = await mfaRequired(email);
    const right = totpCodeAt(secret, app.clock.now().getTime());
    for (let i = 0; i < 5; i++) {
      const wrong = await grant({ mfa_token: required.mfa_token, factor_id: factorId, code: otherCode(String(Number(right) + i)) });
      expect(wrong.body.error).toBe('invalid_grant');
    }
    expect((await grant({ mfa_token: required.mfa_token, factor_id: factorId, code: right })).body.error).toBe('invalid_grant');
  });
});

describe('email codes', () => {
  const email = 'mailer@example.org';
  beforeAll(async () => signUp(email));

  test('enrolled with a code from the mail, then used at sign-in through a challenge', async () => {
    const tokens = await login(app, email);
    const created = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'email', label: 'My inbox' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'email', status: 'pending', sent: true });
    const enrollCode = await codeMailedTo(email);
    expect((await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: { code: otherCode(enrollCode) } })).status).toBe(400);
    expect((await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: { code: enrollCode } })).body.status).toBe('active');

    const required = await mfaRequired(email);
    expect(required.factors.map((f) => f.type).sort()).toEqual(['email', 'totp']);
    // Answering before a code was sent for this token fails; the code of the enrollment is not a sign-in code.
    expect((await grant({ mfa_token: required.mfa_token, factor_id: created.body.id, code: enrollCode })).body.error).toBe('invalid_grant');
    const challenge = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: created.body.id } });
    expect(challenge.status).toBe(202);
    expect(challenge.body).toEqual({ sent: true, code_expires_in: 600 });
    const code = await codeMailedTo(email);
    const signedIn = await grant({ mfa_token: required.mfa_token, factor_id: created.body.id, code });
    expect(signedIn.status).toBe(200);
    expect(decodeJwt(signedIn.body.access_token).amr).toEqual(['pwd', 'otp', 'mfa']);
  });

  test("a code belongs to its own sign-in: another sign-in's token does not take it", async () => {
    const factor = (await mfaRequired(email)).factors.find((f) => f.type === 'email')!;
    const first = await mfaRequired(email);
    await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: first.mfa_token, factor_id: factor.id } });
    const code = await codeMailedTo(email);
    const second = await mfaRequired(email);
    await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: second.mfa_token, factor_id: factor.id } });
    const secondCode = await codeMailedTo(email);
    if (secondCode !== code) expect((await grant({ mfa_token: second.mfa_token, factor_id: factor.id, code })).body.error).toBe('invalid_grant');
    expect((await grant({ mfa_token: second.mfa_token, factor_id: factor.id, code: secondCode })).status).toBe(200);
  });

  test('codes expire after ten minutes, and one sign-in sends at most three', async () => {
    const factor = (await mfaRequired(email)).factors.find((f) => f.type === 'email')!;
    const required = await mfaRequired(email);
    for (let i = 0; i < 3; i++) expect((await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: factor.id } })).status).toBe(202);
    const fourth = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: factor.id } });
    expect(fourth.status).toBe(409);
    const code = await codeMailedTo(email);
    app.clock.advance(10 * 60_000);
    expect((await grant({ mfa_token: required.mfa_token, factor_id: factor.id, code })).body.error).toBe('invalid_grant');
  });
});

describe('SMS codes', () => {
  const email = 'texter@example.org';
  const phone = '+46701234567';
  beforeAll(async () => signUp(email));

  test('the number must be E.164, and only SMS factors take one', async () => {
    const tokens = await login(app, email);
    for (const body of [{ type: 'sms', label: 'x', phone: '0701234567' }, { type: 'sms', label: 'x' }, { type: 'totp', label: 'x', phone }]) {
      expect((await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body })).status).toBe(400);
    }
  });

  test('enrolled with a texted code, stored encrypted, then used at sign-in; the text carries no personal data', async () => {
    const tokens = await login(app, email);
    const created = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'sms', label: 'Work phone', phone } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'sms', sent: true, phoneHint: '•••67' });
    const [enrollText] = await textsTo(phone);
    expect(enrollText!.text).not.toContain(email);
    const enrollCode = /\b(\d{6})\b/.exec(enrollText!.text)![1]!;
    expect((await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: { code: enrollCode } })).body.status).toBe('active');

    const [row] = await app.services.store.query<{ secret: Buffer; label: Buffer }>({ text: 'SELECT secret, label FROM mfa_factors WHERE id = @id', params: { id: { type: 'text', value: created.body.id } } });
    expect(Buffer.from(row!.secret).includes(Buffer.from('701234567'))).toBe(false);
    expect(Buffer.from(row!.label).includes(Buffer.from('Work phone'))).toBe(false);

    const listed = await api(app, 'GET', '/v1/me/factors', { token: tokens.access_token });
    expect(listed.body.items.find((f: { id: string }) => f.id === created.body.id)).toMatchObject({ label: 'Work phone', phoneHint: '•••67', status: 'active' });
    expect(JSON.stringify(listed.body)).not.toContain('701234567');

    const required = await mfaRequired(email);
    expect((await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: created.body.id } })).status).toBe(202);
    const texts = await textsTo(phone);
    expect(texts).toHaveLength(2);
    const code = /\b(\d{6})\b/.exec(texts[1]!.text)![1]!;
    const signedIn = await grant({ mfa_token: required.mfa_token, factor_id: created.body.id, code });
    expect(signedIn.status).toBe(200);
    expect(decodeJwt(signedIn.body.access_token).amr).toEqual(['pwd', 'otp', 'sms', 'mfa']);
  });
});

describe('WebAuthn passkeys', () => {
  const email = 'passkey@example.org';
  let authenticator: SoftwareAuthenticator;
  let factorId: string;
  beforeAll(async () => {
    await signUp(email);
    authenticator = new SoftwareAuthenticator(app.services.config.webauthn);
  });

  async function startPasskeyLogin() {
    const required = await mfaRequired(email);
    const challenge = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: factorId } });
    expect(challenge.status).toBe(200);
    return { mfaToken: required.mfa_token, options: challenge.body.options };
  }

  test('registration asks for user verification on this relying party, and the signed attestation activates it', async () => {
    const tokens = await login(app, email);
    const created = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'webauthn', label: 'Laptop' } });
    expect(created.status).toBe(201);
    const { options } = created.body;
    expect(options).toMatchObject({
      rp: { id: app.services.config.webauthn.rpId, name: 'Connectid' },
      user: { name: email },
      attestation: 'none',
      authenticatorSelection: { userVerification: 'required' },
    });
    expect(options.challenge).toMatch(/^[A-Za-z0-9_-]{43}$/);

    // Without user verification the registration is refused.
    const lazy = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: { credential: authenticator.register(options, { userVerified: false }) } });
    expect(lazy.status).toBe(400);
    expect(lazy.body.code).toBe('invalid_code');

    const verified = await api(app, 'POST', `/v1/me/factors/${created.body.id}/verify`, { token: tokens.access_token, body: { credential: authenticator.register(options) } });
    expect(verified.status).toBe(200);
    factorId = created.body.id;
  });

  test('a signed assertion with user verification signs in', async () => {
    const { mfaToken, options } = await startPasskeyLogin();
    expect(options).toMatchObject({ rpId: app.services.config.webauthn.rpId, userVerification: 'required' });
    expect(options.allowCredentials).toHaveLength(1);
    const signedIn = await grant({ mfa_token: mfaToken, factor_id: factorId, credential: JSON.stringify(authenticator.authenticate(options)) });
    expect(signedIn.status).toBe(200);
    expect(decodeJwt(signedIn.body.access_token)).toMatchObject({ amr: ['pwd', 'hwk', 'user', 'mfa'], acr: 'urn:connectid:acr:mfa' });
  });

  test('no user verification, a replayed counter, or another origin is refused', async () => {
    for (const overrides of [{ userVerified: false }, { counter: 1 }, { origin: 'https://evil.example' }]) {
      const { mfaToken, options } = await startPasskeyLogin();
      const refused = await grant({ mfa_token: mfaToken, factor_id: factorId, credential: JSON.stringify(authenticator.authenticate(options, overrides)) });
      expect({ overrides, error: refused.body.error }).toEqual({ overrides, error: 'invalid_grant' });
    }
    // The real authenticator, counting on, still works.
    const { mfaToken, options } = await startPasskeyLogin();
    expect((await grant({ mfa_token: mfaToken, factor_id: factorId, credential: JSON.stringify(authenticator.authenticate(options)) })).status).toBe(200);
  });
});

describe('recovery codes', () => {
  const email = 'recover@example.org';
  beforeAll(async () => signUp(email));

  test('ten codes, shown once; one signs in once, is audited and mailed; a new set replaces the old', async () => {
    const tokens = await login(app, email);
    const created = await api(app, 'POST', '/v1/me/recovery-codes', { token: tokens.access_token });
    expect(created.status).toBe(201);
    const codes = created.body.codes as string[];
    expect(codes).toHaveLength(10);
    expect(new Set(codes).size).toBe(10);
    for (const code of codes) expect(code).toMatch(/^[0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{2}$/);
    expect((await api(app, 'GET', '/v1/me/factors', { token: tokens.access_token })).body.recoveryCodesRemaining).toBe(10);
    const rows = await app.services.store.query<{ code_hash: string }>({ text: 'SELECT code_hash FROM recovery_codes', params: {} });
    expect(rows.some((row) => codes.some((code) => row.code_hash.includes(code.replace(/-/g, ''))))).toBe(false);

    const required = await mfaRequired(email);
    expect(required.factors.at(-1)).toEqual({ id: 'recovery', type: 'recovery', label: 'Recovery code' });
    expect((await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { mfa_token: required.mfa_token, factor_id: 'recovery' } })).body).toEqual({ sent: false });
    // Typed in capitals and without dashes, it still matches.
    const signedIn = await grant({ mfa_token: required.mfa_token, factor_id: 'recovery', code: codes[0]!.replace(/-/g, '').toUpperCase() });
    expect(signedIn.status).toBe(200);
    const userId = decodeJwt(signedIn.body.access_token).sub!;
    const mails = await (app.services.mailer as OutboxMailer).list();
    expect(mails.filter((m) => m.to === email && /recovery code was used/.test(m.subject))).toHaveLength(1);
    expect(await auditActions(userId)).toContain('mfa.recovery_code_used');

    const again = await mfaRequired(email);
    expect((await grant({ mfa_token: again.mfa_token, factor_id: 'recovery', code: codes[0]! })).body.error).toBe('invalid_grant');

    const fresh = await login(app, email);
    const replaced = await api(app, 'POST', '/v1/me/recovery-codes', { token: fresh.access_token });
    expect(replaced.body.codes).not.toContain(codes[1]);
    const old = await mfaRequired(email);
    expect((await grant({ mfa_token: old.mfa_token, factor_id: 'recovery', code: codes[1]! })).body.error).toBe('invalid_grant');
    const replacement = await mfaRequired(email);
    expect((await grant({ mfa_token: replacement.mfa_token, factor_id: 'recovery', code: replaced.body.codes[1] })).status).toBe(200);
  });
});

describe('managing factors', () => {
  const email = 'manager@example.org';
  beforeAll(async () => signUp(email));

  test('the list shows labels and last use; the last active factor cannot be removed, recovery codes or not', async () => {
    const tokens = await login(app, email);
    const totpId = totpEnrollmentOf(app, email)!.factorId;
    const listed = await api(app, 'GET', '/v1/me/factors', { token: tokens.access_token });
    expect(listed.body.items).toEqual([
      expect.objectContaining({ id: totpId, type: 'totp', label: 'Authenticator app', status: 'active', lastUsedAt: app.clock.now().toISOString() }),
    ]);
    await api(app, 'POST', '/v1/me/recovery-codes', { token: tokens.access_token });
    const last = await api(app, 'DELETE', `/v1/me/factors/${totpId}`, { token: tokens.access_token });
    expect(last.status).toBe(409);
    expect(last.body.code).toBe('conflict');

    const pending = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'totp', label: 'Second app' } });
    expect((await api(app, 'GET', '/v1/me/factors', { token: tokens.access_token })).body.items).toHaveLength(2);
    expect((await api(app, 'DELETE', `/v1/me/factors/${pending.body.id}`, { token: tokens.access_token })).status).toBe(204);
    expect((await api(app, 'DELETE', `/v1/me/factors/${pending.body.id}`, { token: tokens.access_token })).status).toBe(404);

    const second = await api(app, 'POST', '/v1/me/factors', { token: tokens.access_token, body: { type: 'totp', label: 'Backup app' } });
    const secret = new URL(second.body.otpauthUri).searchParams.get('secret')!;
    await api(app, 'POST', `/v1/me/factors/${second.body.id}/verify`, { token: tokens.access_token, body: { code: totpCodeAt(secret, app.clock.now().getTime()) } });
    // With two active factors the first may go; the login helper's factor is kept, the backup removed.
    expect((await api(app, 'DELETE', `/v1/me/factors/${second.body.id}`, { token: tokens.access_token })).status).toBe(204);
    expect(await auditActions(decodeJwt(tokens.access_token).sub!)).toEqual(expect.arrayContaining(['mfa.factor.enrolled', 'mfa.factor.removed', 'mfa.recovery_codes.created']));
    expect(nextTotpCode(app, email)).toMatch(/^\d{6}$/);
  });
});
