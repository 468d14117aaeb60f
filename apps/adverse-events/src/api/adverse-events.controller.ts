import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BLOB_STORE, type BlobStore } from '@app/blob-store';
import { CurrentPrincipal, Roles, assertSiteAccess, type Principal } from '@app/auth';
import { AttachDocumentFields, DomainError, Id, byId, caseOpenedFor, type AdverseEventKind } from '@app/contracts';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import {
  CommandOperation,
  CommandResultSchema,
  Ctx,
  DOCUMENT_CONTENT,
  IdParamPipe,
  MultipartBody,
  ReadOperation,
  recordDocumentRead,
  sendDocument,
  type CommandContext,
  type CommandResult,
} from '@app/http';
import {
  AttachDocument,
  CorrectAdverseEvent,
  ReportAdverseEvent,
  RetractAdverseEvent,
  type AttachResult,
  type ReportResult,
} from '../application/adverse-events.commands';
import type { AdverseEventState } from '../domain/adverse-event.decider';
import { GetAdverseEvent } from '../read-models/adverse-event-view';
import { AdverseEventCorrectionDto, ReportAdverseEventDto, RetractAdverseEventDto } from './adverse-events.dto';

@ApiTags('adverse-events')
@ApiBearerAuth()
@Controller('trials/:t/patients/:p/adverse-events')
export class AdverseEventsController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  /** Amputations, TVRs and deaths open a CEC case; its id comes back as `caseId`. */
  @CommandOperation({
    summary: 'Report an adverse event',
    description:
      'Reports an adverse event of an enrolled patient. An amputation, TVR or death opens a CEC case at once, named after the event ' +
      '(`caseId`). Details go with the kind: `amputation: {level, planned}` only for an amputation, `tvr: {clinicallyDriven}` only for a TVR, ' +
      'and a limb for both (422 otherwise). An event id already reported answers 409.',
    result: CommandResultSchema.extend({
      caseId: Id.optional().meta({ description: 'The CEC case opened for an amputation, TVR or death.' }),
    }),
  })
  @Post()
  @Roles('site-investigator')
  report(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Body() body: ReportAdverseEventDto,
    @Ctx() ctx: CommandContext,
  ): Promise<ReportResult> {
    return this.commands.execute(new ReportAdverseEvent(t, p, body, ctx));
  }

  @ReadOperation({
    summary: 'Read an adverse event',
    description: 'The report as currently corrected (or retracted), with its corrections and the stream version.',
    response: 'The adverse event and its stream `version`.',
  })
  @Get(':e')
  @Roles('site-investigator', 'trial-admin', 'auditor')
  async read(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Param('e', IdParamPipe) e: string,
    @CurrentPrincipal() principal: Principal,
  ) {
    const { state, version } = await this.queries.execute<GetAdverseEvent, { state: AdverseEventState; version: number }>(
      new GetAdverseEvent(t, e),
    );
    if (state.status === 'absent' || state.patientId !== p)
      throw new DomainError('ADVERSE_EVENT_NOT_FOUND', `no adverse event ${e} for patient ${p}`, 'not_found');
    assertSiteAccess(principal, state.siteId);
    return { ...state, version };
  }

  @CommandOperation({
    summary: 'Correct an adverse event',
    description:
      'Changes fields of the report by dotted path (`onsetOn`, `amputation.level`, …), with the reason; each event keeps the previous value. ' +
      'A correction of an adjudicated event reopens its case. An unknown field answers 400; a value equal to the current one 422.',
  })
  @Post(':e/corrections')
  @Roles('site-investigator')
  correct(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Param('e', IdParamPipe) e: string,
    @Body() body: AdverseEventCorrectionDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new CorrectAdverseEvent(t, p, e, body, ctx));
  }

  @CommandOperation({
    summary: 'Retract an adverse event',
    description:
      'Withdraws a report made in error, with the reason; it stays in the audit trail. A retraction of an adjudicated event reopens its case.',
  })
  @Post(':e/retraction')
  @Roles('site-investigator')
  retract(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Param('e', IdParamPipe) e: string,
    @Body() body: RetractAdverseEventDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new RetractAdverseEvent(t, p, e, body, ctx));
  }

  @CommandOperation({
    summary: 'Attach a source document to an adverse event',
    description:
      'A site attaches an operative note, discharge letter, imaging report or death certificate (`multipart/form-data`: `file`, `documentId`, ' +
      '`kind`, `title`). The media type is read from the content (PDF, PNG, JPEG or plain text; anything else 415, whatever its name), at most ' +
      '20 MB (413, without reading the rest), never empty (400). The server computes the SHA-256; the event names the document, its kind, ' +
      'title, media type, size and hash, and the bytes are stored under their hash. A document id already attached to the event answers 409; ' +
      "another site's patient 403. A refused or broken upload stores nothing.",
    result: CommandResultSchema.extend({
      documentId: Id,
      filename: Id.meta({ description: 'The file name as stored: no path, no control characters.' }),
      mediaType: Id.meta({ description: 'The media type read from the content.' }),
      size: Id.meta({ description: 'Bytes.' }),
      sha256: Id.meta({ description: 'SHA-256 of the bytes, hex.' }),
    }),
  })
  @MultipartBody(AttachDocumentFields, 'The document: PDF, PNG, JPEG or plain text, at most 20 MB.')
  @Post(':e/documents')
  @Roles('site-investigator')
  attach(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Param('e', IdParamPipe) e: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Ctx() ctx: CommandContext,
  ): Promise<AttachResult> {
    return this.commands.execute(new AttachDocument(t, p, e, request, response, ctx));
  }

  @ReadOperation({
    summary: 'Download a source document (the original)',
    description:
      "The site's original bytes, unredacted: for the site's investigators, the CEC coordinator and auditors; never for reviewers or the " +
      'chair, who read released renditions in the dossier. Every download is recorded in the audit trail (`DocumentRead`) before a byte is sent.',
    response: 'The bytes, with their media type, `ETag` and `Repr-Digest` (the SHA-256).',
    content: DOCUMENT_CONTENT,
  })
  @Get(':e/documents/:documentId')
  @Roles('site-investigator', 'cec-coordinator', 'auditor')
  async download(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Param('e', IdParamPipe) e: string,
    @Param('documentId', IdParamPipe) documentId: string,
    @CurrentPrincipal() principal: Principal,
    @Ctx() ctx: CommandContext,
    @Res() response: Response,
  ): Promise<void> {
    const { state } = await this.queries.execute<GetAdverseEvent, { state: AdverseEventState; version: number }>(new GetAdverseEvent(t, e));
    if (state.status === 'absent' || state.patientId !== p)
      throw new DomainError('ADVERSE_EVENT_NOT_FOUND', `no adverse event ${e} for patient ${p}`, 'not_found');
    assertSiteAccess(principal, state.siteId, ['site-investigator', 'cec-coordinator', 'auditor']);
    const document = byId(state.documents, documentId);
    if (!document) throw new DomainError('DOCUMENT_NOT_FOUND', `no document ${documentId} attached to adverse event ${e}`, 'not_found');
    await recordDocumentRead(
      this.events,
      {
        trialId: t,
        documentId,
        patientId: p,
        eventId: e,
        ...caseOf(state.eventId, state.report.kind),
        version: 'original',
        sha256: document.sha256,
      },
      principal,
      ctx.correlationId,
    );
    await sendDocument(response, this.blobs, document);
  }
}

/** The case an adverse event of this kind has (named after the event), for the read's audit record. */
function caseOf(eventId: string, kind: AdverseEventKind): { caseId?: string } {
  const caseId = caseOpenedFor({ eventId, kind });
  return caseId ? { caseId } : {};
}
