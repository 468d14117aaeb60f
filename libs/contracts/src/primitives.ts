import { z } from 'zod';

/** Client-chosen ids (api.md): a retried command names the same thing. */
export const Id = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must match [A-Za-z0-9._-]{1,64}');

/** A clinical date (valid time), YYYY-MM-DD, a real calendar day. */
export const ClinicalDate = z.iso.date({ message: 'must be a date YYYY-MM-DD' });

/** Free text a person wrote: a reason, a description. */
export const Text = (max = 2000) => z.string().trim().min(1, 'must not be empty').max(max);

export const Limb = z.enum(['left', 'right']);
export const Laterality = z.enum(['index', 'contralateral']);
export const Sex = z.enum(['F', 'M']);
export const Presentation = z.enum(['claudication', 'cli']);
