/**
 * Checks the certificate credential before any network call: the private key must be an unencrypted RSA key
 * in PEM (PKCS#1 `RSA PRIVATE KEY` or PKCS#8 `PRIVATE KEY`), optionally pasted together with its certificate.
 * When the certificate is there too, the key must belong to it and the thumbprint must be its thumbprint.
 *
 * Messages say what was expected and what was found (block names, thumbprints), never the key itself.
 */
import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { IntegrationError } from '../errors.js';

export interface PreparedCertificate {
  /** The key alone, re-encoded as PKCS#8 PEM (what MSAL signs the client assertion with). */
  privateKeyPem: string;
  /** SHA-1 thumbprint (40 hex) → MSAL `thumbprint`, sent as `x5t`. */
  thumbprint?: string;
  /** SHA-256 thumbprint (64 hex) → MSAL `thumbprintSha256`, sent as `x5t#S256`. */
  thumbprintSha256?: string;
}

const EXPECTED =
  'Paste the PEM private key of the certificate registered on the app, from -----BEGIN PRIVATE KEY----- (PKCS#8) or -----BEGIN RSA PRIVATE KEY----- (PKCS#1) to its END line, unencrypted; the certificate may follow in the same box.';

function invalid(problem: string): IntegrationError {
  return new IntegrationError('auth_config', `private_key ${problem}. ${EXPECTED}`);
}

interface PemBlock {
  label: string;
  /** base64 body without whitespace */
  body: string;
}

function pemBlocks(text: string): PemBlock[] {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(/-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g)) {
    blocks.push({ label: match[1] ?? '', body: (match[2] ?? '').replace(/\s+/g, '') });
  }
  return blocks;
}

function toPem(label: string, body: string): string {
  const lines = body.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

function readKey(block: PemBlock): KeyObject {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(block.body)) throw invalid(`has a ${block.label} block whose body is not base64`);
  try {
    return createPrivateKey({ key: toPem(block.label, block.body), format: 'pem' });
  } catch {
    throw invalid(`has a ${block.label} block that could not be read as a private key`);
  }
}

function hexOf(fingerprint: string): string {
  return fingerprint.replace(/:/g, '').toUpperCase();
}

/** `thumbprint`: upper-case hex without separators, 40 or 64 characters (as params normalise it). */
export function prepareCertificate(thumbprint: string, privateKeyText: string): PreparedCertificate {
  if (!/^[0-9A-F]{40}$|^[0-9A-F]{64}$/.test(thumbprint)) {
    throw new IntegrationError(
      'auth_config',
      'certificate_thumbprint must be 40 hex characters (SHA-1) or 64 (SHA-256), as shown under Certificates & secrets > Certificates.',
    );
  }
  const blocks = pemBlocks(privateKeyText);
  if (blocks.length === 0) throw invalid('holds no PEM block (no -----BEGIN ...----- / -----END ...----- lines were found)');
  const labels = blocks.map((b) => b.label);
  if (labels.includes('ENCRYPTED PRIVATE KEY')) {
    throw invalid('is encrypted (ENCRYPTED PRIVATE KEY); export it without a password, e.g. openssl pkey -in key.pem -out plain.pem');
  }
  const keyBlocks = blocks.filter((b) => b.label === 'PRIVATE KEY' || b.label === 'RSA PRIVATE KEY');
  if (keyBlocks.length === 0) {
    throw invalid(`holds ${labels.map((l) => `a ${l} block`).join(' and ')} but no PRIVATE KEY or RSA PRIVATE KEY block`);
  }
  if (keyBlocks.length > 1) throw invalid(`holds ${keyBlocks.length} private keys; paste only the one of this certificate`);
  const key = readKey(keyBlocks[0] as PemBlock);
  if (key.asymmetricKeyType !== 'rsa') {
    throw invalid(`holds a ${key.asymmetricKeyType ?? 'non-RSA'} key; Entra ID certificate credentials need an RSA key`);
  }

  const certificates = blocks.filter((b) => b.label === 'CERTIFICATE');
  if (certificates.length > 0) {
    const parsed = certificates.map((b) => {
      try {
        return new X509Certificate(toPem('CERTIFICATE', b.body));
      } catch {
        throw invalid('holds a CERTIFICATE block that could not be read');
      }
    });
    const own = parsed.find((cert) => cert.checkPrivateKey(key));
    if (own === undefined) {
      throw invalid('and the certificate pasted with it do not belong together (the key does not match the certificate)');
    }
    const expected = thumbprint.length === 40 ? hexOf(own.fingerprint) : hexOf(own.fingerprint256);
    if (expected !== thumbprint) {
      throw new IntegrationError(
        'auth_config',
        `certificate_thumbprint ${thumbprint} is not the thumbprint of the certificate pasted with the private key (that one is ${expected}). Use the thumbprint of the certificate registered on the app.`,
      );
    }
  }

  const privateKeyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  return thumbprint.length === 40 ? { privateKeyPem, thumbprint } : { privateKeyPem, thumbprintSha256: thumbprint };
}
