/**
 * Mailer on SendGrid's v3 mail/send API. Errors never carry the API key or the recipient: the SDK's error
 * holds both (request headers, echoed body), so it is replaced, not wrapped.
 */
import { Client } from '@sendgrid/client';
import { MailService } from '@sendgrid/mail';
import type { Mailer, MailMessage } from '../../ports';

export interface SendGridMailerOptions {
  readonly apiKey: string;
  readonly from: string;
  /** Another API origin, e.g. a local capture server in tests; default SendGrid's global endpoint. */
  readonly baseUrl?: string;
  readonly timeoutInMs?: number;
}

export class MailDeliveryError extends Error {
  /** The HTTP status SendGrid answered, or null when it could not be reached. */
  constructor(readonly status: number | null, message: string) {
    super(message);
    this.name = 'MailDeliveryError';
  }
}

export function createSendGridMailer(options: SendGridMailerOptions): Mailer {
  if (!options.apiKey) throw new TypeError('SendGrid needs an API key');
  if (!options.from) throw new TypeError('SendGrid needs a from address');
  // An own service and client, not the SDK's module-level singletons, so nothing else shares the key or base URL.
  const client = new Client();
  const service = new MailService();
  service.setClient(client);
  service.setApiKey(options.apiKey);
  // After setApiKey, which resets the base URL to SendGrid's.
  if (options.baseUrl) client.setDefaultRequest('baseUrl', options.baseUrl);
  service.setTimeout(options.timeoutInMs ?? 10_000);

  return {
    async send({ to, subject, text, html }: MailMessage) {
      try {
        await service.send({ to, from: options.from, subject, text, html });
      } catch (error) {
        throw deliveryError(error);
      }
    },
  };
}

function deliveryError(error: unknown): MailDeliveryError {
  const { code, response } = (error ?? {}) as { code?: unknown; response?: { body?: unknown } };
  if (typeof code === 'number') {
    // Field names only: SendGrid's messages may quote the addresses.
    const errors = (response?.body as { errors?: { field?: unknown }[] } | undefined)?.errors;
    const fields = Array.isArray(errors) ? errors.map((e) => e.field).filter((f): f is string => typeof f === 'string') : [];
    return new MailDeliveryError(code, `SendGrid refused the message (HTTP ${code}${fields.length ? `; fields: ${fields.join(', ')}` : ''})`);
  }
  const reason = typeof code === 'string' && /^[A-Z0-9_]+$/.test(code) ? code : 'unknown error';
  return new MailDeliveryError(null, `SendGrid could not be reached (${reason})`);
}
