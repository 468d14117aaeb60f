import { join } from 'node:path';
import { importClosures } from '../scripts/import-closure';

/**
 * Each service's start-up loads its own context and the libs, nothing else (style.md; issue 12, item 3): the
 * static import closure of `apps/<service>/src/main.ts` holds files of that app and of libs/** only. The lint
 * rule refuses the single import that crosses; this proves the whole closure stays inside, transitively.
 */
const root = join(__dirname, '..');
const services = ['enrollment', 'procedures', 'adverse-events', 'adjudication', 'reporting', 'gateway'] as const;
const closures = new Map(
  importClosures(
    root,
    services.map((service) => `apps/${service}/src/main.ts`),
  ).map((closure) => [closure.app, closure]),
);

describe('service import closure', () => {
  it.each(services)('apps/%s/src/main.ts loads its own app and libs/** only', (service) => {
    const closure = closures.get(service);
    expect(closure?.files).toContain(`apps/${service}/src/main.ts`);
    const outside = (closure?.files ?? []).filter((file) => !file.startsWith(`apps/${service}/`) && !file.startsWith('libs/'));
    // On failure the diff lists every file of another app (or of test/, scripts/...) that the start-up loads.
    expect({ service, filesOutsideItsAppAndLibs: outside }).toEqual({ service, filesOutsideItsAppAndLibs: [] });
  });

  it.each(services)('apps/%s/src/main.ts has no relative or @app/ import that resolves to nothing', (service) => {
    expect(closures.get(service)?.unresolved).toEqual([]);
  });
});
