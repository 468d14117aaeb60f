/** An operation of the served OpenAPI document whose path lies under /trials/{t}. */
export interface TrialRoute {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** The OpenAPI path, e.g. `/trials/{t}/reports/endpoints/{endpointId}/curve`. */
  template: string;
  /** Nest's default operation id, `<Controller>_<method>`, which names the handler. */
  operationId: string | undefined;
}

interface OpenApiDocument {
  paths: Record<string, Record<string, { operationId?: string } | undefined>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

/**
 * Every operation under /trials/{t} that the API documents (/docs-json), so a route added later
 * is covered without editing a list.
 */
export function trialRoutes(document: OpenApiDocument): TrialRoute[] {
  const routes: TrialRoute[] = [];
  for (const [template, item] of Object.entries(document.paths)) {
    if (!template.startsWith('/trials/{t}')) continue;
    for (const method of METHODS) {
      const operation = item[method];
      if (operation) routes.push({ method: method.toUpperCase() as TrialRoute['method'], template, operationId: operation.operationId });
    }
  }
  return routes.sort((a, b) => `${a.template} ${a.method}`.localeCompare(`${b.template} ${b.method}`));
}

/** The route's path for `trialId`, every other path parameter a well-formed id. */
export function trialPath(route: Pick<TrialRoute, 'template'>, trialId: string): string {
  return route.template.replace(/\{(\w+)\}/g, (_whole, name: string) => (name === 't' ? encodeURIComponent(trialId) : `${name}-1`));
}

/** `METHOD /path/:param` of a route, in the router's own notation. */
export function routeKey(route: Pick<TrialRoute, 'method' | 'template'>): string {
  return `${route.method} ${route.template.replace(/\{(\w+)\}/g, ':$1')}`;
}
