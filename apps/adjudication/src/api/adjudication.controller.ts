import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, type Principal } from '@app/auth';
import { Ctx, IdParamPipe, type CommandContext, type CommandResult } from '@app/http';
import {
  AnswerQuery,
  AssignReviewers,
  RaiseQuery,
  ReopenCase,
  ResolveCase,
  SubmitReview,
  type Authentication,
} from '../application/adjudication.commands';
import { CaseQueries } from '../read-models/cases';
import {
  AnswerQueryDto,
  AssignReviewersDto,
  RaiseQueryDto,
  ReopenCaseDto,
  ResolveCaseDto,
  SubmitReviewDto,
  caseFilter,
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
  ) {}

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
  @Get('cases')
  @Roles('cec-reviewer', 'cec-chair', 'auditor')
  list(@Param('t', IdParamPipe) t: string, @Query() query: Record<string, string>, @CurrentPrincipal() principal: Principal) {
    return this.cases.list(t, caseFilter(query), principal);
  }

  @Get('cases/:c')
  @Roles('cec-reviewer', 'cec-chair', 'auditor')
  view(@Param('t', IdParamPipe) t: string, @Param('c', IdParamPipe) c: string, @CurrentPrincipal() principal: Principal) {
    return this.cases.view(t, c, principal);
  }

  /** Own open work: reviews to submit; for the chair, cases to assign or resolve. */
  @Get('worklist')
  @Roles('cec-reviewer', 'cec-chair')
  worklist(@Param('t', IdParamPipe) t: string, @CurrentPrincipal() principal: Principal) {
    return this.cases.worklist(t, principal);
  }

  /** Committee metrics: open cases by age, days from report to final decision, reviewer agreement. */
  @Get('metrics')
  @Roles('cec-chair', 'auditor', 'trial-admin')
  metrics(@Param('t', IdParamPipe) t: string) {
    return this.cases.metrics(t);
  }
}
