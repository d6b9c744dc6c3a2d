export { hasRole, type AuthenticatedUser } from './authenticated-user.js';
export { TokenVerifier, type JwtVerificationSettings } from './token-verifier.js';
export { DEFAULT_MAX_TOKEN_LIFETIME_MS, MAX_TOKEN_BYTES, type TokenLifetimePolicy } from './token-lifetime.js';
export { JwksKeyResolver, JwksUnavailableError } from './jwks-key-resolver.js';
export { tokenFromHandshake, type HandshakeLike } from './handshake-token.js';
export { JwtStrategy } from './jwt.strategy.js';
export { CurrentUser } from './current-user.decorator.js';
export { RolesGuard, Roles, HttpAuth, ROLES_METADATA } from './roles.guard.js';
export { AccountDirectory, type AccountEntry } from './account-directory.js';
