import { type CallHandler, type ExecutionContext, Injectable, type NestInterceptor } from '@nestjs/common';
import type { Request, Response } from 'express';
import { map, type Observable } from 'rxjs';

/**
 * The stream version an answer carries, as its strong ETag: a command's `streamVersion`, or the
 * `version` of a read of one stream (GET trial, patient, adverse event). Either can be sent back
 * as If-Match, so a client may read, decide and write only on the version it read.
 */
export function streamVersionOf(method: string, body: unknown): number | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { streamVersion, version } = body as { streamVersion?: unknown; version?: unknown };
  if (Number.isSafeInteger(streamVersion)) return streamVersion as number;
  // Only a read's top-level integer `version` is a stream version (a charter's version is text).
  if ((method === 'GET' || method === 'HEAD') && Number.isSafeInteger(version) && (version as number) >= 0) return version as number;
  return undefined;
}

/** A command's or a stream read's answer carries its stream version; the ETag lets the client send If-Match next. */
@Injectable()
export class StreamVersionETagInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const http = context.switchToHttp();
    const response = http.getResponse<Response>();
    const method = http.getRequest<Request>().method;
    return next.handle().pipe(
      map((body: unknown) => {
        const version = streamVersionOf(method, body);
        // Set before Express would compute its weak hash ETag, which no If-Match could name.
        if (version !== undefined && !response.headersSent) response.setHeader('ETag', `"${version}"`);
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
