/**
 * The data categories a requester may ask for: a fixed registry, so a consent names exactly what it covers and
 * a delivery's JSON items can be checked against a published shape (GET /schemas/Category<Name>.json).
 *
 * Every field of a category schema is optional: organizations hold different subsets, and an absent field says
 * "we hold nothing of that kind", which is itself an answer. Unknown fields are rejected so that a typo does not
 * pass silently. `other` has no schema: it is whatever the organization holds that fits nowhere else.
 */
import { z, type ZodType } from 'zod';
import { named } from '../../http/schemas';

export const CATEGORY_CODES = ['contact', 'identity', 'financial', 'employment', 'health', 'other'] as const;
export type CategoryCode = (typeof CATEGORY_CODES)[number];

export interface DataCategory {
  readonly code: CategoryCode;
  readonly label: string;
  /** A special category of personal data (GDPR art. 9): receipts list it under `spiCat`. */
  readonly sensitive: boolean;
  /** The shape of a JSON item of this category; null = free form. */
  readonly schema: ZodType | null;
}

const isoDate = () => z.iso.date().describe('YYYY-MM-DD');
const countryCode = () => z.string().regex(/^[A-Z]{2}$/).describe('ISO 3166-1 alpha-2');
const currencyCode = () => z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217');
// Amounts travel as decimal strings: a binary float would round cents.
const decimal = () => z.string().regex(/^-?\d{1,15}(\.\d{1,6})?$/).describe('A decimal number as a string, e.g. "1250.00"');
const text = (max = 500) => z.string().min(1).max(max);

const PostalAddress = z.strictObject({
  street: text(200).optional(),
  postalCode: text(20).optional(),
  city: text(100).optional(),
  region: text(100).optional(),
  country: countryCode().optional(),
  validFrom: isoDate().optional(),
  validTo: isoDate().optional(),
});

const CategoryContact = named(
  'CategoryContact',
  z
    .strictObject({
      name: text(200).optional(),
      emails: z.array(z.email().max(254)).max(50).optional(),
      phones: z.array(z.string().regex(/^\+?[0-9 ()-]{3,32}$/)).max(50).optional().describe('E.164 preferred'),
      addresses: z.array(PostalAddress).max(50).optional(),
      preferredLanguage: z.string().regex(/^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$/).optional().describe('BCP 47'),
    })
    .meta({
      description: 'Contact details an organization holds about the person',
      example: {
        name: 'Ada Lovelace',
        emails: ['ada@example.org'],
        phones: ['+44 20 7946 0958'],
        addresses: [{ street: '12 St James’s Square', postalCode: 'SW1Y 4JH', city: 'London', country: 'GB' }],
        preferredLanguage: 'en-GB',
      },
    }),
);

const CategoryIdentity = named(
  'CategoryIdentity',
  z
    .strictObject({
      givenName: text(200).optional(),
      familyName: text(200).optional(),
      dateOfBirth: isoDate().optional(),
      placeOfBirth: text(200).optional(),
      nationalities: z.array(countryCode()).max(10).optional(),
      identifiers: z
        .array(
          z.strictObject({
            type: z.enum(['national_id', 'passport', 'driving_licence', 'tax_id', 'customer_number', 'other']),
            value: text(100),
            issuingCountry: countryCode().optional(),
            validUntil: isoDate().optional(),
          }),
        )
        .max(50)
        .optional(),
    })
    .meta({
      description: 'Who the organization has on record: names, birth, nationality, identifiers',
      example: {
        givenName: 'Ada',
        familyName: 'Lovelace',
        dateOfBirth: '1985-12-10',
        nationalities: ['GB'],
        identifiers: [{ type: 'customer_number', value: 'C-0042-7781' }],
      },
    }),
);

const CategoryFinancial = named(
  'CategoryFinancial',
  z
    .strictObject({
      accounts: z
        .array(
          z.strictObject({
            type: z.enum(['current', 'savings', 'credit_card', 'loan', 'mortgage', 'investment', 'insurance', 'other']),
            name: text(200).optional(),
            iban: z.string().regex(/^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$/).optional(),
            maskedNumber: text(40).optional().describe('For cards and accounts without an IBAN: last digits only'),
            currency: currencyCode().optional(),
            balance: decimal().optional(),
            openedOn: isoDate().optional(),
            closedOn: isoDate().optional(),
          }),
        )
        .max(1000)
        .optional(),
      transactions: z
        .array(
          z.strictObject({
            date: isoDate(),
            amount: decimal(),
            currency: currencyCode(),
            description: text().optional(),
            counterparty: text(200).optional(),
          }),
        )
        .max(100_000)
        .optional(),
    })
    .meta({
      description: 'Accounts, contracts and transactions',
      example: {
        accounts: [{ type: 'current', name: 'Everyday account', iban: 'GB33BUKB20201555555555', currency: 'GBP', balance: '1250.00', openedOn: '2019-03-01' }],
        transactions: [{ date: '2026-11-02', amount: '-42.50', currency: 'GBP', description: 'Card payment', counterparty: 'Bookshop Ltd' }],
      },
    }),
);

const CategoryEmployment = named(
  'CategoryEmployment',
  z
    .strictObject({
      positions: z
        .array(
          z.strictObject({
            employer: text(200).optional(),
            title: text(200).optional(),
            employmentType: z.enum(['permanent', 'fixed_term', 'contractor', 'intern', 'other']).optional(),
            startDate: isoDate().optional(),
            endDate: isoDate().optional(),
            hoursPerWeek: z.number().min(0).max(168).optional(),
            salary: z.strictObject({ amount: decimal(), currency: currencyCode(), period: z.enum(['hour', 'month', 'year']) }).optional(),
          }),
        )
        .max(200)
        .optional(),
      evaluations: z.array(z.strictObject({ date: isoDate(), summary: text(4000) })).max(500).optional(),
    })
    .meta({
      description: 'Positions held, pay and evaluations',
      example: {
        positions: [
          {
            employer: 'Acme Insurance',
            title: 'Actuary',
            employmentType: 'permanent',
            startDate: '2021-09-01',
            hoursPerWeek: 37.5,
            salary: { amount: '58000.00', currency: 'GBP', period: 'year' },
          },
        ],
      },
    }),
);

const CategoryHealth = named(
  'CategoryHealth',
  z
    .strictObject({
      records: z
        .array(
          z.strictObject({
            date: isoDate().optional(),
            type: z.enum(['diagnosis', 'prescription', 'vaccination', 'lab_result', 'procedure', 'visit', 'other']),
            description: text(4000).optional(),
            code: z.strictObject({ system: text(200).describe('e.g. http://hl7.org/fhir/sid/icd-10'), value: text(50) }).optional(),
            provider: text(200).optional(),
          }),
        )
        .max(10_000)
        .optional(),
      allergies: z.array(text(200)).max(200).optional(),
    })
    .meta({
      description: 'Health data: a special category under GDPR art. 9',
      example: {
        records: [{ date: '2025-04-14', type: 'vaccination', description: 'Influenza', provider: 'Acme Occupational Health' }],
        allergies: ['penicillin'],
      },
    }),
);

export const CATEGORIES: Readonly<Record<CategoryCode, DataCategory>> = Object.freeze({
  contact: { code: 'contact', label: 'Contact details', sensitive: false, schema: CategoryContact },
  identity: { code: 'identity', label: 'Identity', sensitive: false, schema: CategoryIdentity },
  financial: { code: 'financial', label: 'Financial', sensitive: false, schema: CategoryFinancial },
  employment: { code: 'employment', label: 'Employment', sensitive: false, schema: CategoryEmployment },
  health: { code: 'health', label: 'Health (special category, GDPR art. 9)', sensitive: true, schema: CategoryHealth },
  other: { code: 'other', label: 'Other', sensitive: false, schema: null },
});

export function isCategoryCode(value: unknown): value is CategoryCode {
  return typeof value === 'string' && (CATEGORY_CODES as readonly string[]).includes(value);
}

/** The schema a JSON item of this category must match; null for `other` (free form) and for unknown codes. */
export function categorySchema(code: string): ZodType | null {
  return isCategoryCode(code) ? CATEGORIES[code].schema : null;
}

/** The special categories (GDPR art. 9) among `codes`, in registry order. */
export function sensitiveCategories(codes: readonly CategoryCode[]): CategoryCode[] {
  return CATEGORY_CODES.filter((code) => codes.includes(code) && CATEGORIES[code].sensitive);
}
