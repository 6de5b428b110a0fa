/**
 * The per-process state of the eID feature, built once per Services on first use: the encryption keys (re-read at most
 * every 30 s; one master-key unwrap per process, then one per rotation) and the openid-client configurations (one
 * discovery per provider per process; rebuilt from it when the usable decryption keys change). Kept beside Services
 * rather than in it, so processes that never see an eID request never build it.
 */
import type { Services } from '../../app/services';
import { errors } from '../../errors';
import { EidEncryptionKeys } from './encryptionKeys';
import { EidClients } from './oidcClient';
import type { EidProviderConfig } from './settings';

export interface EidRuntime {
  readonly encryptionKeys: EidEncryptionKeys;
  readonly clients: EidClients;
}

const runtimes = new WeakMap<Services, EidRuntime>();

export function eidRuntime(services: Services): EidRuntime {
  let runtime = runtimes.get(services);
  if (!runtime) {
    const encryptionKeys = new EidEncryptionKeys(services);
    runtime = { encryptionKeys, clients: new EidClients({ config: services.config, encryptionKeys }) };
    runtimes.set(services, runtime);
  }
  return runtime;
}

export function eidEnabled(services: Pick<Services, 'config'>): boolean {
  return services.config.eid.providers.length > 0;
}

/** The configured provider, or null when the id names none (removed from the settings, or never there). */
export function findEidProvider(services: Pick<Services, 'config'>, providerId: string): EidProviderConfig | null {
  return services.config.eid.providers.find((provider) => provider.id === providerId) ?? null;
}

export function requireEidProvider(services: Pick<Services, 'config'>, providerId: string | undefined): EidProviderConfig {
  if (providerId === undefined) throw errors.invalidRequest('Name the eID provider', [{ path: 'provider', message: 'Required for type eid' }]);
  const provider = findEidProvider(services, providerId);
  if (!provider) {
    throw errors.invalidRequest('No such eID provider on this installation', [
      { path: 'provider', message: eidEnabled(services) ? 'Not one of GET /v1/auth/eid/providers' : 'This installation offers no eID provider' },
    ]);
  }
  return provider;
}
