import type { SmsMessage } from '../../ports';

/** E.164: a plus, a non-zero country code digit, at most 15 digits in all (ITU-T E.164 §6). */
export const E164 = /^\+[1-9]\d{6,14}$/;
/** One SMS segment of GSM-7 text; our messages are a code and a sentence. */
export const MAX_SMS_TEXT_LENGTH = 160;

/** Programmer mistakes, caught before anything is sent. */
export function assertSmsMessage(message: SmsMessage): void {
  if (typeof message?.to !== 'string' || !E164.test(message.to)) throw new TypeError('An SMS goes to an E.164 number (+ and 7 to 15 digits)');
  if (typeof message.text !== 'string' || message.text.length === 0 || message.text.length > MAX_SMS_TEXT_LENGTH) {
    throw new RangeError(`An SMS text has 1 to ${MAX_SMS_TEXT_LENGTH} characters`);
  }
}
