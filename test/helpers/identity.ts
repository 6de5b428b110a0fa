/**
 * Drives the identity flows through the real HTTP API of a TestApp, reading mailed links from the outbox
 * the way a person would read their mail.
 */
import { inviteOperator } from '../../lib/domain/accounts/invitations';
import type { OutboxMailer } from '../../lib/adapters/mail/outboxMailer';
import type { TestApp } from './testApp';

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
  const response = await tokenRequest(app, parameters, options.apiKey ? basic(options.apiKey.id, options.apiKey.key) : {});
  if (response.status !== 200) throw new Error(`login failed: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body as Tokens;
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
