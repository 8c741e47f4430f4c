// Typed errors carrying Docker's status codes. Every layer throws these; the
// API layer renders them once as {"message": "..."}.

export class DockerError extends Error {
  readonly statusCode: number;
  constructor(message: string, statusCode = 500) {
    super(message);
    this.name = new.target.name;
    this.statusCode = statusCode;
  }
}

/** 400: malformed request, invalid expression, bad parameter. */
export class BadRequestError extends DockerError {
  constructor(message: string) { super(message, 400); }
}

/** 404: unknown container, image, route. */
export class NotFoundError extends DockerError {
  constructor(message: string) { super(message, 404); }
}

/** 409: name conflicts and state conflicts. */
export class ConflictError extends DockerError {
  constructor(message: string) { super(message, 409); }
}

/** 500 from the scheduler: no node satisfies the request. */
export class SchedulingError extends DockerError {
  constructor(message: string) { super(message, 500); }
}

/** 500: an engine could not be reached; the message names the node. */
export class EngineUnavailableError extends DockerError {
  constructor(message: string) { super(message, 500); }
}

/** 401: no client certificate, or one the access policy revoked. */
export class UnauthorizedError extends DockerError {
  constructor(message: string) { super(message, 401); }
}

/** 403: the caller sees the object but its level is too low (access control, issue 17). */
export class ForbiddenError extends DockerError {
  constructor(message: string) { super(message, 403); }
}
