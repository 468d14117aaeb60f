import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Response } from 'express';
import { map, type Observable } from 'rxjs';

/** A command's answer carries its stream version; the ETag lets the client send If-Match next. */
@Injectable()
export class StreamVersionETagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const response = context.switchToHttp().getResponse<Response>();
    return next.handle().pipe(
      map((body: unknown) => {
        const version = (body as { streamVersion?: unknown } | null)?.streamVersion;
        if (typeof version === 'number' && !response.headersSent) response.setHeader('ETag', `"${version}"`);
        return body;
      }),
    );
  }
}

/** Parses If-Match: "3" (or 3, or W/"3") into a stream version; absent → undefined. */
export function parseIfMatch(header: string | undefined): number | undefined | 'invalid' {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
  return match ? Number(match[1]) : 'invalid';
}
