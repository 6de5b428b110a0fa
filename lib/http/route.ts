/**
 * What a function file exports: its route, who may call it, and its handler. Both hosts (Azure Functions and
 * the dev host) serve the same definitions; the auth policy is enforced by lib/http/guard.ts before any handler runs.
 */
import type { HttpRequest, HttpResponseInit } from '@azure/functions';
import type { ZodType } from 'zod';
import type { Services } from '../app/services';
import type { Logger } from '../ports';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'HEAD';

export type Role = 'requester' | 'org_admin' | 'org_member' | 'service' | 'operator';
export const ROLES: readonly Role[] = ['requester', 'org_admin', 'org_member', 'service', 'operator'];

/**
 * `public`: anyone. Otherwise a signed-in caller with one of `roles`; `stepUp`: MFA within the last 15 minutes
 * (RFC 9470); `enrollment`: also open to an enrollment-only token (password proven, no second factor yet), which
 * every other route refuses. Only the factor-enrollment routes set it.
 */
export type AuthPolicy = 'public' | { readonly roles: readonly Role[]; readonly stepUp?: boolean; readonly enrollment?: boolean };

/** Who is calling, as proven by the guard. */
export interface Principal {
  readonly subject: string;
  readonly role: Role;
  readonly organizationId: string | null;
  /** The API key the token was minted with (members from company systems, service principals). */
  readonly apiKeyId: string | null;
  readonly sessionId: string | null;
  /** When the caller last authenticated strongly (MFA), epoch seconds; null if never in this session. */
  readonly mfaAt: number | null;
  readonly amr: readonly string[];
  /**
   * True for an enrollment token (`mfa_enrollment_required`): the password was proven but the account has no
   * second factor yet, so only routes whose policy says `enrollment: true` accept it. Absent = false.
   */
  readonly enrollmentOnly?: boolean;
}

export interface HandlerContext {
  readonly services: Services;
  /** Present on every non-public route (the guard guarantees it). */
  readonly principal: Principal | null;
  readonly params: Readonly<Record<string, string>>;
  readonly correlationId: string;
  readonly log: Logger;
}

export interface OperationDoc {
  readonly summary: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly request?: {
    readonly contentType: string;
    /** A registered schema name (see lib/http/schemas.ts) or a raw JSON Schema (e.g. binary bodies). */
    readonly schema: string | Record<string, unknown>;
    readonly example?: unknown;
  };
  readonly query?: readonly { readonly name: string; readonly description: string; readonly schema: Record<string, unknown> }[];
  readonly responses: Readonly<Record<number, {
    readonly description: string;
    readonly contentType?: string;
    readonly schema?: string | Record<string, unknown>;
    readonly example?: unknown;
    readonly headers?: Readonly<Record<string, string>>;
  }>>;
}

export interface RouteDefinition {
  readonly name: string;
  readonly methods: readonly HttpMethod[];
  /** Azure Functions route template without a leading slash: `v1/deliveries/{id}`, `schemas/{name}.json`, `docs/{*asset}`. */
  readonly route: string;
  readonly auth: AuthPolicy;
  /** false = not in the OpenAPI document (static assets). */
  readonly openapi: OperationDoc | false;
  readonly handler: (request: HttpRequest, context: HandlerContext) => Promise<HttpResponseInit>;
}

export interface TimerContext {
  readonly services: Services;
  readonly log: Logger;
}

export interface TimerDefinition {
  readonly name: string;
  /** NCRONTAB with seconds: `0 0 * * * *` = hourly. */
  readonly schedule: string;
  readonly handler: (context: TimerContext) => Promise<void>;
}

export type RequestSchema = ZodType;

export function defineRoute(definition: RouteDefinition): RouteDefinition {
  return definition;
}

export function defineTimer(definition: TimerDefinition): TimerDefinition {
  return definition;
}
