/** The catalog simulator: a loopback stand-in for the retired AI Gallery Catalog API. */
export {
  CatalogSimulator,
  DEFAULT_HOST,
  DEFAULT_TOKEN_LIFETIME_SECONDS,
  DEFAULT_TOP,
  DEFAULT_WRAP_RATE,
  startCatalogSimulator,
  type CatalogSimulatorOptions,
  type CatalogSimulatorStats,
  type IssueTokenOptions,
  type RequestLogEntry,
} from './CatalogSimulator';
export {
  authorIdFromEmail,
  cloneCatalogData,
  DEFAULT_UNLISTED_RATIO,
  ENTITY_TYPES,
  formatCatalogNumber,
  formatCatalogTimestamp,
  GALLERY_COMMUNITY_ID,
  GALLERY_TENANT_ID,
  generateCatalogData,
  generateEntity,
  serializeCatalogJson,
  type CatalogData,
  type GenerateCatalogDataOptions,
  type GeneratedAuthorSpec,
  type GenerateEntityOptions,
  type SimAuthor,
  type SimEntity,
} from './catalogData';
export {
  createDemoCatalog,
  DEFAULT_DEMO_SEED,
  DEMO_AUTHORS,
  DEMO_UNKNOWN_AUTHOR_ID,
  type DemoAuthor,
  type DemoAuthorKind,
} from './demoData';
export {
  DEFAULT_CHURN_INSERT_RATIO,
  DEFAULT_FAULT_SEED,
  DEFAULT_MAX_TOP,
  DEFAULT_RETRY_AFTER_SECONDS,
  DEFAULT_SERVER_ERROR_STATUSES,
  type CatalogFaults,
  type CatalogFaultSettings,
  type ChurnOptions,
  type FaultKind,
} from './faults';
export { signJwt, TOKEN_ISSUER, verifyJwt, type CatalogTokenClaims, type TokenVerification } from './jwt';
export {
  evaluateFilter,
  ODataFilterError,
  parseFilter,
  requiredEqualities,
  type FilterNode,
} from './odataFilter';
export { SeededRandom } from './random';
