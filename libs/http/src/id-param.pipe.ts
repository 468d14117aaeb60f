import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { Id } from '@app/contracts';
import { ProblemException } from './problem';

/** The 400 for a path parameter that is not an id. */
export function invalidIdParam(name: string): ProblemException {
  return new ProblemException(400, 'INVALID_ID', `path parameter ${name} is not a valid id`, {
    errors: [{ path: `params.${name}`, message: 'must match [A-Za-z0-9._-]{1,64}' }],
  });
}

/** Path ids follow api.md's id rule; anything else is refused before a stream is named after it. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (metadata.type !== 'param') return value;
    const parsed = Id.safeParse(value);
    if (!parsed.success) throw invalidIdParam(metadata.data ?? '');
    return parsed.data;
  }
}
