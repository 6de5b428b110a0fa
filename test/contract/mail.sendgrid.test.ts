/**
 * The SendGrid adapter against a loopback capture server that speaks the v3 mail/send API.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSendGridMailer, MailDeliveryError } from '../../lib/adapters/mail/sendGridMailer';
import { describeMailerContract, type DeliveredMail } from './mailerContract';

interface CapturedRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: SendGridMailBody;
}

interface SendGridMailBody {
  personalizations: { to: { email: string }[] }[];
  from: { email: string };
  subject: string;
  content: { type: string; value: string }[];
}

interface CaptureServer {
  readonly baseUrl: string;
  readonly requests: CapturedRequest[];
  /** What the server answers; 202 with no body unless changed. */
  reply: { status: number; body?: unknown };
  close(): Promise<void>;
}

async function startCaptureServer(): Promise<CaptureServer> {
  const requests: CapturedRequest[] = [];
  const capture = { reply: { status: 202 } as { status: number; body?: unknown } };
  const server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method === 'POST' && request.url === '/v3/mail/send') {
        requests.push({
          method: request.method,
          url: request.url,
          headers: request.headers,
          body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SendGridMailBody,
        });
      }
      const { status, body } = capture.reply;
      response.writeHead(status, body === undefined ? {} : { 'Content-Type': 'application/json' });
      response.end(body === undefined ? undefined : JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return Object.assign(capture, {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  });
}

function asDelivered({ body }: CapturedRequest): DeliveredMail {
  const content = (type: string) => body.content.find((part) => part.type === type)?.value ?? '';
  return {
    from: body.from.email,
    to: body.personalizations[0]?.to[0]?.email ?? '',
    subject: body.subject,
    text: content('text/plain'),
    html: content('text/html'),
  };
}

const API_KEY = 'SG.test-key.never-leaks-0123456789';
const FROM = 'no-reply@connectid.test';

describeMailerContract('SendGrid on a capture server', async () => {
  const server = await startCaptureServer();
  const mailer = createSendGridMailer({ apiKey: API_KEY, from: FROM, baseUrl: server.baseUrl });
  return { mailer, from: FROM, delivered: async () => server.requests.map(asDelivered), close: server.close };
});

describe('SendGrid mailer', () => {
  let server: CaptureServer;
  beforeEach(async () => {
    server = await startCaptureServer();
  });
  afterEach(async () => {
    await server.close();
  });

  it('posts to /v3/mail/send with the API key as a Bearer token and text before html', async () => {
    const mailer = createSendGridMailer({ apiKey: API_KEY, from: FROM, baseUrl: server.baseUrl });

    await mailer.send({ to: 'anna@example.com', subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' });

    expect(server.requests).toHaveLength(1);
    const [request] = server.requests;
    expect(request!.headers.authorization).toBe(`Bearer ${API_KEY}`);
    expect(request!.headers['content-type']).toMatch(/^application\/json/);
    expect(request!.body).toMatchObject({
      personalizations: [{ to: [{ email: 'anna@example.com' }] }],
      from: { email: FROM },
      subject: 'Hello',
      content: [
        { type: 'text/plain', value: 'Hi' },
        { type: 'text/html', value: '<p>Hi</p>' },
      ],
    });
  });

  it.each([400, 401, 429, 500, 503])(
    'when SendGrid answers %i, rejects with the status and without the API key or the recipient',
    async (status) => {
      const recipient = 'secret.person@example.com';
      server.reply = {
        status,
        body: { errors: [{ message: `Rejected ${recipient} for key ${API_KEY}`, field: 'personalizations.0.to' }] },
      };
      const mailer = createSendGridMailer({ apiKey: API_KEY, from: FROM, baseUrl: server.baseUrl });

      const error = await mailer.send({ to: recipient, subject: 'Hello', text: 'Hi', html: '<p>Hi</p>' }).then(
        () => undefined,
        (e: unknown) => e,
      );

      expect(error).toBeInstanceOf(MailDeliveryError);
      expect((error as MailDeliveryError).status).toBe(status);
      expect(leaks(error, [API_KEY, recipient, 'test-key'])).toBe(false);
    },
  );

  it('when SendGrid cannot be reached, rejects without the API key or the recipient', async () => {
    const gone = await startCaptureServer();
    await gone.close();
    const mailer = createSendGridMailer({ apiKey: API_KEY, from: FROM, baseUrl: gone.baseUrl });

    const error = await mailer.send({ to: 'secret.person@example.com', subject: 'x', text: 'x', html: 'x' }).then(
      () => undefined,
      (e: unknown) => e,
    );

    expect(error).toBeInstanceOf(MailDeliveryError);
    expect((error as MailDeliveryError).status).toBeNull();
    expect(leaks(error, [API_KEY, 'secret.person@example.com'])).toBe(false);
  });

  it('uses its own client: two mailers with different keys and base URLs do not mix', async () => {
    const other = await startCaptureServer();
    try {
      const first = createSendGridMailer({ apiKey: 'SG.first', from: FROM, baseUrl: server.baseUrl });
      const second = createSendGridMailer({ apiKey: 'SG.second', from: FROM, baseUrl: other.baseUrl });

      await first.send({ to: 'a@example.com', subject: 'a', text: 'a', html: 'a' });
      await second.send({ to: 'b@example.com', subject: 'b', text: 'b', html: 'b' });

      expect(server.requests.map((r) => r.headers.authorization)).toEqual(['Bearer SG.first']);
      expect(other.requests.map((r) => r.headers.authorization)).toEqual(['Bearer SG.second']);
    } finally {
      await other.close();
    }
  });
});

/** Whether a secret appears anywhere a logger could print: message, stack, own properties, causes. */
function leaks(error: unknown, secrets: string[]): boolean {
  const seen = new Set<unknown>();
  const text = (value: unknown): string => {
    if (value === null || typeof value !== 'object' || seen.has(value)) return String(value);
    seen.add(value);
    const parts = Object.getOwnPropertyNames(value).map((key) => `${key}=${text((value as Record<string, unknown>)[key])}`);
    return parts.join(' ');
  };
  const all = text(error);
  return secrets.some((secret) => all.includes(secret));
}
