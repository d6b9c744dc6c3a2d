import { plainToInstance, type ClassConstructor } from 'class-transformer';
import { validateSync } from 'class-validator';
import { GatewayError } from '#libs/contracts';

/**
 * A request body read into its DTO and checked, as the HTTP pipe checks it: for bodies that arrive over the fleet's
 * Redis channel, which every replica checks again rather than trusting the sender. Throws INVALID_REQUEST naming each
 * bad field.
 */
export function checkedBody<T extends object>(type: ClassConstructor<T>, body: unknown): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('INVALID_REQUEST', 'body must be an object');
  const value = plainToInstance(type, body);
  const errors = validateSync(value, { whitelist: true, forbidNonWhitelisted: true, forbidUnknownValues: true, validationError: { target: false, value: false } });
  if (errors.length > 0) {
    const message = errors.map((error) => `${error.property}: ${Object.values(error.constraints ?? {}).join(', ')}`).join('; ');
    throw new GatewayError('INVALID_REQUEST', message);
  }
  return value;
}
