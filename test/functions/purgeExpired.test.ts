import { definition } from '../../functions/purgeExpired';
import { parseNcrontab } from '../../lib/app/devHost/ncrontab';
import { timers } from '../../lib/app/routeTable';
import { containerOf } from '../../lib/domain/organizations/organizations';
import type { Logger } from '../../lib/ports';
import { seedOrganization, seedReleasedDelivery } from '../helpers/retention';
import { startTestApp, type TestApp } from '../helpers/testApp';

let app: TestApp;
beforeEach(async () => (app = await startTestApp()));
afterEach(() => app.close());

function capturingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  const log: Logger = {
    info: (message, fields) => void lines.push({ level: 'info', message, fields }),
    warn: (message, fields) => void lines.push({ level: 'warn', message, fields }),
    error: (message, fields) => void lines.push({ level: 'error', message, fields }),
  };
  return { log, lines };
}

test('the purge timer is registered to run at the top of every hour', () => {
  expect(timers).toContain(definition);
  expect(parseNcrontab(definition.schedule).next(new Date('2026-11-21T10:15:30Z'))).toEqual(new Date('2026-11-21T11:00:00Z'));
});

test('a timer run purges what expired and logs the counts, nothing else', async () => {
  const organizationId = await seedOrganization(app.services);
  const delivery = await seedReleasedDelivery(app.services, { organizationId, items: ['a', 'b'] });
  app.clock.set(new Date(delivery.expiresAt));
  const { log, lines } = capturingLogger();

  await definition.handler({ services: app.services, log });

  expect(lines).toEqual([
    {
      level: 'info',
      message: 'purge finished',
      fields: {
        deliveriesPurged: 1,
        draftsAbandoned: 0,
        itemsShredded: 2,
        blobsDeleted: 2,
        orphanBlobsDeleted: 0,
        tokensSwept: 0,
        sessionsSwept: 0,
        challengesSwept: 0,
        throttleSwept: 0,
        idempotencySwept: 0,
        complete: true,
      },
    },
  ]);
  await app.services.blobs.deleteContainer(containerOf(organizationId));
});
