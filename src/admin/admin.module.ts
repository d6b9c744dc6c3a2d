import { Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { GatewayRuntimeModule } from '../realtime/gateway-runtime.module.js';
import { AdminController } from './admin.controller.js';

/** Operator endpoints (`/admin`, passport `jwt` and the admin role): live connections and usage. */
@Module({
  imports: [AuthModule, GatewayRuntimeModule],
  controllers: [AdminController],
})
export class AdminModule {}
