import { Body, Controller, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { createZodDto } from 'nestjs-zod';
import { Roles } from '@app/auth';
import { RecordProcedureBody } from '@app/contracts';
import { Ctx, IdParamPipe, type CommandContext } from '@app/http';
import type { CommandResult } from '../../../enrollment/src';
import { RecordProcedure } from '../application/procedures.handlers';

export class RecordProcedureDto extends createZodDto(RecordProcedureBody) {}

@ApiTags('procedures')
@ApiBearerAuth()
@Controller('trials/:t/patients/:p/procedures')
export class ProceduresController {
  constructor(private readonly commands: CommandBus) {}

  /** The first procedure recorded for a patient is the index procedure. */
  @Post()
  @Roles('site-investigator')
  record(@Param('t', IdParamPipe) t: string, @Param('p', IdParamPipe) p: string, @Body() body: RecordProcedureDto, @Ctx() ctx: CommandContext): Promise<CommandResult> {
    return this.commands.execute(new RecordProcedure(t, p, body, ctx));
  }
}
