/**
 * The dev host: a small Node HTTP server serving the route table exactly as Azure Functions would — same
 * HttpRequest/HttpResponse classes from @azure/functions, bodies streamed both ways — and firing timers on
 * their NCRONTAB schedules. It listens on loopback only: it is for one developer's machine, not a server.
 */
import { HttpRequest, HttpResponse, type HttpRequestInit, type HttpResponseInit } from '@azure/functions';
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable, Transform } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { errors } from '../../errors';
import { invokeRoute } from '../../http/invoke';
import { problemResponse } from '../../http/problem';
import { SECURITY_HEADERS } from '../../http/reply';
import type { RouteDefinition, TimerDefinition } from '../../http/route';
import type { Services } from '../services';
import { parseNcrontab } from './ncrontab';
import { compileRoute } from './routeMatcher';

export interface DevHostOptions {
  readonly services: Services;
  readonly routes: readonly RouteDefinition[];
  readonly timers?: readonly TimerDefinition[];
  readonly port: number;
  /** Extra local-only endpoints (e.g. the mail outbox); answered before the route table. */
  readonly devRoutes?: Readonly<Record<string, (services: Services) => Promise<unknown>>>;
}

export interface DevHost {
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

export async function startDevHost(options: DevHostOptions): Promise<DevHost> {
  const { services } = options;
  const compiled = options.routes.map((route) => compileRoute(route.route, route));

  const server = http.createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      services.log.error('dev host failed to answer', { errorName: error instanceof Error ? error.name : typeof error });
      if (!res.headersSent) res.writeHead(500);
      res.destroy();
    });
  });

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    // randomUUID draws from a cached entropy pool: far cheaper per request than randomBytes.
    const correlationId = randomUUID().replace(/-/g, '').slice(0, 16);
    const host = req.headers.host ?? `127.0.0.1:${port}`;
    const url = new URL(req.url ?? '/', `http://${host}`);
    const method = (req.method ?? 'GET').toUpperCase();

    const dev = options.devRoutes?.[url.pathname];
    if (dev && method === 'GET') {
      await send(res, { status: 200, headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(await dev(services), null, 2) });
      return;
    }

    let allowed: string[] = [];
    for (const route of compiled) {
      const params = route.match(url.pathname);
      if (!params) continue;
      if (!route.value.methods.includes(method as never)) {
        allowed = allowed.concat(route.value.methods);
        continue;
      }
      const request = toHttpRequest(req, url, method, params);
      await send(res, await invokeRoute(route.value, request, services, correlationId));
      return;
    }
    req.resume();
    const error = allowed.length > 0 ? errors.methodNotAllowed(allowed) : errors.notFound('No such route');
    const response = problemResponse(error, correlationId, services.log);
    await send(res, { ...response, headers: { ...SECURITY_HEADERS, ...(response.headers as Record<string, string>), 'X-Correlation-Id': correlationId } });
  }

  const timers: NodeJS.Timeout[] = [];
  let closed = false;
  for (const timer of options.timers ?? []) {
    const schedule = parseNcrontab(timer.schedule);
    const arm = () => {
      if (closed) return;
      const delay = Math.max(0, schedule.next(new Date()).getTime() - Date.now());
      // setTimeout caps at ~24.8 days; re-arm in steps for rarer schedules.
      const handle = setTimeout(() => {
        if (delay > 2 ** 31 - 1) return arm();
        timer
          .handler({ services, log: services.log })
          .catch((error: unknown) => services.log.error('timer failed', { timer: timer.name, errorName: error instanceof Error ? error.name : typeof error }))
          .finally(arm);
      }, Math.min(delay, 2 ** 31 - 1));
      timers.push(handle);
    };
    arm();
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: async () => {
      closed = true;
      for (const handle of timers) clearTimeout(handle);
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function toHttpRequest(req: http.IncomingMessage, url: URL, method: string, params: Record<string, string>): HttpRequest {
  // Header pairs go to Request as they are (one Headers built, not two).
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    // As the Azure front end does: the client address comes from the connection, never from what the client claims.
    if (req.rawHeaders[i]!.toLowerCase() !== 'x-forwarded-for') headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
  }
  headers.push(['x-forwarded-for', req.socket.remoteAddress ?? '']);
  const hasBody = method !== 'GET' && method !== 'HEAD';
  const nativeRequest = new Request(url, {
    method,
    headers,
    body: hasBody ? (Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>) : undefined,
    duplex: 'half',
  } as RequestInit);
  // The same construction the Functions worker uses for streamed requests (createStreamRequest).
  return new HttpRequest({ nativeRequest, params } as unknown as HttpRequestInit);
}

async function send(res: http.ServerResponse, init: ConstructorParameters<typeof HttpResponse>[0] & {}): Promise<void> {
  const { status, headers } = responseHead(init);
  const nullBody = NULL_BODY_STATUSES.has(status);
  const body = nullBody ? undefined : init.jsonBody !== undefined ? JSON.stringify(init.jsonBody) : init.body;
  if (body === undefined || body === null) {
    res.writeHead(status, headers).end();
    return;
  }
  // In-memory bodies are written directly; only real streams pay for piping.
  if (typeof body === 'string' || body instanceof Uint8Array) {
    if (init.jsonBody !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
    res.writeHead(status, headers).end(body);
    return;
  }
  if (init.jsonBody !== undefined && !('content-type' in headers)) headers['content-type'] = 'application/json';
  res.writeHead(status, headers);
  const source = body instanceof Readable ? body : Readable.fromWeb(new Response(body as BodyInit).body as unknown as WebReadableStream<Uint8Array>);
  const declared = headers['content-length'];
  const stream = declared === undefined ? source : source.pipe(exactly(Number(declared)));
  if (stream !== source) source.on('error', (error) => stream.destroy(error));
  await new Promise<void>((resolve) => {
    stream.on('error', () => {
      // Headers are already out: the only honest signal left is a broken connection, not a truncated 200.
      res.destroy();
      resolve();
    });
    res.on('close', () => {
      source.destroy();
      stream.destroy();
      resolve();
    });
    stream.pipe(res);
  });
}

const NULL_BODY_STATUSES = new Set([204, 205, 304]);

/**
 * The status and headers Azure sends for a handler's answer: what HttpResponse (a WHATWG Response inside) makes of
 * it — lower-case names, `application/json` for a jsonBody, `text/plain;charset=UTF-8` for a string body without a
 * type. The common answer (a plain header object; a string, bytes, a stream or no body) is computed directly, as
 * building a Response per request was a measurable share of every request; anything else goes through HttpResponse
 * itself. test/unit/devHost/responseHead.test.ts holds both paths to the same result.
 */
export function responseHead(init: HttpResponseInit): { status: number; headers: Record<string, string> } {
  const status = init.status ?? 200;
  const plainHeaders = init.headers === undefined || (Object.getPrototypeOf(init.headers) === Object.prototype && !Array.isArray(init.headers));
  const body = init.body;
  const simpleBody = body === undefined || body === null || typeof body === 'string' || body instanceof Uint8Array || body instanceof Readable;
  if (!plainHeaders || !simpleBody) return viaHttpResponse(init);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries((init.headers ?? {}) as Record<string, string>)) {
    const key = name.toLowerCase();
    // Repeated names (any casing) are combined as Headers does.
    headers[key] = key in headers ? `${headers[key]}, ${String(value)}` : String(value);
  }
  if (!NULL_BODY_STATUSES.has(status) && !('content-type' in headers)) {
    if (init.jsonBody !== undefined) headers['content-type'] = 'application/json';
    else if (typeof body === 'string') headers['content-type'] = 'text/plain;charset=UTF-8';
  }
  return { status, headers };
}

/** The reference: status and headers exactly as HttpResponse computes them. */
export function viaHttpResponse(init: HttpResponseInit): { status: number; headers: Record<string, string> } {
  const streamed = init.body instanceof Readable;
  // A Node stream is not a BodyInit; its type is decided by the headers alone, like a byte body.
  const response = new HttpResponse({ ...init, body: streamed ? new Uint8Array() : init.body });
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  return { status: response.status, headers };
}

/**
 * Passes a body through and fails it when it is longer or shorter than the Content-Length the handler declared:
 * the client then sees a broken connection, never a body that disagrees with its header (a handler bug to find
 * here rather than in Azure).
 */
function exactly(length: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > length) callback(new Error(`The body is longer than its Content-Length ${length}`));
      else callback(null, chunk);
    },
    flush(callback) {
      callback(seen === length ? null : new Error(`The body ended after ${seen} of its Content-Length ${length} bytes`));
    },
  });
}
