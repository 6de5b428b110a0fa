/**
 * The relying party side of an eID provider, through openid-client (a certified OpenID RP, DESIGN §7):
 *
 *   - discovery of the provider's metadata, once per process (retried after a failure);
 *   - the authorization request: code flow, PKCE S256, state, nonce, `prompt=login` (an eID used as a second factor
 *     must authenticate the person now, not reuse a session at the provider), and `acr_values` when configured;
 *   - the code exchange, with client_secret_basic (id and secret form-encoded before Base64, RFC 6749 §2.3.1 — the
 *     "Connective quirk" is simply the standard) or client_secret_post;
 *   - the ID token: openid-client checks iss, aud, exp, iat, nonce; `enableNonRepudiationChecks` makes it also verify
 *     the signature against the provider's JWKS (by default an RP may rely on TLS instead — we do not), with the
 *     algorithm pinned by the provider's settings;
 *   - UserInfo in the configured form: JSON, a signed JWT (signature verified against the JWKS), or a signed JWT
 *     encrypted to our key (decrypted with /.well-known/eid-jwks.json's private half, then verified). An answer in
 *     any other form is refused, and its `sub` must equal the ID token's. openid-client binds decryption keys to a
 *     Configuration once, so an encrypting provider gets a new Configuration (from the metadata discovered once)
 *     whenever the set of usable keys changes: a rotation, or a retired key's grace ending.
 *
 * Plain http is allowed (openid-client's allowInsecureRequests) only for loopback issuers, which the settings
 * already confine to localhost, 127.0.0.1 and [::1]. Time checks on provider tokens use the system clock: they are
 * issued on the provider's clock, not ours.
 *
 * openid-client is ESM-only; Node 20 loads it with require(esm). It is required lazily so a cold start that serves no
 * eID request does not load it.
 */
import type { Config } from '../../config';
import type { EidEncryptionKeys } from './encryptionKeys';
import { isLoopbackHttpIssuer, type EidProviderConfig, type EidUserinfoForm } from './settings';

type OpenidClient = typeof import('openid-client');
type Configuration = import('openid-client').Configuration;

function openidClient(): OpenidClient {
  return require('openid-client') as OpenidClient;
}

export const EID_CALLBACK_PATH = '/v1/auth/eid/callback';
export const EID_JWKS_PATH = '/.well-known/eid-jwks.json';

/** Seconds openid-client waits for the provider (discovery, token, UserInfo, JWKS). */
const PROVIDER_TIMEOUT_IN_SECONDS = 10;

export function eidRedirectUri(config: Pick<Config, 'publicBaseUrl'>): string {
  return `${config.publicBaseUrl}${EID_CALLBACK_PATH}`;
}

/** The provider's answer did not have the form its settings promise (e.g. JSON where a signed JWT was expected). */
export class EidUserinfoFormError extends Error {
  readonly code = 'EID_USERINFO_FORM';
  constructor(expected: EidUserinfoForm) {
    super(`The UserInfo answer is not in the configured form (${expected})`);
    this.name = 'EidUserinfoFormError';
  }
}

export interface EidAuthorizationRequest {
  readonly url: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
}

export interface EidAnswer {
  readonly subject: string;
  /** The provider's `acr` in the ID token, when it sent one. */
  readonly acr: string | null;
  /** The provider's `amr` in the ID token (strings only). */
  readonly amr: readonly string[];
  /** The UserInfo claims (JSON, or the verified JWT's payload). */
  readonly userinfo: Readonly<Record<string, unknown>>;
}

/** What a provider's Configuration is built from: discovered once per process, reused for every key set. */
interface Discovered {
  readonly base: Configuration;
  readonly build: () => Configuration;
}

export class EidClients {
  private readonly discovered = new Map<string, Promise<Discovered>>();
  /** Per encrypting provider: the Configuration holding the decryption keys usable when it was built. */
  private readonly decrypting = new Map<string, { readonly keySet: string; readonly configuration: Configuration }>();

  constructor(private readonly deps: { readonly config: Config; readonly encryptionKeys: EidEncryptionKeys }) {}

  /** Whether openid-client may talk plain http to this issuer: only on loopback. */
  static allowsInsecureRequests(issuer: string): boolean {
    return isLoopbackHttpIssuer(issuer);
  }

  async authorizationRequest(provider: EidProviderConfig): Promise<EidAuthorizationRequest> {
    const client = openidClient();
    const configuration = await this.configuration(provider);
    const codeVerifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const parameters: Record<string, string> = {
      redirect_uri: eidRedirectUri(this.deps.config),
      scope: provider.scopes,
      state,
      nonce,
      code_challenge: await client.calculatePKCECodeChallenge(codeVerifier),
      code_challenge_method: 'S256',
      prompt: 'login',
    };
    if (provider.acrValues) parameters.acr_values = provider.acrValues;
    return { url: client.buildAuthorizationUrl(configuration, parameters).href, state, nonce, codeVerifier };
  }

  /** Exchanges the code and reads UserInfo; throws (openid-client's errors, EidUserinfoFormError) on any failure. */
  async answer(provider: EidProviderConfig, callbackQuery: URLSearchParams, expected: { state: string; nonce: string; codeVerifier: string }): Promise<EidAnswer> {
    const client = openidClient();
    const configuration = await this.configuration(provider);
    // The URL the provider redirected to, as registered: PUBLIC_BASE_URL, not whatever host the request came through.
    const currentUrl = new URL(`${eidRedirectUri(this.deps.config)}?${callbackQuery.toString()}`);
    const tokens = await client.authorizationCodeGrant(configuration, currentUrl, {
      pkceCodeVerifier: expected.codeVerifier,
      expectedState: expected.state,
      expectedNonce: expected.nonce,
      idTokenExpected: true,
    });
    const claims = tokens.claims();
    if (!claims) throw new Error('The token answer carried no ID token');
    const userinfo = await client.fetchUserInfo(configuration, tokens.access_token, claims.sub);
    const amr = Array.isArray(claims.amr) ? claims.amr.filter((value): value is string => typeof value === 'string') : [];
    return { subject: claims.sub, acr: typeof claims.acr === 'string' ? claims.acr : null, amr, userinfo };
  }

  private async configuration(provider: EidProviderConfig): Promise<Configuration> {
    const discovered = await this.discovery(provider);
    if (provider.userinfo !== 'encrypted-jwt') return discovered.base;
    // The usable keys change with a rotation (here or, within the refresh interval, on another instance) and when a
    // retired key's grace ends; enableDecryptingResponses takes them once per Configuration.
    const keys = await this.deps.encryptionKeys.decryptionKeys();
    const keySet = keys.map((key) => `${key.kid}/${key.alg}`).join(' ');
    const cached = this.decrypting.get(provider.id);
    if (cached?.keySet === keySet) return cached.configuration;
    const configuration = discovered.build();
    // The provider's own JWKS, as last fetched, carries over: a new key set of ours is no reason to fetch it again.
    const providerJwks = cached ? openidClient().getJwksCache(cached.configuration) : undefined;
    if (providerJwks) openidClient().setJwksCache(configuration, providerJwks);
    openidClient().enableDecryptingResponses(configuration, ['A128GCM', 'A192GCM', 'A256GCM', 'A128CBC-HS256', 'A192CBC-HS384', 'A256CBC-HS512'], ...keys);
    this.decrypting.set(provider.id, { keySet, configuration });
    return configuration;
  }

  private discovery(provider: EidProviderConfig): Promise<Discovered> {
    let discovered = this.discovered.get(provider.id);
    if (!discovered) {
      const discovering = this.discover(provider);
      discovered = discovering;
      this.discovered.set(provider.id, discovering);
      // A provider that was down must be retried on the next flow, not remembered as down.
      discovering.catch(() => {
        if (this.discovered.get(provider.id) === discovering) this.discovered.delete(provider.id);
      });
    }
    return discovered;
  }

  private async discover(provider: EidProviderConfig): Promise<Discovered> {
    const client = openidClient();
    const metadata: Partial<import('openid-client').ClientMetadata> = {
      id_token_signed_response_alg: provider.idTokenSigningAlg,
      ...(provider.userinfo === 'json' ? {} : { userinfo_signed_response_alg: provider.userinfoSigningAlg }),
    };
    const authentication =
      provider.tokenEndpointAuthMethod === 'client_secret_basic' ? client.ClientSecretBasic(provider.clientSecret) : client.ClientSecretPost(provider.clientSecret);
    const execute: ((configuration: Configuration) => void)[] = [client.enableNonRepudiationChecks];
    if (EidClients.allowsInsecureRequests(provider.issuer)) execute.unshift(client.allowInsecureRequests);

    let userinfoEndpoint: string | null = null;
    const fetchChecked: import('openid-client').CustomFetch = async (url, options) => {
      const response = await fetch(url, options as RequestInit);
      return userinfoEndpoint !== null && sameUrl(url, userinfoEndpoint) ? checkUserinfoForm(provider.userinfo, response) : response;
    };
    const configuration = await client.discovery(new URL(provider.issuer), provider.clientId, metadata, authentication, {
      execute,
      timeout: PROVIDER_TIMEOUT_IN_SECONDS,
      [client.customFetch]: fetchChecked,
    });
    userinfoEndpoint = configuration.serverMetadata().userinfo_endpoint ?? null;
    if (userinfoEndpoint === null) throw new Error(`The eID provider ${provider.id} publishes no userinfo_endpoint`);
    // The same client, settings and discovered metadata, without another discovery request.
    const build = (): Configuration => {
      const built = new client.Configuration(configuration.serverMetadata(), provider.clientId, metadata, authentication);
      built[client.customFetch] = fetchChecked;
      built.timeout = PROVIDER_TIMEOUT_IN_SECONDS;
      for (const extension of execute) extension(built);
      return built;
    };
    return { base: configuration, build };
  }
}

function sameUrl(a: string, b: string): boolean {
  try {
    return new URL(a).href === new URL(b).href;
  } catch {
    return false;
  }
}

/**
 * Refuses a successful UserInfo answer that is not in the configured form: JSON (application/json), a JWS
 * (application/jwt, three parts) or a JWE (application/jwt, five parts). Error answers pass to openid-client.
 */
async function checkUserinfoForm(form: EidUserinfoForm, response: Response): Promise<Response> {
  if (response.status !== 200) return response;
  const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  const body = await response.text();
  const parts = body.trim().split('.').length;
  const expected = form === 'json' ? mediaType === 'application/json' : mediaType === 'application/jwt' && parts === (form === 'jwt' ? 3 : 5);
  if (!expected) throw new EidUserinfoFormError(form);
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
