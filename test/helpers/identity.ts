/**
 * Drives the identity flows through the real HTTP API of a TestApp, reading mailed links from the outbox
 * the way a person would read their mail.
 *
 * MFA is mandatory, and `login()` handles it the way a person with an authenticator app would: the first time an
 * account signs in (403 mfa_enrollment_required) it enrolls a TOTP factor with the enrollment token, verifies it
 * with a code computed from the app's FakeClock, and signs in again; on 403 mfa_required it answers the MFA grant
 * with the next TOTP code. The TOTP secret of every account it enrolled is kept here (per app data directory and
 * email). A code is accepted once, and a code is valid for the step before, the current step and the step after,
 * so up to three logins of one account fit in one 30-second step; a fourth moves the FakeClock to the next step
 * (at most 30 s). Tests that need time to stand still should log in before they position the clock.
 */
import { Secret, TOTP } from 'otpauth';
import { inviteOperator } from '../../lib/domain/accounts/invitations';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import type { TestApp } from './testApp';

export const MFA_GRANT_TYPE = 'urn:connectid:params:oauth:grant-type:mfa';
const TOTP_PERIOD_IN_MS = 30_000;

export const PASSWORD = 'correct horse battery staple';

export interface Tokens {
  access_token: string;
  refresh_token?: string;
  token_type: string;
  expires_in: number;
  scope: string;
}

export async function api(app: TestApp, method: string, path: string, options: { token?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(`${app.url}${path}`, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body) });
  const text = await response.text();
  let body: any = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = text;
  }
  return { status: response.status, headers: response.headers, body };
}

export async function tokenRequest(app: TestApp, parameters: Record<string, string>, headers: Record<string, string> = {}) {
  const response = await fetch(`${app.url}/v1/oauth/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(parameters).toString(),
  });
  return { status: response.status, headers: response.headers, body: (await response.json()) as any };
}

export function basic(clientId: string, secret: string): Record<string, string> {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return { Authorization: `Basic ${Buffer.from(`${encode(clientId)}:${encode(secret)}`).toString('base64')}` };
}

export async function login(app: TestApp, email: string, options: { scope?: string; apiKey?: { id: string; key: string }; password?: string } = {}): Promise<Tokens> {
  const parameters: Record<string, string> = { grant_type: 'password', username: email, password: options.password ?? PASSWORD };
  if (options.scope) parameters.scope = options.scope;
  const client = options.apiKey ? basic(options.apiKey.id, options.apiKey.key) : {};
  let response = await tokenRequest(app, parameters, client);
  if (response.status === 403 && response.body.error === 'mfa_enrollment_required') {
    await enrollTotp(app, email, response.body.enrollment_token);
    response = await tokenRequest(app, parameters, client);
  }
  if (response.status === 403 && response.body.error === 'mfa_required') {
    response = await answerWithTotp(app, email, response.body, client);
  }
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as Tokens;
}

interface TotpEnrollment {
  readonly factorId: string;
  readonly secret: string;
  lastStep: number;
}

const totpEnrollments = new Map<string, TotpEnrollment>();

function accountKey(app: TestApp, email: string): string {
  return `${app.dataDir}\u0000${email.trim().toLowerCase()}`;
}

/** The TOTP factor login() enrolled for this account, if any. */
export function totpEnrollmentOf(app: TestApp, email: string): { factorId: string; secret: string } | undefined {
  return totpEnrollments.get(accountKey(app, email));
}

/** The code of a TOTP secret (base32) at a time, as an authenticator app shows it. */
export function totpCodeAt(secret: string, timestampInMs: number): string {
  return TOTP.generate({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30, timestamp: timestampInMs });
}

/**
 * A TOTP code the server will accept now for this account: the earliest step within ±1 of the FakeClock's step
 * that is later than the last one used. Moves the clock to the next step only when all three are spent.
 */
export function nextTotpCode(app: TestApp, email: string): string {
  const enrollment = totpEnrollments.get(accountKey(app, email));
  if (!enrollment) throw new Error(`login() has no TOTP factor for ${email} in this app`);
  return nextCodeFor(app, enrollment);
}

function nextCodeFor(app: TestApp, enrollment: TotpEnrollment): string {
  const nowStep = Math.floor(app.clock.now().getTime() / TOTP_PERIOD_IN_MS);
  const step = Math.max(nowStep - 1, enrollment.lastStep + 1);
  if (step > nowStep + 1) app.clock.advance((step - 1) * TOTP_PERIOD_IN_MS - app.clock.now().getTime());
  enrollment.lastStep = step;
  return totpCodeAt(enrollment.secret, step * TOTP_PERIOD_IN_MS);
}

/** Enrolls and verifies a TOTP factor with `token` (an enrollment token or a full token with a recent MFA). */
export async function enrollTotp(app: TestApp, email: string, token: string, label = 'Authenticator app'): Promise<{ factorId: string; secret: string }> {
  const created = await api(app, 'POST', '/v1/me/factors', { token, body: { type: 'totp', label } });
  if (created.status !== 201) throw new Error(`enroll TOTP failed: ${created.status} ${JSON.stringify(created.body)}`);
  const secret = new URL(created.body.otpauthUri).searchParams.get('secret')!;
  const enrollment: TotpEnrollment = { factorId: created.body.id, secret, lastStep: -1 };
  const verified = await api(app, 'POST', `/v1/me/factors/${enrollment.factorId}/verify`, { token, body: { code: nextCodeFor(app, enrollment) } });
  if (verified.status !== 200) throw new Error(`verify TOTP failed: ${verified.status} ${JSON.stringify(verified.body)}`);
  totpEnrollments.set(accountKey(app, email), enrollment);
  return { factorId: enrollment.factorId, secret };
}

/** Answers a 403 mfa_required body with the account's TOTP factor through the MFA grant. */
export async function answerWithTotp(app: TestApp, email: string, mfaRequired: { mfa_token: string; factors: { id: string; type: string }[] }, client: Record<string, string> = {}) {
  const enrollment = totpEnrollments.get(accountKey(app, email));
  if (!enrollment || !mfaRequired.factors.some((factor) => factor.id === enrollment.factorId)) {
    throw new Error(`login() cannot answer mfa_required for ${email}: it did not enroll the account's TOTP factor in this app`);
  }
  return tokenRequest(app, { grant_type: MFA_GRANT_TYPE, mfa_token: mfaRequired.mfa_token, factor_id: enrollment.factorId, code: nextCodeFor(app, enrollment) }, client);
}

/**
 * RFC 9470 step-up for tokens whose MFA is older than 15 minutes: a step-up challenge with the refresh token, then
 * the MFA grant with a fresh TOTP code. Returns the rotated tokens of the same session.
 */
export async function stepUp(app: TestApp, email: string, tokens: Tokens, options: { apiKey?: { id: string; key: string } } = {}): Promise<Tokens> {
  const challenge = await api(app, 'POST', '/v1/auth/mfa/challenge', { body: { refresh_token: tokens.refresh_token } });
  if (challenge.status !== 200) throw new Error(`step-up challenge failed: ${challenge.status} ${JSON.stringify(challenge.body)}`);
  const answered = await answerWithTotp(app, email, challenge.body, options.apiKey ? basic(options.apiKey.id, options.apiKey.key) : {});
  if (answered.status !== 200) throw new Error(`step-up failed: ${answered.status} ${JSON.stringify(answered.body)}`);
  return answered.body as Tokens;
}

/** The token in the newest mail to `to` whose link contains `#/<kind>/`. */
export async function mailedToken(app: TestApp, to: string, kind: 'accept-invite' | 'verify-email' | 'reset-password'): Promise<string> {
  const messages = await (app.services.mailer as OutboxMailer).list();
  const match = messages
    .filter((message) => message.to === to)
    .reverse()
    .map((message) => new RegExp(`#/${kind}/([A-Za-z0-9_-]+)`).exec(message.text)?.[1])
    .find(Boolean);
  if (!match) throw new Error(`no ${kind} mail to ${to}`);
  return match;
}

export async function bootstrapOperator(app: TestApp, email = 'operator@connectid.example'): Promise<Tokens> {
  const { token } = await inviteOperator(app.services, { email });
  const accepted = await api(app, 'POST', '/v1/auth/accept-invite', { body: { token, password: PASSWORD } });
  if (accepted.status !== 200) throw new Error(`accept failed: ${JSON.stringify(accepted.body)}`);
  return login(app, email, { scope: 'operator' });
}

export async function createOrganizationWithAdmin(app: TestApp, operator: Tokens, name: string, adminEmail: string) {
  const created = await api(app, 'POST', '/v1/organizations', { token: operator.access_token, body: { name, adminEmail } });
  if (created.status !== 201) throw new Error(`create organization failed: ${JSON.stringify(created.body)}`);
  const organizationId = created.body.id as string;
  const token = await mailedToken(app, adminEmail, 'accept-invite');
  await api(app, 'POST', '/v1/auth/accept-invite', { body: { token, password: PASSWORD } });
  const admin = await login(app, adminEmail, { scope: `org:${organizationId}` });
  return { organizationId, admin };
}

export async function inviteAndJoin(app: TestApp, admin: Tokens, organizationId: string, email: string, role: 'org_admin' | 'org_member' = 'org_member') {
  const invited = await api(app, 'POST', `/v1/organizations/${organizationId}/members`, { token: admin.access_token, body: { email, role } });
  if (invited.status !== 201) throw new Error(`invite failed: ${JSON.stringify(invited.body)}`);
  const token = await mailedToken(app, email, 'accept-invite');
  const accepted = await api(app, 'POST', '/v1/auth/accept-invite', { body: { token, password: PASSWORD } });
  return accepted.body.userId as string;
}

export async function createApiKey(app: TestApp, admin: Tokens, organizationId: string, name = 'backend') {
  const created = await api(app, 'POST', `/v1/organizations/${organizationId}/api-keys`, { token: admin.access_token, body: { name } });
  if (created.status !== 201) throw new Error(`create key failed: ${JSON.stringify(created.body)}`);
  return created.body as { id: string; prefix: string; key: string };
}
