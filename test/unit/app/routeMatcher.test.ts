import { compileRoute } from '../../../lib/app/devHost/routeMatcher';

describe('dev host route matching (Azure Functions templates)', () => {
  test('literal and parameter segments match, case-insensitively for literals', () => {
    const route = compileRoute('v1/deliveries/{id}/items/{name}', null);
    expect(route.match('/v1/deliveries/abc/items/report.pdf')).toEqual({ id: 'abc', name: 'report.pdf' });
    expect(route.match('/V1/Deliveries/abc/items/x')).toEqual({ id: 'abc', name: 'x' });
    expect(route.match('/v1/deliveries/abc/items')).toBeNull();
    expect(route.match('/v1/deliveries/abc/items/x/y')).toBeNull();
  });

  test('parameters are percent-decoded, and a malformed escape does not match', () => {
    const route = compileRoute('v1/things/{name}', null);
    expect(route.match('/v1/things/a%20b')).toEqual({ name: 'a b' });
    expect(route.match('/v1/things/%E0%A4%A')).toBeNull();
  });

  test('a parameter with a literal suffix inside a segment', () => {
    const route = compileRoute('schemas/{name}.json', null);
    expect(route.match('/schemas/Problem.json')).toEqual({ name: 'Problem' });
    expect(route.match('/schemas/Problem')).toBeNull();
  });

  test('a catch-all matches nothing, one segment or many', () => {
    const route = compileRoute('docs/{*asset}', null);
    expect(route.match('/docs')).toEqual({});
    expect(route.match('/docs/')).toEqual({});
    expect(route.match('/docs/a.css')).toEqual({ asset: 'a.css' });
    expect(route.match('/docs/a/b.css')).toEqual({ asset: 'a/b.css' });
    expect(route.match('/docsx')).toBeNull();
  });

  test('dots in literals are not wildcards', () => {
    const route = compileRoute('.well-known/jwks.json', null);
    expect(route.match('/.well-known/jwks.json')).toEqual({});
    expect(route.match('/.well-known/jwksXjson')).toBeNull();
  });
});
