import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  SIGNATURE_MAX_AGE,
  assertSiteAccess,
  principalOf,
  requireFreshAuthentication,
  type Principal,
  type SigningAuthentication,
} from '@app/auth';
import {
  DomainError,
  byId,
  caseStream,
  ReleaseRenditionFields,
  type AnswerQueryBody,
  type StoredFile,
  type AssignReviewersBody,
  type CommitteeMemberFacts,
  type ESignature,
  type Outcome,
  type RaiseQueryBody,
  type ReopenCaseBody,
  type ResolveCaseBody,
  type SubmitReviewBody,
} from '@app/contracts';
import { BLOB_STORE, type BlobStore } from '@app/blob-store';
import { CLOCK, EVENT_STORE, executeCommand, loadState, type Clock, type EventStore } from '@app/event-store';
import { commandOptions, commandResult, readUpload, refusalsOf, storeWith, type CommandContext, type CommandResult } from '@app/http';
import { EnrollmentFacts } from '@app/runtime';
import { caseDecider, type CaseCommand, type CaseState, type OpenCase } from '../domain/case.decider';
import { sign } from '../domain/e-signature';
import { CaseOpener } from '../infrastructure/case-opener';

import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';

/** What the token says of the sender's last authentication (auth_time, amr, acr). */
export type Authentication = Pick<Principal, 'authTime' | 'amr' | 'acr'>;

/** How long a case command waits for the opener to catch up with the site's latest report (a long transaction elsewhere can hold the log back). */
const OPENER_WAIT_MS = 5000;

export class AssignReviewers {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly body: AssignReviewersBody,
    readonly context: CommandContext,
  ) {}
}
export class SubmitReview {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly body: SubmitReviewBody,
    readonly context: CommandContext,
    /** The bearer token's authentication facts: a signing needs a recent one (21 CFR 11.200(a)(1)). */
    readonly authentication: Authentication,
  ) {}
}
export class ResolveCase {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly body: ResolveCaseBody,
    readonly context: CommandContext,
    /** The bearer token's authentication facts: a signing needs a recent one (21 CFR 11.200(a)(1)). */
    readonly authentication: Authentication,
  ) {}
}
export class ReopenCase {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly body: ReopenCaseBody,
    readonly context: CommandContext,
  ) {}
}
export class RaiseQuery {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly body: RaiseQueryBody,
    readonly context: CommandContext,
  ) {}
}
export class AnswerQuery {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly queryId: string,
    readonly body: AnswerQueryBody,
    readonly context: CommandContext,
  ) {}
}

/** The coordinator releases a redacted rendition of a source document: the multipart request itself, read as the command runs. */
export class ReleaseRendition {
  constructor(
    readonly trialId: string,
    readonly caseId: string,
    readonly request: IncomingMessage,
    readonly response: Response,
    readonly context: CommandContext,
  ) {}
}
export type ReleaseResult = CommandResult & { documentId: string; rendition: StoredFile };

abstract class CaseHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    protected readonly enrollment: EnrollmentFacts,
    protected readonly opener: CaseOpener,
    @Inject(SIGNATURE_MAX_AGE) protected readonly signatureMaxAgeSeconds: number,
  ) {}

  /**
   * The case as the site's report left it. The opener opens, updates and reopens cases in the
   * background, right after the report, correction or retraction: a command waits for it first, so
   * it never decides on a case a correction just reopened (nor misses one just opened).
   */
  protected async case(trialId: string, caseId: string): Promise<OpenCase> {
    await this.opener.caughtUp(OPENER_WAIT_MS);
    const { state } = await loadState(this.store, caseStream(trialId, caseId), caseDecider);
    if (state.status === 'absent') throw new DomainError('CASE_NOT_FOUND', `no case ${caseId} in trial ${trialId}`, 'not_found');
    return state;
  }

  /** The committee of the trial; the sender must be on it in the role it acts in. */
  protected async committee(
    trialId: string,
    context: CommandContext,
    role: 'cec-reviewer' | 'cec-chair',
  ): Promise<Record<string, CommitteeMemberFacts>> {
    const { committee } = await this.enrollment.trial(trialId);
    const member = byId(committee, context.actor.userId);
    if (!member || member.role !== role) {
      throw new DomainError('NOT_ON_COMMITTEE', `${context.actor.userId} is not a ${role} of this trial's committee`, 'forbidden');
    }
    return committee;
  }

  protected async run(
    trialId: string,
    caseId: string,
    command: CaseCommand | ((state: CaseState) => CaseCommand),
    context: CommandContext,
    reason?: string,
  ): Promise<CommandResult> {
    return commandResult(
      caseId,
      await executeCommand(this.store, caseStream(trialId, caseId), caseDecider, command, commandOptions(context, { reason })),
    );
  }

  protected now(): string {
    return this.clock.now().toISOString();
  }

  /**
   * The command of a signing, made when the command is decided on the stream as read, never
   * before: a retry of a request already carried out (same Idempotency-Key) is answered from its
   * stored events without reaching this, so it replays the signature executed back then and signs
   * nothing new, even when the login behind the retry has since grown old (which is what a client
   * that lost the first answer expects). Everything else must come with a fresh authentication
   * (21 CFR 11.200(a)(1)), or nothing is written: not the events, not the Idempotency-Key.
   */
  protected signing(
    current: OpenCase,
    body: { outcome: Outcome; rationale: string },
    meaning: 'review' | 'approval',
    context: CommandContext,
    authentication: Authentication,
    command: (signature: ESignature, state: OpenCase) => CaseCommand,
  ): (state: CaseState) => CaseCommand {
    const now = this.clock.now();
    return (state) => {
      const signer = requireFreshAuthentication(authentication, now, this.signatureMaxAgeSeconds);
      // The round and charter signed for are those of the stream the decision is taken on.
      const fresh = state.status === 'absent' ? current : state;
      return command(this.signed(fresh, body, meaning, context, now, signer), fresh);
    };
  }

  /** The sender's e-signature over the decision, for the case's current round and charter version. */
  private signed(
    caseState: OpenCase,
    body: { outcome: Outcome; rationale: string },
    meaning: 'review' | 'approval',
    context: CommandContext,
    now: Date,
    authentication: SigningAuthentication,
  ): ESignature {
    return sign(
      { caseId: caseState.caseId, round: caseState.round, outcome: body.outcome, rationale: body.rationale },
      {
        signerId: context.actor.userId,
        printedName: context.actor.name,
        meaning,
        signedAt: now.toISOString(),
        charterVersion: caseState.charterVersion,
        // 21 CFR 11.50/11.200: the signature records the authentication it was executed with.
        ...authentication,
      },
    );
  }
}

@CommandHandler(AssignReviewers)
export class AssignReviewersHandler extends CaseHandler implements ICommandHandler<AssignReviewers, CommandResult> {
  async execute({ trialId, caseId, body, context }: AssignReviewers): Promise<CommandResult> {
    const committee = await this.committee(trialId, context, 'cec-chair');
    await this.case(trialId, caseId);
    return this.run(
      trialId,
      caseId,
      {
        type: 'AssignReviewers',
        data: { reviewerIds: [...body.reviewerIds], reason: body.reason, assignedBy: context.actor.userId },
        committee,
      },
      context,
      body.reason,
    );
  }
}

@CommandHandler(SubmitReview)
export class SubmitReviewHandler extends CaseHandler implements ICommandHandler<SubmitReview, CommandResult> {
  async execute({ trialId, caseId, body, context, authentication }: SubmitReview): Promise<CommandResult> {
    await this.committee(trialId, context, 'cec-reviewer');
    const current = await this.case(trialId, caseId);
    return this.run(
      trialId,
      caseId,
      this.signing(current, body, 'review', context, authentication, (signature) => ({
        type: 'SubmitReview',
        data: { reviewerId: context.actor.userId, outcome: body.outcome, rationale: body.rationale, signature },
        now: signature.signedAt,
      })),
      context,
    );
  }
}

@CommandHandler(ResolveCase)
export class ResolveCaseHandler extends CaseHandler implements ICommandHandler<ResolveCase, CommandResult> {
  async execute({ trialId, caseId, body, context, authentication }: ResolveCase): Promise<CommandResult> {
    await this.committee(trialId, context, 'cec-chair');
    const current = await this.case(trialId, caseId);
    return this.run(
      trialId,
      caseId,
      this.signing(current, body, 'approval', context, authentication, (signature) => ({
        type: 'ResolveCase',
        data: { chairId: context.actor.userId, outcome: body.outcome, rationale: body.rationale, signature },
        now: signature.signedAt,
      })),
      context,
    );
  }
}

@CommandHandler(ReopenCase)
export class ReopenCaseHandler extends CaseHandler implements ICommandHandler<ReopenCase, CommandResult> {
  async execute({ trialId, caseId, body, context }: ReopenCase): Promise<CommandResult> {
    await this.committee(trialId, context, 'cec-chair');
    await this.case(trialId, caseId);
    return this.run(trialId, caseId, { type: 'ReopenCase', data: body }, context, body.reason);
  }
}

@CommandHandler(RaiseQuery)
export class RaiseQueryHandler extends CaseHandler implements ICommandHandler<RaiseQuery, CommandResult> {
  async execute({ trialId, caseId, body, context }: RaiseQuery): Promise<CommandResult> {
    const asChair = context.actor.roles.includes('cec-chair');
    await this.committee(trialId, context, asChair ? 'cec-chair' : 'cec-reviewer');
    await this.case(trialId, caseId);
    const result = await this.run(
      trialId,
      caseId,
      { type: 'RaiseQuery', data: { ...body, raisedBy: context.actor.userId, asChair } },
      context,
    );
    return { ...result, id: body.queryId };
  }
}

@CommandHandler(AnswerQuery)
export class AnswerQueryHandler extends CaseHandler implements ICommandHandler<AnswerQuery, CommandResult> {
  async execute({ trialId, caseId, queryId, body, context }: AnswerQuery): Promise<CommandResult> {
    const current = await this.case(trialId, caseId);
    assertSiteAccess(principalOf(context), current.siteId, ['site-investigator']);
    const attached = body.documentIds ? Object.keys((await this.opener.source(trialId, current.eventId))?.documents ?? {}) : [];
    const result = await this.run(
      trialId,
      caseId,
      {
        type: 'AnswerQuery',
        data: {
          queryId,
          answer: body.answer,
          answeredBy: context.actor.userId,
          ...(body.documentIds ? { documentIds: body.documentIds } : {}),
        },
        attachedDocumentIds: attached,
        now: this.now(),
      },
      context,
    );
    return { ...result, id: queryId };
  }
}

/**
 * Reads the rendition into staging only for a case that exists, then refuses what the decider
 * refuses (a document not attached to the event, one already released) before the bytes are kept.
 */
@CommandHandler(ReleaseRendition)
export class ReleaseRenditionHandler extends CaseHandler implements ICommandHandler<ReleaseRendition, ReleaseResult> {
  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) clock: Clock,
    enrollment: EnrollmentFacts,
    opener: CaseOpener,
    @Inject(SIGNATURE_MAX_AGE) signatureMaxAgeSeconds: number,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {
    super(store, clock, enrollment, opener, signatureMaxAgeSeconds);
  }

  async execute({ trialId, caseId, request, response, context }: ReleaseRendition): Promise<ReleaseResult> {
    const current = await this.case(trialId, caseId);
    const { fields, file, stored } = await readUpload(request, response, this.blobs, ReleaseRenditionFields, context);
    const source = byId((await this.opener.source(trialId, current.eventId))?.documents ?? {}, fields.documentId);
    const command: CaseCommand = {
      type: 'ReleaseRendition',
      data: {
        documentId: fields.documentId,
        rendition: stored,
        redactionNote: fields.redactionNote,
        releasedBy: context.actor.userId,
        releasedAt: this.now(),
      },
      source: source && { kind: source.kind, title: source.title, sha256: source.sha256 },
    };
    const result = await storeWith(file, refusalsOf(this.store, caseStream(trialId, caseId), caseDecider, command, context), () =>
      this.run(trialId, caseId, command, context, fields.redactionNote),
    );
    return { ...result, id: fields.documentId, documentId: fields.documentId, rendition: stored };
  }
}

export const adjudicationHandlers = [
  ReleaseRenditionHandler,
  AssignReviewersHandler,
  SubmitReviewHandler,
  ResolveCaseHandler,
  ReopenCaseHandler,
  RaiseQueryHandler,
  AnswerQueryHandler,
];
