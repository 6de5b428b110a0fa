/**
 * A real OpenID provider on loopback standing in for an eID hub (test/helpers/oidcProvider.mjs, panva/oidc-provider
 * in a child process), and a small user agent that walks its login and consent pages the way a person's browser
 * would: cookies kept per origin, redirects followed by hand, forms posted.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';

/** Client metadata as oidc-provider takes it (RFC 7591 names). */
export interface TestOpClient {
  readonly client_id: string;
  readonly client_secret: string;
  readonly token_endpoint_auth_method: 'client_secret_basic' | 'client_secret_post';
  readonly redirect_uris: readonly string[];
  readonly id_token_signed_response_alg?: string;
  readonly userinfo_signed_response_alg?: string;
  readonly userinfo_encrypted_response_alg?: string;
  readonly userinfo_encrypted_response_enc?: string;
  readonly jwks_uri?: string;
}

export interface TestEidProviderOptions {
  readonly port: number;
  readonly clients: readonly TestOpClient[];
  /** accountId → the claims findAccount returns (sub is the account id). */
  readonly accounts: Readonly<Record<string, Record<string, unknown>>>;
  readonly acrValues?: readonly string[];
  /** Clients whose ID tokens the provider re-signs with a key it does not publish. */
  readonly forgeIdTokenClients?: readonly string[];
}

export interface TestEidProvider {
  readonly issuer: string;
  stop(): Promise<void>;
}

/** A port nobody listens on right now (the OS picks it; there is a small race until someone binds it). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startEidProvider(options: TestEidProviderOptions): Promise<TestEidProvider> {
  const script = path.join(__dirname, 'oidcProvider.mjs');
  const child: ChildProcess = spawn(process.execPath, [script], {
    env: { ...process.env, EID_TEST_OP_CONFIG: JSON.stringify(options) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-4000);
  });
  const issuer = await new Promise<string>((resolve, reject) => {
    let stdout = '';
    const timer = setTimeout(() => reject(new Error(`the test OpenID provider did not start: ${stderr}`)), 15_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      const ready = /^ready (\S+)$/m.exec(stdout);
      if (ready) {
        clearTimeout(timer);
        resolve(ready[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the test OpenID provider exited (${code}): ${stderr}`));
    });
  });
  return {
    issuer,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

export interface DriveOptions {
  /** The account to sign in as at the provider (its login form takes any password). */
  readonly account?: string;
  /** Press the provider's cancel (abort) link instead of signing in: the provider answers access_denied. */
  readonly cancel?: boolean;
  /** Stop before our callback and return its URL, instead of following it (to tamper with it first). */
  readonly stopAtCallback?: boolean;
}

/** A person's browser: cookies per origin, redirects followed by hand, the provider's forms answered. */
export class UserAgent {
  private readonly jar = new Map<string, Map<string, string>>();

  constructor(private readonly appUrl: string) {}

  /**
   * From an authorization URL through the provider's pages to our callback and on; returns the URL the browser
   * lands on (the portal's eID result page), or the callback URL itself with `stopAtCallback`.
   */
  async drive(authorizationUrl: string, options: DriveOptions = {}): Promise<string> {
    let url = authorizationUrl;
    for (let step = 0; step < 20; step++) {
      if (url.startsWith(`${this.appUrl}/portal/`)) return url;
      if (options.stopAtCallback && url.startsWith(`${this.appUrl}/v1/auth/eid/callback`)) return url;
      const response = await this.request(url);
      if (response.status >= 300 && response.status < 400) {
        url = new URL(response.headers.get('location')!, url).href;
        continue;
      }
      const page = await response.text();
      const interaction = /\/interaction\/([^/?#]+)$/.exec(new URL(url).pathname);
      if (response.status !== 200 || !interaction) throw new Error(`unexpected page ${response.status} at ${url}: ${page.slice(0, 300)}`);
      const prompt = /name="prompt" value="(\w+)"/.exec(page)?.[1];
      const origin = new URL(url).origin;
      if (options.cancel) {
        url = `${origin}/interaction/${interaction[1]}/abort`;
        continue;
      }
      const form: Record<string, string> = prompt === 'login' ? { prompt: 'login', login: options.account ?? 'alice', password: 'any' } : { prompt: 'consent' };
      const submitted = await this.request(`${origin}/interaction/${interaction[1]}`, { method: 'POST', form });
      if (submitted.status < 300 || submitted.status >= 400) throw new Error(`the provider refused the ${prompt} form: ${submitted.status}`);
      url = new URL(submitted.headers.get('location')!, url).href;
    }
    throw new Error('too many redirects');
  }

  async request(url: string, init: { method?: string; form?: Record<string, string> } = {}): Promise<Response> {
    const origin = new URL(url).origin;
    const cookies = this.jar.get(origin) ?? new Map<string, string>();
    const headers: Record<string, string> = {};
    if (cookies.size > 0) headers.cookie = [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
    if (init.form) headers['content-type'] = 'application/x-www-form-urlencoded';
    const response = await fetch(url, {
      method: init.method ?? 'GET',
      headers,
      redirect: 'manual',
      body: init.form ? new URLSearchParams(init.form).toString() : undefined,
    });
    for (const cookie of response.headers.getSetCookie()) {
      const [pair] = cookie.split(';');
      const at = pair!.indexOf('=');
      const name = pair!.slice(0, at).trim();
      const value = pair!.slice(at + 1).trim();
      const expired = /max-age=0|expires=thu, 01 jan 1970/i.test(cookie) || value === '';
      if (expired) cookies.delete(name);
      else cookies.set(name, value);
    }
    this.jar.set(origin, cookies);
    return response;
  }
}
