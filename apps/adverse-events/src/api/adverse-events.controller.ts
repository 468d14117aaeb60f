import { Body, Controller, Get, Param, Post } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, assertSiteAccess, type Principal } from '@app/auth';
import { DomainError } from '@app/contracts';
import { Ctx, IdParamPipe, type CommandContext, type CommandResult } from '@app/http';
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
