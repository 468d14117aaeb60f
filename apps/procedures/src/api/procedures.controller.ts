import { Body, Controller, Param, Post } from '@nestjs/common';
import { CommandBus } from '@nestjs/cqrs';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { Roles } from '@app/auth';
import { CommandOperation, CommandResultSchema, Ctx, IdParamPipe, type CommandContext } from '@app/http';
import { RecordProcedure, type RecordProcedureResult } from '../application/procedures.commands';
import { RecordProcedureDto } from './procedures.dto';

@ApiTags('procedures')
@ApiBearerAuth()
@Controller('trials/:t/patients/:p/procedures')
export class ProceduresController {
  constructor(private readonly commands: CommandBus) {}

  /** The first procedure recorded for a patient is the index procedure. */
  @CommandOperation({
    summary: 'Record a procedure',
    description:
      "Records an endovascular procedure: limb, device, lesions, technical success. The patient's first procedure is the index procedure: " +
      'the time origin of every endpoint and the index limb. A procedure id already recorded answers 409.',
    result: CommandResultSchema.extend({ index: z.boolean().meta({ description: 'Whether this is the index procedure.' }) }),
  })
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
