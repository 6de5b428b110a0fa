/**
 * The Mailer contract: every adapter passes the same suite. Each harness shows what actually went out
 * (the outbox files, or what a capture server received in SendGrid's wire format).
 */
import type { Mailer, MailMessage } from '../../lib/ports';

export interface DeliveredMail extends MailMessage {
  readonly from: string;
}

export interface MailerHarness {
  readonly mailer: Mailer;
  readonly from: string;
  /** Everything delivered so far, in order of arrival. */
  delivered(): Promise<DeliveredMail[]>;
  close?(): Promise<void>;
}

export function describeMailerContract(name: string, make: () => Promise<MailerHarness>): void {
  describe(`Mailer contract: ${name}`, () => {
    let harness: MailerHarness;

    beforeEach(async () => {
      harness = await make();
    });

    afterEach(async () => {
      await harness.close?.();
    });

    it('delivers a message with recipient, subject, text and html intact, from the configured sender', async () => {
      const message = {
        to: 'anna.andersson@example.com',
        subject: 'Bekräfta din e-post — Connectid ✓',
        text: 'Hej Anna,\n\nÖppna länken: https://connectid.example/verify?token=abc&x=1\n',
        html: '<p>Hej Anna,</p><p><a href="https://connectid.example/verify?token=abc&amp;x=1">Öppna</a></p>',
      };

      await harness.mailer.send(message);

      expect(await harness.delivered()).toEqual([{ ...message, from: harness.from }]);
    });

    it('delivers messages sent one after another in that order', async () => {
      for (const n of [1, 2, 3]) {
        await harness.mailer.send({ to: `p${n}@example.com`, subject: `Message ${n}`, text: `${n}`, html: `<b>${n}</b>` });
      }

      expect((await harness.delivered()).map((mail) => mail.subject)).toEqual(['Message 1', 'Message 2', 'Message 3']);
    });

    it('delivers every one of several messages sent at once', async () => {
      const subjects = ['a', 'b', 'c', 'd', 'e'];

      await Promise.all(subjects.map((subject) => harness.mailer.send({ to: 'x@example.com', subject, text: subject, html: subject })));

      expect((await harness.delivered()).map((mail) => mail.subject).sort()).toEqual(subjects);
    });
  });
}
