import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, assertSiteAccess, type Principal } from '@app/auth';
import { DomainError, Id } from '@app/contracts';
import { CommandOperation, CommandResultSchema, Ctx, IdParamPipe, ReadOperation, type CommandContext, type CommandResult } from '@app/http';
import { CorrectAdverseEvent, ReportAdverseEvent, RetractAdverseEvent, type ReportResult } from '../application/adverse-events.commands';
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
}
