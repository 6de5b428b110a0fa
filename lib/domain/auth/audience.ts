import type { Services } from '../../app/services';

/** The `aud` of every access token this API issues and accepts. */
export function tokenAudience(services: Pick<Services, 'config'>): string {
  return `${services.config.publicBaseUrl}/v1`;
}
