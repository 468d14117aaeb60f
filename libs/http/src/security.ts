import type { INestApplication } from '@nestjs/common';
import type { CustomOrigin } from '@nestjs/common/interfaces/external/cors-options.interface';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import helmet from 'helmet';
import { z } from 'zod';

/**
 * CORS_ORIGINS: a comma list of browser origins (`scheme://host[:port]`, exactly as a browser sends
 * them in `Origin`); empty or unset → no CORS at all. Anything else (a path, `*`, a typo) refuses
 * the start-up rather than silently allowing more, or less, than meant.
 */
export const corsOriginsSchema = z
  .string()
  .optional()
  .transform((value, context) => {
    const origins = (value ?? '')
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== '');
    for (const origin of origins) {
      if (!isOrigin(origin)) {
        context.addIssue({
          code: 'custom',
          message: `"${origin}" is not an origin: each entry must be scheme://host[:port], e.g. https://app.example.org`,
        });
      }
    }
    return [...new Set(origins)];
  });

function isOrigin(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'https:' || url.protocol === 'http:') && url.origin === text;
  } catch {
    return false;
  }
}

/** Headers a browser may send cross-origin, and those it may read back (api.md's conventions). */
const ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Idempotency-Key', 'If-Match'];
const EXPOSED_HEADERS = ['ETag', 'Location', 'Retry-After', 'WWW-Authenticate', 'Idempotent-Replayed'];

/** Where the Swagger UI is served: an HTML page with its scripts and styles, unlike the JSON API. */
const DOCS_UI = /^\/docs(\/|$)/;

/**
 * Security headers (helmet) for a JSON API, plus CORS for the configured origins only. Must run
 * before any route or static handler is registered (the Swagger UI included), so every answer —
 * JSON, problem+json, the docs — carries them.
 *
 * - The API's answers are data, never a page: `default-src 'none'` and no framing at all.
 * - /docs is a page: its own scripts, styles and the API it documents, nothing from elsewhere.
 *   The UI's inline <style> needs 'unsafe-inline' for styles; scripts stay 'self' only.
 * - No HSTS: the process speaks plain HTTP and never terminates TLS (the gateway talks to the
 *   services over http); browsers ignore HSTS on http, and whether a whole domain and its
 *   subdomains are HTTPS-only is the TLS terminator's policy, set there.
 * - CORS: only origins listed in CORS_ORIGINS get Access-Control-* headers, preflights included;
 *   any other origin, and every origin when the list is empty, gets none (the browser's
 *   same-origin policy then holds). Bearer tokens travel in a header, so no credentials mode.
 */
export function applySecurity(app: INestApplication, options: { corsOrigins: readonly string[] }): void {
  const common = {
    strictTransportSecurity: false,
    xFrameOptions: { action: 'deny' },
    referrerPolicy: { policy: 'no-referrer' },
  } as const;
  const api = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"], baseUri: ["'none'"], formAction: ["'none'"] },
    },
  });
  const docs = helmet({
    ...common,
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        frameAncestors: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
      },
    },
  });
  const cors = options.corsOrigins.length > 0;
  const headers: RequestHandler = (request: Request, response: Response, next: NextFunction) => {
    // The answer differs by Origin once CORS is on: a shared cache must not hand one origin's to another.
    if (cors) response.vary('Origin');
    const ui = DOCS_UI.test(request.path);
    // Answers carry clinical data read with a bearer token: no browser or proxy may keep a copy.
    if (!ui) response.setHeader('Cache-Control', 'no-store');
    (ui ? docs : api)(request, response, next);
  };
  app.use(headers);
  if (cors) {
    const allowed = new Set(options.corsOrigins);
    // A function, not the list: for an origin not listed, cors then adds no header at all and a
    // preflight falls through to the routes, instead of answering 204 with the allowed methods.
    const origin: CustomOrigin = (requestOrigin, callback) => callback(null, requestOrigin !== undefined && allowed.has(requestOrigin));
    app.enableCors({
      origin,
      methods: ['GET', 'HEAD', 'POST', 'PUT'],
      allowedHeaders: ALLOWED_HEADERS,
      exposedHeaders: EXPOSED_HEADERS,
      credentials: false,
      maxAge: 600,
    });
  }
}
