import { z } from 'zod';

/** Client-chosen ids (api.md): a retried command names the same thing. */
export const Id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match [A-Za-z0-9._-]{1,64}');

/**
 * What an id names in a map keyed by ids. `constructor`, `toString` or `__proto__` are valid ids,
 * and a plain object answers them with what it inherits: only its own entries count.
 */
export function byId<V>(map: Readonly<Record<string, V>>, id: string): V | undefined {
  return Object.hasOwn(map, id) ? map[id] : undefined;
}

/** A clinical date (valid time), YYYY-MM-DD, a real calendar day. */
export const ClinicalDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

/** Half of a surrogate pair, alone: no UTF-8 form, so no PostgreSQL text or JSONB value holds it (nor a NUL). */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Free text a person wrote: a reason, a description. */
export const Text = (max = 2000) =>
  z
    .string()
    .trim()
    .min(1, 'must not be empty')
    .max(max)
    .refine((text) => !text.includes('\u0000') && !LONE_SURROGATE.test(text), 'must not contain NUL or unpaired surrogate characters');

export const Limb = z.enum(['left', 'right']);
export const Laterality = z.enum(['index', 'contralateral']);
export const Sex = z.enum(['F', 'M']);
export const Presentation = z.enum(['claudication', 'cli']);
