import type { HttpRequest } from '@azure/functions';

/**
 * The caller's address as the platform's front end reports it (Azure and the dev host both set
 * X-Forwarded-For from the connection; the first entry is the client). Used only for throttling, hashed.
 */
export function clientIp(request: HttpRequest): string {
  const forwarded = request.headers.get('x-forwarded-for');
  const first = forwarded?.split(',')[0]?.trim();
  return first && first.length <= 100 ? first : 'unreadable';
}
