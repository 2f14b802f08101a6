/**
 * EKS errors as the restJson1 protocol carries them: the type in `x-amzn-ErrorType` and
 * `{"message": ...}` in the body. The SDK picks the exception class from the header, so the type
 * names here must be the model's shape names exactly.
 */
export const ERROR_STATUS = {
  InvalidParameterException: 400,
  InvalidRequestException: 400,
  ResourceLimitExceededException: 400,
  ClientException: 400,
  BadRequestException: 400,
  IncompleteSignatureException: 400,
  InvalidSignatureException: 403,
  UnrecognizedClientException: 403,
  ExpiredTokenException: 403,
  AccessDeniedException: 403,
  MissingAuthenticationTokenException: 403,
  SerializationException: 400,
  ResourceNotFoundException: 404,
  NotFoundException: 404,
  UnknownOperationException: 404,
  ResourceInUseException: 409,
  RequestEntityTooLargeException: 413,
  UnsupportedMediaTypeException: 415,
  ThrottlingException: 429,
  ServerException: 500,
  ServiceUnavailableException: 503,
} as const;

export type ErrorType = keyof typeof ERROR_STATUS;

export class EksError extends Error {
  readonly status: number;
  constructor(
    readonly type: ErrorType,
    message: string,
    /** Extra members of the error shape (e.g. clusterName), as AWS includes them. */
    readonly fields: Record<string, string> = {},
  ) {
    super(message);
    this.name = type;
    this.status = ERROR_STATUS[type];
  }

  body(): Record<string, string> {
    return { ...this.fields, message: this.message };
  }
}

export const invalidParameter = (message: string, clusterName?: string) =>
  new EksError('InvalidParameterException', message, clusterName ? { clusterName } : {});
export const notFound = (message: string, clusterName?: string) =>
  new EksError('ResourceNotFoundException', message, clusterName ? { clusterName } : {});
export const inUse = (message: string, clusterName?: string) =>
  new EksError('ResourceInUseException', message, clusterName ? { clusterName } : {});
