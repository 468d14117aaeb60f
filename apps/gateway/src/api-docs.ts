import type { OpenAPIObject } from '@nestjs/swagger';
import { GATEWAY_SERVICES, type ServiceName } from './routes';

const FETCH_TIMEOUT_MS = 3000;

/**
 * The whole API as one OpenAPI document: the gateway's own (its /health, the bearer scheme) with
 * each service's /docs-json merged in, fetched on request so a service deployed later or
 * restarted with new routes shows up without restarting the gateway. A service that cannot be
 * reached is named in the description rather than failing the page.
 */
export async function mergedApiDocument(base: OpenAPIObject, services: Record<ServiceName, string>): Promise<OpenAPIObject> {
  const fetched = await Promise.all(
    GATEWAY_SERVICES.map(async (name) => {
      try {
        const response = await fetch(`${services[name]}/docs-json`, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
        if (!response.ok) return { name, error: `HTTP ${response.status}` };
        return { name, document: (await response.json()) as OpenAPIObject };
      } catch (error) {
        return { name, error: (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).message };
      }
    }),
  );
  const merged: OpenAPIObject = {
    ...base,
    paths: { ...base.paths },
    components: {
      ...base.components,
      schemas: { ...base.components?.schemas },
      securitySchemes: { ...base.components?.securitySchemes },
    },
    tags: [...(base.tags ?? [])],
  };
  const missing: string[] = [];
  for (const result of fetched) {
    if (!result.document) {
      missing.push(`${result.name} (${result.error})`);
      continue;
    }
    for (const [path, item] of Object.entries(result.document.paths ?? {})) {
      // Each service's /health is its own; the gateway's /health reports them all.
      if (path !== '/health') merged.paths[path] = item;
    }
    Object.assign(merged.components!.schemas!, result.document.components?.schemas ?? {});
    // The services' scheme says how to get a token; their OpenAPI and package version are the API's.
    Object.assign(merged.components!.securitySchemes!, result.document.components?.securitySchemes ?? {});
    merged.openapi = result.document.openapi;
    merged.info = { ...merged.info, version: result.document.info.version };
    for (const tag of result.document.tags ?? []) if (!merged.tags!.some((t) => t.name === tag.name)) merged.tags!.push(tag);
  }
  if (missing.length > 0) {
    merged.info = {
      ...merged.info,
      description: `${merged.info.description ?? ''}\n\nNot shown, service unreachable: ${missing.join(', ')}.`,
    };
  }
  return merged;
}
