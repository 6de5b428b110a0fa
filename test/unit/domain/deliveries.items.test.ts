import { isJsonMediaType, parseItemUploadHeaders } from '../../../lib/domain/deliveries/items';
import { ApiError } from '../../../lib/errors';

const LIMIT = 1000;

function refusal(headers: Record<string, string>): ApiError {
  try {
    parseItemUploadHeaders(new Headers(headers), LIMIT);
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('item upload headers', () => {
  test('Content-Length is required, also for a chunked body: 411, closing the connection', () => {
    for (const headers of [{}, { 'Transfer-Encoding': 'chunked' }] as Record<string, string>[]) {
      const error = refusal(headers);
      expect(error.status).toBe(411);
      expect(error.code).toBe('length_required');
      expect(error.extra.headers).toEqual({ Connection: 'close' });
    }
  });

  test('over the limit is 413 before reading; exactly the limit is fine', () => {
    const error = refusal({ 'Content-Length': '1001' });
    expect(error.status).toBe(413);
    expect(error.extra.headers).toEqual({ Connection: 'close' });
    expect(parseItemUploadHeaders(new Headers({ 'Content-Length': '1000' }), LIMIT).contentLength).toBe(1000);
    expect(parseItemUploadHeaders(new Headers({ 'Content-Length': '0' }), LIMIT).contentLength).toBe(0);
  });

  test('a Content-Length that is not a byte count is 400', () => {
    expect(refusal({ 'Content-Length': '-1' }).status).toBe(400);
    expect(refusal({ 'Content-Length': '1e3' }).status).toBe(400);
  });

  test('Content-Type is kept as sent, defaults to application/octet-stream, and must be a media type', () => {
    const parse = (contentType?: string) =>
      parseItemUploadHeaders(new Headers({ 'Content-Length': '1', ...(contentType === undefined ? {} : { 'Content-Type': contentType }) }), LIMIT).contentType;
    expect(parse()).toBe('application/octet-stream');
    expect(parse('application/pdf')).toBe('application/pdf');
    expect(parse('text/plain; charset=utf-8')).toBe('text/plain; charset=utf-8');
    expect(parse('text/plain; name="a b"')).toBe('text/plain; name="a b"');
    for (const bad of ['pdf', 'text/', 'text/plain; charset', 'a/b c', 'text/plain; x="unterminated', `a/${'b'.repeat(200)}`]) {
      expect(() => parse(bad)).toThrow(ApiError);
    }
  });

  test('JSON is application/json or any +json type', () => {
    expect(isJsonMediaType('application/json')).toBe(true);
    expect(isJsonMediaType('Application/JSON; charset=utf-8')).toBe(true);
    expect(isJsonMediaType('application/ld+json')).toBe(true);
    expect(isJsonMediaType('text/json+x')).toBe(false);
    expect(isJsonMediaType('text/plain')).toBe(false);
  });
});
