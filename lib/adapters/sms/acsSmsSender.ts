/**
 * SmsSender on Azure Communication Services SMS. Authenticates with a connection string, or with the endpoint
 * and DefaultAzureCredential (the managed identity in Azure; it needs a Communication Services role on the
 * resource). Errors never carry the recipient's number or the text (which holds a one-time code): the SDK's
 * errors and results may echo both, so they are replaced, not wrapped.
 */
import type { TokenCredential } from '@azure/identity';
import type { SmsMessage, SmsSender } from '../../ports';
import { assertSmsMessage, E164 } from './smsMessage';

export type AcsSmsSenderOptions = (
  | { readonly connectionString: string }
  | { readonly endpoint: string; readonly credential?: TokenCredential }
) & {
  /** The sending number (E.164) or alphanumeric sender id acquired on the ACS resource. */
  readonly from: string;
};

/** Only what the SDK's send needs, so tests can stand in for it. */
export interface AcsSmsOperations {
  send(request: { from: string; to: string[]; message: string }): Promise<{ successful: boolean; httpStatusCode: number; errorMessage?: string }[]>;
}

export class SmsDeliveryError extends Error {
  /** The HTTP status ACS answered for the message, or null when it could not be reached. */
  constructor(
    readonly status: number | null,
    message: string,
  ) {
    super(message);
    this.name = 'SmsDeliveryError';
  }
}

export function createAcsSmsSender(options: AcsSmsSenderOptions, operations?: AcsSmsOperations): SmsSender {
  if (!options.from || !(E164.test(options.from) || /^(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}$/.test(options.from))) {
    throw new TypeError('ACS SMS needs a from number (E.164) or an alphanumeric sender id');
  }
  const client = operations ?? acsClient(options);
  return {
    async send(message: SmsMessage) {
      assertSmsMessage(message);
      let results: Awaited<ReturnType<AcsSmsOperations['send']>>;
      try {
        results = await client.send({ from: options.from, to: [message.to], message: message.text });
      } catch (error) {
        const status = (error as { statusCode?: unknown })?.statusCode;
        throw new SmsDeliveryError(
          typeof status === 'number' ? status : null,
          typeof status === 'number' ? `ACS refused the SMS (HTTP ${status})` : 'ACS SMS could not be reached',
        );
      }
      const [result] = results;
      if (!result?.successful) throw new SmsDeliveryError(result?.httpStatusCode ?? null, `ACS did not accept the SMS (HTTP ${result?.httpStatusCode ?? 'unknown'})`);
    },
  };
}

function acsClient(options: AcsSmsSenderOptions): AcsSmsOperations {
  // Loaded here, not at the top: only an Azure configuration with SMS pays for the SDK at start.
  const { SmsClient } = require('@azure/communication-sms') as typeof import('@azure/communication-sms');
  let client: InstanceType<typeof SmsClient>;
  if ('connectionString' in options) client = new SmsClient(options.connectionString);
  else {
    const { DefaultAzureCredential } = require('@azure/identity') as typeof import('@azure/identity');
    client = new SmsClient(options.endpoint, options.credential ?? new DefaultAzureCredential());
  }
  return { send: (request) => client.send(request) };
}
