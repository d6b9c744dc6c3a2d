export { DEMO_LICENCE, NO_LICENCE, REVOKED_LICENCE } from './default-licences.js';
export {
  checkMarketDataEntitlement,
  entitlementsOf,
  exchangeAccess,
  hasFeature,
  isLicenceExpired,
  licenceUnusable,
  requirementRefusal,
  sameLicence,
  type EntitlementRefusal,
} from './entitlements.js';
export { LicenceResolver, type LicenceChange, type LicenceChangeSource, type LicenceHolder } from './licence-resolver.js';
export {
  parseRegistryDocument,
  parseRegistryEntry,
  redisLicenceKey,
  REDIS_LICENCE_CHANNEL,
  type LicenceRegistry,
  type LicenceScope,
  type LicenceScopeKind,
} from './licence-registry.js';
export { FileLicenceRegistry } from './file-licence-registry.js';
export { RedisLicenceRegistry, writeRegistryEntry } from './redis-licence-registry.js';
export { LicenceGuard, RequiresEntitlement, ENTITLEMENT_METADATA } from './licence.guard.js';
export { SeatLedger, type SeatHolder, type SeatLedgerOptions } from './seat-ledger.js';
export { MemorySeatStore } from './memory-seat-store.js';
export { RedisSeatStore } from './redis-seat-store.js';
export { FailoverSeatStore, SeatStoreUnavailableError, type FailoverSeatStoreOptions, type SeatsOnStoreFailure, type SharedSeatStore } from './failover-seat-store.js';
export type { Seat, SeatClaim, SeatStore } from './seat-store.js';
export { validateLicenceChanged, type LicenceChangeCommand } from '#libs/contracts';
export {
  ComplianceFileError,
  ComplianceScreen,
  COMPLIANCE_REASONS,
  DEFAULT_COMPLIANCE_BOARD,
  isComplianceRefusal,
  normalizeBoard,
  parseComplianceScreen,
  validateScreenChange,
  type BoardVerdict,
  type ComplianceGapReason,
  type ComplianceReason,
  type ComplianceRefusal,
  type ComplianceScreenEvent,
  type ComplianceScreenOptions,
  type ComplianceStatus,
  type ScreenChangeSource,
  type ScreenData,
  type ScreenLogger,
  type ValidScreenChange,
} from './compliance-screen.js';
