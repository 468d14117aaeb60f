import { createZodDto } from 'nestjs-zod';
import { CorrectionBody, ReportAdverseEventBody, RetractAdverseEventBody } from '@app/contracts';

export class ReportAdverseEventDto extends createZodDto(ReportAdverseEventBody) {}
export class AdverseEventCorrectionDto extends createZodDto(CorrectionBody) {}
export class RetractAdverseEventDto extends createZodDto(RetractAdverseEventBody) {}
