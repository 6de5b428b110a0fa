/**
 * The eID settings (EID_PROVIDERS, EID_CLIENT_SECRETS), the loopback-only rule for plain http, the amr an eID login
 * gets, and the claim mapping. The flows themselves run against a real OpenID provider in test/integration/eid.test.ts.
 */
import { ConfigError, loadConfig } from '../../../lib/config';
import { mapClaims } from '../../../lib/domain/eid/identities';
import { EidClients } from '../../../lib/domain/eid/oidcClient';
import { isLoopbackHttpIssuer, parseEidSettings } from '../../../lib/domain/eid/settings';
import { amrForEid, registeredAmrValues } from '../../../lib/domain/mfa/policy';

const itsme = { id: 'itsme', label: 'itsme', issuer: 'https://hub.example.eu/identityhub/', clientId: 'connectid', acrValues: 'idp:itsme' };

function parse(providers: unknown, secrets: unknown = { itsme: 'secret' }) {
  const problems: string[] = [];
  const warnings: string[] = [];
  const settings = parseEidSettings(
    providers === undefined ? undefined : JSON.stringify(providers),
    secrets === undefined ? undefined : typeof secrets === 'string' ? secrets : JSON.stringify(secrets),
    problems,
    warnings,
  );
  return { settings, problems, warnings };
}

describe('EID_PROVIDERS and EID_CLIENT_SECRETS', () => {
  test('without them eID is off; with them each provider gets its secret and the documented defaults', () => {
    expect(loadConfig({}).eid).toEqual({ providers: [] });
    const config = loadConfig({ EID_PROVIDERS: JSON.stringify([itsme]), EID_CLIENT_SECRETS: JSON.stringify({ itsme: 's3cr3t:+/%=&' }) });
    expect(config.eid.providers).toEqual([
      {
        id: 'itsme',
        label: 'itsme',
        issuer: 'https://hub.example.eu/identityhub',
        clientId: 'connectid',
        clientSecret: 's3cr3t:+/%=&',
        scopes: 'openid profile',
        acrValues: 'idp:itsme',
        tokenEndpointAuthMethod: 'client_secret_basic',
        userinfo: 'json',
        idTokenSigningAlg: 'RS256',
        userinfoSigningAlg: 'RS256',
        claims: { name: 'name', givenName: 'given_name', familyName: 'family_name', birthDate: 'birthdate', nationalId: null },
        assuranceLevel: null,
      },
    ]);
    expect(Object.isFrozen(config.eid.providers[0])).toBe(true);
  });

  test('an issuer must be https; plain http only on localhost, 127.0.0.1 or [::1]', () => {
    for (const issuer of ['http://localhost:4000', 'http://127.0.0.1:4000/op', 'http://[::1]:4000']) {
      expect({ issuer, problems: parse([{ ...itsme, issuer }]).problems }).toEqual({ issuer, problems: [] });
    }
    for (const issuer of ['http://hub.example.eu', 'http://127.0.0.2', 'http://localhost.example.eu', 'ftp://hub.example.eu', 'not a url', 'https://hub.example.eu/?x=1']) {
      expect({ issuer, refused: parse([{ ...itsme, issuer }]).problems.length }).toEqual({ issuer, refused: 1 });
    }
  });

  test('every problem is reported at once, naming the provider and never a secret', () => {
    const { problems } = parse(
      [
        { ...itsme, scopes: 'profile', userinfo: 'xml', tokenEndpointAuthMethod: 'private_key_jwt', clientSecret: 'inline', claims: { shoeSize: 'x' } },
        { ...itsme, id: 'Not A Slug' },
        { ...itsme, id: 'beid' },
      ],
      { itsme: 'the-secret-value' },
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/EID_PROVIDERS\[0\]: unknown field "clientSecret"/),
        expect.stringMatching(/EID_PROVIDERS\[0\]: scopes must include openid/),
        expect.stringMatching(/EID_PROVIDERS\[0\]: userinfo must be one of json, jwt, encrypted-jwt/),
        expect.stringMatching(/EID_PROVIDERS\[0\]: tokenEndpointAuthMethod must be one of/),
        expect.stringMatching(/EID_PROVIDERS\[0\]: claims.shoeSize is not one of/),
        expect.stringMatching(/EID_PROVIDERS\[1\]: id must be a slug/),
        expect.stringMatching(/EID_PROVIDERS\[2\]: EID_CLIENT_SECRETS has no secret for "beid"/),
      ]),
    );
    expect(problems.join('\n')).not.toContain('the-secret-value');
    expect(() => loadConfig({ EID_PROVIDERS: '{"not":"an array"}' })).toThrow(ConfigError);
    expect(() => loadConfig({ EID_PROVIDERS: JSON.stringify([itsme]), EID_CLIENT_SECRETS: 'not json' })).toThrow(/EID_CLIENT_SECRETS is not valid JSON/);
    expect(parse([itsme, itsme]).problems).toEqual([expect.stringMatching(/the id "itsme" is used twice/)]);
  });

  test('a secret must be printable ASCII (RFC 6749 Appendix A)', () => {
    expect(parse([itsme], { itsme: 'sécret' }).problems).toEqual(expect.arrayContaining([expect.stringMatching(/the secret of "itsme" must be .*printable ASCII/)]));
  });

  test('an unresolved Key Vault reference is the normal state without providers, and a problem with them', () => {
    const reference = '@Microsoft.KeyVault(SecretUri=https://kv.vault.azure.net/secrets/eid-client-secrets/)';
    expect(parse(undefined, reference)).toMatchObject({ settings: { providers: [] }, problems: [] });
    expect(parse([itsme], reference).problems).toEqual(expect.arrayContaining([expect.stringMatching(/unresolved Key Vault reference/)]));
  });

  test('a secret for a provider that is not configured is a warning, not a failure', () => {
    expect(parse([itsme], { itsme: 'a', gone: 'b' })).toMatchObject({ problems: [], warnings: [expect.stringMatching(/"gone"/)] });
  });
});

describe('plain http towards a provider', () => {
  test('openid-client may skip TLS only for loopback issuers', () => {
    expect(EidClients.allowsInsecureRequests('http://localhost:4000')).toBe(true);
    expect(EidClients.allowsInsecureRequests('http://127.0.0.1:4000')).toBe(true);
    expect(EidClients.allowsInsecureRequests('http://[::1]:4000')).toBe(true);
    expect(EidClients.allowsInsecureRequests('https://localhost:4000')).toBe(false);
    expect(EidClients.allowsInsecureRequests('http://hub.example.eu')).toBe(false);
    expect(EidClients.allowsInsecureRequests('http://10.0.0.1')).toBe(false);
    expect(isLoopbackHttpIssuer('http://localhost.attacker.example')).toBe(false);
  });

  test('any other http issuer is refused by openid-client itself, before a request is sent', async () => {
    // 127.0.0.2 is a loopback address too, but not one the settings allow: were the rule bypassed, TLS still holds.
    const config = loadConfig({
      EID_PROVIDERS: JSON.stringify([{ ...itsme, issuer: 'http://127.0.0.1:9' }]),
      EID_CLIENT_SECRETS: JSON.stringify({ itsme: 'x' }),
    });
    const provider = { ...config.eid.providers[0]!, issuer: 'http://127.0.0.2:9' };
    const clients = new EidClients({ config, encryptionKeys: {} as never });
    await expect(clients.authorizationRequest(provider)).rejects.toMatchObject({ code: 'OAUTH_HTTP_REQUEST_FORBIDDEN' });
  });
});

describe('what an eID login says about itself', () => {
  test('amr is pwd, fed and mfa, plus what the provider reports from the RFC 8176 registry only', () => {
    expect(amrForEid([])).toEqual(['pwd', 'fed', 'mfa']);
    expect(amrForEid(['sc', 'pin', 'external', 'pin', 'mfa', 'pwd'])).toEqual(['pwd', 'fed', 'sc', 'pin', 'mfa']);
    expect(registeredAmrValues(['external', 'hwk', 'swk'])).toEqual(['hwk', 'swk']);
  });

  test('claims are mapped by the provider settings; missing, empty and non-text claims are null', () => {
    const provider = loadConfig({
      EID_PROVIDERS: JSON.stringify([{ ...itsme, claims: { nationalId: 'http://ids.connective.eu/beid/national_number', name: null } }]),
      EID_CLIENT_SECRETS: JSON.stringify({ itsme: 'x' }),
    }).eid.providers[0]!;
    expect(
      mapClaims(provider, {
        sub: 'abc',
        name: 'Ignored Because Unmapped',
        given_name: ' Ada ',
        family_name: '',
        birthdate: { year: 1990 },
        'http://ids.connective.eu/beid/national_number': 90050412345,
      }),
    ).toEqual({ name: null, givenName: 'Ada', familyName: null, birthDate: null, nationalId: '90050412345' });
  });
});
