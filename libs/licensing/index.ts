export { DEMO_LICENCE, NO_LICENCE } from './default-licences.js';
export {
  checkMarketDataEntitlement,
  entitlementsOf,
  exchangeAccess,
  hasFeature,
  isLicenceExpired,
  type EntitlementRefusal,
} from './entitlements.js';
export { LicenceResolver, type LicenceHolder } from './licence-resolver.js';
