/**
 * Entry module for Azure Functions (package.json "main"): registers every definition of the route table with
 * the v4 programming model and turns on HTTP streaming, so item bodies flow through without buffering.
 * Services are built once per instance, on first use, from the validated config.
 */
import { app, type HttpRequest, type InvocationContext, type Timer } from '@azure/functions';
import { loadConfig } from '../config';
import { invokeRoute } from '../http/invoke';
import type { Logger } from '../ports';
import { routes, timers } from './routeTable';
import { createServices, type Services } from './services';

app.setup({ enableHttpStream: true });

let services: Promise<Services> | undefined;
function getServices(): Promise<Services> {
  services ??= createServices(loadConfig())
    .then(async (created) => {
      // Audit entries are written inside transactions and need the column key already loaded.
      await created.keyHierarchy.columnCipher();
      return created;
    })
    .catch((error: unknown) => {
    services = undefined;
    throw error;
  });
  return services;
}

function contextLogger(context: InvocationContext): Logger {
  return {
    info: (message, fields) => context.log(message, JSON.stringify(fields ?? {})),
    warn: (message, fields) => context.warn(message, JSON.stringify(fields ?? {})),
    error: (message, fields) => context.error(message, JSON.stringify(fields ?? {})),
  };
}

for (const definition of routes) {
  app.http(definition.name, {
    methods: [...definition.methods],
    route: definition.route,
    // The guard enforces the declared policy; the Functions key mechanism is not used for API callers.
    authLevel: 'anonymous',
    handler: async (request: HttpRequest, context: InvocationContext) =>
      invokeRoute(definition, request, await getServices(), context.invocationId, contextLogger(context)),
  });
}

for (const definition of timers) {
  app.timer(definition.name, {
    schedule: definition.schedule,
    handler: async (_timer: Timer, context: InvocationContext) => {
      const resolved = await getServices();
      await definition.handler({ services: resolved, log: contextLogger(context) });
    },
  });
}
