// The portal's only way to the server: the public API of this host. Tokens live in this module's memory only,
// never in web storage or cookies. A reload signs the person out.
const MFA_GRANT = 'urn:connectid:params:oauth:grant-type:mfa';

const session = { access: null, refresh: null, scope: null };
let stepUpHandler = null;
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    super(describe(status, body));
    this.status = status;
    this.body = body;
  }
}

function describe(status, body) {
  if (body && typeof body === 'object') {
    const text = body.detail || body.error_description || body.title || body.error || `The server answered ${status}`;
    // A validation problem names its fields: say which, so the person knows what to fix.
    const fields = Array.isArray(body.errors) ? body.errors.filter((one) => one && one.path).map((one) => `${one.path}: ${one.message}`) : [];
    return fields.length ? `${text} (${fields.join('; ')})` : text;
  }
  return `The server answered ${status}`;
}

export function signedIn() {
  return session.access !== null;
}

export function setTokens(tokens) {
  session.access = tokens.access_token;
  session.refresh = tokens.refresh_token ?? session.refresh;
  session.scope = tokens.scope ?? session.scope;
}

export function accessToken() {
  return session.access;
}

/** Refreshes the access token with the refresh token (for XMLHttpRequest uploads, which bypass api()). */
export function refresh() {
  return refreshSession();
}

export function refreshToken() {
  return session.refresh;
}

export function forgetTokens() {
  session.access = null;
  session.refresh = null;
  session.scope = null;
}

/** Called with no arguments when a route asks for a recent MFA; resolves once the session stepped up. */
export function onStepUp(handler) {
  stepUpHandler = handler;
}

async function readBody(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** POST /v1/oauth/token; answers {status, body} without throwing, since 403 mfa_required is part of signing in. */
export async function tokenRequest(parameters) {
  const response = await fetch('/v1/oauth/token', {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(parameters).toString(),
  });
  return { status: response.status, body: await readBody(response) };
}

export function mfaGrant(mfaToken, factorId, answer) {
  return tokenRequest({ grant_type: MFA_GRANT, mfa_token: mfaToken, factor_id: factorId, ...answer });
}

async function refreshSession() {
  if (!session.refresh) return false;
  if (!refreshing) {
    refreshing = tokenRequest({ grant_type: 'refresh_token', refresh_token: session.refresh })
      .then((answer) => {
        if (answer.status !== 200) return false;
        setTokens(answer.body);
        return true;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

function challengeOf(response) {
  const header = response.headers.get('WWW-Authenticate') || '';
  const match = /error="([^"]+)"/.exec(header);
  return match ? match[1] : null;
}

/**
 * fetch() with the access token. A 401 invalid_token refreshes the session once, silently; a 401
 * insufficient_user_authentication runs the step-up prompt and retries. `raw` answers the Response itself.
 */
export async function api(method, path, options = {}) {
  const send = () => {
    const headers = { ...(options.headers || {}) };
    if (session.access) headers.Authorization = `Bearer ${session.access}`;
    let body;
    if (options.body !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(options.body);
    }
    return fetch(path, { method, headers, body });
  };
  let response = await send();
  let refreshed = false;
  let steppedUp = false;
  // An expired access token is refreshed once; a route that wants a recent MFA then may still ask for a step-up.
  while (response.status === 401) {
    const error = challengeOf(response);
    if (error === 'insufficient_user_authentication') {
      if (steppedUp || !stepUpHandler) break;
      steppedUp = true;
      await stepUpHandler();
    } else {
      if (refreshed || !(await refreshSession())) break;
      refreshed = true;
    }
    response = await send();
  }
  if (options.raw && response.ok) return response;
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

/** The API origin's start of a step-up: a fresh mfa_token for this session and the factors to choose from. */
export async function startStepUp() {
  const response = await fetch('/v1/auth/mfa/challenge', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ refresh_token: session.refresh }),
  });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function startChallenge(mfaToken, factorId) {
  const response = await fetch('/v1/auth/mfa/challenge', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ mfa_token: mfaToken, factor_id: factorId }),
  });
  const body = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, body);
  return body;
}

export async function signOut() {
  const token = session.refresh;
  forgetTokens();
  if (token) {
    await fetch('/v1/oauth/revoke', {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token, token_type_hint: 'refresh_token' }).toString(),
    }).catch(() => undefined);
  }
}

/** Unauthenticated JSON call (sign-up, verify e-mail, accept an invitation, reset a password). */
export async function publicPost(path, body) {
  const response = await fetch(path, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const answer = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

/** A call with a given Bearer token (the enrollment token before the first factor exists). */
export async function withToken(token, method, path, body) {
  const headers = { Authorization: `Bearer ${token}` };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const answer = await readBody(response);
  if (!response.ok) throw new ApiError(response.status, answer);
  return answer;
}

/**
 * Every item of a paged list (following nextCursor), up to `max`: for look-ups such as member emails, not for
 * lists shown to people, which page with "Show more".
 */
export async function allItems(path, max = 2000) {
  const items = [];
  let cursor = null;
  do {
    const url = new URL(path, location.origin);
    url.searchParams.set('limit', '200');
    if (cursor) url.searchParams.set('cursor', cursor);
    const page = await api('GET', `${url.pathname}${url.search}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor && items.length < max);
  return items;
}

/** Member id → email of an organization, to name creators and assignees; empty when the caller may not list them. */
export async function memberEmails(organizationId) {
  try {
    const members = await allItems(`/v1/organizations/${encodeURIComponent(organizationId)}/members`);
    return new Map(members.map((member) => [member.id, member.email]));
  } catch {
    return new Map();
  }
}
