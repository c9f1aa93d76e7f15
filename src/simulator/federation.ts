/**
 * Workload identity federation, simulated: an "external identity provider" (what a Kubernetes cluster's
 * OIDC issuer or a CI system is) that mints identity tokens, and the check Entra ID makes when such a token
 * arrives as `client_assertion`: a federated credential on the app must match its issuer, subject and
 * audience (case-sensitive), the issuer's key must verify the signature, and the token must be within its
 * lifetime. Refusals carry the AADSTS codes and wording the real service uses:
 *   70021   no federated credential at all matches (issuer, subject and audience quoted)
 *   700211  no credential with the token's issuer
 *   700213  a credential with that issuer, but not that subject (7002138: only a case-insensitive match)
 *   700212  issuer and subject match, but no credential accepts the token's audience
 *   7000272 the signing key is not among the issuer's published keys
 *   7000274 the signature does not verify
 *   700024  not within its valid time range
 * Validation and minting are pure (the clock is an argument). The tenant's state (`startFederation`, used
 * by index.ts; the token endpoint in entra.ts calls `judgeFederatedAssertion`) writes the token file the way
 * a platform does: a whole new file, never a half-written one.
 */
import { createHash, generateKeyPairSync, type KeyObject, randomUUID } from 'node:crypto';
import { chmod, rename, writeFile } from 'node:fs/promises';
import { type DecodedJwt, signJwt, verifyJwtSignature } from './jwt.js';

export const FEDERATION_AUDIENCE = 'api://AzureADTokenExchange';
/** What an AKS service account `o365-message-trace` in namespace `security` presents. */
export const DEFAULT_FEDERATED_SUBJECT = 'system:serviceaccount:security:o365-message-trace';
/** Path of the simulated issuer below the simulator's origin. */
export const FEDERATION_ISSUER_PATH = '/federation';
/** Lifetime of a minted token (AKS projects service account tokens for one hour by default). */
export const DEFAULT_FEDERATED_TOKEN_LIFETIME_S = 3600;
const CLOCK_SKEW_S = 300;
const DOCS = 'https://learn.microsoft.com/entra/workload-id/workload-identity-federation';

/** A federated identity credential on the app registration (Certificates & secrets > Federated credentials). */
export interface FederatedCredential {
  name: string;
  issuer: string;
  subject: string;
  audiences: string[];
}

/** The external identity provider: its issuer URL and the key pair it signs tokens with. */
export interface ExternalIdp {
  issuer: string;
  keyId: string;
  signingKey: KeyObject;
  verifyKey: KeyObject;
}

function keyIdOf(publicKey: KeyObject): string {
  return createHash('sha256').update(publicKey.export({ type: 'spki', format: 'der' })).digest('base64url').slice(0, 43);
}

/** A new issuer with its own RSA key; `issuer` is e.g. `https://127.0.0.1:PORT/federation`. */
export function createExternalIdp(issuer: string): ExternalIdp {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { issuer, keyId: keyIdOf(publicKey), signingKey: privateKey, verifyKey: publicKey };
}

/** The credential an administrator would add for the default workload of `idp`. */
export function defaultFederatedCredential(idp: ExternalIdp): FederatedCredential {
  return {
    name: 'o365-message-trace-aks',
    issuer: idp.issuer,
    subject: DEFAULT_FEDERATED_SUBJECT,
    audiences: [FEDERATION_AUDIENCE],
  };
}

export interface MintOptions {
  nowMs: number;
  subject?: string;
  /** One audience or several (a JWT `aud` may be an array). */
  audience?: string | string[];
  /** Claim a different issuer than the IdP's (to test a mismatch). */
  issuer?: string;
  /** Seconds from now to `exp`; negative for a token that has already expired. */
  lifetimeSeconds?: number;
  /** Sign with another key than the IdP's, under the IdP's key id (a forged or tampered token). */
  signWith?: KeyObject;
  /** Key id to put in the header (default the IdP's). */
  keyId?: string;
}

/** An identity token as the platform would issue it: RS256, `iss`/`sub`/`aud`/`iat`/`nbf`/`exp`/`jti`. */
export function mintFederatedToken(idp: ExternalIdp, options: MintOptions): string {
  const nowS = Math.floor(options.nowMs / 1000);
  const lifetime = options.lifetimeSeconds ?? DEFAULT_FEDERATED_TOKEN_LIFETIME_S;
  const subject = options.subject ?? DEFAULT_FEDERATED_SUBJECT;
  const issuedAt = lifetime > 0 ? nowS : nowS + lifetime - 3600;
  const payload: Record<string, unknown> = {
    aud: options.audience ?? [FEDERATION_AUDIENCE],
    iss: options.issuer ?? idp.issuer,
    sub: subject,
    iat: issuedAt,
    nbf: issuedAt,
    exp: nowS + lifetime,
    jti: randomUUID(),
  };
  const serviceAccount = /^system:serviceaccount:([^:]+):([^:]+)$/.exec(subject);
  if (serviceAccount) {
    payload['kubernetes.io'] = { namespace: serviceAccount[1], serviceaccount: { name: serviceAccount[2] } };
  }
  return signJwt({ kid: options.keyId ?? idp.keyId }, payload, options.signWith ?? idp.signingKey);
}

/**
 * Both certificate assertions and federated tokens arrive as `client_assertion`. A certificate assertion is
 * the app speaking for itself (RFC 7523: `iss` and `sub` are the client ID; one of them wrong is that
 * assertion's own error, AADSTS700021); a token whose issuer and subject are someone else is federated.
 * The header cannot tell them apart: GitHub's OIDC tokens carry `x5t` like a certificate assertion.
 */
export function isFederatedAssertion(jwt: DecodedJwt, clientId: string): boolean {
  const self = (claim: unknown) => typeof claim === 'string' && claim.toLowerCase() === clientId.toLowerCase();
  return !self(jwt.payload.iss) && !self(jwt.payload.sub);
}

export interface FederationRefusal {
  ok: false;
  status: number;
  error: string;
  code: number;
  text: string;
}

export type FederationVerdict = { ok: true; credential: FederatedCredential } | FederationRefusal;

export interface FederationCheck {
  /** The issuer whose keys the simulated Entra can fetch (only the simulator's own IdP; null: none). */
  idp: ExternalIdp | null;
  credentials: readonly FederatedCredential[];
  nowMs: number;
}

const refuse = (status: number, error: string, code: number, text: string): FederationRefusal => ({
  ok: false,
  status,
  error,
  code,
  text,
});

function audiencesOf(jwt: DecodedJwt): string[] {
  const aud = jwt.payload.aud;
  return (Array.isArray(aud) ? aud : [aud]).filter((a): a is string => typeof a === 'string');
}

/** Entra ID's check of a federated client assertion. */
export function checkFederatedAssertion(jwt: DecodedJwt, check: FederationCheck): FederationVerdict {
  const p = jwt.payload;
  const issuer = typeof p.iss === 'string' ? p.iss : '';
  const subject = typeof p.sub === 'string' ? p.sub : '';
  const audiences = audiencesOf(jwt);

  if (check.credentials.length === 0) {
    return refuse(
      400,
      'invalid_request',
      70021,
      `No matching federated identity record found for presented assertion. Assertion Issuer: '${issuer}'. Assertion Subject: '${subject}'. Assertion Audience: '${audiences.join(',')}'. ${DOCS}`,
    );
  }
  const sameIssuer = check.credentials.filter((c) => c.issuer === issuer);
  if (sameIssuer.length === 0) {
    return refuse(
      401,
      'invalid_client',
      700211,
      `No matching federated identity record found for presented assertion issuer '${issuer}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOCS}`,
    );
  }
  const sameSubject = sameIssuer.filter((c) => c.subject === subject);
  if (sameSubject.length === 0) {
    const caseOnly = sameIssuer.some((c) => c.subject.toLowerCase() === subject.toLowerCase());
    return refuse(
      401,
      'invalid_client',
      caseOnly ? 7002138 : 700213,
      `No matching federated identity record found for presented assertion subject '${subject}'.${caseOnly ? ' The subject matches with case-insensitive comparison, but not with case-sensitive comparison.' : ''} Check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOCS}`,
    );
  }
  const credential = sameSubject.find((c) => c.audiences.some((a) => audiences.includes(a)));
  if (credential === undefined) {
    return refuse(
      401,
      'invalid_client',
      700212,
      `No matching federated identity record found for presented assertion audience '${audiences.join(',')}'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. ${DOCS}`,
    );
  }

  // Entra fetches the issuer's published keys; only the simulator's own IdP publishes any here.
  const keyId = typeof jwt.header.kid === 'string' ? jwt.header.kid : '';
  const idp = check.idp;
  if (idp === null || issuer !== idp.issuer || keyId !== idp.keyId) {
    return refuse(
      401,
      'invalid_client',
      7000272,
      `The certificate with identifier ${keyId || '(none)'} used to sign the federated credential could not be found in the metadata of identity provider ${issuer}. Please validate that your Identity Provider's metadata exposes the key used to sign the incoming token.`,
    );
  }
  if (jwt.header.alg !== 'RS256' || !verifyJwtSignature(jwt, idp.verifyKey)) {
    return refuse(
      401,
      'invalid_client',
      7000274,
      `The signature of the presented federated credential could not be validated with the key ${keyId} of identity provider ${issuer}.`,
    );
  }

  const nowS = Math.floor(check.nowMs / 1000);
  const exp = typeof p.exp === 'number' ? p.exp : null;
  const nbf = typeof p.nbf === 'number' ? p.nbf : null;
  if (exp === null || nowS > exp + CLOCK_SKEW_S || (nbf !== null && nowS + CLOCK_SKEW_S < nbf)) {
    return refuse(
      401,
      'invalid_client',
      700024,
      `Client assertion is not within its valid time range. Current time: ${new Date(nowS * 1000).toISOString()}, assertion valid from ${nbf === null ? 'unknown' : new Date(nbf * 1000).toISOString()}, expiry time of assertion ${exp === null ? 'unknown' : new Date(exp * 1000).toISOString()}. Review the documentation at ${DOCS}.`,
    );
  }
  return { ok: true, credential };
}

// --- The tenant's federation state ----------------------------------------------------------------

/** What the simulated Entra knows: the external IdP, the app's federated credentials, and counters. */
export interface FederationSetup {
  idp: ExternalIdp;
  credentials: FederatedCredential[];
  accepted: number;
  refused: number;
}

/** Checks an assertion against the setup and counts the outcome. */
export function judgeFederatedAssertion(setup: FederationSetup | null, jwt: DecodedJwt, nowMs: number): FederationVerdict {
  const verdict = checkFederatedAssertion(jwt, { idp: setup?.idp ?? null, credentials: setup?.credentials ?? [], nowMs });
  if (setup) {
    if (verdict.ok) setup.accepted++;
    else setup.refused++;
  }
  return verdict;
}

/** How the next token written to the file differs from what the platform normally issues (for tests). */
export interface FederatedTokenOptions {
  subject?: string;
  audience?: string | string[];
  issuer?: string;
  /** Seconds until `exp`; negative writes a token that has already expired. Default 3600. */
  lifetimeSeconds?: number;
  /** Sign with a key the issuer does not publish under its key id (AADSTS7000274). */
  forgedSignature?: boolean;
}

/** What the simulated tenant offers for workload identity federation (part of SimulatedTenant). */
export interface SimulatedFederation {
  /** The file the "platform" writes its identity token to: point federated_token_file (or AZURE_FEDERATED_TOKEN_FILE) here. */
  federatedTokenPath: string;
  /** The external IdP's issuer URL, e.g. https://127.0.0.1:PORT/federation. */
  federatedIssuer: string;
  /** The subject the default token and federated credential use. */
  federatedSubject: string;
  /** Writes a new identity token to the file, as the platform does before the old one expires. */
  rotateFederatedToken(options?: FederatedTokenOptions): Promise<void>;
  /**
   * Changes the app's federated credential: fields given replace the default ones (issuer, subject,
   * audiences); `null` removes every federated credential (AADSTS70021); `{}` restores the default.
   */
  configureFederatedCredential(patch: Partial<Omit<FederatedCredential, 'name'>> | null): void;
  /** Federated assertions the token endpoint accepted and refused so far. */
  federationStats(): { accepted: number; refused: number };
}

/**
 * Sets up the external IdP for `origin`, a default federated credential on the app, and the first token
 * in `tokenPath`. Returns the state for the token endpoint and the methods for the tenant's handle.
 */
export async function startFederation(options: {
  origin: string;
  tokenPath: string;
  clock: () => number;
}): Promise<{ setup: FederationSetup; api: SimulatedFederation }> {
  const idp = createExternalIdp(`${options.origin}${FEDERATION_ISSUER_PATH}`);
  const setup: FederationSetup = { idp, credentials: [defaultFederatedCredential(idp)], accepted: 0, refused: 0 };
  let forgingKey: KeyObject | undefined;
  const api: SimulatedFederation = {
    federatedTokenPath: options.tokenPath,
    federatedIssuer: idp.issuer,
    federatedSubject: DEFAULT_FEDERATED_SUBJECT,
    async rotateFederatedToken(token: FederatedTokenOptions = {}) {
      if (token.forgedSignature) forgingKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
      const minted = mintFederatedToken(idp, {
        nowMs: options.clock(),
        ...(token.subject !== undefined ? { subject: token.subject } : {}),
        ...(token.audience !== undefined ? { audience: token.audience } : {}),
        ...(token.issuer !== undefined ? { issuer: token.issuer } : {}),
        ...(token.lifetimeSeconds !== undefined ? { lifetimeSeconds: token.lifetimeSeconds } : {}),
        ...(token.forgedSignature && forgingKey ? { signWith: forgingKey } : {}),
      });
      await writeFederatedTokenFile(options.tokenPath, minted);
    },
    configureFederatedCredential(patch) {
      if (patch === null) {
        setup.credentials = [];
        return;
      }
      const base = defaultFederatedCredential(idp);
      setup.credentials = [
        {
          name: base.name,
          issuer: patch.issuer ?? base.issuer,
          subject: patch.subject ?? base.subject,
          audiences: patch.audiences ? [...patch.audiences] : base.audiences,
        },
      ];
    },
    federationStats: () => ({ accepted: setup.accepted, refused: setup.refused }),
  };
  await api.rotateFederatedToken();
  return { setup, api };
}

// --- I/O: the token file ---------------------------------------------------------------------------

/**
 * Replaces the token file as a platform does: the new token goes to a temporary file that is renamed over
 * the old one, so a reader sees the old token or the new one, never a mix. Mode 0600.
 */
export async function writeFederatedTokenFile(path: string, token: string): Promise<void> {
  const temporary = `${path}.${process.pid}.${randomUUID()}.tmp`;
  await writeFile(temporary, token, { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, path);
}
