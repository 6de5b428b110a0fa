import { defineTimer } from '../lib/http/route';

/**
 * Hourly retention purge (DESIGN §2): destroys the data keys of expired deliveries, deletes their blobs, writes
 * the deletion receipts, and sweeps expired tokens, sessions and abandoned uploads. Access already ended at each
 * delivery's expiresAt; this reclaims storage and makes the data unrecoverable.
 */
export const definition = defineTimer({
  name: 'purgeExpired',
  schedule: '0 0 * * * *',
  handler: async ({ services, log }) => {
    // Loaded on the first run, not at cold start: no request ever needs it.
    const { purgeExpired } = await import('../lib/domain/retention/purge');
    const report = await purgeExpired(services);
    // Counts only: nothing here names a person or an item.
    if (report.complete) log.info('purge finished', { ...report });
    else log.warn('purge stopped before it was done; the next run continues', { ...report });
  },
});
