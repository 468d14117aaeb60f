import { Inject } from '@nestjs/common';
import { CommandHandler, type ICommandHandler } from '@nestjs/cqrs';
import {
  DomainError,
  adverseEventStream,
  caseOpenedFor,
  correctableAdverseEventFields,
  AttachDocumentFields,
  type CorrectionBody,
  type StoredFile,
  type ReportAdverseEventBody,
  type RetractAdverseEventBody,
} from '@app/contracts';
import { BLOB_STORE, type BlobStore } from '@app/blob-store';
import { CLOCK, EVENT_STORE, executeCommand, loadState, type Clock, type EventStore, type StreamGuard } from '@app/event-store';
import {
  commandOptions,
  commandResult,
  readUpload,
  refusalsOf,
  storeWith,
  validateCorrection,
  type CommandContext,
  type CommandResult,
} from '@app/http';
import { EnrollmentFacts } from '@app/runtime';
import type { IncomingMessage } from 'node:http';
import type { Response } from 'express';
import { adverseEventDecider, type AdverseEventCommand, type AdverseEventState } from '../domain/adverse-event.decider';

export class ReportAdverseEvent {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly body: ReportAdverseEventBody,
    readonly context: CommandContext,
  ) {}
}
export class CorrectAdverseEvent {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly eventId: string,
    readonly body: CorrectionBody,
    readonly context: CommandContext,
  ) {}
}
export class RetractAdverseEvent {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly eventId: string,
    readonly body: RetractAdverseEventBody,
    readonly context: CommandContext,
  ) {}
}

/** A site attaches a source document: the request itself, read as the command runs (multipart, streamed). */
export class AttachDocument {
  constructor(
    readonly trialId: string,
    readonly patientId: string,
    readonly eventId: string,
    readonly request: IncomingMessage,
    readonly response: Response,
    readonly context: CommandContext,
  ) {}
}

export type ReportResult = CommandResult & { caseId?: string };
export type AttachResult = CommandResult & StoredFile & { documentId: string };

abstract class AdverseEventHandler {
  constructor(
    @Inject(EVENT_STORE) protected readonly store: EventStore,
    @Inject(CLOCK) protected readonly clock: Clock,
    protected readonly enrollment: EnrollmentFacts,
  ) {}

  protected today(): string {
    return this.clock.now().toISOString().slice(0, 10);
  }

  /** An adverse event is addressed under its patient: another patient's path does not reach it. */
  protected async existing(trialId: string, patientId: string, eventId: string): Promise<void> {
    const { state } = await loadState(this.store, adverseEventStream(trialId, eventId), adverseEventDecider);
    this.underPatient(state, patientId, eventId);
  }

  protected underPatient(state: AdverseEventState, patientId: string, eventId: string): void {
    if (state.status === 'absent' || state.patientId !== patientId) {
      throw new DomainError('ADVERSE_EVENT_NOT_FOUND', `no adverse event ${eventId} for patient ${patientId}`, 'not_found');
    }
  }

  /** The command on an existing event of this patient, checked on the stream as read for the decision itself (one read). */
  protected onExisting(
    patientId: string,
    eventId: string,
    command: AdverseEventCommand,
  ): (state: AdverseEventState) => AdverseEventCommand {
    return (state) => {
      this.underPatient(state, patientId, eventId);
      return command;
    };
  }

  protected async run(
    trialId: string,
    eventId: string,
    command: AdverseEventCommand | ((state: AdverseEventState) => AdverseEventCommand),
    context: CommandContext,
    reason?: string,
    expectNewStream = false,
    guards: StreamGuard[] = [],
  ): Promise<CommandResult> {
    return commandResult(
      eventId,
      await executeCommand(this.store, adverseEventStream(trialId, eventId), adverseEventDecider, command, {
        ...commandOptions(context, { reason }),
        ...(expectNewStream ? { expectNewStream } : {}),
        guards,
      }),
    );
  }
}

@CommandHandler(ReportAdverseEvent)
export class ReportAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<ReportAdverseEvent, ReportResult> {
  async execute({ trialId, patientId, body, context }: ReportAdverseEvent): Promise<ReportResult> {
    const result = await this.enrollment.decideOnPatient(trialId, patientId, context, (patient, guards) =>
      this.run(
        trialId,
        body.eventId,
        { type: 'ReportAdverseEvent', data: { ...body, trialId, patientId }, patient, today: this.today() },
        context,
        undefined,
        // A report starts the event's stream: no read first (a duplicate id is found by the append).
        true,
        guards,
      ),
    );
    // The reporter learns the case id at once; adjudication opens the case from the published event.
    const caseId = caseOpenedFor(body);
    return { ...result, ...(caseId ? { caseId } : {}) };
  }
}

@CommandHandler(CorrectAdverseEvent)
export class CorrectAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<CorrectAdverseEvent, CommandResult> {
  async execute({ trialId, patientId, eventId, body, context }: CorrectAdverseEvent): Promise<CommandResult> {
    validateCorrection(body.changes, correctableAdverseEventFields);
    return this.enrollment.decideOnPatient(trialId, patientId, context, (patient, guards) => {
      const command = this.onExisting(patientId, eventId, { type: 'CorrectAdverseEvent', data: body, patient, today: this.today() });
      return this.run(trialId, eventId, command, context, body.reason, false, guards);
    });
  }
}

@CommandHandler(RetractAdverseEvent)
export class RetractAdverseEventHandler extends AdverseEventHandler implements ICommandHandler<RetractAdverseEvent, CommandResult> {
  async execute({ trialId, patientId, eventId, body, context }: RetractAdverseEvent): Promise<CommandResult> {
    await this.enrollment.patientInScope(trialId, patientId, context);
    return this.run(
      trialId,
      eventId,
      this.onExisting(patientId, eventId, { type: 'RetractAdverseEvent', data: body }),
      context,
      body.reason,
    );
  }
}

/**
 * Checks who may attach before a byte is read (404 unknown event, 403 another site's patient), then
 * streams the file into staging, then refuses what the decider refuses before the bytes are kept.
 */
@CommandHandler(AttachDocument)
export class AttachDocumentHandler extends AdverseEventHandler implements ICommandHandler<AttachDocument, AttachResult> {
  constructor(
    @Inject(EVENT_STORE) store: EventStore,
    @Inject(CLOCK) clock: Clock,
    enrollment: EnrollmentFacts,
    @Inject(BLOB_STORE) private readonly blobs: BlobStore,
  ) {
    super(store, clock, enrollment);
  }

  async execute({ trialId, patientId, eventId, request, response, context }: AttachDocument): Promise<AttachResult> {
    await this.enrollment.patientInScope(trialId, patientId, context);
    await this.existing(trialId, patientId, eventId);
    const { fields, file, stored } = await readUpload(request, response, this.blobs, AttachDocumentFields, context);
    const command: AdverseEventCommand = { type: 'AttachDocument', data: { ...fields, ...stored } };
    const stream = adverseEventStream(trialId, eventId);
    const result = await storeWith(file, refusalsOf(this.store, stream, adverseEventDecider, command, context), () =>
      this.run(trialId, eventId, command, context),
    );
    return { ...result, id: fields.documentId, documentId: fields.documentId, ...stored };
  }
}

export const adverseEventCommandHandlers = [
  ReportAdverseEventHandler,
  CorrectAdverseEventHandler,
  RetractAdverseEventHandler,
  AttachDocumentHandler,
];
