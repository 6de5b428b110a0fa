import type { HttpRequest } from '@azure/functions';

/**
 * The caller's address as our own front end saw it. Azure's front end appends the connecting address to
 * X-Forwarded-For, and the dev host replaces the header with it; whatever a client wrote there itself comes
 * earlier in the list. So the last entry is the only one to trust. Used only for throttling, and only hashed.
 */
export function clientIp(request: HttpRequest): string {
  const forwarded = request.headers.get('x-forwarded-for');
  const last = forwarded?.split(',').pop()?.trim();
  return last && last.length <= 100 ? last : 'unreadable';
}
