import { Body, Controller, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { Roles } from '@app/auth';
import { Ctx, IdParamPipe, type CommandContext } from '@app/http';
import { RecordProcedure, type RecordProcedureResult } from '../application/procedures.commands';
import { RecordProcedureDto } from './procedures.dto';

@ApiTags('procedures')
@ApiBearerAuth()
@Controller('trials/:t/patients/:p/procedures')
export class ProceduresController {
  constructor(private readonly commands: CommandBus) {}

  /** The first procedure recorded for a patient is the index procedure. */
  @Post()
  @Roles('site-investigator')
  record(
    @Param('t', IdParamPipe) t: string,
    @Param('p', IdParamPipe) p: string,
    @Body() body: RecordProcedureDto,
    @Ctx() ctx: CommandContext,
  ): Promise<RecordProcedureResult> {
    return this.commands.execute(new RecordProcedure(t, p, body, ctx));
  }
}
