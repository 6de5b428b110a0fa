import { HttpRequest } from '@azure/functions';
import { clientIp } from '../../../lib/http/clientIp';

const request = (forwarded?: string) =>
  new HttpRequest({ method: 'GET', url: 'http://localhost/', headers: forwarded === undefined ? {} : { 'x-forwarded-for': forwarded } });

describe('the client address used for throttling', () => {
  test('is the entry our front end appended, not one the client wrote itself', () => {
    expect(clientIp(request('6.6.6.6, 203.0.113.7'))).toBe('203.0.113.7');
    expect(clientIp(request('203.0.113.7:51234'))).toBe('203.0.113.7:51234');
  });

  test('is a shared bucket when missing or absurd', () => {
    expect(clientIp(request())).toBe('unreadable');
    expect(clientIp(request('x'.repeat(500)))).toBe('unreadable');
  });
});
