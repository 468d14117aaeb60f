import { createZodDto } from 'nestjs-zod';
import { RecordProcedureBody } from '@app/contracts';

export class RecordProcedureDto extends createZodDto(RecordProcedureBody) {}
