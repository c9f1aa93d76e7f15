/** The certificate credential is checked before any request; messages never contain the key. */
import { generateKeyPairSync } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareCertificate } from '../../src/auth/certificate.js';
import { IntegrationError } from '../../src/errors.js';
import { type TestCertificate, makeCertificate } from '../helpers/auth-fixtures.js';

let cert: TestCertificate;
let other: TestCertificate;
beforeAll(async () => {
  [cert, other] = await Promise.all([makeCertificate(), makeCertificate()]);
});

function keyBody(pem: string): string {
  return pem.split('\n').slice(1, -2).join('');
}

function rejected(thumbprint: string, text: string): string {
  try {
    prepareCertificate(thumbprint, text);
  } catch (error) {
    expect(error).toBeInstanceOf(IntegrationError);
    expect((error as IntegrationError).code).toBe('auth_config');
    const message = (error as IntegrationError).message;
    expect(message).not.toContain(keyBody(cert.pkcs8Pem).slice(0, 40));
    expect(message).not.toContain(keyBody(cert.pkcs1Pem).slice(0, 40));
    return message;
  }
  throw new Error('expected a rejection');
}

describe('accepted forms', () => {
  it('PKCS#8 with a SHA-1 thumbprint → thumbprint (x5t)', () => {
    const prepared = prepareCertificate(cert.sha1, cert.pkcs8Pem);
    expect(prepared.thumbprint).toBe(cert.sha1);
    expect(prepared.thumbprintSha256).toBeUndefined();
    expect(prepared.privateKeyPem).toContain('-----BEGIN PRIVATE KEY-----');
  });

  it('PKCS#1 with a SHA-256 thumbprint → thumbprintSha256 (x5t#S256)', () => {
    const prepared = prepareCertificate(cert.sha256, cert.pkcs1Pem);
    expect(prepared.thumbprintSha256).toBe(cert.sha256);
    expect(prepared.thumbprint).toBeUndefined();
  });

  it('certificate before or after the key, CRLF line ends, and a key whose lines were joined by spaces', () => {
    expect(prepareCertificate(cert.sha1, `${cert.certPem}\n${cert.pkcs8Pem}`).thumbprint).toBe(cert.sha1);
    expect(prepareCertificate(cert.sha1, `${cert.pkcs1Pem}${cert.certPem}`.replace(/\n/g, '\r\n')).thumbprint).toBe(cert.sha1);
    const joined = cert.pkcs8Pem.replace(/\n(?!-----END)/g, ' ');
    expect(prepareCertificate(cert.sha1, joined).thumbprint).toBe(cert.sha1);
  });
});

describe('rejected forms', () => {
  it('no PEM at all', () => {
    expect(rejected(cert.sha1, 'not a key')).toMatch(/no PEM block.*BEGIN PRIVATE KEY/s);
  });

  it('only a certificate', () => {
    expect(rejected(cert.sha1, cert.certPem)).toMatch(/CERTIFICATE block but no PRIVATE KEY/);
  });

  it('an encrypted key', () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const encrypted = privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' }).toString();
    expect(rejected(cert.sha1, encrypted)).toMatch(/encrypted/);
  });

  it('a damaged key body', () => {
    const lines = cert.pkcs8Pem.split('\n');
    lines[1] = 'A'.repeat(64);
    const damaged = lines.join('\n');
    expect(rejected(cert.sha1, damaged)).toMatch(/could not be read as a private key/);
  });

  it('a non-base64 body', () => {
    expect(rejected(cert.sha1, '-----BEGIN PRIVATE KEY-----\n$$$$\n-----END PRIVATE KEY-----')).toMatch(/not base64/);
  });

  it('an EC key', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    expect(rejected(cert.sha1, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())).toMatch(/ec key.*RSA/);
  });

  it('two keys', () => {
    expect(rejected(cert.sha1, `${cert.pkcs8Pem}${other.pkcs8Pem}`)).toMatch(/2 private keys/);
  });

  it('a certificate that belongs to another key', () => {
    expect(rejected(cert.sha1, `${cert.pkcs8Pem}${other.certPem}`)).toMatch(/do not belong together/);
  });

  it('a thumbprint of another certificate', () => {
    const message = rejected(other.sha1, `${cert.pkcs8Pem}${cert.certPem}`);
    expect(message).toContain(other.sha1);
    expect(message).toContain(cert.sha1);
  });

  it('a thumbprint of the wrong length', () => {
    expect(rejected('ABCD', cert.pkcs8Pem)).toMatch(/40 hex characters/);
  });
});
