import { IncomingMessage, ServerResponse, createServer } from 'node:http';
import type { NestApplicationOptions } from '@nestjs/common';
import { ExpressAdapter } from '@nestjs/platform-express';
import type { Express, Response } from 'express';
import type { RequestWithIdempotency } from './idempotency';

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

/**
 * Express on a Node server whose requests and responses are born with Express's prototypes.
 *
 * Express gives every request and response its own prototype when it enters the app
 * (`Object.setPrototypeOf(req, app.request)`). V8 then gives each such object a map (hidden
 * class) of its own, so every property added to it afterwards builds new maps, and every property
 * read in Node's http, Express, Nest and our guards misses its inline cache: 15-20% of a command's
 * CPU in perf (Runtime_LoadIC_Miss, StoreIC misses, Map::CopyWithField), in the platform and in a
 * bare Nest + Express endpoint alike (expressjs/express#5998). Here Node's server constructs them
 * as subclasses of its own IncomingMessage and ServerResponse (http.createServer's options) whose
 * prototypes are Express's `app.request` and `app.response`, so Express's setPrototypeOf finds the
 * prototype already in place and changes nothing, and requests share their maps. The objects are
 * what Express makes of them either way: the same methods, the same prototype chain.
 */
export class StableShapeExpressAdapter extends ExpressAdapter {
  override initHttpServer(options: NestApplicationOptions): void {
    // HTTPS and connection tracking are left to Nest's own set-up (no app here uses them).
    if (options?.httpsOptions || options?.forceCloseConnections) return super.initHttpServer(options);
    const app = this.getInstance<Express>();
    this.setHttpServer(
      createServer(
        { IncomingMessage: adopt(IncomingMessage, app, 'request'), ServerResponse: adopt(ServerResponse, app, 'response') },
        app,
      ),
    );
  }
}

/**
 * A subclass of Node's `base` whose prototype becomes Express's `app[key]`: it takes over that
 * object's prototype and own properties (`app`), and the app uses it from now on.
 *
 * A class, so V8 builds its instances as it builds base's (one map for all). A plain function with
 * the prototype set, applying base to `this`, also shares maps, but perf showed Node's constructor
 * then storing its fields the slow way (keyed-store misses and map migrations, about 2% of the
 * CPU); and Reflect.construct with such a function as new.target gives each object a map of its
 * own again (the shape test fails).
 */
function adopt<T extends typeof IncomingMessage | typeof ServerResponse>(base: T, app: Express, key: 'request' | 'response'): T {
  const express = app[key] as object;
  if (!(express instanceof base)) throw new Error(`${base.name}: Express's ${key} does not inherit from it`);
  const Base = base as unknown as new (...args: never[]) => object;
  const Born = class extends Base {};
  Object.setPrototypeOf(Born.prototype, Object.getPrototypeOf(express) as object);
  Object.defineProperties(Born.prototype, Object.getOwnPropertyDescriptors(express));
  (app as unknown as Record<typeof key, object>)[key] = Born.prototype;
  return Born as unknown as T;
}

/**
 * Nest on Express, answering as the API does. A handler's answer that carries its stream version
 * gets it as its ETag (set before Express would compute its weak hash ETag, which no If-Match
 * could name), and the answer replayed for an Idempotency-Key gets `Idempotent-Replayed: true`.
 *
 * Done here, where Nest writes a handler's answer, rather than by interceptors: Nest wraps each
 * interceptor of each request in an AsyncResource.bind (which builds a deprecation getter every
 * time) and an rxjs defer and mergeAll, about 4% of a command's CPU (issue #18). What ran before
 * the handler is ApiGuard's. Errors never come here (ProblemDetailsFilter writes them).
 */
export class ApiHttpAdapter extends StableShapeExpressAdapter {
  override reply(response: Response, body: unknown, statusCode?: number): unknown {
    if (response.headersSent) return super.reply(response, body, statusCode);
    const request = response.req as RequestWithIdempotency;
    const version = streamVersionOf(request.method, body);
    if (version !== undefined) response.setHeader('ETag', `"${version}"`);
    if (request.idempotency?.replayed) response.setHeader('Idempotent-Replayed', 'true');
    if (version !== undefined && request.method !== 'GET' && request.method !== 'HEAD' && !response.hasHeader('Content-Type')) {
      // A command's answer, written as res.json would write it (the app sets no json replacer or
      // spaces; its ETag is set, so Express would hash nothing; not a GET, so no 304), without
      // Express's per-call header parsing (about 2% of a command's CPU). A test holds the two equal.
      const json = JSON.stringify(body);
      if (statusCode) response.status(statusCode);
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.setHeader('Content-Length', Buffer.byteLength(json));
      return response.end(json);
    }
    return super.reply(response, body, statusCode);
  }
}

/** Parses If-Match: "3" (or 3, or W/"3") into a stream version; absent → undefined. */
export function parseIfMatch(header: string | undefined): number | undefined | 'invalid' {
  if (header === undefined || header.trim() === '' || header.trim() === '*') return undefined;
  const match = /^(?:W\/)?"?(\d{1,15})"?$/.exec(header.trim());
  return match ? Number(match[1]) : 'invalid';
}
