import { IsInt, IsOptional, IsString, Matches, ValidateBy, type ValidationOptions } from 'class-validator';
import { DEADMAN_MAX_TIMEOUT_MS, DEADMAN_MIN_TIMEOUT_MS, DEADMAN_SWITCH_ID_PATTERN } from '#libs/contracts';

const TIMEOUT_MESSAGE = `timeoutMs must be 0 (disarm) or from ${DEADMAN_MIN_TIMEOUT_MS} to ${DEADMAN_MAX_TIMEOUT_MS}`;

/** 0, or a timeout within the contract's bounds (docs/protocol.md §6.6). */
function IsDeadmanTimeout(options?: ValidationOptions): PropertyDecorator {
  return ValidateBy(
    {
      name: 'isDeadmanTimeout',
      validator: { validate: (value: unknown) => value === 0 || (typeof value === 'number' && value >= DEADMAN_MIN_TIMEOUT_MS && value <= DEADMAN_MAX_TIMEOUT_MS) },
    },
    options,
  );
}

/** `order:deadman`. */
export class OrderDeadmanDto {
  @IsInt({ message: TIMEOUT_MESSAGE })
  @IsDeadmanTimeout({ message: TIMEOUT_MESSAGE })
  timeoutMs!: number;

  @IsOptional()
  @IsString()
  @Matches(DEADMAN_SWITCH_ID_PATTERN, { message: 'switchId must be 8-64 letters, digits, "_" or "-"' })
  switchId?: string;
}
