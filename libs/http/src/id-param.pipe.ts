import { type ArgumentMetadata, Injectable, type PipeTransform } from '@nestjs/common';
import { Id } from '@app/contracts';
import { ProblemException } from './problem';

/** Path ids follow api.md's id rule; anything else is refused before a stream is named after it. */
@Injectable()
export class IdParamPipe implements PipeTransform<string, string> {
  transform(value: string, metadata: ArgumentMetadata): string {
    if (metadata.type !== 'param') return value;
    const parsed = Id.safeParse(value);
    if (!parsed.success) {
      throw new ProblemException(400, 'INVALID_ID', `path parameter ${metadata.data ?? ''} is not a valid id`, {
        errors: [{ path: `params.${metadata.data ?? ''}`, message: 'must match [A-Za-z0-9._-]{1,64}' }],
      });
    }
    return parsed.data;
  }
}
