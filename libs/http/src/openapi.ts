import { applyDecorators, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ApiBody, ApiConsumes, ApiHeader, ApiOperation, ApiQuery, ApiResponse, type OpenAPIObject } from '@nestjs/swagger';
import type { HeaderObject, ParameterObject, SchemaObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import type { Request } from 'express';
import { z } from 'zod';
import { Id } from '@app/contracts';
import { fieldErrors } from './problem.filter';
import { ProblemException } from './problem';

/**
 * The OpenAPI side of the HTTP conventions of api.md, generated from the same schemas and
 * decorators that validate, so /docs-json cannot drift from what the API does.
 */

export const PROBLEM_JSON = 'application/problem+json';
const PROBLEM_REF = '#/components/schemas/ProblemDetails';

/** A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12, as zod emits it), input side. */
export function openApiSchema(schema: z.ZodType): SchemaObject {
  const { $schema: _dialect, ...json } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' });
  return json as SchemaObject;
}

const FieldError = z.object({
  path: z.string().meta({ description: 'Dotted path of the offending input, e.g. `body.baseline.ageYears`, `query.asOf`, `params.t`.' }),
  message: z.string(),
});

/** api.md "Errors": RFC 9457 problem details with a stable `code` and, for validation, `errors[]`. */
export const ProblemDetailsSchema = z
  .object({
    type: z.string().meta({ description: 'URI naming the problem type: `urn:problem:` and the code in kebab case.' }),
    title: z.string().meta({ description: 'The HTTP status phrase.' }),
    status: z.number().int().meta({ description: 'The HTTP status code.' }),
    detail: z.string().meta({ description: 'What went wrong, for a person.' }),
    code: z.string().meta({ description: 'Stable machine-readable code, e.g. `PATIENT_ALREADY_ENROLLED`, `TRIAL_NOT_FOUND`.' }),
    errors: z.array(FieldError).optional().meta({ description: 'For validation problems: each offending input.' }),
  })
  .catchall(z.unknown())
  .meta({
    description: 'An error answer (RFC 9457). Some problems carry extensions, e.g. `currentVersion` on 412.',
    example: {
      type: 'urn:problem:validation-failed',
      title: 'Bad Request',
      status: 400,
      detail: 'the request body is not valid',
      code: 'VALIDATION_FAILED',
      errors: [{ path: 'baseline.ageYears', message: 'Too small: expected number to be >=18' }],
    },
  });

/** api.md: what every command answers. */
export const CommandResultSchema = z.object({
  id: z.string().meta({ description: 'The id the command names (the trial, patient, event, case…).' }),
  streamVersion: z.number().int().meta({ description: "The version of the resource's stream after the command; also the ETag." }),
  position: z
    .number()
    .int()
    .meta({ description: 'Global position of the last event written; a report `asOfPosition` it sees this write.' }),
});

export type ProblemStatus = 400 | 401 | 403 | 404 | 409 | 412 | 413 | 415 | 422 | 503;

const PROBLEM_DESCRIPTIONS: Record<ProblemStatus, string> = {
  400: 'Bad input: a body, query or path parameter or header that does not validate (`VALIDATION_FAILED`, `INVALID_ID`, `MALFORMED_JSON`, …); `errors[]` names each offending input.',
  401: 'No bearer token, or one that is expired, badly signed or malformed (`AUTHENTICATION_REQUIRED`, …).',
  403: "The token's roles or sites do not admit this operation.",
  404: 'The trial does not exist (`TRIAL_NOT_FOUND`), or another resource named in the path does not.',
  409: 'Conflict: a duplicate id or a state that does not allow it. `IDEMPOTENCY_KEY_IN_PROGRESS` and `CONCURRENT_MODIFICATION` are transient and carry `Retry-After`.',
  412: '`If-Match` names another stream version than the current one (`currentVersion` tells it); nothing was written.',
  413: 'The body is larger than the limit (`PAYLOAD_TOO_LARGE`).',
  415: 'The body has a content encoding or charset the API does not read (`UNSUPPORTED_ENCODING`).',
  422: 'A rule refused the command (its `code` says which), or the `Idempotency-Key` was used with another request (`IDEMPOTENCY_KEY_REUSED`).',
  503: 'Not ready.',
};

const PROBLEM_HEADERS: Partial<Record<ProblemStatus, Record<string, HeaderObject>>> = {
  401: {
    'WWW-Authenticate': { description: 'The Bearer challenge (RFC 6750; RFC 9470 step-up for a signing).', schema: { type: 'string' } },
  },
  409: {
    'Retry-After': {
      description:
        'Seconds to wait before retrying, when the conflict is transient (`IDEMPOTENCY_KEY_IN_PROGRESS`, `CONCURRENT_MODIFICATION`, `NOT_YET_KNOWN`).',
      schema: { type: 'integer', minimum: 0 },
    },
  },
};

/** A status, or a status with the operation's own account of when it answers it. */
export type ProblemResponse = ProblemStatus | [ProblemStatus, string];

/** Documents each status as an application/problem+json answer with the shared ProblemDetails schema. */
export function ProblemResponses(...responses: ProblemResponse[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...responses.map((entry) => {
      const [status, description] = Array.isArray(entry) ? entry : [entry, PROBLEM_DESCRIPTIONS[entry]];
      const headers = PROBLEM_HEADERS[status];
      return ApiResponse({
        status,
        description,
        content: { [PROBLEM_JSON]: { schema: { $ref: PROBLEM_REF } } },
        ...(headers ? { headers } : {}),
      });
    }),
  );
}

/** Merges the operation's own accounts into a default list of statuses. */
function problemList(defaults: ProblemStatus[], own: ProblemResponse[] = []): ProblemResponse[] {
  const specific = new Map(own.map((entry) => (Array.isArray(entry) ? entry : ([entry, PROBLEM_DESCRIPTIONS[entry]] as const))));
  const statuses = [...new Set([...defaults, ...specific.keys()])].sort((a, b) => a - b);
  return statuses.map((status) => [status, specific.get(status) ?? PROBLEM_DESCRIPTIONS[status]]);
}

export const IDEMPOTENCY_KEY_HEADER = {
  name: 'Idempotency-Key',
  required: false,
  description:
    'Makes a retry harmless: the same key with the same body answers the first response again (with `Idempotent-Replayed: true`); ' +
    'with another body 422 `IDEMPOTENCY_KEY_REUSED`; while the first is still running 409 `IDEMPOTENCY_KEY_IN_PROGRESS` with `Retry-After`. ' +
    'Keys are scoped to the user and kept at least 24 hours (`IDEMPOTENCY_TTL`).',
  schema: { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$', example: '6f1c2a4e-report-AE001' },
};

export const IF_MATCH_HEADER = {
  name: 'If-Match',
  required: false,
  description:
    'Optimistic concurrency: the stream version the client decided on, as the ETag a command answered (e.g. `"3"`). ' +
    'Another version answers 412 and writes nothing. Without it the server decides on the fresh stream.',
  schema: { type: 'string', example: '"3"' },
};

const ETAG_HEADER: HeaderObject = {
  description: 'The stream version after the command, quoted (e.g. `"3"`): send it back as `If-Match`.',
  schema: { type: 'string' },
};

const REPLAYED_HEADER: HeaderObject = {
  description: '`true` when this is the stored answer of an earlier request with the same `Idempotency-Key`.',
  schema: { type: 'string', enum: ['true'] },
};

export interface OperationDoc {
  summary: string;
  description: string;
  /** Statuses this operation answers with a problem beyond the defaults, or its own account of a default one. */
  problems?: ProblemResponse[];
  /** Defaults to every status of its kind; set to leave some out (e.g. no 404 where no path names a resource). */
  defaultProblems?: ProblemStatus[];
}

export const COMMAND_PROBLEMS: ProblemStatus[] = [400, 401, 403, 404, 409, 412, 413, 415, 422];
export const READ_PROBLEMS: ProblemStatus[] = [400, 401, 403, 404];

/**
 * A command (api.md "Commands"): its summary and description, `Idempotency-Key` and `If-Match`,
 * the answer `{id, streamVersion, position}` with its ETag, and the problems it can answer.
 */
export function CommandOperation(
  doc: OperationDoc & {
    status?: 200 | 201;
    /** The answer when it says more than CommandResult (e.g. the `caseId` of a report). */
    result?: z.ZodObject;
  },
): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: doc.summary, description: doc.description }),
    ApiHeader(IDEMPOTENCY_KEY_HEADER),
    ApiHeader(IF_MATCH_HEADER),
    ApiResponse({
      status: doc.status ?? 201,
      description: 'Done: the id it names, the stream version written and the global position of its last event.',
      headers: { ETag: ETAG_HEADER, 'Idempotent-Replayed': REPLAYED_HEADER },
      content: { 'application/json': { schema: openApiSchema(doc.result ?? CommandResultSchema) } },
    }),
    ProblemResponses(...problemList(doc.defaultProblems ?? COMMAND_PROBLEMS, doc.problems)),
  );
}

/**
 * A `multipart/form-data` request body: the `file` part (the document's bytes, any name; its media
 * type is read from the content) and the text fields of `fields`, all required unless optional there.
 */
export function MultipartBody(fields: z.ZodObject, file: string): MethodDecorator {
  const schema = openApiSchema(fields);
  return applyDecorators(
    ApiConsumes('multipart/form-data'),
    ApiBody({
      required: true,
      schema: {
        type: 'object',
        required: ['file', ...(schema.required ?? [])],
        properties: { file: { type: 'string', format: 'binary', description: file }, ...(schema.properties ?? {}) },
      },
    }),
  );
}

/**
 * A read: summary, description, the answer's media types and the problems it can answer.
 * `content` names each media type with its schema (default: JSON, any object).
 */
export function ReadOperation(
  doc: OperationDoc & {
    response: string;
    content?: Record<string, { schema: SchemaObject; example?: unknown }>;
    headers?: Record<string, HeaderObject>;
  },
): MethodDecorator {
  return applyDecorators(
    ApiOperation({ summary: doc.summary, description: doc.description }),
    ApiResponse({
      status: 200,
      description: doc.response,
      content: doc.content ?? { 'application/json': { schema: { type: 'object' } } },
      ...(doc.headers ? { headers: doc.headers } : {}),
    }),
    ProblemResponses(...problemList(doc.defaultProblems ?? READ_PROBLEMS, doc.problems)),
  );
}

/** Where ValidQuery leaves its schema on the handler, so a test can hold the document to what handlers read. */
export const QUERY_SCHEMA_KEY = 'http:query-schema';

/** The query string of a request parsed by `schema`, or 400 naming each offending parameter. */
export function parseQuery<S extends z.ZodType>(schema: S, query: unknown): z.output<S> {
  const parsed = schema.safeParse(query);
  if (!parsed.success)
    throw new ProblemException(400, 'VALIDATION_FAILED', 'invalid query parameters', { errors: fieldErrors(parsed.error, 'query') });
  return parsed.data;
}

// The schema travels wrapped: Nest takes a decorator argument with a `transform` method (as zod schemas have) for a pipe.
const QueryOf = createParamDecorator((data: { schema: z.ZodType }, context: ExecutionContext) =>
  parseQuery(data.schema, context.switchToHttp().getRequest<Request>().query),
);

/** Each property of an object schema as an OpenAPI query parameter. */
function queryParameters(schema: z.ZodType): ParameterObject[] {
  const json = openApiSchema(schema);
  const required = new Set(json.required ?? []);
  return Object.entries(json.properties ?? {}).map(([name, property]) => {
    const { description, ...rest } = property as SchemaObject;
    return {
      name,
      in: 'query',
      required: required.has(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/**
 * Parameter decorator: the request's query string parsed by `schema` (400 `VALIDATION_FAILED`
 * with `errors[]` otherwise), and each of its fields documented as a query parameter of the operation.
 */
export function ValidQuery(schema: z.ZodObject): ParameterDecorator {
  const param = QueryOf({ schema });
  const documented = applyDecorators(
    ...queryParameters(schema).map(({ name, required, description, schema: parameterSchema }) =>
      ApiQuery({ name, required: required ?? false, ...(description ? { description } : {}), schema: parameterSchema as SchemaObject }),
    ),
  );
  return (target, key, index) => {
    param(target, key, index);
    if (key === undefined) return;
    const descriptor = Object.getOwnPropertyDescriptor(target, key);
    if (!descriptor) return;
    documented(target, key, descriptor);
    Reflect.defineMetadata(QUERY_SCHEMA_KEY, schema, descriptor.value as object);
  };
}

/** Path parameters of the API: every one is an id (IdParamPipe); what each names, with an example that the examples of bodies share. */
const PATH_PARAMETERS: Record<string, { description: string; example: string }> = {
  t: { description: 'Trial id.', example: 'PAD-DCB-01' },
  p: { description: 'Patient id.', example: 'P001' },
  e: { description: 'Adverse event id.', example: 'AE001' },
  c: { description: 'CEC case id: the id of the adverse event that opened it.', example: 'AE001' },
  q: { description: 'Query id (a CEC question to the site).', example: 'Q001' },
  endpointId: { description: "Endpoint id of the charter in force, e.g. one of the default charter's.", example: 'freedom-from-cd-tvr' },
};

/**
 * Completes a generated document: the shared ProblemDetails schema, and each path parameter
 * described with the id pattern IdParamPipe enforces.
 */
export function completeApiDocument(document: OpenAPIObject): OpenAPIObject {
  const idSchema = openApiSchema(Id);
  for (const item of Object.values(document.paths)) {
    for (const operation of [item.get, item.put, item.post, item.delete, item.patch]) {
      for (const parameter of (operation?.parameters ?? []) as ParameterObject[]) {
        const known = parameter.in === 'path' ? PATH_PARAMETERS[parameter.name] : undefined;
        if (!known) continue;
        parameter.description ??= known.description;
        parameter.schema = idSchema;
        parameter.example = known.example;
      }
    }
  }
  return {
    ...document,
    components: {
      ...document.components,
      schemas: { ...document.components?.schemas, ProblemDetails: openApiSchema(ProblemDetailsSchema) },
    },
  };
}
