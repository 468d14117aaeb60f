import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, assertSiteAccess, type Principal } from '@app/auth';
import { DomainError } from '@app/contracts';
import { Ctx, IdParamPipe, type CommandContext, type CommandResult } from '@app/http';
import type { PatientState } from '../domain/patient.decider';
import type { TrialState } from '../domain/trial.decider';
import {
  AddCommitteeMember,
  AddSite,
  CorrectPatientData,
  EnrollPatient,
  PublishCharter,
  RecordVisit,
  RegisterTrial,
  WithdrawPatient,
} from '../application/enrollment.commands';
import { GetPatient, GetTrial } from '../read-models/enrollment-views';
import {
  AddCommitteeMemberDto,
  AddSiteDto,
  CorrectionDto,
  EnrollPatientDto,
  PublishCharterDto,
  RecordVisitDto,
  RegisterTrialDto,
  WithdrawPatientDto,
} from './enrollment.dto';

@ApiTags('enrollment')
@ApiBearerAuth()
@Controller('trials')
export class EnrollmentController {
  constructor(
    private readonly commands: CommandBus,
    private readonly queries: QueryBus,
  ) {}

  @Post()
  @Roles('trial-admin')
  registerTrial(@Body() body: RegisterTrialDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new RegisterTrial(body, ctx));
  }

  @Get(':t')
  @Roles('trial-admin', 'sponsor', 'auditor', 'dsmb-member', 'cec-chair', 'cec-reviewer', 'site-investigator')
  async trial(@Param('t', IdParamPipe) t: string) {
    const { state, version } = await this.queries.execute<GetTrial, { state: TrialState; version: number }>(new GetTrial(t));
    if (state.status !== 'registered') throw new DomainError('TRIAL_NOT_FOUND', `no trial ${t}`, 'not_found');
    const { status: _status, ...trial } = state;
    return { ...trial, version };
  }

  @Put(':t/charter')
  @HttpCode(201)
  @Roles('trial-admin')
  publishCharter(@Param('t', IdParamPipe) t: string, @Body() body: PublishCharterDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new PublishCharter(t, body, ctx));
  }

  @Post(':t/sites')
  @Roles('trial-admin')
  addSite(@Param('t', IdParamPipe) t: string, @Body() body: AddSiteDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new AddSite(t, body, ctx));
  }

  @Post(':t/committee-members')
  @Roles('trial-admin')
  addCommitteeMember(
    @Param('t', IdParamPipe) t: string,
    @Body() body: AddCommitteeMemberDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new AddCommitteeMember(t, body, ctx));
  }

  @Post(':t/patients')
  @Roles('site-investigator')
  enroll(@Param('t', IdParamPipe) t: string, @Body() body: EnrollPatientDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new EnrollPatient(t, body, ctx));
  }

  @Get(':t/patients/:p')
  @Roles('site-investigator', 'trial-admin', 'auditor')
  async patient(@Param('t', IdParamPipe) t: string, @Param('p', IdParamPipe) p: string, @CurrentPrincipal() principal: Principal) {
    const { state, version } = await this.queries.execute<GetPatient, { state: PatientState; version: number }>(new GetPatient(t, p));
    if (state.status !== 'enrolled') throw new DomainError('PATIENT_NOT_FOUND', `no patient ${p} in trial ${t}`, 'not_found');
    assertSiteAccess(principal, state.siteId);
    const { status: _status, ...patient } = state;
    return { ...patient, version };
  }

  @Post(':t/patients/:p/corrections')
  @Roles('site-investigator')
  correct(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Body() body: CorrectionDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new CorrectPatientData(t, p, body, ctx));
  }

  @Post(':t/patients/:p/visits')
  @Roles('site-investigator')
  recordVisit(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Body() body: RecordVisitDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new RecordVisit(t, p, body, ctx));
  }

  @Post(':t/patients/:p/withdrawal')
  @Roles('site-investigator')
  withdraw(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Body() body: WithdrawPatientDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new WithdrawPatient(t, p, body, ctx));
  }
}
