/**
 * The identity model shared by the mapper, the change preview and the RBAC checks. Plain data, so
 * plan output and drift reports can embed it and tests can compare it structurally.
 */

/**
 * An EKS OIDC identity provider config in the API's camelCase (the `--oidc-*` kube-apiserver flags
 * EKS sets from it). Use `oidcFromTerraform` for Terraform JSON's snake_case `oidc` block.
 */
export type OidcConfig = {
  issuerUrl: string;
  clientId: string;
  usernameClaim?: string;
  usernamePrefix?: string;
  groupsClaim?: string;
  groupsPrefix?: string;
  requiredClaims?: Record<string, string>;
};

/** A synthetic person whose claims are mapped under a config (never real data). */
export type SampleIdentity = {
  name: string;
  claims: Record<string, unknown>;
};

/** An RBAC binding expected on the cluster; subjects are Kubernetes usernames and group names. */
export type RbacBinding = {
  role: string;
  kind?: 'ClusterRole' | 'Role';
  namespace?: string;
  users?: string[];
  groups?: string[];
};

/** Why kube-apiserver refuses a token, as a stable code for callers and the human text beside it. */
export type RejectionCode =
  | 'issuer-mismatch'
  | 'malformed-token'
  | 'audience-mismatch'
  | 'expired'
  | 'not-yet-valid'
  | 'invalid-time-claim'
  | 'standard-claim-invalid'
  | 'unsupported-algorithm'
  | 'distributed-claims-invalid'
  | 'username-claim-missing'
  | 'username-claim-invalid'
  | 'email-not-verified'
  | 'email-verified-invalid'
  | 'groups-claim-invalid'
  | 'required-claim-missing'
  | 'required-claim-invalid'
  | 'required-claim-mismatch';

export type MappingAccepted = {
  accepted: true;
  username: string;
  groups: string[];
  /** Accepted, but worth a look (e.g. no groups claim in the token). */
  warnings: string[];
};

export type MappingRejected = {
  accepted: false;
  code: RejectionCode;
  /** Short and human, e.g. `required claim hd=example.com missing`. */
  reason: string;
};

/**
 * Neither accepted nor rejected offline: the groups claim is distributed (OIDC Core 5.6.2), and
 * kube-apiserver fetches it from the endpoint the token names when it authenticates. Callers that
 * only ask "accepted?" see `accepted: false`; `undetermined` tells it apart from a refusal.
 */
export type MappingUndetermined = {
  accepted: false;
  undetermined: true;
  /** distributed-claim: fetched over the network; header-unchecked: a JOSE header member go-jose parses and eksidp does not. */
  code: 'distributed-claim' | 'header-unchecked';
  /** e.g. `groups claim groups is distributed: kube-apiserver fetches it from https://...; cannot be known offline`. */
  reason: string;
};

export type MappingResult = MappingAccepted | MappingRejected | MappingUndetermined;

export type MapOptions = {
  /** Clock for `exp`/`nbf` (default: now). */
  now?: Date;
  /**
   * Judge the claims exactly as a real token's (absent `iss`, `aud` or `exp` rejects). Off by default:
   * a claims sketch (a sample identity, `whoami --claims`) is taken as a fresh token from the config's
   * issuer for its client, so absent `iss`, `aud`, `exp` and `iat` are filled in (see `filledClaims`).
   */
  requireTokenClaims?: boolean;
  /**
   * The token's JOSE header, for a real token: go-jose parses it before any claim is checked, and
   * go-oidc then accepts only RS256 (EKS sets no --oidc-signing-algs). A claims sketch has none.
   */
  header?: Record<string, unknown>;
};

/** One sample identity before and after a config change. `null` means no config on that side. */
export type IdentityChange = {
  name: string;
  before: MappingResult | null;
  after: MappingResult | null;
  /** Username, groups or acceptance differ. */
  changed: boolean;
  /** Could log in before (accepted) and cannot after (rejected, or the config is removed). */
  rejected: boolean;
  /** Accepted on both sides, had at least one group before and has none after. */
  losesAllGroups: boolean;
  /** Groups held before and not after (empty when rejected after: see `rejected`). */
  lostGroups: string[];
  gainedGroups: string[];
};

export type FindingSeverity = 'error' | 'warning' | 'info';

export type FindingCode =
  | 'user-prefix-missing'
  | 'group-prefix-missing'
  | 'old-user-prefix'
  | 'old-group-prefix'
  | 'groups-claim-unset'
  | 'identity-rejected'
  | 'identity-loses-role'
  | 'identity-unbound';

/** One RBAC consistency problem; `binding` is a label like `ClusterRole/cluster-admin`. */
export type Finding = {
  severity: FindingSeverity;
  code: FindingCode;
  message: string;
  binding?: string;
  subject?: string;
  identity?: string;
};
