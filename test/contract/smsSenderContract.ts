/**
 * The SmsSender contract: every adapter passes the same suite. Each harness shows what actually went out
 * (the outbox files, or what a stand-in for the ACS service received).
 */
import type { SmsMessage, SmsSender } from '../../lib/ports';

export interface SmsHarness {
  readonly sender: SmsSender;
  /** Everything delivered so far, in order of arrival; null when it cannot be observed (a real carrier). */
  delivered(): Promise<SmsMessage[]> | null;
  /** A number the harness may text. */
  readonly to: string;
}

export function describeSmsSenderContract(name: string, make: () => Promise<SmsHarness>): void {
  describe(`SmsSender contract: ${name}`, () => {
    let harness: SmsHarness;
    beforeEach(async () => {
      harness = await make();
    });

    it('delivers the text to the number, intact', async () => {
      const message = { to: harness.to, text: '123456 is your Connectid code. It expires in 10 minutes. Never share it.' };
      await harness.sender.send(message);
      const delivered = harness.delivered();
      if (delivered) expect(await delivered).toEqual([message]);
    });

    it('refuses, before sending anything, a number that is not E.164 and a text longer than one SMS', async () => {
      await expect(harness.sender.send({ to: '0701234567', text: 'x' })).rejects.toThrow(TypeError);
      await expect(harness.sender.send({ to: '+46 70 123 45 67', text: 'x' })).rejects.toThrow(TypeError);
      await expect(harness.sender.send({ to: harness.to, text: 'x'.repeat(161) })).rejects.toThrow(RangeError);
      await expect(harness.sender.send({ to: harness.to, text: '' })).rejects.toThrow(RangeError);
      const delivered = harness.delivered();
      if (delivered) expect(await delivered).toEqual([]);
    });
  });
}
