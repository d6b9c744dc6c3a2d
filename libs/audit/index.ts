export { AuditTrail, licenceSummary, MAX_LISTED, type AuditTrailOptions } from './audit-trail.js';
export { checkAuditFileWritable, DEFAULT_AUDIT_DESTINATION, parseAuditDestination, type AuditDestination } from './audit-destination.js';
export {
  AUDIT_KINDS,
  type AccountSubscriptionRecord,
  type AdminActionRecord,
  type FleetActionRecord,
  type AuditConnection,
  type AuditKind,
  type AuditOutcome,
  type AuthRefreshRecord,
  type DeadmanArmedRecord,
  type DeadmanDisarmedRecord,
  type DeadmanFiredRecord,
  type DeadmanSubject,
  type DisconnectRecord,
  type HandshakeRecord,
  type LicenceAppliedRecord,
  type LicenceChangedRecord,
  type LicenceSummary,
  type OrderCommandName,
  type OrderCommandRecord,
  type RequestRecord,
} from './audit-records.js';
export { adminParams, answeredAccounts, answerSummary, ORDER_COMMAND_EVENTS, orderAnswerFields, orderCommandFields, requestedAccounts, type AnswerSummary } from './request-records.js';
