import { applyDecorators, UseGuards } from '@nestjs/common';
import { Roles, RolesGuard } from '#libs/auth';
import { RequiresEntitlement } from '#libs/licensing';

/**
 * An order command: the licence must be live and hold the `trading` feature (NOT_ENTITLED), then the user must hold
 * the `trader` role (FORBIDDEN). Guards run in the order they are applied here, and before the payload is validated;
 * the account is checked by the service, on the validated payload.
 */
export function TradingCommand() {
  return applyDecorators(RequiresEntitlement('trading'), Roles('trader'), UseGuards(RolesGuard));
}
