import { ESLint } from 'eslint';

/** The layer rule must actually fire: domain code stays free of frameworks and I/O. */
describe('layer rules', () => {
  const eslint = new ESLint({ cwd: `${__dirname}/..` });

  it.each(['@nestjs/common', 'typeorm', 'pg', 'kafkajs', '../infrastructure/repo'])('refuses %s in domain code', async (module) => {
    const [result] = await eslint.lintText(`import { x } from '${module}';\nexport const y = x;\n`, {
      filePath: 'apps/enrollment/src/domain/patient.decider.ts',
    });
    expect(result?.messages.map((m) => m.ruleId)).toContain('no-restricted-imports');
  });

  it('allows them outside the domain', async () => {
    const [result] = await eslint.lintText(`import { Module } from '@nestjs/common';\nexport const y = Module;\n`, {
      filePath: 'apps/enrollment/src/api/enrollment.module.ts',
    });
    expect(result?.messages).toEqual([]);
  });
});
