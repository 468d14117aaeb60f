import { Body, Controller, Get, HttpCode, Param, Post, Put } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { CurrentPrincipal, Roles, assertSiteAccess, type Principal } from '@app/auth';
import { DomainError } from '@app/contracts';
import { CommandOperation, Ctx, IdParamPipe, ReadOperation, type CommandContext, type CommandResult } from '@app/http';
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

  @CommandOperation({
    summary: 'Register a trial',
    description:
      'Registers a trial under a client-chosen id, with its arms (omit `arms` for a single-arm registry). ' +
      'Until a charter is published the default charter (`default-1`) applies. A trial id already taken answers 409.',
    defaultProblems: [400, 401, 403, 409, 412, 413, 415, 422],
  })
  @Post()
  @Roles('trial-admin')
  registerTrial(@Body() body: RegisterTrialDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new RegisterTrial(body, ctx));
  }

  @ReadOperation({
    summary: 'Read a trial',
    description: 'The trial as registered: title, protocol version, arms, sites, committee and charter versions, with its stream version.',
    response: 'The trial and its stream `version`.',
  })
  @Get(':t')
  @Roles('trial-admin', 'sponsor', 'auditor', 'dsmb-member', 'cec-chair', 'cec-reviewer', 'cec-coordinator', 'site-investigator')
  async trial(@Param('t', IdParamPipe) t: string) {
    const { state, version } = await this.queries.execute<GetTrial, { state: TrialState; version: number }>(new GetTrial(t));
    if (state.status !== 'registered') throw new DomainError('TRIAL_NOT_FOUND', `no trial ${t}`, 'not_found');
    const { status: _status, ...trial } = state;
    return { ...trial, version };
  }

  @CommandOperation({
    summary: 'Publish a charter version',
    description:
      'Publishes a new version of the CEC charter: the endpoint definitions (events matched, horizon) and the censoring rule for withdrawals. ' +
      'Earlier versions are kept; reports name the version they applied. Endpoint ids must be distinct.',
  })
  @Put(':t/charter')
  @HttpCode(201)
  @Roles('trial-admin')
  publishCharter(@Param('t', IdParamPipe) t: string, @Body() body: PublishCharterDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new PublishCharter(t, body, ctx));
  }

  @CommandOperation({
    summary: 'Add a site',
    description: 'Adds an investigational site (ISO 3166-1 alpha-2 country). A site id already in the trial answers 409.',
  })
  @Post(':t/sites')
  @Roles('trial-admin')
  addSite(@Param('t', IdParamPipe) t: string, @Body() body: AddSiteDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new AddSite(t, body, ctx));
  }

  @CommandOperation({
    summary: 'Add a CEC member',
    description:
      'Adds a clinical events committee member as reviewer or chair, with the sites they are affiliated with: ' +
      'a reviewer is never assigned a case of their own site (422 `REVIEWER_CONFLICT`). Affiliated sites must be sites of the trial (422 `UNKNOWN_SITE`).',
  })
  @Post(':t/committee-members')
  @Roles('trial-admin')
  addCommitteeMember(
    @Param('t', IdParamPipe) t: string,
    @Body() body: AddCommitteeMemberDto,
    @Ctx() ctx: CommandContext,
  ): Promise<CommandResult> {
    return this.commands.execute(new AddCommitteeMember(t, body, ctx));
  }

  @CommandOperation({
    summary: 'Enrol a patient',
    description:
      'Enrols a patient at a site of the trial with baseline characteristics and, in a randomised trial, the arm. ' +
      'A site investigator enrols at their own sites only (403 otherwise); an unknown site answers 422 `UNKNOWN_SITE`, a patient id taken 409.',
  })
  @Post(':t/patients')
  @Roles('site-investigator')
  enroll(@Param('t', IdParamPipe) t: string, @Body() body: EnrollPatientDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new EnrollPatient(t, body, ctx));
  }

  @ReadOperation({
    summary: 'Read a patient',
    description: 'The patient as currently corrected: site, enrolment date, arm, baseline, visits and withdrawal, with the stream version.',
    response: 'The patient and its stream `version`.',
  })
  @Get(':t/patients/:p')
  @Roles('site-investigator', 'trial-admin', 'auditor')
  async patient(@Param('t', IdParamPipe) t: string, @Param('p', IdParamPipe) p: string, @CurrentPrincipal() principal: Principal) {
    const { state, version } = await this.queries.execute<GetPatient, { state: PatientState; version: number }>(new GetPatient(t, p));
    if (state.status !== 'enrolled') throw new DomainError('PATIENT_NOT_FOUND', `no patient ${p} in trial ${t}`, 'not_found');
    assertSiteAccess(principal, state.siteId);
    const { status: _status, ...patient } = state;
    return { ...patient, version };
  }

  @CommandOperation({
    summary: "Correct a patient's data",
    description:
      'Changes fields of the enrolment by dotted path (`enrolledOn`, `arm`, `baseline.*`), with the reason (21 CFR 11.10(e)): ' +
      'each event keeps the previous value. An unknown field answers 400; a value equal to the current one 422.',
  })
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

  @CommandOperation({
    summary: 'Record a follow-up visit',
    description: 'Records a protocol (30d, 6m, 12m) or unscheduled visit. Visit dates are last known contacts for censoring.',
  })
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

  @CommandOperation({
    summary: 'Withdraw a patient',
    description:
      'Records that the patient left the study on a date, with the reason. Follow-up ends there: the patient is censored at the withdrawal ' +
      'date, or at the last contact before it when the charter says so. A patient already withdrawn answers 409 `PATIENT_ALREADY_WITHDRAWN`; a visit after the date 422.',
  })
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
