/**
 * Just enough JWS for Entra: sign RS256 tokens, decode compact JWTs, and verify RS256 / PS256
 * signatures (msal-node signs client assertions with PS256 when it is given a SHA-256 thumbprint).
 */
import { constants, createSign, createVerify, type KeyObject } from 'node:crypto';

export type JsonObject = { [key: string]: unknown };

export interface DecodedJwt {
  header: JsonObject;
  payload: JsonObject;
  signingInput: string;
  signature: Buffer;
}

export function base64url(data: string | Buffer): string {
  return Buffer.from(data).toString('base64url');
}

export function signJwt(header: JsonObject, payload: JsonObject, key: KeyObject): string {
  const signingInput = `${base64url(JSON.stringify({ ...header, alg: 'RS256', typ: 'JWT' }))}.${base64url(JSON.stringify(payload))}`;
  const signature = createSign('RSA-SHA256').update(signingInput).sign(key);
  return `${signingInput}.${signature.toString('base64url')}`;
}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Decodes without verifying; null if it is not a well-formed compact JWS. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [h, p, s] = parts as [string, string, string];
  if (!/^[A-Za-z0-9_-]+$/.test(h) || !/^[A-Za-z0-9_-]+$/.test(p) || !/^[A-Za-z0-9_-]*$/.test(s)) return null;
  try {
    const header: unknown = JSON.parse(Buffer.from(h, 'base64url').toString('utf8'));
    const payload: unknown = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    if (!isObject(header) || !isObject(payload)) return null;
    return { header, payload, signingInput: `${h}.${p}`, signature: Buffer.from(s, 'base64url') };
  } catch {
    return null;
  }
}

export function verifyJwtSignature(jwt: DecodedJwt, key: KeyObject): boolean {
  const alg = jwt.header.alg;
  try {
    if (alg === 'RS256') {
      return createVerify('RSA-SHA256').update(jwt.signingInput).verify(key, jwt.signature);
    }
    if (alg === 'PS256') {
      return createVerify('RSA-SHA256')
        .update(jwt.signingInput)
        .verify(
          { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO },
          jwt.signature,
        );
    }
  } catch {
    return false;
  }
  return false;
}
