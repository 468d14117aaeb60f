import { Body, Controller, Get, Inject, Param, Post, Req, Res } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { BLOB_STORE, type BlobStore } from '@app/blob-store';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import { Id, ReleaseRenditionFields } from '@app/contracts';
import { EVENT_STORE, type EventStore } from '@app/event-store';
import {
  CommandOperation,
  CommandResultSchema,
  Ctx,
  DOCUMENT_CONTENT,
  IdParamPipe,
  MultipartBody,
  ReadOperation,
  ValidQuery,
  recordDocumentRead,
  sendDocument,
  type CommandContext,
  type CommandResult,
} from '@app/http';
import {
  AnswerQuery,
  AssignReviewers,
  RaiseQuery,
  ReleaseRendition,
  ReopenCase,
  ResolveCase,
  SubmitReview,
  type Authentication,
  type ReleaseResult,
} from '../application/adjudication.commands';
import { CaseQueries } from '../read-models/cases';
import {
  AnswerQueryDto,
  AssignReviewersDto,
  RaiseQueryDto,
  ReopenCaseDto,
  ResolveCaseDto,
  SubmitReviewDto,
  CaseFilterQuery,
  type CaseFilterParameters,
} from './adjudication.dto';

/** The token's authentication facts a signing checks and records (auth_time, amr, acr). */
const signingAuthentication = ({ authTime, amr, acr }: Principal): Authentication => ({
  ...(authTime !== undefined ? { authTime } : {}),
  ...(amr !== undefined ? { amr } : {}),
  ...(acr !== undefined ? { acr } : {}),
});

@ApiTags('adjudication')
@ApiBearerAuth()
@Controller('trials/:t/adjudication')
export class AdjudicationController {
  constructor(
    private readonly commands: CommandBus,
    private readonly cases: CaseQueries,
    @Inject(EVENT_STORE) private readonly events: EventStore,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {}

  @CommandOperation({
    summary: 'Assign two reviewers',
    description:
      "The chair assigns two different CEC reviewers to the open round of a case. A reviewer affiliated with the patient's site is refused " +
      '(422 `REVIEWER_CONFLICT`); a reopened case is assigned again for its new round.',
  })
  @Post('cases/:c/assignment')
  @Roles('cec-chair')
  assign(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Body() body: AssignReviewersDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new AssignReviewers(t, c, body, ctx));
  }

  @CommandOperation({
    summary: 'Submit a review',
    description:
      'An assigned reviewer classifies the event (`Outcome`) with a rationale, and signs it (meaning `review`). ' +
      'Two concordant reviews finalize the case; discordant ones wait for the chair. ' +
      "A signing (21 CFR 11.200(a)(1)): the token's `auth_time` must be at most `SIGNATURE_MAX_AGE` seconds old.",
    problems: [
      [
        401,
        'No or bad token, or a login too old to sign (`SIGNATURE_REAUTHENTICATION_REQUIRED`, with the RFC 9470 step-up challenge): nothing written.',
      ],
    ],
  })
  @Post('cases/:c/reviews')
  @Roles('cec-reviewer')
  review(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Body() body: SubmitReviewDto,
    @Ctx() ctx: CommandContext,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CommandResult> {
    return this.commands.execute(new SubmitReview(t, c, body, ctx, signingAuthentication(principal)));
  }

  @CommandOperation({
    summary: 'Resolve a case',
    description:
      'The chair decides a case whose reviews disagree, with an outcome and rationale, and signs it (meaning `approval`); the case is finalized. ' +
      "A signing (21 CFR 11.200(a)(1)): the token's `auth_time` must be at most `SIGNATURE_MAX_AGE` seconds old.",
    problems: [
      [
        401,
        'No or bad token, or a login too old to sign (`SIGNATURE_REAUTHENTICATION_REQUIRED`, with the RFC 9470 step-up challenge): nothing written.',
      ],
    ],
  })
  @Post('cases/:c/resolution')
  @Roles('cec-chair')
  resolve(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Body() body: ResolveCaseDto,
    @Ctx() ctx: CommandContext,
    @CurrentPrincipal() principal: Principal,
  ): Promise<CommandResult> {
    return this.commands.execute(new ResolveCase(t, c, body, ctx, signingAuthentication(principal)));
  }

  @CommandOperation({
    summary: 'Reopen a case',
    description:
      'The chair reopens a finalized case, with the reason: a new round starts and its decision will supersede the standing one (both are kept). ' +
      'A case not finalized answers 422 `CASE_NOT_FINALIZED`.',
  })
  @Post('cases/:c/reopening')
  @Roles('cec-chair')
  reopen(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Body() body: ReopenCaseDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new ReopenCase(t, c, body, ctx));
  }

  @CommandOperation({
    summary: 'Ask the site a question',
    description: 'The chair or an assigned reviewer asks the site for information about the event. A query id already used answers 409.',
  })
  @Post('cases/:c/queries')
  @Roles('cec-chair', 'cec-reviewer')
  query(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Body() body: RaiseQueryDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new RaiseQuery(t, c, body, ctx));
  }

  @CommandOperation({
    summary: "Answer the CEC's question",
    description: "The site investigator of the patient's site answers a query of the case. A query answered already answers 409.",
  })
  @Post('cases/:c/queries/:q/answer')
  @Roles('site-investigator')
  answer(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Param('q', IdParamPipe) q: string,
    @Body() body: AnswerQueryDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new AnswerQuery(t, c, q, body, ctx));
  }

  /** Cases of the trial (blinded); a reviewer lists only cases assigned to them. */
  @ReadOperation({
    summary: 'List cases',
    description:
      'The CEC cases of the trial, blinded (no arm, no device), filtered by state or adverse event; a reviewer sees only the cases assigned to them.',
    response: 'The cases: id, adverse event, state, round, kind.',
    content: { 'application/json': { schema: { type: 'array', items: { type: 'object' } } } },
  })
  @Get('cases')
  @Roles('cec-reviewer', 'cec-chair', 'cec-coordinator', 'auditor')
  list(
    @Param('t', IdParamPipe) t: string,
    @ValidQuery(CaseFilterQuery) filter: CaseFilterParameters,
    @CurrentPrincipal() principal: Principal,
  ) {
    return this.cases.list(t, filter, principal);
  }

  @ReadOperation({
    summary: 'Read a case',
    description:
      'The case with its whole history: every round with why it opened, its assignment, reviews with rationale and signature, and decision. ' +
      'Blinded: a reviewer sees neither arm nor device, nor the other review until both are in, nor earlier rounds before their own review.',
    response: 'The case, as the reader may see it.',
  })
  @Get('cases/:c')
  @Roles('cec-reviewer', 'cec-chair', 'cec-coordinator', 'auditor')
  view(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @CurrentPrincipal() principal: Principal) {
    return this.cases.view(t, c, principal);
  }

  /** Own open work: reviews to submit; for the chair, cases to assign or resolve. */
  @ReadOperation({
    summary: 'Own open work',
    description: "The caller's open CEC work: for a reviewer the reviews to submit, for the chair the cases to assign or resolve.",
    response: 'The open work items: case and what to do.',
    content: { 'application/json': { schema: { type: 'array', items: { type: 'object' } } } },
  })
  @Get('worklist')
  @Roles('cec-reviewer', 'cec-chair')
  worklist(@Param('t', IdParamPipe) t: string, @CurrentPrincipal() principal: Principal) {
    return this.cases.worklist(t, principal);
  }

  /** Committee metrics: open cases by age, days from report to final decision, reviewer agreement. */
  @ReadOperation({
    summary: 'Committee metrics',
    description: 'How the CEC performs: open cases by age, days from report to final decision, agreement between reviewers.',
    response: 'The committee metrics.',
  })
  @Get('metrics')
  @Roles('cec-chair', 'auditor', 'trial-admin')
  metrics(@Param('t', IdParamPipe) t: string) {
    return this.cases.metrics(t);
  }

  @CommandOperation({
    summary: 'Release a redacted rendition to the dossier',
    description:
      'The CEC coordinator uploads a redacted rendition of a source document attached to the case’s adverse event (`multipart/form-data`: ' +
      '`file`, `documentId` of the source, `redactionNote`) and releases it to the reviewers and the chair, who read only released renditions. ' +
      'Same media rules as an attachment (PDF, PNG, JPEG, plain text from the content: 415; 20 MB: 413; empty: 400). A document not attached ' +
      'to the event answers 404; a second rendition of the same document 409.',
    result: CommandResultSchema.extend({ documentId: Id }),
  })
  @MultipartBody(ReleaseRenditionFields, 'The redacted rendition: PDF, PNG, JPEG or plain text, at most 20 MB.')
  @Post('cases/:c/dossier')
  @Roles('cec-coordinator')
  release(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
    @Ctx() ctx: CommandContext,
  ): Promise<ReleaseResult> {
    return this.commands.execute(new ReleaseRendition(t, c, request, response, ctx));
  }

  @ReadOperation({
    summary: 'Download a released rendition from the dossier',
    description:
      'The redacted rendition the coordinator released, for the coordinator, the chair, auditors and the reviewers assigned to the case. ' +
      'A document not released answers 404. Every download is recorded in the audit trail (`DocumentRead`: who, which document of which case, when).',
    response: 'The bytes, with their media type, `ETag` and `Repr-Digest` (the SHA-256).',
    content: DOCUMENT_CONTENT,
  })
  @Get('cases/:c/dossier/:documentId')
  @Roles('cec-coordinator', 'cec-reviewer', 'cec-chair', 'auditor')
  async rendition(
    @Param('t', IdParamPipe) t: string,
    @Param('c', IdParamPipe) c: string,
    @Param('documentId', IdParamPipe) documentId: string,
    @CurrentPrincipal() principal: Principal,
    @Ctx() ctx: CommandContext,
    @Res() response: Response,
  ): Promise<void> {
    const { patientId, eventId, released } = await this.cases.rendition(t, c, documentId, principal);
    await recordDocumentRead(
      this.events,
      { trialId: t, documentId, patientId, eventId, caseId: c, version: 'rendition', sha256: released.rendition.sha256 },
      principal,
      ctx.correlationId,
    );
    await sendDocument(response, this.blobs, released.rendition);
  }
}
