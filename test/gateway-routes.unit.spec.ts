import 'reflect-metadata';
import { MODULE_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { AuditModule } from '../libs/audit/src';
import { AdjudicationModule } from '../apps/adjudication/src';
import { AdverseEventsModule } from '../apps/adverse-events/src';
import { EnrollmentModule } from '../apps/enrollment/src';
import { ProceduresModule } from '../apps/procedures/src';
import { ReportingModule } from '../apps/reporting/src';
import { GATEWAY_SERVICES, serviceFor, type ServiceName } from '../apps/gateway/src/routes';

// The modules each service's main.ts boots.
const MODULES: Record<ServiceName, Array<new () => unknown>> = {
  enrollment: [EnrollmentModule],
  procedures: [ProceduresModule],
  'adverse-events': [AdverseEventsModule],
  adjudication: [AdjudicationModule],
  reporting: [ReportingModule, AuditModule],
};

/** Every route a module's controllers declare, with each `:param` filled in as a client would. */
function routesOf(module: new () => unknown): string[] {
  const controllers = (Reflect.getMetadata(MODULE_METADATA.CONTROLLERS, module) ?? []) as Array<new (...args: never[]) => unknown>;
  return controllers.flatMap((controller) => {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const prototype = controller.prototype as Record<string, unknown>;
    return Object.getOwnPropertyNames(prototype)
      .map((name) => prototype[name])
      .filter((handler): handler is object => typeof handler === 'function' && Reflect.hasMetadata(PATH_METADATA, handler))
      .map((handler) =>
        `/${[base, String(Reflect.getMetadata(PATH_METADATA, handler))].join('/')}`
          .replace(/:[a-zA-Z]+/g, 'ID-1')
          .replace(/\/+/g, '/')
          .replace(/\/$/, ''),
      );
  });
}

describe('gateway routing table', () => {
  it.each(GATEWAY_SERVICES)("sends every route of the %s service's controllers to it", (service) => {
    const routes = MODULES[service].flatMap(routesOf);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect({ route, service: serviceFor(route) }).toEqual({ route, service });
  });

  it('keeps paths outside the API for the gateway itself, query strings aside', () => {
    expect(['/health', '/docs', '/docs-json', '/metrics', '/', '/trialsx'].map(serviceFor)).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(serviceFor('/trials/T1/reports/endpoints?groupBy=diabetes')).toBe('reporting');
    expect(serviceFor('/trials/T1/patients/P1/visits')).toBe('enrollment');
    expect(serviceFor('/trials')).toBe('enrollment');
  });
});
