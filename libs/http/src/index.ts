export { ProblemException, badRequest, conflict, forbidden, notFound, unauthorized, unprocessable } from './problem';
export type { ProblemDetails, ProblemFieldError } from './problem';
export { ProblemDetailsFilter, bodyParserErrors, fieldErrors, sendProblem, toProblem } from './problem.filter';
export { IdParamPipe } from './id-param.pipe';
export { TRIAL_PARAM, TrialExists } from './trial-exists';
export { IDEMPOTENCY_TTL_MS, IdempotencyKeys } from './idempotency';
export type { RequestUser, RequestWithIdempotency } from './idempotency';
export { ApiHttpAdapter, StableShapeExpressAdapter, parseIfMatch, streamVersionOf } from './command-response';
export { Idempotency1764000000100 } from './migrations/1764000000100-idempotency';
export { Ctx, commandContextOf, commandOptions, eventMetadata } from './command-context';
export type { CommandContext } from './command-context';
export { applySecurity, corsOriginsSchema } from './security';
export { commandResult } from './command-result';
export type { CommandResult } from './command-result';
export { validateCorrection } from './correction';
export {
  COMMAND_PROBLEMS,
  CommandOperation,
  CommandResultSchema,
  IDEMPOTENCY_KEY_HEADER,
  IF_MATCH_HEADER,
  MultipartBody,
  PROBLEM_JSON,
  ProblemDetailsSchema,
  ProblemResponses,
  QUERY_SCHEMA_KEY,
  READ_PROBLEMS,
  ReadOperation,
  ValidQuery,
  completeApiDocument,
  openApiSchema,
  parseQuery,
} from './openapi';
export type { OperationDoc, ProblemResponse, ProblemStatus } from './openapi';
export { DOCUMENT_CONTENT, readUpload, recordDocumentRead, refusalsOf, sendDocument, storeWith } from './documents';
export type { ValidUpload } from './documents';
