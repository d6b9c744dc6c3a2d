import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { GatewayError } from '#libs/contracts';

function describe(errors: ValidationError[], parent = ''): { field: string; problems: string[] }[] {
  return errors.flatMap((error) => {
    const field = parent ? `${parent}.${error.property}` : error.property;
    const own = error.constraints ? [{ field, problems: Object.values(error.constraints) }] : [];
    return [...own, ...describe(error.children ?? [], field)];
  });
}

/** class-validator on every client request; a bad one is refused with INVALID_REQUEST naming each bad field. */
export function createRequestValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    transform: true,
    whitelist: true,
    forbidNonWhitelisted: true,
    forbidUnknownValues: true,
    validationError: { target: false, value: false },
    exceptionFactory: (errors: ValidationError[]) => {
      const fields = describe(errors);
      const message = fields.length > 0 ? fields.map((f) => `${f.field || 'payload'}: ${f.problems.join(', ')}`).join('; ') : 'payload must be an object';
      return new GatewayError('INVALID_REQUEST', message, { details: { fields } });
    },
  });
}
