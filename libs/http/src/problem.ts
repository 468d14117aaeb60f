/** One offending input of a validation problem. */
export interface ProblemFieldError {
  path: string;
  message: string;
}

/** RFC 9457 problem details with the stable `code` and field `errors` of api.md. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  errors?: ProblemFieldError[];
  [extension: string]: unknown;
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  412: 'Precondition Failed',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Entity',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Thrown anywhere outside the domain to answer with a problem+json response. */
export class ProblemException extends Error {
  readonly problem: ProblemDetails;
  /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
  readonly headers: Record<string, string>;

  constructor(
    status: number,
    code: string,
    detail: string,
    options: { errors?: ProblemFieldError[]; headers?: Record<string, string>; extensions?: Record<string, unknown> } = {},
  ) {
    super(detail);
    this.name = 'ProblemException';
    this.problem = {
      type: `urn:problem:${code.toLowerCase().replace(/_/g, '-')}`,
      title: TITLES[status] ?? 'Error',
      status,
      detail,
      code,
      ...(options.errors ? { errors: options.errors } : {}),
      ...(options.extensions ?? {}),
    };
    this.headers = options.headers ?? {};
  }
}

export const badRequest = (code: string, detail: string, errors?: ProblemFieldError[]) =>
  new ProblemException(400, code, detail, { errors });
export const unauthorized = (code: string, detail: string) =>
  new ProblemException(401, code, detail, { headers: { 'WWW-Authenticate': 'Bearer' } });
export const forbidden = (code: string, detail: string) => new ProblemException(403, code, detail);
export const notFound = (code: string, detail: string) => new ProblemException(404, code, detail);
export const conflict = (code: string, detail: string) => new ProblemException(409, code, detail);
export const unprocessable = (code: string, detail: string, errors?: ProblemFieldError[]) =>
  new ProblemException(422, code, detail, { errors });
