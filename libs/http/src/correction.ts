import type { z } from 'zod';
import { byId } from '@app/contracts';
import { ProblemException } from './problem';
import { fieldErrors } from './problem.filter';

/**
 * Checks each field a correction names, and its value, against the field's schema; 400 with every
 * offender. The field is the client's key: only the map's own entries count, never what a plain
 * object inherits (`constructor`, `toString`, ...).
 */
export function validateCorrection(changes: Record<string, unknown>, fields: Record<string, z.ZodType>): void {
  const errors = Object.entries(changes).flatMap(([field, value]) => {
    const schema = byId(fields, field);
    if (!schema) return [{ path: `changes.${field}`, message: `not a correctable field; one of: ${Object.keys(fields).join(', ')}` }];
    const parsed = schema.safeParse(value);
    return parsed.success ? [] : fieldErrors(parsed.error, `changes.${field}`);
  });
  if (errors.length > 0)
    throw new ProblemException(400, 'INVALID_CORRECTION', 'the correction names unknown fields or invalid values', { errors });
}
