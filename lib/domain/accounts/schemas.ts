import { z } from 'zod';
import { named } from '../../http/schemas';
import { PasswordSchema } from './passwords';

const Email = z.email().max(254);
const Token = z.string().min(20).max(200).regex(/^[A-Za-z0-9_-]+$/, 'Not a token from this service');

export const SignUpRequest = named(
  'SignUpRequest',
  z
    .strictObject({ email: Email, password: PasswordSchema, name: z.string().trim().min(1).max(200) })
    .meta({ example: { email: 'ada@example.org', password: 'correct horse battery staple', name: 'Ada Lovelace' } }),
);

export const CreatedId = named('CreatedId', z.strictObject({ id: z.string() }).meta({ example: { id: 'k3v7q2m9x4b8n1c5d6f0g2h3j4' } }));

export const VerifyEmailRequest = named('VerifyEmailRequest', z.strictObject({ token: Token }).meta({ example: { token: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c' } }));

export const PasswordResetRequest = named('PasswordResetRequest', z.strictObject({ email: Email }).meta({ example: { email: 'ada@example.org' } }));

export const PasswordResetConfirmRequest = named(
  'PasswordResetConfirmRequest',
  z.strictObject({ token: Token, password: PasswordSchema }).meta({ example: { token: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c', password: 'a new long passphrase' } }),
);

export const AcceptInviteRequest = named(
  'AcceptInviteRequest',
  z.strictObject({ token: Token, password: PasswordSchema }).meta({ example: { token: 'q1w2e3r4t5y6u7i8o9p0a1s2d3f4g5h6j7k8l9z0x1c', password: 'correct horse battery staple' } }),
);

export const AcceptInviteResponse = named('AcceptInviteResponse', z.strictObject({ userId: z.string() }).meta({ example: { userId: 'k3v7q2m9x4b8n1c5d6f0g2h3j4' } }));

export const CreateOrganizationRequest = named(
  'CreateOrganizationRequest',
  z.strictObject({ name: z.string().trim().min(1).max(200), adminEmail: Email }).meta({ example: { name: 'Acme Insurance', adminEmail: 'it-admin@acme.example' } }),
);

export const Organization = named('Organization', z.strictObject({ id: z.string(), name: z.string() }).meta({ example: { id: 'a1b2c3d4e5f6g7h2j3k4m5n6p7', name: 'Acme Insurance' } }));

export const OrganizationList = named(
  'OrganizationList',
  z.strictObject({ items: z.array(Organization), nextCursor: z.string().nullable() }).meta({
    example: { items: [{ id: 'a1b2c3d4e5f6g7h2j3k4m5n6p7', name: 'Acme Insurance' }], nextCursor: null },
  }),
);
