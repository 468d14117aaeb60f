import { Body, Controller, Get, Headers, Param, Post, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import type { DataCutDocument } from '@app/contracts';
import {
  CommandOperation,
  CommandResultSchema,
  Ctx,
  IdParamPipe,
  ProblemException,
  ReadOperation,
  ValidQuery,
  type CommandContext,
} from '@app/http';
import { z } from 'zod';
import { FreezeDataCut, RecordDataCutUnblindedRead, type FreezeDataCutResult } from '../application/reporting.commands';
import { GetDataCutDocuments, GetDataCuts, type DataCutDocuments, type DataCutView } from '../read-models/data-cuts';
import { DataCutReportParams, FreezeDataCutDto, type DataCutReportParameters } from './reporting.dto';

const HASH = z.string().regex(/^[0-9a-f]{64}$/);

const DIGEST_HEADERS = {
  ETag: {
    description: 'The SHA-256 of the body, quoted: the hash `DataCutFrozen` recorded for this document.',
    schema: { type: 'string' },
  },
  'Repr-Digest': { description: 'RFC 9530 digest of the body (`sha-256=:<base64>:`).', schema: { type: 'string' } },
} as const;

/** DSMB data cuts (api.md "Data cuts"): freeze, list, the open and closed reports, the ADaM ADTTE dataset. */
@ApiTags('data cuts')
@ApiBearerAuth()
@Controller('trials/:t/data-cuts')
export class DataCutsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @CommandOperation({
    summary: 'Freeze a data cut',
    description:
      'Fixes the knowledge position (`asOfPosition`, default the latest delivered; a position not yet delivered answers 409 `NOT_YET_KNOWN`), ' +
      'the clinical cut-off, the charter version in force and its censoring rule, and records `DataCutFrozen` with the SHA-256 of every ' +
      'document of the cut (open and closed report as HTML and PDF, ADTTE as Dataset-JSON and CSV, with and without treatment variables). ' +
      'A cut is never edited: the same `dataCutId` again answers 409 `DATA_CUT_EXISTS`; a corrected cut names the one it `replaces` ' +
      '(422 `REPLACED_DATA_CUT_NOT_FOUND` when there is none).',
    result: CommandResultSchema.extend({
      dataCut: z.object({
        dataCutId: z.string(),
        cutoff: z.string(),
        position: z.number().int(),
        knownAt: z.string(),
        charterVersion: z.string(),
        censoring: z.object({ withdrawal: z.enum(['withdrawal-date', 'last-contact']) }),
        note: z.string(),
        replaces: z.string().optional(),
        hashes: z.record(z.string(), HASH),
      }),
    }),
  })
  @Post()
  @Roles('trial-admin')
  freeze(@Param('t', IdParamPipe) t: string, @Body() body: FreezeDataCutDto, @Ctx() ctx: CommandContext): Promise<FreezeDataCutResult> {
    return this.commands.execute(new FreezeDataCut(t, body, ctx));
  }

  @ReadOperation({
    summary: 'List data cuts',
    description:
      'Every frozen cut of the trial, in the order frozen: parameters, knowledge position and instant, charter, hashes, who froze it.',
    response: 'The cuts.',
  })
  @Get()
  @Roles('trial-admin', 'dsmb-member', 'sponsor', 'auditor')
  async list(@Param('t', IdParamPipe) t: string): Promise<{ trialId: string; dataCuts: DataCutView[] }> {
    return { trialId: t, dataCuts: await this.queries.execute<GetDataCuts, DataCutView[]>(new GetDataCuts(t)) };
  }

  @ReadOperation({
    summary: "A data cut's DSMB report",
    description:
      'The report the DSMB reviews, derived from the frozen cut: title page, patient flow and follow-up completeness, adverse events by ' +
      'kind and CEC status, and per endpoint the Kaplan-Meier estimate at the horizon, plot, numbers at risk, crude rates and cumulative ' +
      'incidence; the closed session by arm with the log-rank test. `Accept: application/pdf` for PDF, else HTML. The same bytes every time.',
    response: 'The report.',
    content: {
      'text/html': { schema: { type: 'string' } },
      'application/pdf': { schema: { type: 'string', format: 'binary' } },
    },
    headers: DIGEST_HEADERS,
    problems: [
      [403, 'The closed session is for dsmb-member only (`CLOSED_SESSION_FORBIDDEN`), or the role does not admit the report.'],
      [404, 'The trial does not exist (`TRIAL_NOT_FOUND`), or has no such data cut (`DATA_CUT_NOT_FOUND`).'],
    ],
  })
  @Get(':c/report')
  @Roles('dsmb-member', 'sponsor', 'trial-admin')
  async report(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @ValidQuery(DataCutReportParams) params: DataCutReportParameters,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    if (params.session === 'closed' && !principal.roles.includes('dsmb-member'))
      throw new ProblemException(403, 'CLOSED_SESSION_FORBIDDEN', "the closed session's results by arm are for the DSMB only");
    const pdf = accept?.includes('application/pdf') === true;
    const name: DataCutDocument = `${params.session}${pdf ? 'Pdf' : 'Html'}`;
    const mediaType = pdf ? 'application/pdf' : 'text/html; charset=utf-8';
    const cut = await this.documents(t, c);
    if (params.session === 'closed')
      await this.commands.execute(
        new RecordDataCutUnblindedRead(principal, cut.cut, `data cut ${c} closed report (${pdf ? 'pdf' : 'html'})`),
      );
    send(res, cut, name, mediaType, `${t}-${c}-${params.session}.${pdf ? 'pdf' : 'html'}`);
  }

  @ReadOperation({
    summary: "A data cut's ADaM ADTTE dataset",
    description:
      'One record per patient and endpoint (ADaM ADTTE, admiral conventions): STUDYID, USUBJID, SITEID, PARAMCD, PARAM, AVAL, AVALU, ' +
      'STARTDT, ADT, CNSR (0 event, 1 censored at last contact, 2 death competing, 3 withdrawal), EVNTDESC, CNSDTDSC, SRCDOM, SRCVAR, ' +
      'SRCSEQ (the source event’s global position), DIABFL, CLIFL, SEGMENT and, for dsmb-member only, TRTP and TRTA (such a read is ' +
      'recorded as an unblinded view). CDISC Dataset-JSON v1.1, or CSV with `Accept: text/csv`.',
    response: 'The dataset.',
    content: {
      'application/json': { schema: { type: 'object' } },
      'text/csv': { schema: { type: 'string' } },
    },
    headers: DIGEST_HEADERS,
    problems: [[404, 'The trial does not exist (`TRIAL_NOT_FOUND`), or has no such data cut (`DATA_CUT_NOT_FOUND`).']],
  })
  @Get(':c/adtte')
  @Roles('dsmb-member', 'auditor', 'sponsor')
  async adtte(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Headers('accept') accept: string | undefined,
    @CurrentPrincipal() principal: Principal,
    @Res() res: Response,
  ) {
    const csv = accept?.includes('text/csv') === true;
    const withTreatment = principal.roles.includes('dsmb-member');
    const name: DataCutDocument = `adtte${csv ? 'Csv' : 'Json'}${withTreatment ? '' : 'Blinded'}`;
    const cut = await this.documents(t, c);
    if (withTreatment)
      await this.commands.execute(
        new RecordDataCutUnblindedRead(principal, cut.cut, `data cut ${c} ADTTE with treatment (${csv ? 'csv' : 'json'})`),
      );
    send(res, cut, name, csv ? 'text/csv; charset=utf-8' : 'application/json', `${t}-${c}-adtte.${csv ? 'csv' : 'json'}`);
  }

  private documents(t: string, c: string): Promise<DataCutDocuments> {
    return this.queries.execute<GetDataCutDocuments, DataCutDocuments>(new GetDataCutDocuments(t, c));
  }
}

function send(res: Response, cut: DataCutDocuments, name: DataCutDocument, mediaType: string, filename: string): void {
  const bytes = cut.documents[name];
  res.setHeader('Content-Type', mediaType);
  // The HTML report styles itself inline (print layout) and draws its plots as inline SVG: the API's
  // `default-src 'none'` would show it unstyled in a browser. Nothing else is allowed: no script, no fetch.
  if (mediaType.startsWith('text/html'))
    res.setHeader(
      'Content-Security-Policy',
      "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    );
  res.setHeader('Content-Disposition', `inline; filename="${filename}"`);
  res.setHeader('ETag', `"${cut.cut.hashes[name]}"`);
  res.setHeader('Repr-Digest', `sha-256=:${Buffer.from(cut.cut.hashes[name], 'hex').toString('base64')}:`);
  res.end(bytes);
}
