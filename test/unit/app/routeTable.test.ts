import { routes, validateRoutes } from '../../../lib/app/routeTable';
import type { RouteDefinition } from '../../../lib/http/route';

const handler: RouteDefinition['handler'] = async () => ({ status: 204 });

describe('the route table', () => {
  test('every route declares an auth policy and a unique name', () => {
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect(route.auth === 'public' || route.auth.roles.length > 0).toBe(true);
    expect(new Set(routes.map((r) => r.name)).size).toBe(routes.length);
  });

  test('a route without a policy refuses to start', () => {
    const withoutPolicy = { name: 'x', methods: ['GET'], route: 'x', openapi: false, handler } as unknown as RouteDefinition;
    expect(() => validateRoutes([withoutPolicy])).toThrow(/no auth policy/);
  });

  test('a policy that allows no role, or an unknown role, refuses to start', () => {
    expect(() => validateRoutes([{ name: 'x', methods: ['GET'], route: 'x', openapi: false, handler, auth: { roles: [] } }])).toThrow(/no role/);
    expect(() =>
      validateRoutes([{ name: 'x', methods: ['GET'], route: 'x', openapi: false, handler, auth: { roles: ['root' as never] } }]),
    ).toThrow(/unknown role/);
  });

  test('two routes claiming the same method and template refuse to start', () => {
    const a: RouteDefinition = { name: 'a', methods: ['GET'], route: 'v1/things/{id}', auth: 'public', openapi: false, handler };
    const b: RouteDefinition = { ...a, name: 'b', route: 'v1/Things/{thingId}' };
    expect(() => validateRoutes([a, b])).toThrow(/repeats/);
  });
});
