import { Controller, Get, Headers, Param, Query, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import { DomainError, type WithdrawalCensoring } from '@app/contracts';
import { IdParamPipe, ProblemException, fieldErrors } from '@app/http';
import { RecordUnblindedView } from '../application/reporting.commands';
import { computeEndpointReport, endpointCurve, type ReportInput } from '../domain/endpoint-report';
import type { ReportQuery } from '../domain/history-snapshot';
import { renderKaplanMeierSvg } from '../domain/km-svg';
import { GetReportInput } from '../read-models/history';
import { ReportParams, toReportQuery } from './reporting.dto';

const ROLES_SEEING_ARMS = ['dsmb-member', 'auditor'];

/** The plot names the withdrawal rule it applied (api.md: the censoring rule travels with the charter version). */
const WITHDRAWAL_CENSORING_LABEL: Record<WithdrawalCensoring, string> = {
  'withdrawal-date': 'withdrawals censored at the withdrawal date',
  'last-contact': 'withdrawals censored at the last contact',
};

@ApiTags('reports')
@ApiBearerAuth()
@Controller('trials/:t/reports/endpoints')
export class ReportingController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  /** Endpoint rates as of any knowledge time (api.md "Endpoint report"). */
  @Get()
  @Roles('dsmb-member', 'sponsor', 'trial-admin', 'auditor')
  async endpoints(
    @Param('t', IdParamPipe) t: string,
    @Query() raw: Record<string, string>,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const query = this.parse(raw, principal);
    const input = await this.input(t, query);
    const report = computeEndpointReport(input);
    if (query.groupBy.includes('arm')) await this.commands.execute(new RecordUnblindedView(t, principal, query, input, 'endpoint report'));
    res.type('application/json').send(JSON.stringify(report));
  }

  /** Kaplan-Meier step points as JSON, or the plotted curve with `Accept: image/svg+xml`. */
  @Get(':endpointId/curve')
  @Roles('dsmb-member', 'sponsor', 'trial-admin', 'auditor')
  async curve(
    @Param('t', IdParamPipe) t: string,
    @Param('endpointId', IdParamPipe) endpointId: string,
    @Query() raw: Record<string, string>,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const query = this.parse(raw, principal);
    const input = await this.input(t, query);
    const endpoint = input.charter.endpoints.find((e) => e.id === endpointId);
    if (!endpoint)
      throw new DomainError('ENDPOINT_NOT_FOUND', `charter ${input.charter.version} has no endpoint ${endpointId}`, 'not_found');
    const curve = endpointCurve(input, endpointId);
    if (query.groupBy.includes('arm'))
      await this.commands.execute(new RecordUnblindedView(t, principal, query, input, `curve ${endpointId}`));
    if (accept?.includes('image/svg+xml')) {
      const groups = curve.groups.map((g) => ({ label: groupLabel(g.key), points: g.points }));
      const svg = renderKaplanMeierSvg(groups, {
        title: endpoint.label,
        subtitle: `${t} · ${input.basis} · cut-off ${input.cutoff} · as of ${input.asOf.recordedAt} (position ${input.asOf.position}) · charter ${input.charter.version} · ${WITHDRAWAL_CENSORING_LABEL[input.charter.censoring.withdrawal]}`,
        horizonDays: endpoint.horizonDays,
      });
      res.type('image/svg+xml').send(svg);
      return;
    }
    res.type('application/json').send(
      JSON.stringify({
        trialId: t,
        asOf: input.asOf,
        cutoff: input.cutoff,
        basis: input.basis,
        charterVersion: input.charter.version,
        censoring: { withdrawal: input.charter.censoring.withdrawal },
        ...curve,
      }),
    );
  }

  private input(t: string, query: ReportQuery): Promise<ReportInput> {
    return this.queries.execute<GetReportInput, ReportInput>(new GetReportInput(t, query));
  }

  private parse(raw: Record<string, string>, principal: Principal): ReportQuery {
    const parsed = ReportParams.safeParse(raw);
    if (!parsed.success)
      throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
    const query = parsed.data;
    if (query.groupBy.includes('arm') && !principal.roles.some((r) => ROLES_SEEING_ARMS.includes(r))) {
      throw new ProblemException(
        403,
        'ARM_BREAKDOWN_FORBIDDEN',
        'results by arm are for the DSMB (closed report); sponsors and trial admins see pooled results',
      );
    }
    return toReportQuery(query);
  }
}

function groupLabel(key: Record<string, unknown>): string {
  const entries = Object.entries(key);
  if (entries.length === 0) return 'All patients';
  return entries
    .map(([field, value]) => (field === 'diabetes' ? (value ? 'diabetes' : 'no diabetes') : `${field} ${String(value)}`))
    .join(', ');
}
