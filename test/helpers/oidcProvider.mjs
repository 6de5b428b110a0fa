// A real OpenID provider (panva/oidc-provider) standing in for an eID hub in tests. It is ESM-only and warns about
// Node 20, so it runs here, in a child process started by test/helpers/eidProvider.ts, never inside Jest.
//
// Configuration arrives as JSON in EID_TEST_OP_CONFIG:
//   { port, clients: [client metadata…], accounts: { accountId: claims }, acrValues: [..],
//     forgeIdTokenClients: [client ids whose ID tokens are re-signed with a foreign key] }
// When listening it prints one line: `ready <issuer>`. SIGTERM stops it.
//
// The interactions are oidc-provider's devInteractions (login form, consent form, abort link), driven over HTTP by
// the tests. One change: a login submitted here also records the requested `acr` (the first of acr_values), the
// way an eID hub reports which identity provider was used; devInteractions itself records none.
import { Buffer } from 'node:buffer';
import { createPrivateKey, generateKeyPairSync, sign as signBytes } from 'node:crypto';
import http from 'node:http';
import process from 'node:process';
import { setInterval } from 'node:timers';
import { URLSearchParams } from 'node:url';
import Provider from 'oidc-provider';

const config = JSON.parse(process.env.EID_TEST_OP_CONFIG ?? '{}');
const issuer = `http://127.0.0.1:${config.port}`;

function privateJwk(type, options, extra) {
  const { privateKey } = generateKeyPairSync(type, options);
  return { ...privateKey.export({ format: 'jwk' }), ...extra };
}

// The provider's signing keys: RS256 (the OIDC default, and what Connective uses) and ES256.
const signingKeys = [
  privateJwk('rsa', { modulusLength: 2048 }, { kid: 'op-rs256', alg: 'RS256', use: 'sig' }),
  privateJwk('ec', { namedCurve: 'P-256' }, { kid: 'op-es256', alg: 'ES256', use: 'sig' }),
];
// A key the provider never publishes: ID tokens of the "forged" clients are re-signed with it.
const foreignKey = createPrivateKey({ key: privateJwk('rsa', { modulusLength: 2048 }, {}), format: 'jwk' });

const accounts = config.accounts ?? {};
const nationalIdClaim = 'http://ids.connective.eu/beid/national_number';

const provider = new Provider(issuer, {
  clients: config.clients ?? [],
  jwks: { keys: signingKeys },
  cookies: { keys: ['eid-test-provider-cookie-key'] },
  acrValues: config.acrValues ?? [],
  scopes: ['openid', 'profile', 'connective:beid_nationalnumber'],
  claims: {
    acr: null,
    auth_time: null,
    iss: null,
    sid: null,
    // amr with the openid scope: oidc-provider puts it in the ID token only when a scope (or claims request) names it.
    openid: ['sub', 'amr'],
    profile: ['name', 'given_name', 'family_name', 'birthdate'],
    'connective:beid_nationalnumber': [nationalIdClaim],
  },
  features: {
    devInteractions: { enabled: true },
    encryption: { enabled: true },
    jwtUserinfo: { enabled: true },
    // A refresh token would need offline_access; the eID flow needs none.
    resourceIndicators: { enabled: false },
  },
  pkce: { required: () => true },
  findAccount: async (_ctx, accountId) => {
    const claims = accounts[accountId];
    if (!claims) return undefined;
    return { accountId, claims: async () => ({ sub: accountId, ...claims }) };
  },
  // The client's jwks_uri (Connectid's /.well-known/eid-jwks.json) is on loopback, which oidc-provider's SSRF guard
  // refuses; this test provider fetches it without that guard.
  fetch: (url, options) => {
    const { dispatcher: _ssrfGuard, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
  // The tests read error pages' status, not their HTML.
  renderError: async (ctx, out) => {
    ctx.type = 'json';
    ctx.body = out;
  },
});

// The login submit of devInteractions, plus the `acr` an eID hub reports (the first requested acr_values entry).
provider.use(async (ctx, next) => {
  if (ctx.method !== 'POST' || !/^\/interaction\/[^/]+$/.test(ctx.path)) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  if (details.prompt.name !== 'login') return next();
  const body = await readForm(ctx.req);
  const accountId = body.get('login') ?? '';
  const acr = typeof details.params.acr_values === 'string' ? details.params.acr_values.split(' ')[0] : undefined;
  const login = { accountId, ...(acr ? { acr, amr: ['sc', 'pin'] } : {}) };
  ctx.status = 303;
  ctx.redirect(await provider.interactionResult(ctx.req, ctx.res, { login }, { mergeWithLastSubmission: false }));
});

function readForm(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (chunk) => chunks.push(chunk));
    req.on('end', () => resolve(new URLSearchParams(Buffer.concat(chunks).toString('utf8'))));
    req.on('error', reject);
  });
}

const forged = new Set(config.forgeIdTokenClients ?? []);
const callback = provider.callback();

const server = http.createServer((req, res) => {
  if (req.method === 'POST' && req.url?.startsWith('/token') && forged.has(basicClientId(req.headers.authorization))) {
    resignIdTokenOf(res);
  }
  callback(req, res);
});

function basicClientId(header) {
  if (!header?.startsWith('Basic ')) return null;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  return decodeURIComponent(decoded.slice(0, decoded.indexOf(':')).replace(/\+/g, '%20'));
}

// Buffers the token response and replaces its ID token's signature with one by the foreign key, keeping the header
// (and so the kid of a published key): a verifier that checks the signature against the JWKS must refuse it.
function resignIdTokenOf(res) {
  const chunks = [];
  const end = res.end.bind(res);
  res.write = (chunk) => {
    chunks.push(Buffer.from(chunk));
    return true;
  };
  res.end = (chunk, ...rest) => {
    if (chunk && typeof chunk !== 'function') chunks.push(Buffer.from(chunk));
    let body = Buffer.concat(chunks);
    try {
      const json = JSON.parse(body.toString('utf8'));
      if (typeof json.id_token === 'string') {
        const [header, payload] = json.id_token.split('.');
        const signature = signBytes('sha256', Buffer.from(`${header}.${payload}`), foreignKey).toString('base64url');
        json.id_token = `${header}.${payload}.${signature}`;
        body = Buffer.from(JSON.stringify(json));
      }
    } catch {
      // Not JSON: pass it on unchanged.
    }
    if (!res.headersSent) res.setHeader('content-length', body.length);
    return end(body, ...rest.filter((value) => typeof value === 'function'));
  };
}

server.listen(config.port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});

process.on('SIGTERM', () => {
  server.close(() => process.exit(0));
  server.closeAllConnections?.();
});

// Should the test process die without stopping us, do not outlive it.
const parent = process.ppid;
setInterval(() => {
  try {
    process.kill(parent, 0);
  } catch {
    process.exit(0);
  }
}, 2000).unref();
