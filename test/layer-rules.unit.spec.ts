import { ESLint } from 'eslint';
import tseslint from 'typescript-eslint';

/**
 * The layer rules must actually fire: domain code stays free of frameworks and I/O, a context never imports
 * another app, a lib never imports an app, and the composition root sees a context only through its index.
 * No type information is needed for import rules, so the type-aware rules are switched off here (fast).
 */
const eslint = new ESLint({
  cwd: `${__dirname}/..`,
  overrideConfig: tseslint.configs.disableTypeChecked as ESLint.Options['overrideConfig'],
});

const contexts = ['enrollment', 'procedures', 'adverse-events', 'adjudication', 'reporting'] as const;

async function restrictions(filePath: string, module: string): Promise<string[]> {
  const [result] = await eslint.lintText(`import { x } from '${module}';\nexport const y = x;\n`, { filePath });
  expect(result?.messages.filter((m) => m.fatal)).toEqual([]);
  return (result?.messages ?? []).filter((m) => m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it.each(['@nestjs/common', 'typeorm', 'pg', 'kafkajs', '../infrastructure/repo'])('refuses %s in domain code', async (module) => {
    expect(await restrictions('apps/enrollment/src/domain/patient.decider.ts', module)).toHaveLength(1);
  });

  it('allows them outside the domain', async () => {
    const [result] = await eslint.lintText(`import { Module } from '@nestjs/common';\nexport const y = Module;\n`, {
      filePath: 'apps/enrollment/src/api/enrollment.module.ts',
    });
    expect(result?.messages).toEqual([]);
  });
});

describe('context boundaries', () => {
  const pairs = contexts.flatMap((from) => contexts.filter((to) => to !== from).map((to) => [from, to] as const));

  it.each(pairs)('refuses %s importing %s', async (from, to) => {
    expect(await restrictions(`apps/${from}/src/application/${from}.commands.ts`, `../../../${to}/src`)).toEqual([
      expect.stringContaining("A context never imports another app's code"),
    ]);
  });

  it.each(pairs)("refuses %s's domain importing %s's domain (boundary and purity rules together)", async (from, to) => {
    expect(await restrictions(`apps/${from}/src/domain/${from}.decider.ts`, `../../../${to}/src/domain/${to}.decider`)).toEqual([
      expect.stringContaining("A context never imports another app's code"),
    ]);
    expect(await restrictions(`apps/${from}/src/domain/${from}.decider.ts`, '@nestjs/common')).toEqual([
      expect.stringContaining('free of frameworks'),
    ]);
  });

  it.each(contexts)('refuses %s importing the platform', async (context) => {
    expect(await restrictions(`apps/${context}/src/main.ts`, '../../platform/src/service')).toHaveLength(1);
    expect(
      await restrictions(`apps/${context}/src/infrastructure/store.int.spec.ts`, '../../../platform/src/platform.module'),
    ).toHaveLength(1);
  });

  it.each([
    ['apps/enrollment/src/index.ts', '../../../apps/reporting/src'],
    ['apps/reporting/src/domain/history-fold.ts', '../../../../apps/enrollment/src/domain/patient.decider'],
    ['apps/procedures/src/main.ts', '../../gateway/src/routes'],
    ['apps/gateway/src/routes.ts', '../../enrollment/src'],
    ['apps/gateway/src/main.ts', '../../platform/src/platform.module'],
    ['apps/gateway/src/routes.unit.spec.ts', '../../adjudication/src/api/adjudication.controller'],
  ])('refuses %s importing %s', async (file, module) => {
    expect(await restrictions(file, module)).toHaveLength(1);
  });

  it.each([
    ['libs/contracts/src/stream-id.ts', '../../../apps/enrollment/src'],
    ['libs/runtime/src/bootstrap.ts', '../../../apps/platform/src/platform.module'],
    ['libs/http/src/command-result.ts', '../../../apps/adjudication/src/api/adjudication.controller'],
    ['libs/event-store/test/settled.ts', '../../../apps/reporting/src/infrastructure/history-cache'],
  ])('refuses the lib file %s importing an app (%s)', async (file, module) => {
    expect(await restrictions(file, module)).toEqual([expect.stringContaining('A lib never imports an app')]);
  });

  it.each(
    contexts.flatMap((context) => [
      `../../${context}/src/domain/${context}.decider`,
      `../../${context}/src/application/${context}.commands`,
    ]),
  )("refuses the platform importing a context's internal file %s", async (module) => {
    expect(await restrictions('apps/platform/src/platform.module.ts', module)).toEqual([expect.stringContaining('only through its index')]);
  });

  it.each(contexts.flatMap((context) => [`../../${context}/src`, `../../${context}/src/index`]))(
    "allows the platform importing a context's index %s",
    async (module) => {
      expect(await restrictions('apps/platform/src/platform.module.ts', module)).toEqual([]);
    },
  );

  it.each(contexts)('allows %s importing the published language and its own files', async (context) => {
    for (const [file, module] of [
      [`apps/${context}/src/application/${context}.commands.ts`, '@app/contracts'],
      [`apps/${context}/src/application/${context}.commands.ts`, '@app/http'],
      [`apps/${context}/src/domain/${context}.decider.ts`, '@app/contracts'],
      [`apps/${context}/src/domain/${context}.decider.ts`, '@app/contracts/stream-id'],
      [`apps/${context}/src/application/${context}.commands.ts`, `../domain/${context}.decider`],
      [`apps/${context}/src/api/${context}.controller.ts`, `./${context}.dto`],
      [`apps/${context}/src/main.ts`, `./${context}.module`],
      [`apps/${context}/src/read-models/facts.ts`, `../../../${context}/src/domain/${context}.decider`],
      [`apps/${context}/src/main.ts`, '@app/runtime'],
    ] as const) {
      expect([file, module, await restrictions(file, module)]).toEqual([file, module, []]);
    }
  });
});
