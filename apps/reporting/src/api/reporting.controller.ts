import { Controller, Get, Headers, Param, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import { DomainError, type WithdrawalCensoring } from '@app/contracts';
import { IdParamPipe, ProblemException, ReadOperation, ValidQuery } from '@app/http';
import { RecordUnblindedView } from '../application/reporting.commands';
import { computeEndpointReport, endpointCurve, type ReportInput } from '../domain/endpoint-report';
import type { ReportQuery } from '../domain/history-snapshot';
import { renderKaplanMeierSvg } from '../domain/km-svg';
import { GetReportInput } from '../read-models/history';
import { ReportParams, toReportQuery, type ReportParameters } from './reporting.dto';

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
  @ReadOperation({
    summary: 'Endpoint report',
    description:
      'Kaplan-Meier and crude rates of every endpoint of the charter in force, pooled or by group, as known at a moment (`asOf` or ' +
      '`asOfPosition`) and cut at a clinical date (`cutoff`), on adjudicated or site-reported events. Numbers are rounded to 4 decimals.',
    response:
      'The report: knowledge time, cutoff, basis, charter version and per endpoint and group n, events, censored, KM and crude rates.',
    problems: [
      [
        403,
        "The token's roles do not admit the report, or `groupBy=arm` for a role that sees pooled results only (`ARM_BREAKDOWN_FORBIDDEN`).",
      ],
      [409, '`asOfPosition` not yet delivered to the read model (`NOT_YET_KNOWN`): retry after `Retry-After` seconds.'],
    ],
  })
  @Get()
  @Roles('dsmb-member', 'sponsor', 'trial-admin', 'auditor')
  async endpoints(
    @Param('t', IdParamPipe) t: string,
    @ValidQuery(ReportParams) params: ReportParameters,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const query = this.authorize(params, principal);
    const input = await this.input(t, query);
    const report = computeEndpointReport(input);
    if (query.groupBy.includes('arm')) await this.commands.execute(new RecordUnblindedView(t, principal, query, input, 'endpoint report'));
    res.type('application/json').send(JSON.stringify(report));
  }

  /** Kaplan-Meier step points as JSON, or the plotted curve with `Accept: image/svg+xml`. */
  @ReadOperation({
    summary: 'Kaplan-Meier curve of an endpoint',
    description:
      'The step points of the Kaplan-Meier estimate of one endpoint, pooled or by group, with the same parameters as the report. ' +
      'With `Accept: image/svg+xml` the plotted curve, titled with the trial, basis, cutoff, knowledge time, charter version and censoring rule.',
    response: 'The curve: JSON step points, or the plot as SVG.',
    content: {
      'application/json': { schema: { type: 'object' } },
      'image/svg+xml': { schema: { type: 'string' } },
    },
    problems: [
      [
        403,
        "The token's roles do not admit the report, or `groupBy=arm` for a role that sees pooled results only (`ARM_BREAKDOWN_FORBIDDEN`).",
      ],
      [404, 'The trial does not exist (`TRIAL_NOT_FOUND`), or its charter has no such endpoint (`ENDPOINT_NOT_FOUND`).'],
      [409, '`asOfPosition` not yet delivered to the read model (`NOT_YET_KNOWN`): retry after `Retry-After` seconds.'],
    ],
  })
  @Get(':endpointId/curve')
  @Roles('dsmb-member', 'sponsor', 'trial-admin', 'auditor')
  async curve(
    @Param('t', IdParamPipe) t: string,
    @Param('endpointId', IdParamPipe) endpointId: string,
    @ValidQuery(ReportParams) params: ReportParameters,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const query = this.authorize(params, principal);
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

  private authorize(query: ReportParameters, principal: Principal): ReportQuery {
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
