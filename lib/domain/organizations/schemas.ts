import { z } from 'zod';
import { named } from '../../http/schemas';

const MemberRole = z.enum(['org_admin', 'org_member']);

export const InviteMemberRequest = named(
  'InviteMemberRequest',
  z.strictObject({ email: z.email().max(254), role: MemberRole }).meta({ example: { email: 'grace@acme.example', role: 'org_member' } }),
);

export const UpdateMemberRequest = named(
  'UpdateMemberRequest',
  z
    .strictObject({ role: MemberRole.optional(), disabled: z.boolean().optional() })
    .refine((value) => value.role !== undefined || value.disabled !== undefined, 'Give role or disabled')
    .meta({ example: { role: 'org_admin' } }),
);

export const Member = named(
  'Member',
  z
    .strictObject({ id: z.string(), email: z.string(), name: z.string().nullable(), role: MemberRole, status: z.enum(['active', 'disabled']), joinedAt: z.string() })
    .meta({ example: { id: 'u1b2c3d4e5f6g7h2j3k4m5n6p7', email: 'grace@acme.example', name: null, role: 'org_member', status: 'active', joinedAt: '2026-11-21T10:00:00.000Z' } }),
);

export const MemberList = named('MemberList', z.strictObject({ items: z.array(Member), nextCursor: z.string().nullable() }));

export const Me = named(
  'Me',
  z
    .strictObject({
      id: z.string(),
      email: z.string(),
      name: z.string().nullable(),
      role: z.string(),
      organizationId: z.string().nullable(),
      apiKeyId: z.string().nullable(),
      amr: z.array(z.string()),
    })
    .meta({ example: { id: 'u1b2c3d4e5f6g7h2j3k4m5n6p7', email: 'ada@example.org', name: 'Ada Lovelace', role: 'requester', organizationId: null, apiKeyId: null, amr: ['pwd'] } }),
);
