// Who is signed in. Tokens live in api.js; this holds the person (GET /v1/me) and where to go after signing in.
import * as client from './api.js';
import { go, say } from './dom.js';

export let me = null;
let afterSignIn = null;

/** Remembers a page asked for before signing in, to open it once signed in. */
export function rememberTarget(path) {
  afterSignIn = path;
}

export function homeRoute() {
  if (!me) return 'sign-in';
  if (me.role === 'requester') return 'inbox';
  if (me.role === 'org_admin') return 'keys';
  if (me.role === 'org_member') return 'requests';
  if (me.role === 'operator') return 'platform';
  return 'factors';
}

export async function finishSignIn(tokens) {
  client.setTokens(tokens);
  me = await client.api('GET', '/v1/me');
  say(`Signed in as ${me.email}.`);
  const target = afterSignIn;
  afterSignIn = null;
  go(target || homeRoute());
}

export async function signOut() {
  await client.signOut();
  me = null;
  say('You are signed out.');
  go('sign-in');
}
